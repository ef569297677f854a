"""History records (notes) on invoices: `PUT /Invoices/{InvoiceID}/History` with
`{"HistoryRecords": [{"Details": "..."}]}`, and `GET` the same path (developer.xero.com, "History and notes")."""

from __future__ import annotations

from .errors import ItemInvalid
from .store import Context, Record
from .wire import ms_datetime, utc_string

NOTE_USER = "System Generated"
"""Xero names the app's user on notes added through the API; the sandbox has no users."""


def add(ctx: Context, document: Record, item) -> Record:
    """Store one note on a document; Details is required and must be text."""
    details = item.get("Details") if isinstance(item, dict) else None
    if not isinstance(details, str) or not details.strip():
        raise ItemInvalid("Details is required for a history record")
    ctx.touch(document)
    ctx.change("INVOICE", document.id, "UPDATE")
    return ctx.add("HistoryRecord", {"_document": document.id, "Details": details, "Changes": "Note",
                                     "User": NOTE_USER})


def of_document(records: list[Record], document_id: str) -> list[Record]:
    """The notes of one document, oldest first."""
    return [record for record in records if record.body["_document"] == document_id]


def render(record: Record, with_document: bool = False) -> dict:
    """A HistoryRecord as Xero returns it (the ledger view also names its document)."""
    out = {"Changes": record.body["Changes"], "DateUTCString": utc_string(record.created),
           "DateUTC": ms_datetime(record.created), "User": record.body["User"], "Details": record.body["Details"]}
    if with_document:
        out["InvoiceID"] = record.body["_document"]
    return out

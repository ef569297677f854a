"""What changed in a Xero organisation, for events: invoices, credit notes and contacts by `IDs=`, payments
one GET each (the spec gives /Payments no IDs filter; an invoice read carries its payments anyway), and
the changes since a checkpoint through If-Modified-Since on Invoices, Payments, Contacts and CreditNotes.

Xero sends no payment webhooks (facts §2.5): a payment shows as an UPDATE of its invoice, and the
invoice read here carries its payments, so one read yields both.
"""

from __future__ import annotations

from datetime import datetime, timezone

from bridge.errors import LedgerNotFound
from bridge.ledgers.base import Change, money
from bridge.ledgers.xero import facts
from bridge.ledgers.xero.mapping import (
    credit_note_from_xero,
    customer_from_xero,
    invoice_from_xero,
    parse_date,
    parse_datetime,
    payment_from_xero,
    source_external_id,
)

IF_MODIFIED_SINCE = "If-Modified-Since"
"""Header of every paged GET: only records created or modified since this time. [V] spec ifModifiedSince"""
RECEIVABLE_PAYMENT = "ACCRECPAYMENT"
"""PaymentType of a customer's payment on a sales invoice. [V] spec Payment.PaymentType"""
LISTS = (
    ("invoice", "Invoices", f'Type=="{facts.INVOICE_TYPE}"'),
    ("payment", "Payments", f'PaymentType=="{RECEIVABLE_PAYMENT}"'),
    ("customer", "Contacts", None),
    ("credit_note", "CreditNotes", f'Type=="{facts.CREDIT_NOTE_TYPE}"'),
)
"""What a poll reads: our object, the collection, and the `where` that keeps the sales side."""
DOCUMENTS = {"invoice": ("Invoices", "InvoiceID"), "credit_note": ("CreditNotes", "CreditNoteID")}
PAGES_MAX = 5
"""[C] Pages (of 100) read per collection in one poll, oldest first: at most 20 requests of the tenant's 60 a
minute (facts §2.3); the rest is read by the next poll, from the last change read."""


def iso(moment: datetime) -> str:
    """A time as If-Modified-Since takes it (RFC 3339, UTC)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def invoice_from(xero: dict) -> dict | None:
    """A sales invoice normalized with its live payments (a bill: None)."""
    if xero.get("Type", facts.INVOICE_TYPE) != facts.INVOICE_TYPE:
        return None
    invoice = invoice_from_xero(xero)
    invoice["payments"] = [_applied_payment(payment, xero) for payment in xero.get("Payments") or []
                           if payment.get("Status", "AUTHORISED") != facts.PAYMENT_DELETED]
    invoice["created_at"] = None
    return invoice


def _applied_payment(summary: dict, invoice: dict) -> dict:
    """A payment as an invoice lists it, normalized (no method or times: Xero lists none there)."""
    invoice_id = str(invoice.get("InvoiceID"))
    return {"ledger_id": summary.get("PaymentID"), "external_id": source_external_id(summary.get("Reference")),
            "invoice_ledger_id": invoice_id, "invoice_ledger_ids": [invoice_id],
            "customer": {"ledger_id": (invoice.get("Contact") or {}).get("ContactID")},
            "amount": money(summary.get("Amount")),
            "currency": invoice.get("CurrencyCode"), "date": parse_date(summary.get("Date")), "method": None,
            "reference": summary.get("Reference") or None, "status": "active", "allocation": False,
            "updated_at": None, "created_at": None}


def payment_from(xero: dict) -> dict | None:
    """A customer payment normalized (a supplier or credit note payment: None)."""
    if xero.get("PaymentType", RECEIVABLE_PAYMENT) != RECEIVABLE_PAYMENT:
        return None
    payment = payment_from_xero(xero)
    invoice_id = payment["invoice"]["ledger_id"]
    return {"ledger_id": payment["ledger_id"], "external_id": payment["external_id"],
            "invoice_ledger_id": invoice_id, "invoice_ledger_ids": [invoice_id] if invoice_id else [],
            "customer": payment["customer"], "amount": payment["amount"], "currency": payment["currency"],
            "date": payment["date"], "method": None, "reference": payment["reference"],
            "status": "deleted" if payment["status"] == "deleted" else "active", "allocation": False,
            "updated_at": parse_datetime(xero.get("UpdatedDateUTC")), "created_at": None}


def customer_from(xero: dict) -> dict:
    """A contact normalized as a customer, with its last update."""
    return {**customer_from_xero(xero), "updated_at": parse_datetime(xero.get("UpdatedDateUTC")), "created_at": None}


def credit_note_from(xero: dict) -> dict | None:
    """A sales credit note normalized (a supplier's: None)."""
    if xero.get("Type", facts.CREDIT_NOTE_TYPE) != facts.CREDIT_NOTE_TYPE:
        return None
    return {**credit_note_from_xero(xero), "created_at": None}


NORMALIZE = {"invoice": invoice_from, "payment": payment_from, "customer": customer_from,
             "credit_note": credit_note_from}


def read_objects(adapter, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
    """Objects by id: documents and contacts `IDs=` 50 at a time, payments one GET each."""
    if object not in NORMALIZE:
        raise ValueError(f"Xero reads no {object!r} changes")
    wanted = list(dict.fromkeys(str(ledger_id) for ledger_id in ledger_ids))
    if object in DOCUMENTS:
        path, id_field = DOCUMENTS[object]
        rows = adapter._by_ids(path, path, id_field, wanted)
    elif object == "customer":
        rows = {}
        for start in range(0, len(wanted), facts.BATCH_MAX):
            found = adapter.client.get("Contacts", params={"IDs": wanted[start:start + facts.BATCH_MAX], "page": 1})
            rows.update({str(row.get("ContactID")).lower(): row for row in found.get("Contacts") or []})
    else:
        rows = {}
        for ledger_id in wanted:
            try:
                found = adapter.client.get(f"Payments/{ledger_id}").get("Payments") or []
            except LedgerNotFound:
                found = []
            rows.update({str(row.get("PaymentID")).lower(): row for row in found})
    return {ledger_id: NORMALIZE[object](rows[ledger_id.lower()]) if ledger_id.lower() in rows else None
            for ledger_id in wanted}


def changes_since(adapter, checkpoint: str | None, now: datetime) -> tuple[list[Change], str]:
    """Each collection modified since the checkpoint, oldest first, paged; invoices bring their payments."""
    if checkpoint is None:
        return [], iso(now)
    since = parse_datetime(checkpoint)
    changes, resume = [], None
    for object, path, where in LISTS:
        params = {"order": "UpdatedDateUTC ASC", "pageSize": facts.PAGE_SIZE}
        if where:
            params["where"] = where
        if object in DOCUMENTS:
            params["unitdp"] = facts.UNIT_DP
        for page in range(1, PAGES_MAX + 1):
            rows = adapter.client.get(path, params={**params, "page": page},
                                      headers={IF_MODIFIED_SINCE: iso(since)}).get(path) or []
            for row in rows:
                data = NORMALIZE[object](row)
                if data is not None:
                    changes.append(Change(object, data, "update"))
            if len(rows) < facts.PAGE_SIZE:
                break
        else:
            last = parse_datetime(rows[-1].get("UpdatedDateUTC"))
            if last is not None and (resume is None or last < resume):
                resume = last
    return changes, iso(resume or now)

"""What changed in a FreshBooks business, for events: objects by id through the list searches
(`search[invoiceids][]`, `logids`, `userids`, `creditids`: 100 a page), and the changes since a
checkpoint through `search[updated_min]` on invoices, payments, clients and credit notes.

`updated_min` has day granularity (facts §3.2): a poll asks from the checkpoint's day (in the zone
FreshBooks keeps accounting times in) and keeps what was updated at or after the checkpoint itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bridge.ledgers.base import Change
from bridge.ledgers.freshbooks import facts
from bridge.ledgers.freshbooks.mapping import credit_note_from_fb, customer_from_fb, invoice_from_fb, payment_from_fb

ACCOUNTING_ZONE = ZoneInfo("America/New_York")
"""Accounting objects carry zone-less "YYYY-MM-DD HH:MM:SS" times in US/Eastern. [P] FB-SDK fixtures"""
KINDS = {"invoice": "invoice", "payment": "payment", "customer": "client", "credit_note": "credit_note"}
"""Our object names -> FreshBooks resources."""
ID_SEARCHES = {"invoice": "invoiceids", "payment": "logids", "client": "userids", "credit_note": "creditids"}
"""The `In` search of each resource by its ids. [V] freshbooks.com/api (invoices, payments, clients, credits)"""
LINES = ("include[]", facts.INCLUDE_LINES)
WITH_LINES = frozenset({"invoice", "credit_note"})


def parse_time(value) -> datetime | None:
    """An accounting time ("2026-01-15 10:20:30", US/Eastern) as an aware UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ACCOUNTING_ZONE)
    return moment.astimezone(timezone.utc)


def payment_from(fb: dict) -> dict:
    """A FreshBooks payment as the payment of a change."""
    payment = payment_from_fb(fb)
    invoice_id = payment["invoice"]["ledger_id"]
    return {"ledger_id": payment["ledger_id"], "external_id": payment["external_id"],
            "invoice_ledger_id": invoice_id, "invoice_ledger_ids": [invoice_id] if invoice_id else [],
            "customer": payment["customer"], "amount": payment["amount"], "currency": payment["currency"],
            "date": payment["date"], "method": payment["method"], "reference": payment["reference"],
            "status": "active" if payment["active"] else "deleted",
            "allocation": payment["credit_note"] is not None or fb.get("type") == facts.CREDIT_PAYMENT_TYPE}


NORMALIZE = {"invoice": (invoice_from_fb, "created_at"), "payment": (payment_from, None),
             "client": (customer_from_fb, "signup_date"), "credit_note": (credit_note_from_fb, None)}


def normalized(kind: str, fb: dict) -> dict:
    """One object normalized, with its update and creation times."""
    convert, created = NORMALIZE[kind]
    data = convert(fb)
    data["updated_at"] = parse_time(fb.get("updated"))
    data["created_at"] = parse_time(fb.get(created)) if created else None
    return data


def read_objects(adapter, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
    """Objects by id, 100 a request; deleted ones are None."""
    kind = KINDS.get(object)
    if kind is None:
        raise ValueError(f"FreshBooks reads no {object!r} changes")
    wanted = list(dict.fromkeys(str(ledger_id) for ledger_id in ledger_ids))
    rows = adapter._by_ids(kind, ID_SEARCHES[kind], wanted, *([LINES] if kind in WITH_LINES else []))
    return {ledger_id: normalized(kind, rows[ledger_id]) if ledger_id in rows else None for ledger_id in wanted}


def changes_since(adapter, checkpoint: str | None, now: datetime) -> tuple[list[Change], str]:
    """Each resource updated since the checkpoint's day, kept from the checkpoint on (deleted objects
    are not listed: a FreshBooks webhook reports those)."""
    if checkpoint is None:
        return [], iso(now)
    since = parse_time(checkpoint)
    day = since.astimezone(ACCOUNTING_ZONE).date().isoformat()
    changes = []
    for object, kind in KINDS.items():
        params = [("search[updated_min]", day), *([LINES] if kind in WITH_LINES else [])]
        for row in adapter.client.list(kind, params):
            data = normalized(kind, row)
            if data["updated_at"] is None or data["updated_at"] >= since:
                changes.append(Change(object, data, "update"))
    return changes, iso(now)


def iso(moment: datetime) -> str:
    """A checkpoint: the time in UTC, ISO."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")

"""The `data` of ledger change events: normalized objects as JSON (money as decimal strings, dates ISO 8601).

invoice: as GET /v1/connections/<id>/invoices/<external_id> shows it; payment: `{ledger_id, external_id,
invoice_ledger_id, invoice_external_id, amount, currency, date, method, reference}`; customer: the
Customer object with its ledger_id; credit_note: likewise. `external_id` is ours when the bridge wrote
the object, else null. `updated_at` is the ledger's last change of the object, when it says.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

FIELDS = {
    "invoice": ("ledger_id", "external_id", "number", "customer", "issue_date", "due_date", "currency", "status",
                "balance", "totals", "lines", "memo", "updated_at"),
    "payment": ("ledger_id", "external_id", "invoice_ledger_id", "invoice_external_id", "customer", "amount",
                "currency", "date", "method", "reference", "updated_at"),
    "customer": ("ledger_id", "external_id", "name", "email", "phone", "address", "tax_number", "currency",
                 "updated_at"),
    "credit_note": ("ledger_id", "external_id", "number", "customer", "issue_date", "currency", "status", "totals",
                    "lines", "remaining_credit", "updated_at"),
}
"""The fields each object's event data carries, in order."""


def jsonable(value):
    """A normalized value as JSON: Decimal as its exact decimal string, dates and times ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float):
        raise TypeError("float in event data: money must be Decimal")
    return value


def event_data(object: str, data: dict) -> dict:
    """The event `data` of one normalized object."""
    return {name: jsonable(data.get(name)) for name in FIELDS[object]}

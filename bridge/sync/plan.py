"""From a validated request to the operations it queues (an invoice with payments is several)."""

from __future__ import annotations

import orjson

from bridge import errors
from bridge.sync.adapters import provider_rules
from bridge.sync.ingest import NewOperation


def _dump(raw: dict) -> str:
    """The user's input as stored in the outbox (decimals kept as exact strings)."""
    return orjson.dumps(raw, default=str).decode()


def _checked(provider: str, kind: str, data: dict) -> list[str]:
    """Run the ledger's own rules before queueing: a line it cannot take is a 422 now."""
    rules = provider_rules(provider)
    if rules is None:
        return []
    warnings, field_errors = rules.check(kind, data)
    if field_errors:
        raise errors.ValidationFailed(f"{provider} cannot take this {kind.replace('_', ' ')} as sent.",
                                      errors=field_errors)
    return warnings


def plan_invoice(provider: str, data: dict, raw: dict) -> list[NewOperation]:
    """The invoice upsert, then one payment operation per payment (ordered after it)."""
    invoice = NewOperation("invoice", data["external_id"], "upsert", _dump(raw),
                           warnings=_checked(provider, "invoice", data))
    ops = [invoice]
    for payment_raw, payment in zip(raw.get("payments") or [], data["payments"]):
        payment_raw = {**payment_raw, "invoice_external_id": data["external_id"]}
        payment_raw.setdefault("currency", data["currency"])
        ops.append(NewOperation("payment", payment["external_id"], "upsert", _dump(payment_raw),
                                parent_key=invoice.object_key))
    return ops


def plan_payment(provider: str, data: dict, raw: dict) -> list[NewOperation]:
    """A payment, ordered after its invoice."""
    return [NewOperation("payment", data["external_id"], "upsert", _dump(raw),
                         parent_key=f"invoice:{data['invoice_external_id']}",
                         warnings=_checked(provider, "payment", data))]


def plan_credit_note(provider: str, data: dict, raw: dict) -> list[NewOperation]:
    """A credit note, ordered after the first invoice it is allocated to."""
    allocations = data.get("allocations") or []
    parent = f"invoice:{allocations[0]['invoice_external_id']}" if allocations else None
    return [NewOperation("credit_note", data["external_id"], "upsert", _dump(raw), parent_key=parent,
                         warnings=_checked(provider, "credit_note", data))]


def plan_customer(provider: str, data: dict, raw: dict) -> list[NewOperation]:
    """A customer upsert."""
    return [NewOperation("customer", data["external_id"], "upsert", _dump(raw),
                         warnings=_checked(provider, "customer", data))]


def plan_void(provider: str, external_id: str, raw: dict) -> list[NewOperation]:
    """A void, ordered after every earlier write of the same invoice."""
    return [NewOperation("invoice", external_id, "void", _dump(raw))]


PLANS = {"invoice": plan_invoice, "payment": plan_payment, "credit_note": plan_credit_note,
         "customer": plan_customer}

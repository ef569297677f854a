"""Dry run (`?dry_run=true` on every write): the exact request we would send, its warnings and the ledger's
known rules, built by the adapters' own mapping code, with nothing written.

No operation row, no idempotency record, no ledger write: only reads (the connection, what we already wrote
to it, the company's facts, the current object an update needs). A mapping problem is the 422 naming the
field that a real write would fail with.
"""

from __future__ import annotations

import json

from flask import Flask

from bridge import errors
from bridge.ledgers import wire
from bridge.ledgers.base import LedgerRef, Preview
from bridge.store.models import Connection
from bridge.sync import items
from bridge.sync.adapters import adapter_for, provider_rules
from bridge.sync.execute import _customer_hash
from bridge.sync.reads import _call, ledger_ref, owned_connection, usable

NEW_CUSTOMER = "(created first)"
"""Stands in the payload for the id of a customer the write would create first."""
NEW_INVOICE = "(written first)"
"""Stands in the payload for the id of an invoice queued but not written yet."""


def dry_run(app: Flask, account_id: str, connection_id: str, kind: str, data: dict, warnings: list[str]) -> str:
    """The dry-run answer (JSON text) for a validated document of `kind`; `warnings` are the rules' own."""
    connection = _connection(account_id, connection_id)
    adapter = adapter_for(app, connection)
    notes = list(warnings)
    preview = _call(_previews[kind], connection, adapter, data, notes)
    return _answer(connection.provider, preview, notes)


def dry_run_void(app: Flask, account_id: str, connection_id: str, external_id: str) -> str:
    """The dry-run answer for voiding an invoice we wrote."""
    connection = _connection(account_id, connection_id)
    ref = ledger_ref(connection.id, "invoice", external_id)
    if ref is None:
        raise errors.ValidationFailed("This invoice has not reached the ledger: there is nothing to void.", errors=[
            {"field": "external_id", "message": f"No invoice {external_id!r} has been written to this ledger."}])
    preview = _call(_rejected_as_422, adapter_for(app, connection).preview_void, ref)
    return _answer(connection.provider, preview, [])


def _connection(account_id: str, connection_id: str) -> Connection:
    """The caller's connection, able to reach its ledger (a paused one may still preview)."""
    connection = owned_connection(account_id, connection_id)
    if connection.status == "disconnected":
        raise errors.NotFound("No such connection.")
    usable(connection)
    return connection


def _rejected_as_422(build, *args) -> Preview:
    """A preview; what the ledger would refuse is a 422 naming its fields, as the write's failure would."""
    try:
        return build(*args)
    except errors.LedgerRejected as exc:
        raise errors.ValidationFailed(exc.detail or "The ledger would refuse this write.", errors=[
            {"field": error.get("field") or "body", "message": error.get("message") or exc.detail or ""}
            for error in exc.errors] or [{"field": "body", "message": exc.detail or "Refused."}]) from None


def _with_items(connection: Connection, adapter, data: dict, notes: list[str], build, *args) -> Preview:
    """A document's preview with the items the invoicing platform owns placed first (found in the ledger, or
    shown as the request that would create them); what neither could take is one 422 naming every field."""
    problems = items.preview(adapter, connection.id, data, notes)
    try:
        preview = _rejected_as_422(build, data, *args)
    except errors.ValidationFailed as exc:
        if not problems:
            raise
        exc.errors = [{"field": p.get("field") or "body", "message": p.get("message") or ""} for p in problems] + \
            exc.errors
        raise
    if problems:
        raise errors.ValidationFailed("The ledger cannot take the items this document needs.", errors=[
            {"field": p.get("field") or "body", "message": p.get("message") or ""} for p in problems])
    return preview


def _customer(connection: Connection, customer: dict, notes: list[str]) -> LedgerRef:
    """The customer's ledger ref as the write would resolve it (or a stand-in, said in a warning)."""
    external_id = customer["external_id"]
    ref = ledger_ref(connection.id, "customer", external_id)
    if set(customer) == {"external_id"}:
        if ref is None:
            raise errors.ValidationFailed("Unknown customer.", errors=[{
                "field": "customer.external_id",
                "message": "No customer with this external_id has been sent to this ledger; send it in full."}])
        return ref
    if ref is None:
        notes.append(f"customer {external_id!r} has not been sent to this ledger: it would be matched or created "
                     f"first, and its id would replace {NEW_CUSTOMER!r}")
        return LedgerRef(NEW_CUSTOMER)
    if ref.extra.get("hash") != _customer_hash(customer):
        notes.append(f"customer {external_id!r} changed since it was sent: it would be updated first")
    return ref


def _invoice(connection: Connection, external_id: str, notes: list[str], field: str) -> LedgerRef:
    """An invoice we wrote, or a stand-in when it is not written yet (said in a warning)."""
    ref = ledger_ref(connection.id, "invoice", external_id)
    if ref is None:
        notes.append(f"{field}: invoice {external_id!r} has not reached this ledger yet; the write would wait for "
                     f"it (and fail if it never does), and its id would replace {NEW_INVOICE!r}")
        return LedgerRef(NEW_INVOICE)
    return ref


def _preview_invoice(connection: Connection, adapter, data: dict, notes: list[str]) -> Preview:
    """The invoice upsert (its payments follow as their own writes)."""
    customer = _customer(connection, data["customer"], notes)
    existing = ledger_ref(connection.id, "invoice", data["external_id"])
    preview = _with_items(connection, adapter, data, notes, adapter.preview_invoice, customer, existing)
    if data.get("payments"):
        notes.append(f"then {len(data['payments'])} payment(s) would be recorded against it, each its own write")
    return preview


def _preview_payment(connection: Connection, adapter, data: dict, notes: list[str]) -> Preview:
    """A payment on an invoice we wrote."""
    invoice = _invoice(connection, data["invoice_external_id"], notes, "invoice_external_id")
    customer = LedgerRef(invoice.extra.get("customer_ledger_id", NEW_CUSTOMER))
    existing = ledger_ref(connection.id, "payment", data["external_id"])
    return _rejected_as_422(adapter.preview_payment, data, invoice, customer, existing)


def _preview_credit_note(connection: Connection, adapter, data: dict, notes: list[str]) -> Preview:
    """The credit note (its allocations follow it)."""
    customer = _customer(connection, data["customer"], notes)
    for index, allocation in enumerate(data.get("allocations") or []):
        _invoice(connection, allocation["invoice_external_id"], notes, f"allocations[{index}].invoice_external_id")
    if data.get("allocations"):
        notes.append(f"then {len(data['allocations'])} allocation(s) would apply it to invoices")
    existing = ledger_ref(connection.id, "credit_note", data["external_id"])
    return _with_items(connection, adapter, data, notes, adapter.preview_credit_note, customer, existing)


def _preview_customer(connection: Connection, adapter, data: dict, notes: list[str]) -> Preview:
    """The customer upsert."""
    existing = ledger_ref(connection.id, "customer", data["external_id"])
    if existing is None:
        notes.append("a customer the ledger already has (by the mapping's customers.match) would be linked "
                     "instead of created")
    return _rejected_as_422(adapter.preview_customer, data, existing)


_previews = {"invoice": _preview_invoice, "payment": _preview_payment, "credit_note": _preview_credit_note,
             "customer": _preview_customer}


def _answer(provider: str, preview: Preview, notes: list[str]) -> str:
    """`{dry_run, provider, method, path, payload, warnings, rules}` with the payload's decimals exact."""
    rules = provider_rules(provider)
    head = {"dry_run": True, "provider": provider, "method": preview.method, "path": preview.path}
    tail = {"warnings": list(dict.fromkeys([*notes, *preview.warnings])), "rules": list(getattr(rules, "RULES", ()))}
    return (json.dumps(head)[:-1] + ', "payload": ' + wire.dumps(preview.payload) + ", " + json.dumps(tail)[1:])

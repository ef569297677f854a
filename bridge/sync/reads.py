"""Reads from the ledger on behalf of an API request (not queued: the caller waits)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from bridge import errors, store
from bridge.ledgers.base import LedgerRef
from bridge.store.models import Connection, LedgerObject
from bridge.sync.adapters import adapter_for


def owned_connection(account_id: str, connection_id: str) -> Connection:
    """The caller's connection, or a 404."""
    connection = store.session().get(Connection, connection_id)
    if connection is None or connection.account_id != account_id:
        raise errors.NotFound("No such connection.")
    return connection


def usable(connection: Connection) -> None:
    """Refuse reads on a connection that cannot reach its ledger."""
    if connection.status in ("pending", "disconnected"):
        raise errors.Conflict(f"The connection is {connection.status}; it cannot reach the ledger.")
    if connection.status == "needs_reauth":
        raise errors.Conflict("The connection needs to be authorized again (POST /v1/connections).")


def ledger_ref(connection_id: str, obj: str, external_id: str) -> LedgerRef | None:
    """What we remember of an object we wrote."""
    row = store.session().get(LedgerObject, (connection_id, obj, external_id))
    return LedgerRef(row.ledger_id, row.extra or {}) if row else None


def _call(func, *args, **kwargs):
    """A ledger call whose failures become API problems."""
    try:
        return func(*args, **kwargs)
    except errors.LedgerNotFound:
        raise errors.NotFound("The ledger has no such object.") from None
    except errors.ReauthRequired:
        raise errors.Conflict("The connection needs to be authorized again.") from None
    except errors.LedgerError as exc:
        wait = getattr(exc, "retry_after", None) or 30
        raise errors.DependencyDown(f"The ledger did not answer: {exc.detail}",
                                    headers={"Retry-After": str(int(wait))}) from None


def get_invoice(app: Flask, connection: Connection, external_id: str) -> dict:
    """One invoice we wrote, as the ledger holds it now."""
    ref = ledger_ref(connection.id, "invoice", external_id)
    if ref is None:
        raise errors.NotFound("No invoice with this external_id has reached this ledger.")
    usable(connection)
    invoice = _call(adapter_for(app, connection).get_invoice, ref)
    invoice["external_id"] = external_id
    return invoice


def find_invoices(app: Flask, connection: Connection, args: dict) -> list[dict]:
    """Invoices in the ledger matching number, customer and status."""
    usable(connection)
    customer = None
    if args.get("customer"):
        customer = ledger_ref(connection.id, "customer", args["customer"])
        if customer is None:
            return []
    found = _call(adapter_for(app, connection).find_invoices, number=args.get("number"),
                  customer=customer, limit=args["limit"])
    if args.get("status"):
        found = [invoice for invoice in found if invoice.get("status") == args["status"]]
    known = dict(store.session().execute(sa.select(LedgerObject.ledger_id, LedgerObject.external_id).where(
        LedgerObject.connection_id == connection.id, LedgerObject.object == "invoice",
        LedgerObject.ledger_id.in_([invoice["ledger_id"] for invoice in found]))).all())
    for invoice in found:
        invoice["external_id"] = known.get(invoice["ledger_id"])
    return found


def invoice_pdf(app: Flask, connection: Connection, external_id: str) -> bytes:
    """The PDF the ledger renders for an invoice we wrote (a 404 for a ledger without PDFs)."""
    ref = ledger_ref(connection.id, "invoice", external_id)
    if ref is None:
        raise errors.NotFound("No invoice with this external_id has reached this ledger.")
    usable(connection)
    try:
        return _call(adapter_for(app, connection).invoice_pdf, ref)
    except NotImplementedError:
        raise errors.NotFound(f"An invoice PDF is not available for this ledger ({connection.provider}).") from None

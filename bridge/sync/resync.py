"""Repairing drift: re-send our last version of an object through the outbox, or acknowledge it."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bridge import errors, store
from bridge.store.models import DriftItem, LedgerObject, Operation, utcnow
from bridge.sync import ingest, queue

REPAIRABLE = {("invoice", "missing"), ("invoice", "total_differs"), ("invoice", "status_differs"),
              ("payment", "missing"), ("payment", "amount_differs"),
              ("credit_note", "missing"), ("credit_note", "total_differs")}


def owned_item(account_id: str, item_id: str) -> DriftItem:
    """The caller's drift item, or a 404."""
    item = store.session().execute(sa.select(DriftItem).where(DriftItem.id == item_id)).scalar_one_or_none()
    if item is None or item.account_id != account_id:
        raise errors.NotFound("No such drift item.")
    return item


def _last_succeeded(db, item: DriftItem, action: str) -> Operation | None:
    """Our last accepted write of the item's object with this action."""
    return db.execute(sa.select(Operation).where(
        Operation.connection_id == item.connection_id, Operation.object == item.object,
        Operation.external_id == item.external_id, Operation.action == action, Operation.status == "succeeded",
    ).order_by(Operation.seq.desc()).limit(1)).scalar_one_or_none()


def _refuse_unless_repairable(item: DriftItem) -> None:
    """409 for an item that is closed, unreadable, or not ours to re-send."""
    if item.status == "resolved":
        raise errors.Conflict(f"This drift item is already resolved ({item.resolution}).")
    if item.kind == "could_not_check":
        raise errors.Conflict("The ledger could not be read for this object: run the reconciliation again "
                              "(POST /v1/connections/{id}/reconcile) once the ledger answers.")
    if item.kind == "unknown_payment":
        raise errors.Conflict("This payment was recorded in the ledger, not through the bridge: there is nothing "
                              "of ours to re-send. Record it on the invoicing side, or acknowledge it "
                              "(POST /v1/reconciliation/{item}/acknowledge).")
    if (item.object, item.kind) not in REPAIRABLE:
        raise errors.Conflict(f"A {item.kind} {item.object} cannot be resynced; acknowledge it instead.")


def resync(account_id: str, item: DriftItem, number: str | None = None) -> ingest.Accepted:
    """Queue our last version of the object again (a deleted one is created anew, under `number` when
    given: Xero keeps a voided invoice's number); returns the 202."""
    _refuse_unless_repairable(item)
    if number is not None and item.object not in ("invoice", "credit_note"):
        raise errors.ValidationFailed("Only invoices and credit notes have a number.", errors=[
            {"field": "number", "message": f"A {item.object} has no number."}])
    db = store.session()
    voiding = item.kind == "status_differs" and item.ours == "void"
    last = _last_succeeded(db, item, "void" if voiding else "upsert")
    if last is None:
        raise errors.Conflict("No accepted write of this object is left to re-send.")
    parent = None
    if item.object == "payment":
        parent = f"invoice:{json.loads(last.payload).get('invoice_external_id') or item.invoice_external_id}"
    elif item.object == "credit_note":
        allocations = json.loads(last.payload).get("allocations") or []
        parent = f"invoice:{allocations[0]['invoice_external_id']}" if allocations else None
    payload = last.payload
    if number is not None:
        payload = json.dumps({**json.loads(payload), "number": number})
    op = ingest.NewOperation(item.object, item.external_id, last.action, payload, parent_key=parent,
                             warnings=[f"Resync of drift item {item.id} ({item.kind})."])
    if item.kind == "missing":  # forget the ledger id: the upsert creates the object again
        db.execute(sa.delete(LedgerObject).where(
            LedgerObject.connection_id == item.connection_id, LedgerObject.object == item.object,
            LedgerObject.external_id == item.external_id))
        db.commit()
    accepted = ingest.accept(account_id, item.connection_id, [op], route=f"resync {item.id}",
                             idempotency_key=None, body_hash=None)
    item.status, item.resolution, item.operation_id, item.updated_at = "resolved", "resynced", op.id, utcnow()
    db.commit()
    queue.wake_relay()
    return accepted


def acknowledge(item: DriftItem) -> DriftItem:
    """Close an item that needs no repair; a later run does not raise the same drift again."""
    if item.status == "resolved":
        raise errors.Conflict(f"This drift item is already resolved ({item.resolution}).")
    if item.kind == "could_not_check":
        raise errors.Conflict("Nothing was found to acknowledge: run the reconciliation again once the ledger answers.")
    db = store.session()
    item.status, item.resolution, item.updated_at = "resolved", "acknowledged", utcnow()
    db.commit()
    return item

"""The sync log: reading operations and their attempts, and retrying the ones that failed."""

from __future__ import annotations

import sqlalchemy as sa

from bridge import errors, store
from bridge.store.models import Attempt, Operation, utcnow
from bridge.sync import queue
from bridge.sync.jobs import waiting_reason


def shaped(op: Operation, waiting: str | None = None) -> dict:
    """The Operation document."""
    return {"id": op.id, "connection_id": op.connection_id, "object": op.object, "external_id": op.external_id,
            "action": op.action, "status": op.status, "attempts": op.attempts, "ledger_id": op.ledger_id,
            "warnings": op.warnings or [], "errors": op.errors or [], "waiting_for": waiting or op.waiting_for,
            "related": [], "created_at": op.created_at, "updated_at": op.updated_at,
            "next_attempt_at": op.next_attempt_at}


def owned(account_id: str, operation_id: str) -> Operation:
    """The caller's operation, or a 404."""
    op = store.session().execute(sa.select(Operation).where(Operation.id == operation_id)).scalar_one_or_none()
    if op is None or op.account_id != account_id:
        raise errors.NotFound("No such operation.")
    return op


def detail(op: Operation) -> dict:
    """An operation with its attempts and their redacted exchanges."""
    db = store.session()
    attempts = db.execute(sa.select(Attempt).where(Attempt.operation_seq == op.seq).order_by(Attempt.id)).scalars()
    waiting = waiting_reason(db, op) if op.status == "queued" else None
    related = db.execute(sa.select(Operation.id, Operation.object, Operation.external_id).where(
        Operation.connection_id == op.connection_id, Operation.parent_key == op.object_key,
        Operation.created_at == op.created_at)).all()
    return {**shaped(op, waiting),
            "related": [{"id": r.id, "object": r.object, "external_id": r.external_id} for r in related],
            "history": [{"number": a.number, "outcome": a.outcome, "error": a.error, "started_at": a.started_at,
                         "finished_at": a.finished_at, "exchanges": a.exchanges or []} for a in attempts]}


def search(account_id: str, filters: dict, limit: int, after: int | None) -> list[Operation]:
    """The account's operations matching the filters, newest first."""
    query = sa.select(Operation).where(Operation.account_id == account_id)
    for name in ("connection_id", "status", "object", "external_id", "action"):
        if filters.get(name):
            query = query.where(getattr(Operation, name) == filters[name])
    if filters.get("since"):
        query = query.where(Operation.created_at >= filters["since"])
    if filters.get("until"):
        query = query.where(Operation.created_at < filters["until"])
    if after is not None:
        query = query.where(Operation.seq < after)
    return list(store.session().execute(query.order_by(Operation.seq.desc()).limit(limit + 1)).scalars())


def retry(op: Operation) -> Operation:
    """Put a failed or dead operation back in the queue (attempts count on)."""
    if op.status not in ("failed", "dead"):
        raise errors.Conflict(f"Only failed or dead operations can be retried; this one is {op.status}.")
    db = store.session()
    db.execute(sa.update(Operation).where(Operation.seq == op.seq, Operation.status.in_(("failed", "dead"))).values(
        status="queued", next_attempt_at=None, enqueued_at=None, lease_until=None, waiting_for=None,
        updated_at=utcnow()))
    db.commit()
    db.refresh(op)
    queue.wake_relay()
    return op

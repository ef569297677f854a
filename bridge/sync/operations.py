"""The sync log: reading operations and their attempts, and retrying the ones that failed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from bridge import errors, store
from bridge.schemas.operation import ERROR_CLASSES, OPERATION_STATES
from bridge.store.models import Attempt, BatchAttempt, Connection, Operation, utcnow
from bridge.sync import queue
from bridge.sync.jobs import waiting_reason


def shaped(op: Operation, waiting: str | None = None) -> dict:
    """The Operation document."""
    return {"id": op.id, "connection_id": op.connection_id, "object": op.object, "external_id": op.external_id,
            "action": op.action, "status": op.status, "attempts": op.attempts, "ledger_id": op.ledger_id,
            "warnings": op.warnings or [], "errors": op.errors or [], "error_class": op.error_class, "waiting_for": waiting or op.waiting_for,
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
    attempts = list(db.execute(sa.select(Attempt).where(Attempt.operation_seq == op.seq).order_by(Attempt.id))
                    .scalars())
    shared_ids = {a.batch_attempt_id for a in attempts if a.batch_attempt_id is not None}
    shared = dict(db.execute(sa.select(BatchAttempt.id, BatchAttempt.exchanges).where(
        BatchAttempt.id.in_(shared_ids))).all()) if shared_ids else {}
    waiting = waiting_reason(db, op) if op.status == "queued" else None
    related = db.execute(sa.select(Operation.id, Operation.object, Operation.external_id).where(
        Operation.connection_id == op.connection_id, Operation.parent_key == op.object_key,
        Operation.created_at == op.created_at)).all()
    return {**shaped(op, waiting),
            "related": [{"id": r.id, "object": r.object, "external_id": r.external_id} for r in related],
            "history": [{"number": a.number, "outcome": a.outcome, "error": a.error, "started_at": a.started_at,
                         "finished_at": a.finished_at,
                         # a batch member's exchanges are the whole batch's, stored once
                         "exchanges": (shared.get(a.batch_attempt_id) if a.batch_attempt_id is not None
                                       else a.exchanges) or []} for a in attempts]}


def search(account_id: str, filters: dict, limit: int, after: int | None) -> list[Operation]:
    """The account's operations matching the filters, newest first."""
    query = sa.select(Operation).where(Operation.account_id == account_id)
    for name in ("connection_id", "status", "object", "external_id", "action", "error_class"):
        if filters.get(name):
            query = query.where(getattr(Operation, name) == filters[name])
    if filters.get("since"):
        query = query.where(Operation.created_at >= filters["since"])
    if filters.get("until"):
        query = query.where(Operation.created_at < filters["until"])
    if after is not None:
        query = query.where(Operation.seq < after)
    return list(store.session().execute(query.order_by(Operation.seq.desc()).limit(limit + 1)).scalars())


def summary(account_id: str, period: timedelta, connection_id: str | None = None, now=None) -> list[dict]:
    """Per connection: counts by status and by error class of the operations created in the period,
    and the oldest failure (failed or dead) that no later success on the same object resolved."""
    db = store.session()
    now = now or utcnow()
    since = now - period
    query = sa.select(Connection).where(Connection.account_id == account_id)
    if connection_id is not None:
        query = query.where(Connection.id == connection_id)
    connections = list(db.execute(query.order_by(Connection.created_at, Connection.id)).scalars())
    if connection_id is not None and not connections:
        raise errors.NotFound("No such connection.")
    ids = [c.id for c in connections]
    in_period = sa.and_(Operation.account_id == account_id, Operation.connection_id.in_(ids),
                        Operation.created_at >= since)
    by_status = db.execute(sa.select(Operation.connection_id, Operation.status, sa.func.count()).where(in_period)
                           .group_by(Operation.connection_id, Operation.status)).all()
    by_class = db.execute(sa.select(Operation.connection_id, Operation.error_class, sa.func.count()).where(
        in_period, Operation.error_class.is_not(None)).group_by(Operation.connection_id, Operation.error_class)).all()
    oldest = _oldest_unresolved(db, account_id, ids)
    result = []
    for connection in connections:
        statuses = dict.fromkeys(OPERATION_STATES, 0)
        statuses.update({status: n for cid, status, n in by_status if cid == connection.id})
        classes = dict.fromkeys(ERROR_CLASSES, 0)
        classes.update({name: n for cid, name, n in by_class if cid == connection.id})
        failure = oldest.get(connection.id)
        result.append({
            "connection_id": connection.id, "provider": connection.provider, "connection_status": connection.status,
            "operations": sum(statuses.values()), "by_status": statuses, "by_error_class": classes,
            "oldest_unresolved_failure": None if failure is None else {
                "id": failure.id, "object": failure.object, "external_id": failure.external_id,
                "action": failure.action, "status": failure.status, "error_class": failure.error_class,
                "failed_at": failure.updated_at,
                "age_seconds": int((now - failure.updated_at).total_seconds())}})
    return result


def _oldest_unresolved(db, account_id: str, connection_ids: list[str]) -> dict[str, Operation]:
    """Each connection's oldest failed or dead operation with no later success on the same object."""
    later = aliased(Operation)
    resolved = sa.exists().where(later.connection_id == Operation.connection_id,
                                 later.object_key == Operation.object_key, later.seq > Operation.seq,
                                 later.status == "succeeded")
    rows = db.execute(sa.select(Operation).where(
        Operation.account_id == account_id, Operation.connection_id.in_(connection_ids),
        Operation.status.in_(("failed", "dead")), ~resolved).order_by(Operation.updated_at, Operation.seq)).scalars()
    oldest: dict[str, Operation] = {}
    for op in rows:
        oldest.setdefault(op.connection_id, op)
    return oldest


def parse_period(text: str, maximum: timedelta = timedelta(days=90)) -> timedelta:
    """`24h`, `7d`, `30d`... as a timedelta (at most 90 days), or a 422 naming `period`."""
    hours_per = {"h": 1, "d": 24}
    number, unit = text[:-1], text[-1:]
    if unit not in hours_per or not (number.isascii() and number.isdigit()) or int(number) < 1:
        raise errors.ValidationFailed("Bad period.", errors=[
            {"field": "period", "message": "A whole number of hours or days, such as 24h, 7d or 30d."}])
    hours = int(number) * hours_per[unit]
    if hours > maximum.total_seconds() / 3600:
        raise errors.ValidationFailed("Period too long.", errors=[
            {"field": "period", "message": f"At most {maximum.days}d."}])
    return timedelta(hours=hours)


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

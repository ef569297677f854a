"""RQ jobs. They take ids, load what they need, and are safe to run twice."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta

import orjson
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import aliased

from bridge import errors
from bridge.events import emit_many
from bridge.schemas.operation import UNFINISHED
from bridge.store.models import Attempt, BatchAttempt, Connection, Operation, utcnow
from bridge.sync import error_classes, execute, queue
from bridge.sync.tokens import mark_needs_reauth

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
"""A running operation whose worker vanished is picked up again after this."""
MAX_BACKOFF_SECONDS = 3600


def config_value(app: Flask, name: str, default):
    """An engine tunable (tests shorten them)."""
    return app.config.get(name, default)


def blocked_by_earlier():
    """SQL: an earlier unfinished operation on the same object (or its parent) exists.

    Two EXISTS rather than one with an OR: each uses ix_operations_order (connection, key, seq), where
    the OR made PostgreSQL filter every earlier operation of the connection (quadratic in the backlog).
    """
    def earlier_on(key):
        earlier = aliased(Operation)
        return sa.exists().where(earlier.connection_id == Operation.connection_id, earlier.object_key == key,
                                 earlier.seq < Operation.seq, earlier.status.in_(UNFINISHED))
    return sa.or_(earlier_on(Operation.object_key), earlier_on(Operation.parent_key))


def connection_active():
    """SQL: the operation's connection is active and not held by a spent daily limit."""
    return sa.exists().where(Connection.id == Operation.connection_id, Connection.status == "active",
                             sa.or_(Connection.limited_until.is_(None), Connection.limited_until <= utcnow())
                             ).correlate_except(Connection)


def claim(app: Flask, operation_id: str) -> Operation | None:
    """Atomically mark the operation running, if it is due, in order and its connection active."""
    now = utcnow()
    lease = now + timedelta(seconds=config_value(app, "OPERATION_LEASE_SECONDS", LEASE_SECONDS))
    sessions = app.extensions["bridge.sessions"]
    with sessions() as db:
        claimed = db.execute(sa.update(Operation).where(
            Operation.id == operation_id, Operation.batch_id.is_(None),
            sa.or_(sa.and_(Operation.status == "queued", sa.or_(Operation.next_attempt_at.is_(None),
                                                               Operation.next_attempt_at <= now)),
                   sa.and_(Operation.status == "retrying", Operation.next_attempt_at <= now),
                   sa.and_(Operation.status == "running", Operation.lease_until < now)),
            connection_active(), ~blocked_by_earlier(),
        ).values(status="running", attempts=Operation.attempts + 1, lease_until=lease, waiting_for=None,
                 enqueued_at=None, updated_at=now).execution_options(synchronize_session=False))
        db.commit()
        if claimed.rowcount == 1:
            return db.execute(sa.select(Operation).where(Operation.id == operation_id)).scalar_one()
        _note_waiting(db, operation_id)
    return None


def _note_waiting(db, operation_id: str) -> None:
    """Say why an unclaimed operation waits, and hand it back to the relay."""
    op = db.execute(sa.select(Operation).where(Operation.id == operation_id)).scalar_one_or_none()
    if op is None or op.status not in ("queued", "retrying"):
        return
    reason = waiting_reason(db, op)
    db.execute(sa.update(Operation).where(Operation.id == operation_id, Operation.status == op.status).values(
        enqueued_at=None, waiting_for=reason))
    db.commit()


def waiting_reason(db, op: Operation) -> str | None:
    """Why a queued operation is held back, in words, or None."""
    connection = db.get(Connection, op.connection_id)
    if connection is not None and connection.status != "active":
        return {"paused": "connection paused", "needs_reauth": "connection needs reauthorization",
                "pending": "connection not yet authorized"}.get(connection.status, f"connection {connection.status}")
    if connection is not None and connection.limited_until and connection.limited_until > utcnow():
        return f"daily limit of the ledger spent until {connection.limited_until.isoformat()}"
    keys = [op.object_key] + ([op.parent_key] if op.parent_key else [])
    earlier = db.execute(sa.select(Operation.id).where(
        Operation.connection_id == op.connection_id, Operation.seq < op.seq,
        Operation.status.in_(UNFINISHED), Operation.object_key.in_(keys)).order_by(Operation.seq).limit(1)).scalar()
    if earlier:
        return f"earlier operation {earlier} on the same object"
    return None


def sync_operation(operation_id: str) -> str:
    """Write one operation to its ledger; the outcome decides its next state."""
    app = current_app._get_current_object()
    op = claim(app, operation_id)
    if op is None:
        return "not claimed"
    exchanges: list[dict] = []

    def record(request: dict, response: dict | None) -> None:
        exchanges.append(orjson.loads(orjson.dumps({"request": request, "response": response}, default=str)))

    started = utcnow()
    try:
        result = execute.perform(app, op, record)
    except errors.ReauthRequired as exc:
        mark_needs_reauth(app, op.connection_id, str(exc))
        return _finish(app, op, started, exchanges, "queued", error=str(exc), waiting="connection needs reauthorization",
                       attempts_used=False)
    except errors.LedgerRateLimited as exc:
        return _wait_for_limit(app, op, started, exchanges, exc)
    except (errors.RetryableLedgerError, errors.StaleObject) as exc:
        return _retry(app, op, started, exchanges, exc)
    except errors.LedgerRejected as exc:
        return _finish(app, op, started, exchanges, "failed", error=exc.detail, errors=_field_errors(exc))
    except errors.ValidationFailed as exc:
        return _finish(app, op, started, exchanges, "failed", error=exc.detail, errors=_field_errors(exc))
    except Exception as exc:  # a bug or an unplanned failure: keep the operation, retry it later
        log.exception("operation %s failed unexpectedly", op.id)
        return _retry(app, op, started, exchanges, exc)
    return _finish(app, op, started, exchanges, "succeeded", ledger_id=result.ledger_id,
                   warnings=result.warnings)


def _field_errors(exc: errors.BridgeError) -> list[dict]:
    """The error's field list, or one entry carrying its message."""
    found = [{"field": e.get("field", ""), "message": e.get("message", ""), "code": e.get("code")}
             for e in exc.errors]
    return found or [{"field": "", "message": exc.detail, "code": None}]


def _wait_for_limit(app: Flask, op: Operation, started, exchanges, exc: errors.LedgerRateLimited) -> str:
    """A limit is not a failure: the operation goes back to the queue until the limit allows it."""
    until = utcnow() + timedelta(seconds=max(float(exc.retry_after or 1.0), 0.05))
    if exc.problem == "day":
        with app.extensions["bridge.sessions"]() as db:
            db.execute(sa.update(Connection).where(Connection.id == op.connection_id).values(limited_until=until))
            db.commit()
    reason = ("daily limit of the ledger spent until " if exc.problem == "day" else "rate limit of the ledger until ")
    return _finish(app, op, started, exchanges, "queued", error=str(exc), next_attempt_at=until,
                   waiting=reason + until.isoformat(), attempts_used=False)


def _retry(app: Flask, op: Operation, started, exchanges, exc: Exception) -> str:
    """Retry later with backoff (honouring Retry-After), or give up after BRIDGE_RETRY_MAX."""
    if op.attempts >= app.config["RETRY_MAX"]:
        return _finish(app, op, started, exchanges, "dead", error=str(exc), uncertain=True,
                       errors=[{"field": "", "message": f"Gave up after {op.attempts} attempts: {exc}", "code": None}])
    backoff = float(app.config["RETRY_BACKOFF"]) * (2 ** (op.attempts - 1))
    retry_after = getattr(exc, "retry_after", None) or 0
    delay = min(max(backoff, float(retry_after)), MAX_BACKOFF_SECONDS)
    return _finish(app, op, started, exchanges, "retrying", error=str(exc),
                   next_attempt_at=utcnow() + timedelta(seconds=delay),
                   uncertain=isinstance(exc, (errors.UncertainOutcome, errors.RetryableLedgerError)))


@dataclass
class Outcome:
    """What one attempt of an operation came to (its next state and what to record)."""

    op: Operation
    status: str
    error: str | None = None
    errors: list | None = None
    warnings: list | None = None
    ledger_id: str | None = None
    next_attempt_at: object = None
    waiting: str | None = None
    attempts_used: bool = True
    uncertain: bool = False
    error_class: str | None = None


def _finish(app: Flask, op: Operation, started, exchanges, status: str, **outcome) -> str:
    """Record one attempt and the operation's new state in one commit, then wake the relay."""
    # called from the except clause that caught the attempt's error (if any): classify that error
    outcome.setdefault("error_class", error_classes.of_outcome(
        status, uncertain=outcome.get("uncertain", False), waiting=outcome.get("waiting"), exchanges=exchanges,
        exc=sys.exc_info()[1]))
    record_outcomes(app, [Outcome(op, status, **outcome)], started, exchanges)
    return status


def record_outcomes(app: Flask, outcomes: list[Outcome], started, exchanges, batch_id: str | None = None,
                    batch_attempt: int | None = None) -> None:
    """Record attempts, new states and events of many operations in one commit, then wake the relay.

    For a batch the exchanges are stored once (a BatchAttempt) and each member's attempt points at them.
    """
    if not outcomes:
        return
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        shared_id = None
        if batch_id is not None:
            shared = BatchAttempt(batch_id=batch_id, number=batch_attempt or 0, exchanges=exchanges, created_at=now)
            db.add(shared)
            db.flush()
            shared_id = shared.id
        db.execute(sa.insert(Attempt), [
            {"operation_seq": o.op.seq, "number": o.op.attempts, "outcome": o.status, "error": o.error,
             "exchanges": None if shared_id else exchanges, "batch_attempt_id": shared_id,
             "started_at": started, "finished_at": now} for o in outcomes])
        for o in outcomes:  # what the caller did not classify (batch members) is classified from the outcome
            o.error_class = o.error_class or error_classes.of_outcome(
                o.status, uncertain=o.uncertain, waiting=o.waiting, exchanges=exchanges, in_batch=batch_id is not None)
        rows = [_state_after(o, now) for o in outcomes]
        table = Operation.__table__  # Core executemany: one round of updates, no ORM synchronisation
        db.execute(table.update().where(table.c.seq == sa.bindparam("b_seq"), table.c.status == "running")
                   .values({name: sa.bindparam(name) for name in rows[0] if name != "b_seq"}), rows)
        emit_many(db, [{"account_id": o.op.account_id, "connection_id": o.op.connection_id,
                        "event": "sync.succeeded" if o.status == "succeeded" else "sync.failed",
                        "data": _event_data(o.op, row), "dedupe_key": f"sync:{o.op.id}:{o.op.attempts}"}
                       for o, row in zip(outcomes, rows) if o.status in ("succeeded", "failed", "dead")])
        db.commit()
    for outcome in outcomes:
        log.info("operation %s (%s %s %s): %s", outcome.op.id, outcome.op.action, outcome.op.object,
                 outcome.op.external_id, outcome.status)
    queue.wake_relay(app)


def _state_after(o: Outcome, now) -> dict:
    """The operation's columns after this outcome (the caller holds its lease, so `o.op` is current)."""
    op = o.op
    succeeded = o.status == "succeeded"
    return {"b_seq": op.seq, "status": o.status, "updated_at": now, "lease_until": None, "enqueued_at": None,
            "next_attempt_at": o.next_attempt_at, "waiting_for": o.waiting,
            "errors": [] if succeeded else (o.errors if o.errors is not None else op.errors),
            "ledger_id": o.ledger_id if succeeded else op.ledger_id,
            "error_class": None if succeeded else (o.error_class or op.error_class),
            "warnings": list(dict.fromkeys((op.warnings or []) + (o.warnings or []))) if succeeded else op.warnings,
            "attempts": op.attempts if o.attempts_used else op.attempts - 1,
            # a later attempt may find the write already applied
            "uncertain": bool(op.uncertain or o.uncertain)}


def _event_data(op: Operation, row: dict) -> dict:
    """The Operation document of a sync.* event, as the API shapes it."""
    return json.loads(orjson.dumps({
        "id": op.id, "connection_id": op.connection_id, "object": op.object, "external_id": op.external_id,
        "action": op.action, "status": row["status"], "attempts": row["attempts"], "ledger_id": row["ledger_id"],
        "warnings": row["warnings"] or [], "errors": row["errors"] or [], "error_class": row["error_class"],
        "created_at": op.created_at,
        "updated_at": row["updated_at"]}))

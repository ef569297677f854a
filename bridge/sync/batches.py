"""Batches: new invoices of one connection written in one ledger call (QBO /batch, Xero arrays).

A batch is recorded with its fixed membership and its own key before it is sent, and is retried
whole with that key. Each member's result goes to its own operation, so one bad invoice fails alone.
A batch that cannot get the ledger's batch allowance, or that the ledger refused as a whole, is
dissolved into single writes; after an ambiguous failure its members are first looked up by number.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, current_app

from bridge import errors
from bridge.ledgers import base
from bridge.ledgers.base import BatchItem
from bridge.store.models import Batch, Connection, LedgerObject, Operation, utcnow
from bridge.sync import queue
from bridge.sync.adapters import adapter_for, limiter_for
from bridge.sync.execute import Run, ensure_customer, load_input, mapped_or_refused, remember_many, written_total
from bridge.sync.jobs import LEASE_SECONDS, Outcome, config_value, mark_needs_reauth, record_outcomes

log = logging.getLogger(__name__)


def batch_size(provider: str) -> int:
    """How many invoices the ledger takes in one call (0: no batches)."""
    return base.load(provider).Adapter.BATCH_MAX


def batchable(db, connection_id: str, ops: list[tuple[str, str, str, str]]) -> list[str]:
    """Which of the (id, object, action, external_id) operations are new numbered invoice upserts."""
    candidates = [op for op in ops if op[1] == "invoice" and op[2] == "upsert"]
    if not candidates:
        return []
    written = set(db.execute(sa.select(LedgerObject.external_id).where(
        LedgerObject.connection_id == connection_id, LedgerObject.object == "invoice",
        LedgerObject.external_id.in_([op[3] for op in candidates]))).scalars())
    payloads = dict(db.execute(sa.select(Operation.id, Operation.payload).where(
        Operation.id.in_([op[0] for op in candidates]))).all())
    return [op[0] for op in candidates
            if op[3] not in written and (json.loads(payloads[op[0]]).get("number") or "").strip()]


def fill(db, connection_id: str, provider: str, operation_ids: list[str], linger: float) -> tuple[list[str], list[str]]:
    """Which batchable operations to send now (whole batches) and which to hold for a fuller one.

    A partial batch goes out when nothing of this connection is in flight in a batch (the backlog is
    just small), or when its oldest invoice has waited `linger` seconds.
    """
    size = batch_size(provider)
    whole = len(operation_ids) - len(operation_ids) % size
    rest = operation_ids[whole:]
    if not rest:
        return operation_ids, []
    in_flight = db.execute(sa.select(sa.func.count()).select_from(Batch).where(
        Batch.connection_id == connection_id, Batch.status.in_(("queued", "running", "retrying")))).scalar()
    oldest = db.execute(sa.select(sa.func.min(Operation.created_at)).where(Operation.id.in_(rest))).scalar()
    if not in_flight or (oldest and oldest <= utcnow() - timedelta(seconds=linger)):
        return operation_ids, []
    return operation_ids[:whole], rest


def form(db, connection_id: str, provider: str, operation_ids: list[str]) -> list[Batch]:
    """Record batches of up to the ledger's size from these operations (membership fixed now)."""
    size = batch_size(provider)
    made = []
    for start in range(0, len(operation_ids), size):
        members = operation_ids[start:start + size]
        if len(members) < 2:
            break  # one invoice goes as a single write
        batch = Batch(id="bat_" + secrets.token_hex(12), connection_id=connection_id,
                      key=secrets.token_hex(16), members=members, status="queued")
        db.add(batch)
        db.execute(sa.update(Operation).where(Operation.id.in_(members)).values(batch_id=batch.id))
        made.append(batch)
    return made


def due_batches(app: Flask) -> list[str]:
    """Batches to (re-)enqueue: new, due for a retry, or whose worker vanished."""
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        return list(db.execute(sa.select(Batch.id).where(sa.or_(
            sa.and_(Batch.status.in_(("queued", "retrying")),
                    sa.or_(Batch.next_attempt_at.is_(None), Batch.next_attempt_at <= now),
                    sa.or_(Batch.lease_until.is_(None), Batch.lease_until < now)),  # not already enqueued
            sa.and_(Batch.status == "running", Batch.lease_until < now)),
            sa.exists().where(Connection.id == Batch.connection_id, Connection.status == "active"))).scalars())


def claim(app: Flask, batch_id: str) -> tuple[Batch, list[Operation]] | None:
    """Mark the batch and its members running, if it is due."""
    now = utcnow()
    lease = now + timedelta(seconds=config_value(app, "OPERATION_LEASE_SECONDS", LEASE_SECONDS))
    with app.extensions["bridge.sessions"]() as db:
        claimed = db.execute(sa.update(Batch).where(Batch.id == batch_id, sa.or_(
            sa.and_(Batch.status.in_(("queued", "retrying")), sa.or_(Batch.next_attempt_at.is_(None),
                                                                     Batch.next_attempt_at <= now)),
            sa.and_(Batch.status == "running", Batch.lease_until < now)),
            sa.exists().where(Connection.id == Batch.connection_id, Connection.status == "active"),
        ).values(status="running", attempts=Batch.attempts + 1, lease_until=lease, updated_at=now))
        if claimed.rowcount != 1:
            db.rollback()
            return None
        db.execute(sa.update(Operation).where(Operation.batch_id == batch_id,
                                              Operation.status.in_(("queued", "retrying", "running"))).values(
            status="running", attempts=Operation.attempts + 1, lease_until=lease, waiting_for=None, updated_at=now))
        db.commit()
        batch = db.get(Batch, batch_id)
        members = list(db.execute(sa.select(Operation).where(Operation.batch_id == batch_id,
                                                             Operation.status == "running")).scalars())
        return batch, members


def _set_batch(app: Flask, batch_id: str, **values) -> None:
    """Update the batch row."""
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(Batch).where(Batch.id == batch_id).values(updated_at=utcnow(), lease_until=None, **values))
        db.commit()


def dissolve(app: Flask, batch: Batch, members: list[Operation], adapter, started, exchanges) -> None:
    """Send the members one by one instead; after an ambiguous failure adopt the ones already written."""
    adopted = {}
    if batch.uncertain:
        numbers = {op.id: json.loads(op.payload, parse_float=Decimal).get("number") for op in members}
        found = adapter.find_invoice_ids([n for n in numbers.values() if n])
        adopted = {op_id: found[number] for op_id, number in numbers.items() if number in found}
    with app.extensions["bridge.sessions"]() as db:
        remember_many(db, [(op, "invoice", op.external_id, adopted[op.id], {"adopted_after_uncertain_batch": batch.id})
                           for op in members if op.id in adopted])
    record_outcomes(app, [
        Outcome(op, "succeeded", ledger_id=adopted[op.id], warnings=["found in the ledger after an uncertain batch"])
        if op.id in adopted else
        Outcome(op, "queued", error="sent alone instead of in a batch", attempts_used=False)
        for op in members], started, exchanges, batch.id, batch.attempts)
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(Operation).where(Operation.id.in_([op.id for op in members])).values(
            batch_id=None, single=True))
        db.commit()
    _set_batch(app, batch.id, status="dissolved")


def sync_batch(batch_id: str) -> str:
    """Write one batch of invoices; each member's result to its own operation."""
    app = current_app._get_current_object()
    claimed = claim(app, batch_id)
    if claimed is None:
        return "not claimed"
    batch, members = claimed
    exchanges: list[dict] = []

    def record(request: dict, response: dict | None) -> None:
        exchanges.append(json.loads(json.dumps({"request": request, "response": response}, default=str)))

    started = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        connection = db.get(Connection, batch.connection_id)
        adapter = adapter_for(app, connection, record)
        try:
            items, notes = _prepare(app, db, batch, members, adapter, started, exchanges)
            results = adapter.upsert_invoices(items, batch.key) if items else []
        except errors.ReauthRequired as exc:
            mark_needs_reauth(app, batch.connection_id, str(exc))
            record_outcomes(app, [Outcome(op, "queued", error=str(exc), attempts_used=False,
                                          waiting="connection needs reauthorization") for op in members],
                            started, exchanges, batch.id, batch.attempts)
            _set_batch(app, batch.id, status="queued", attempts=Batch.attempts - 1)
            return "reauth"
        except errors.LedgerRateLimited as exc:
            limiter = limiter_for(app, connection)
            if not batch.uncertain and limiter.available("request"):
                dissolve(app, batch, members, adapter, started, exchanges)  # the batch allowance is spent
                return "dissolved"
            until = utcnow() + timedelta(seconds=float(exc.retry_after or 1.0))
            record_outcomes(app, [Outcome(op, "queued", error=str(exc), attempts_used=False, next_attempt_at=until,
                                          waiting=f"rate limit of the ledger until {until.isoformat()}")
                                  for op in members], started, exchanges, batch.id, batch.attempts)
            _set_batch(app, batch.id, status="retrying", next_attempt_at=until, attempts=Batch.attempts - 1)
            return "waiting"
        except errors.LedgerRejected as exc:  # the whole call refused: let each invoice speak for itself
            log.warning("batch %s refused as a whole (%s); sending its invoices alone", batch.id, exc)
            dissolve(app, batch, members, adapter, started, exchanges)
            return "dissolved"
        except (errors.RetryableLedgerError, errors.StaleObject) as exc:
            return _retry(app, batch, members, adapter, started, exchanges, exc)
    _record_results(app, batch, members, results, started, exchanges, notes, items)
    return "done"


def _record_results(app: Flask, batch: Batch, members: list[Operation], results, started, exchanges,
                    notes: dict[str, list[str]], items: list[BatchItem]) -> None:
    """Each member's result to its own operation, all in one commit; the exchange stored once.
    `notes`: warnings of a member's preparation (an item created for it), by its key. Each invoice is
    remembered with its customer, as a single write remembers it (its payments name that customer)."""
    by_key = {op.request_key: op for op in members}
    sent = {item.key: item for item in items}
    with app.extensions["bridge.sessions"]() as db:
        remember_many(db, [(by_key[r.key], "invoice", by_key[r.key].external_id, r.written.ledger_id,
                            {**r.written.extra, **written_total(r.written), "batch_id": batch.id,
                             "customer_ledger_id": sent[r.key].customer.ledger_id,
                             "customer_external_id": sent[r.key].document["customer"]["external_id"]})
                           for r in results if r.written is not None])
        db.commit()
    outcomes = []
    for result in results:
        op = by_key[result.key]
        if result.written is not None:
            outcomes.append(Outcome(op, "succeeded", ledger_id=result.written.ledger_id,
                                    warnings=notes.get(result.key, []) + result.written.warnings))
        else:
            outcomes.append(Outcome(op, "failed", error=str(result.error), errors=_member_errors(result.error)))
    record_outcomes(app, outcomes, started, exchanges, batch.id, batch.attempts)
    _set_batch(app, batch.id, status="done")


def _member_errors(error: Exception) -> list[dict]:
    """One member's field errors, or one entry carrying its message."""
    return [{"field": e.get("field", ""), "message": e.get("message", ""), "code": e.get("code")}
            for e in getattr(error, "errors", [])] or [{"field": "", "message": str(error), "code": None}]


def _prepare(app: Flask, db, batch: Batch, members: list[Operation], adapter, started,
             exchanges) -> tuple[list[BatchItem], dict[str, list[str]]]:
    """Each member's input, items and customer; a member that cannot be prepared fails alone before the first
    send. Items the invoicing platform owns are placed here, before the batch that references them."""
    items, refused, notes = [], [], {}
    for op in members:
        run = Run(app, db, op, adapter)
        try:
            data = load_input(op)
            mapped_or_refused(run, "invoice", data)  # an unmappable line fails before its items or customer
            customer = ensure_customer(run, data["customer"])
        except (errors.LedgerRejected, errors.ValidationFailed) as exc:
            if batch.attempts > 1:
                raise errors.RetryableLedgerError(f"member {op.id} no longer prepares: {exc}") from exc
            refused.append(Outcome(op, "failed", error=str(exc), errors=_member_errors(exc)))
            continue
        items.append(BatchItem(key=op.request_key, document=data, customer=customer))
        notes[op.request_key] = run.warnings
    record_outcomes(app, refused, started, [])  # refused before anything was sent
    if len(items) != len(members) and batch.attempts == 1:
        kept = [item.key for item in items]
        _set_batch(app, batch.id, members=[op.id for op in members if op.request_key in kept], status="running")
    return items, notes


def _retry(app: Flask, batch: Batch, members: list[Operation], adapter, started, exchanges, exc: Exception) -> str:
    """Retry the whole batch with the same key, or after BRIDGE_RETRY_MAX adopt what was written and stop."""
    # A 5xx or timeout after the batch left may have been applied: treat it as ambiguous.
    uncertain = batch.uncertain or isinstance(exc, (errors.UncertainOutcome, errors.RetryableLedgerError))
    if batch.attempts >= app.config["RETRY_MAX"]:
        batch.uncertain = uncertain
        dissolve(app, batch, members, adapter, started, exchanges)
        return "dissolved"
    delay = min(max(float(app.config["RETRY_BACKOFF"]) * 2 ** (batch.attempts - 1),
                    float(getattr(exc, "retry_after", None) or 0)), 3600)
    until = utcnow() + timedelta(seconds=delay)
    record_outcomes(app, [Outcome(op, "retrying", error=str(exc), next_attempt_at=until) for op in members],
                    started, exchanges, batch.id, batch.attempts)
    _set_batch(app, batch.id, status="retrying", next_attempt_at=until, uncertain=uncertain)
    return "retrying"


def enqueue(app: Flask, batch_ids: list[str]) -> None:
    """Put batch jobs in the ledger-writes queue."""
    from rq import Queue

    from bridge.sync.relay import FAILURE_TTL, JOB_TIMEOUT, RESULT_TTL

    ledger_writes = queue.get_queue(queue.LEDGER_WRITES, app)
    jobs = [Queue.prepare_data(sync_batch, args=(batch_id,), timeout=JOB_TIMEOUT,
                               job_id=f"{batch_id}-{secrets.token_hex(4)}", result_ttl=RESULT_TTL,
                               failure_ttl=FAILURE_TTL, description=f"batch {batch_id}") for batch_id in batch_ids]
    with ledger_writes.connection.pipeline() as pipe:
        ledger_writes.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(Batch).where(Batch.id.in_(batch_ids), Batch.status.in_(("queued", "retrying"))).values(
            lease_until=utcnow() + timedelta(seconds=config_value(app, "OPERATION_LEASE_SECONDS", LEASE_SECONDS))))
        db.commit()

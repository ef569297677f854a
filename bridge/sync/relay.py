"""The relay: moves committed operations from the outbox into RQ, and recovers lost ones.

It enqueues operations that are new, due for a retry, or whose job was lost (enqueued long ago and
still queued, or running past their lease). Jobs are safe to run twice, so a crash between the
enqueue and the bookkeeping costs nothing but a no-op job.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from sqlalchemy.exc import SQLAlchemyError

from bridge.events import alerts, dispatch, polling
from bridge.events.inbound import jobs as inbound_jobs
from bridge.ledgers import base
from bridge.ledgers.base import LEDGERS
from bridge.store.models import Batch, Connection, Operation, utcnow
from bridge.sync import batches, exports, queue
from bridge.sync.adapters import limiter_for_id
from bridge.sync.jobs import blocked_by_earlier, connection_active, sync_operation

log = logging.getLogger(__name__)

BATCH = 500
LOST_AFTER_SECONDS = 120
"""A queued operation enqueued this long ago without being claimed is enqueued again."""
BATCH_LINGER_SECONDS = 1.0
"""How long new invoices may wait for a batch to fill while another batch of theirs is in flight."""
PER_CONNECTION_IN_QUEUE = 10
"""Operations of one connection enqueued or running at once: the fairness share."""
BATCHES_IN_FLIGHT = 2
"""Batches of one connection formed and not yet done: one being sent while the next waits its turn."""
POLL_SECONDS = 0.5
LEADER_KEY = "bridge:relay:leader"
LEADER_TTL_MS = 5000
JOB_TIMEOUT = 240
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


def due_operations(app: Flask, limit: int = BATCH) -> list[tuple]:
    """Operations that should be in the queue now and are not, oldest first, a fair share per connection.

    Each connection has at most PER_CONNECTION_IN_QUEUE single operations enqueued or running, plus
    BATCHES_IN_FLIGHT whole batches of new invoices on ledgers that batch, so a backlog of thousands on
    one connection never stands in front of another connection's first invoice. Where batch calls
    have a smaller allowance of their own (QBO), invoices beyond the batches go alone beside them.
    Rows: (seq, id, connection_id, provider, object, action, external_id, single).
    """
    now = utcnow()
    lost = now - timedelta(seconds=app.config.get("RELAY_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS))
    base_share = app.config.get("RELAY_PER_CONNECTION", PER_CONNECTION_IN_QUEUE)
    not_enqueued = sa.or_(Operation.enqueued_at.is_(None), Operation.enqueued_at < lost)
    due_now = sa.or_(Operation.next_attempt_at.is_(None), Operation.next_attempt_at <= now)
    candidates = sa.select(
        Operation.seq, Operation.id, Operation.connection_id, Connection.provider, Operation.object,
        Operation.action, Operation.external_id, Operation.single,
        sa.func.row_number().over(partition_by=Operation.connection_id, order_by=Operation.seq).label("rank"),
    ).join(Connection, Connection.id == Operation.connection_id).where(
        Operation.batch_id.is_(None),
        sa.or_(sa.and_(Operation.status == "queued", not_enqueued, due_now),
               sa.and_(Operation.status == "retrying", due_now, not_enqueued),
               sa.and_(Operation.status == "running", Operation.lease_until < now)),
        connection_active(), ~blocked_by_earlier(),
    ).subquery()
    size = {name: batches.batch_size(name) for name in LEDGERS}
    alongside = {name for name in LEDGERS if base.load(name).Adapter.BATCH_RESERVE}
    with app.extensions["bridge.sessions"]() as db:
        busy = dict(db.execute(sa.select(Operation.connection_id, sa.func.count()).where(
            Operation.batch_id.is_(None), sa.or_(
                sa.and_(Operation.status == "queued", Operation.enqueued_at >= lost),
                sa.and_(Operation.status == "running", Operation.lease_until >= now)),
        ).group_by(Operation.connection_id)).all())
        in_flight = dict(db.execute(sa.select(Batch.connection_id, sa.func.count()).where(
            Batch.status.in_(("queued", "running", "retrying"))).group_by(Batch.connection_id)).all())
        rows = db.execute(sa.select(*[c for c in candidates.c if c.name != "rank"]).where(
            candidates.c.rank <= base_share + BATCHES_IN_FLIGHT * max(size.values())).order_by(candidates.c.seq)
            .limit(limit * 2)).all()
    room: dict[str, int] = {}  # new invoices each connection may still put into batches, in whole batches
    shares: dict[str, int] = {}

    def share(row) -> int:
        """The connection's single-write share, never more than its ledger allowance has free now
        (work enqueued beyond that would only bounce off the limiter)."""
        if row.connection_id not in shares:
            # per-second windows only pace the workers (they wait briefly); minutes and days decide
            free = limiter_for_id(app, row.connection_id, row.provider).free("request", spans_from=60.0)
            shares[row.connection_id] = min(base_share, busy.get(row.connection_id, 0) + free)
        return shares[row.connection_id]

    picked = []
    for row in rows:
        connection_id = row.connection_id
        batchable = size[row.provider] and row.object == "invoice" and row.action == "upsert" and not row.single
        if connection_id not in room:
            room[connection_id] = max(0, BATCHES_IN_FLIGHT - in_flight.get(connection_id, 0)) * size[row.provider]
        if batchable and room[connection_id] > 0:
            room[connection_id] -= 1
            picked.append(tuple(row))
        elif (not batchable or row.provider in alongside) and busy.get(connection_id, 0) < share(row):
            busy[connection_id] = busy.get(connection_id, 0) + 1
            picked.append((*row[:7], True) if batchable else tuple(row))  # beside the batches, alone
    return picked[:limit]


def relay_once(app: Flask, limit: int = BATCH) -> int:
    """Enqueue one round of due work (single operations and batches); returns how many operations."""
    due = due_operations(app, limit)
    formed, held = [], set()
    if due:
        linger = float(app.config.get("RELAY_BATCH_LINGER_SECONDS", BATCH_LINGER_SECONDS))
        with app.extensions["bridge.sessions"]() as db:
            groups: dict[tuple[str, str], list] = {}
            for row in due:
                if not row[7] and batches.batch_size(row[3]):
                    groups.setdefault((row[2], row[3]), []).append((row[1], row[4], row[5], row[6]))
            for (connection_id, provider), ops in groups.items():
                ready, waiting = batches.fill(db, connection_id, provider,
                                              batches.batchable(db, connection_id, ops), linger)
                made = batches.form(db, connection_id, provider, ready)
                if made:
                    limiter_for_id(app, connection_id, provider).batching()
                formed += made
                held.update(waiting)
            db.commit()
    in_batches = {member for batch in formed for member in batch.members}
    singles = [(row[0], row[1]) for row in due if row[1] not in in_batches and row[1] not in held]
    if singles:
        _enqueue_singles(app, singles)
    batch_ids = batches.due_batches(app)
    if batch_ids:
        batches.enqueue(app, batch_ids)
    log.debug("relay enqueued %d operations and %d batches", len(singles), len(batch_ids))
    return len(singles) + len(in_batches)


def _enqueue_singles(app: Flask, due: list[tuple[int, str]]) -> None:
    """One sync_operation job per operation, then mark them enqueued."""
    ledger_writes = queue.get_queue(queue.LEDGER_WRITES, app)
    jobs = [Queue.prepare_data(sync_operation, args=(operation_id,), timeout=JOB_TIMEOUT,
                               job_id=f"{operation_id}-{secrets.token_hex(4)}", result_ttl=RESULT_TTL,
                               failure_ttl=FAILURE_TTL, description=f"sync {operation_id}")
            for _, operation_id in due]
    with ledger_writes.connection.pipeline() as pipe:
        ledger_writes.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(Operation).where(Operation.seq.in_([seq for seq, _ in due])).values(
            enqueued_at=utcnow()).execution_options(synchronize_session=False))
        db.commit()


class Relay:
    """A loop that relays while it holds the leader lock in Redis (one relay works at a time)."""

    def __init__(self, app: Flask, name: str | None = None, poll: float = POLL_SECONDS, scheduler=None):
        self.app = app
        self.name = name or f"relay-{secrets.token_hex(4)}"
        self.poll = poll
        self.scheduler = scheduler
        self.stopping = threading.Event()

    def is_leader(self) -> bool:
        """Take or keep the leader lock."""
        conn = queue.connection(self.app)
        if conn.set(LEADER_KEY, self.name, nx=True, px=LEADER_TTL_MS):
            return True
        if conn.get(LEADER_KEY) == self.name.encode():
            conn.pexpire(LEADER_KEY, LEADER_TTL_MS)
            return True
        return False

    def step(self) -> int:
        """One pass: relay while there is work, run due scheduled jobs."""
        moved = 0
        if self.is_leader():
            while (count := relay_once(self.app)) > 0:
                moved += count
                if count < BATCH:
                    break
            dispatch.dispatch(self.app)  # REST hooks: deliveries of new events, and retries that are due
            if self.scheduler is not None:
                self.scheduler.acquire_locks()
                self.scheduler.enqueue_scheduled_jobs()
            alerts.schedule(self.app)  # the e-mail digest, once a minute when SMTP is set
            exports.schedule(self.app)  # the daily export e-mail, when SMTP is set
            polling.schedule(self.app)  # each connection's ledger asked what changed, every BRIDGE_POLL_SECONDS
            inbound_jobs.schedule(self.app)  # stored webhook notices not yet applied; FreshBooks callbacks
        return moved

    def wait(self) -> None:
        """Sleep until a hint arrives or the poll interval passes."""
        conn = queue.connection(self.app)
        if conn.blpop([queue.WAKE_KEY], timeout=self.poll):
            conn.delete(queue.WAKE_KEY)

    def run(self) -> None:
        """Relay until stopped; outages of Redis or the database only delay it."""
        while not self.stopping.is_set():
            try:
                self.step()
                self.wait()
            except (redis.RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("relay paused: %s", exc)
                self.stopping.wait(1.0)
            except Exception:  # never let the relay thread die: log, pause, go on
                log.exception("relay step failed")
                self.stopping.wait(1.0)

    def stop(self) -> None:
        """Ask the loop to end."""
        self.stopping.set()
        try:
            if queue.connection(self.app).get(LEADER_KEY) == self.name.encode():
                queue.connection(self.app).delete(LEADER_KEY)
        except redis.RedisError:
            pass

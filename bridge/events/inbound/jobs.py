"""The job that applies a connection's stored notices, and the relay's sweep: rows left behind (a lost job,
a failed read) woken again, old ones pruned.

The stored rows are the queue of what webhooks announced. A Redis flag per connection says a reader will
look at them: a stored row sets it and, if it was not set, enqueues a job. The job takes the connection's
change reader and reads every row not yet applied, a batch at a time, so a burst of webhooks costs a few
batched reads and a few jobs, not one of each per delivery. Done, it clears the flag and, after releasing the
reader, looks once more: a row stored before the flag went is read by it, a row stored after wakes a new job.
A job that finds the reader busy returns at once, leaving its rows to the holder.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from bridge.events import changes
from bridge.events.inbound.common import LISTENING, clear_queued, wake
from bridge.store.models import Connection, InboundNotice, utcnow
from bridge.sync import queue

log = logging.getLogger(__name__)

REPEATABLE = frozenset({"freshbooks"})
"""Ledgers whose identical delivery may announce a new change (no event id or time in it): their
dedupe key is released once the row is applied, so only replays of a pending delivery collapse."""
LOST_AFTER_SECONDS = 120
"""A row woken this long ago and not applied (job lost, or failed) is woken again."""
MAX_ATTEMPTS = 8
"""Tries of one row; after that the polling fallback catches the change."""
ROWS_PER_READ = 200
"""Stored rows read in one batch."""
SWEEP_SECONDS = 10
SWEEP_KEY = "bridge:inbound:sweep"
SWEEP_BATCH = 500
KEEP = timedelta(days=7)
"""Rows are kept this long (replays inside it are recognised), then pruned."""


def apply_connection_job(connection_id: str) -> int:
    """RQ job: apply the connection's stored rows not yet applied; safe to run twice."""
    return apply_pending(current_app._get_current_object(), connection_id)


def apply_notices_job(notice_id: int) -> int:
    """RQ job of earlier releases (one per row): apply the row's connection."""
    app = current_app._get_current_object()
    with app.extensions["bridge.sessions"]() as db:
        connection_id = db.execute(sa.select(InboundNotice.connection_id).where(InboundNotice.id == notice_id)).scalar()
    return apply_pending(app, connection_id) if connection_id else 0


def apply_pending(app: Flask, connection_id: str) -> int:
    """Apply the connection's waiting rows under its change reader, unless another worker holds it; how
    many events were recorded. Raises when the ledger could not be read (the rows wait for the sweep)."""
    emitted = 0
    while True:
        with changes.reader(app, connection_id) as lock:
            if lock is None:
                return emitted  # the holder reads our rows
            try:
                emitted += apply_rows(app, connection_id, lock)
            finally:
                clear_queued(app, connection_id)  # rows stored from now on wake another job
        if not waiting(app, connection_id):  # stored before the flag went: read them too
            return emitted


def apply_rows(app: Flask, connection_id: str, lock) -> int:
    """Read every waiting row of the connection, a batch at a time (the caller holds the reader); how many
    events were recorded."""
    sessions = app.extensions["bridge.sessions"]
    emitted = 0
    while True:
        lock.extend(changes.LOCK_SECONDS, replace_ttl=True)
        with sessions() as db:
            rows = db.execute(_waiting_rows(connection_id).order_by(InboundNotice.id)
                              .limit(ROWS_PER_READ)).scalars().all()
            if not rows:
                return emitted
            status = db.execute(sa.select(Connection.status).where(Connection.id == connection_id)).scalar()
            if status not in LISTENING:
                _finish(db, rows, error=f"connection {status}")
                continue
            ids = [row.id for row in rows]
            notices = [notice for row in rows for notice in row.notices]
            db.execute(sa.update(InboundNotice).where(InboundNotice.id.in_(ids))
                       .values(attempts=InboundNotice.attempts + 1))
            db.commit()
        try:
            emitted += changes.apply_notices(app, connection_id, notices)
        except Exception as exc:
            _failed(app, ids, exc)
            raise
        with sessions() as db:
            _finish(db, db.execute(sa.select(InboundNotice).where(InboundNotice.id.in_(ids))).scalars().all())


def _waiting_rows(connection_id: str):
    """The connection's rows not yet applied (nor given up, nor waiting to retry after a failed read)."""
    return sa.select(InboundNotice).where(InboundNotice.connection_id == connection_id,
                                          InboundNotice.processed_at.is_(None),
                                          InboundNotice.attempts < MAX_ATTEMPTS,
                                          sa.or_(InboundNotice.retry_at.is_(None), InboundNotice.retry_at <= utcnow()))


def waiting(app: Flask, connection_id: str) -> bool:
    """Whether the connection has rows waiting."""
    with app.extensions["bridge.sessions"]() as db:
        return db.execute(_waiting_rows(connection_id).limit(1)).first() is not None


def _failed(app: Flask, ids: list[int], exc: Exception) -> None:
    """Note the error on the rows; they rest until the ledger's wait (else LOST_AFTER) has passed, then the
    sweep wakes them (readers woken by newer rows leave them until then)."""
    lost_after = app.config.get("INBOUND_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS)
    wait = min(float(getattr(exc, "retry_after", None) or lost_after), lost_after)
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(InboundNotice).where(InboundNotice.id.in_(ids)).values(
            last_error=f"{exc.__class__.__name__}: {exc}"[:2000], retry_at=now + timedelta(seconds=wait),
            enqueued_at=now - timedelta(seconds=lost_after - wait)))
        db.commit()


def _finish(db, rows: list[InboundNotice], error: str | None = None) -> None:
    """Mark rows applied (or given up), releasing their dedupe keys where deliveries repeat."""
    now = utcnow()
    for row in rows:
        row.processed_at = now
        row.last_error = error
        if row.provider in REPEATABLE:
            row.dedupe_key = None
    db.commit()


def schedule(app: Flask) -> None:
    """Called by the relay's leader on every step: sweep at most every SWEEP_SECONDS."""
    if queue.connection(app).set(SWEEP_KEY, 1, nx=True, ex=SWEEP_SECONDS):
        sweep(app)
        from bridge.events.inbound import callbacks

        callbacks.tick(app)


def sweep(app: Flask) -> int:
    """Wake the connections of rows never woken, lost or failed (up to MAX_ATTEMPTS), and prune old rows;
    how many rows were woken."""
    now = utcnow()
    lost = now - timedelta(seconds=app.config.get("INBOUND_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS))
    with app.extensions["bridge.sessions"]() as db:
        due = db.execute(sa.select(InboundNotice.id, InboundNotice.connection_id).where(
            InboundNotice.processed_at.is_(None), InboundNotice.attempts < MAX_ATTEMPTS,
            sa.or_(InboundNotice.enqueued_at.is_(None), InboundNotice.enqueued_at < lost),
        ).order_by(InboundNotice.id).limit(SWEEP_BATCH)).all()
        if due:
            db.execute(sa.update(InboundNotice).where(InboundNotice.id.in_([row.id for row in due]))
                       .values(enqueued_at=now))
        oldest = db.execute(sa.select(InboundNotice.id, InboundNotice.received_at)
                            .order_by(InboundNotice.id).limit(SWEEP_BATCH)).all()  # the primary key's order
        expired = [row.id for row in oldest if row.received_at < now - KEEP]
        if expired:
            db.execute(sa.delete(InboundNotice).where(InboundNotice.id.in_(expired)))
        db.commit()
    if due:
        log.info("inbound sweep wakes %d stored rows", len(due))
        wake(app, sorted({row.connection_id for row in due}), force=True)
    return len(due)

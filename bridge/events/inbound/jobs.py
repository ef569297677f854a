"""The job that applies stored notices, and the relay's sweep: lost or failed rows enqueued again, old ones pruned."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from bridge.events import changes
from bridge.store.models import Connection, InboundNotice, utcnow
from bridge.sync import queue

log = logging.getLogger(__name__)

REPEATABLE = frozenset({"freshbooks"})
"""Ledgers whose identical delivery may announce a new change (no event id or time in it): their
dedupe key is released once the row is applied, so only replays of a pending delivery collapse."""
LOST_AFTER_SECONDS = 120
"""A row enqueued this long ago and not applied (job lost, or failed) is enqueued again."""
MAX_ATTEMPTS = 8
"""Tries of one row; after that the polling fallback catches the change."""
SWEEP_SECONDS = 10
SWEEP_KEY = "bridge:inbound:sweep"
SWEEP_BATCH = 500
KEEP = timedelta(days=7)
"""Rows are kept this long (replays inside it are recognised), then pruned."""


def apply_notices_job(notice_id: int) -> int:
    """RQ job: hand one stored row's notices to `bridge.events.changes.apply_notices`; safe to run twice."""
    return apply_stored(current_app._get_current_object(), notice_id)


def apply_stored(app: Flask, notice_id: int) -> int:
    """Apply one row unless done already (or its connection stopped listening); how many notices it held."""
    sessions = app.extensions["bridge.sessions"]
    with sessions() as db:
        row = db.get(InboundNotice, notice_id)
        if row is None or row.processed_at is not None:
            return 0
        status = db.execute(sa.select(Connection.status).where(Connection.id == row.connection_id)).scalar()
        if status not in ("active", "paused"):
            _finish(db, row, error=f"connection {status}")
            return 0
        row.attempts += 1
        db.commit()
        connection_id, notices = row.connection_id, list(row.notices)
    try:
        changes.apply_notices(app, connection_id, notices)
    except Exception as exc:
        lost_after = app.config.get("INBOUND_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS)
        wait = min(float(getattr(exc, "retry_after", None) or lost_after), lost_after)
        with sessions() as db:  # the sweep takes the row again once `wait` has passed (a rate limit's wait)
            db.execute(sa.update(InboundNotice).where(InboundNotice.id == notice_id).values(
                last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
                enqueued_at=utcnow() - timedelta(seconds=lost_after - wait)))
            db.commit()
        raise
    with sessions() as db:
        _finish(db, db.get(InboundNotice, notice_id))
    return len(notices)


def _finish(db, row: InboundNotice, error: str | None = None) -> None:
    """Mark a row applied (or given up), releasing its dedupe key where deliveries repeat."""
    row.processed_at = utcnow()
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
    """Enqueue rows never enqueued, lost or failed (up to MAX_ATTEMPTS), and prune old rows; how many enqueued."""
    from bridge.events.inbound.common import enqueue

    now = utcnow()
    lost = now - timedelta(seconds=app.config.get("INBOUND_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS))
    with app.extensions["bridge.sessions"]() as db:
        due = list(db.execute(sa.select(InboundNotice.id).where(
            InboundNotice.processed_at.is_(None), InboundNotice.attempts < MAX_ATTEMPTS,
            sa.or_(InboundNotice.enqueued_at.is_(None), InboundNotice.enqueued_at < lost),
        ).order_by(InboundNotice.id).limit(SWEEP_BATCH)).scalars())
        if due:
            db.execute(sa.update(InboundNotice).where(InboundNotice.id.in_(due)).values(enqueued_at=now))
        oldest = db.execute(sa.select(InboundNotice.id, InboundNotice.received_at)
                            .order_by(InboundNotice.id).limit(SWEEP_BATCH)).all()  # the primary key's order
        expired = [row.id for row in oldest if row.received_at < now - KEEP]
        if expired:
            db.execute(sa.delete(InboundNotice).where(InboundNotice.id.in_(expired)))
        db.commit()
    if due:
        log.info("inbound sweep enqueues %d stored notices", len(due))
        enqueue(app, due)
    return len(due)

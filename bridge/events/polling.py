"""The polling fallback: every BRIDGE_POLL_SECONDS each readable connection's ledger is asked what changed
since its checkpoint (QBO /cdc or a query, Xero If-Modified-Since, FreshBooks updated_min). The changes
go through the same core as webhook notices (bridge.events.changes), so a change seen both ways is one
event: webhooks may miss changes (Xero sends none for payments), the poll catches them.

The relay's leader schedules one poll per connection per interval (a Redis key per connection). A poll
holds the connection's change reader, reads from its checkpoint less an overlap (ledger clocks, eventual
consistency: what is read twice is recognised), and stores the new checkpoint in the transaction that
records the events. A connection's first poll only records its checkpoint: history is not news.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import Flask, current_app
from rq import Queue
from sqlalchemy.dialects import postgresql, sqlite

from bridge import errors
from bridge.events import changes
from bridge.events.inbound import common as inbound_common
from bridge.events.inbound import jobs as inbound_jobs
from bridge.ledgers import base
from bridge.store.models import ChangeCheckpoint, Connection, utcnow
from bridge.sync import queue
from bridge.sync.adapters import adapter_for

log = logging.getLogger(__name__)

POLL_SECONDS = 300.0
"""Default of BRIDGE_POLL_SECONDS: how often each connection's ledger is asked what changed."""
OVERLAP = timedelta(minutes=2)
"""Each poll reads again this much before its checkpoint."""
READER_WAIT_SECONDS = 30.0
"""How long a poll waits for the connection's change reader (a webhook batch being applied)."""
TICK_KEY = "bridge:polling:tick"
DUE_KEY = "bridge:polling:due:{}"
JOB_TIMEOUT = 900


def poll_seconds(app: Flask) -> float:
    """The polling interval (BRIDGE_POLL_SECONDS; tests shorten it; 0 switches scheduled polls off)."""
    value = app.config.get("POLL_SECONDS")
    return POLL_SECONDS if value is None else float(value)


def pollable_providers() -> list[str]:
    """Ledgers whose adapter reads changes."""
    return [name for name in base.LEDGERS
            if base.load(name).Adapter.changes_since is not base.Ledger.changes_since]


def schedule(app: Flask) -> int:
    """Enqueue a poll of each readable connection not polled within the interval (called on every step of
    the relay's leader: it looks at most a few times an interval); how many were enqueued."""
    every = poll_seconds(app)
    redis_ = queue.connection(app)
    if every <= 0 or not redis_.set(TICK_KEY, 1, nx=True, px=max(100, int(min(every, 10.0) * 500))):
        return 0
    with app.extensions["bridge.sessions"]() as db:
        ids = db.execute(sa.select(Connection.id).where(
            Connection.status.in_(changes.READABLE), Connection.provider.in_(pollable_providers()))).scalars().all()
    due = [connection_id for connection_id in ids
           if redis_.set(DUE_KEY.format(connection_id), 1, nx=True, px=max(100, int(every * 1000)))]
    if due:
        jobs = [Queue.prepare_data(poll_job, args=(connection_id,), timeout=JOB_TIMEOUT, result_ttl=600,
                                   failure_ttl=24 * 3600, description=f"poll {connection_id}") for connection_id in due]
        events_queue = queue.get_queue(queue.EVENTS, app)
        with events_queue.connection.pipeline() as pipe:
            events_queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
    return len(due)


def poll_job(connection_id: str) -> int:
    """RQ job: poll one connection; safe to run twice (what is read twice is recognised)."""
    return poll(current_app._get_current_object(), connection_id)


def poll(app: Flask, connection_id: str, now: datetime | None = None) -> int:
    """Read the connection's changes since its checkpoint and apply them; how many events were recorded."""
    with changes.reader(app, connection_id, wait=READER_WAIT_SECONDS) as lock:
        if lock is None:
            log.info("poll of %s skipped: its change reader stayed busy", connection_id)
            return 0
        try:
            emitted = _poll_holding(app, connection_id, lock, now)
        finally:
            inbound_common.clear_queued(app, connection_id)
    if inbound_jobs.waiting(app, connection_id):  # webhook notices stored while the poll held the reader
        inbound_common.wake(app, [connection_id])
    return emitted


def _poll_holding(app: Flask, connection_id: str, lock, now: datetime | None) -> int:
    """The poll, with the reader held: webhook notices waiting first, then the changes since the checkpoint."""
    try:
        emitted = inbound_jobs.apply_rows(app, connection_id, lock)  # webhook notices waiting
    except errors.LedgerError as exc:
        _failed(app, connection_id, exc)
        return 0
    with app.extensions["bridge.sessions"]() as db:
        connection = db.get(Connection, connection_id)
        if connection is None or connection.status not in changes.READABLE:
            return emitted
        row = db.get(ChangeCheckpoint, connection_id)
        checkpoint = row.checkpoint if row is not None else None
        db.expunge(connection)
    now = now or utcnow()
    since = _since(checkpoint)
    adapter = adapter_for(app, connection)
    try:
        found, resume = adapter.changes_since(since, now)
    except errors.LedgerError as exc:
        _failed(app, connection_id, exc)
        return emitted
    lock.extend(changes.LOCK_SECONDS, replace_ttl=True)
    return emitted + changes.apply_changes(
        app, connection, found, adapter,
        before_commit=lambda db: _save(db, connection_id, checkpoint=resume, polled_at=now, last_error=None))


def _since(checkpoint: str | None) -> str | None:
    """Where to read from: the checkpoint less the overlap (None: nothing read yet)."""
    if checkpoint is None:
        return None
    moment = datetime.fromisoformat(checkpoint.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - OVERLAP).astimezone(timezone.utc).isoformat(timespec="seconds")


def _failed(app: Flask, connection_id: str, exc: errors.LedgerError) -> None:
    """Keep the checkpoint (the next poll reads the same span) and note why this one failed."""
    log.warning("poll of %s failed: %s", connection_id, exc.__class__.__name__)
    with app.extensions["bridge.sessions"]() as db:
        _save(db, connection_id, last_error=f"{exc.__class__.__name__}: {exc}"[:2000])
        db.commit()


def _save(db, connection_id: str, **values) -> None:
    """Create or update the connection's checkpoint row."""
    now = utcnow()
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(ChangeCheckpoint)
    db.execute(insert.values(connection_id=connection_id, created_at=now, updated_at=now, **values)
               .on_conflict_do_update(index_elements=["connection_id"], set_={**values, "updated_at": now}))


def checkpoint_of(app: Flask, connection_id: str) -> ChangeCheckpoint | None:
    """The connection's checkpoint row (for tests and the console)."""
    with app.extensions["bridge.sessions"]() as db:
        row = db.get(ChangeCheckpoint, connection_id)
        if row is not None:
            db.expunge(row)
        return row

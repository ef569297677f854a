"""When reconciliations run: daily by default, per connection configurable, one run per period.

A tick job on the `reconciliation` queue, rescheduled through RQ's scheduler, creates this period's
run of every due connection. The run row is unique per (connection, period), so any number of
workers and ticks still make one scheduled run per connection per period.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite

from bridge import errors
from bridge.store.models import (
    Connection,
    ReconciliationRun,
    ReconciliationSchedule,
    utcnow,
)
from bridge.sync import queue
from bridge.sync.reconcile import READABLE, new_run_id, reconcile_connection

log = logging.getLogger(__name__)

DEFAULT_EVERY_SECONDS = 24 * 3600
"""A connection without a schedule of its own is reconciled once a day."""
TICK_SECONDS = 60.0
"""How often the tick looks for due connections (BRIDGE_RECONCILE_TICK_SECONDS)."""
LOST_AFTER = timedelta(minutes=5)
"""A queued run not started this long after it was made is enqueued again (its job was lost)."""
JOB_TIMEOUT = 1800
EVERY_PATTERN = re.compile(r"^(\d{1,4})([hd])$")
MIN_HOURS, MAX_HOURS = 1, 24 * 31


def parse_every(text) -> int:
    """`"6h"`, `"24h"`, `"7d"` as seconds (1 hour to 31 days), `"off"` as 0; else a 422 naming `every`."""
    if text == "off":
        return 0
    match = EVERY_PATTERN.match(text) if isinstance(text, str) else None
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
    if not match or not MIN_HOURS <= hours <= MAX_HOURS:
        raise errors.ValidationFailed("Bad reconciliation schedule.", errors=[{
            "field": "every", "message": 'Whole hours or days from 1h to 31d (such as "6h", "24h", "7d"), or "off".'}])
    return hours * 3600


def format_every(seconds: int) -> str:
    """Seconds as the schedule text: `"off"`, `"7d"` or `"6h"`."""
    if not seconds:
        return "off"
    return f"{seconds // 86400}d" if seconds % 86400 == 0 and seconds > 86400 else f"{seconds // 3600}h"


def every_seconds(db, connection_id: str) -> int:
    """The connection's period in seconds (0: off)."""
    row = db.get(ReconciliationSchedule, connection_id)
    return DEFAULT_EVERY_SECONDS if row is None else row.every_seconds


def set_every(db, connection_id: str, seconds: int) -> None:
    """Store the connection's period (the caller commits)."""
    row = db.get(ReconciliationSchedule, connection_id)
    if row is None:
        db.add(ReconciliationSchedule(connection_id=connection_id, every_seconds=seconds, updated_at=utcnow()))
    else:
        row.every_seconds, row.updated_at = seconds, utcnow()


def period_of(seconds: int, now: datetime) -> tuple[str, datetime]:
    """The period `now` falls in (its key) and when the next one starts."""
    slot = int(now.timestamp()) // seconds
    return f"{seconds}s:{slot}", datetime.fromtimestamp((slot + 1) * seconds, tz=now.tzinfo)


def enqueue_run(app: Flask, connection_id: str, run_id: str) -> None:
    """Put a run's job on the `reconciliation` queue."""
    queue.get_queue(queue.RECONCILIATION, app).enqueue(
        reconcile_connection, connection_id, run_id, job_timeout=JOB_TIMEOUT, result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600, description=f"reconcile {connection_id}")


def start_now(app: Flask, db, connection: Connection) -> ReconciliationRun:
    """A run of the connection now (the queued or running one, if there is one already)."""
    pending = db.execute(sa.select(ReconciliationRun).where(
        ReconciliationRun.connection_id == connection.id, ReconciliationRun.status.in_(("queued", "running")),
    ).order_by(ReconciliationRun.created_at.desc()).limit(1)).scalar_one_or_none()
    if pending is not None:
        return pending
    run = ReconciliationRun(id=new_run_id(), account_id=connection.account_id, connection_id=connection.id,
                            trigger="manual", status="queued", checked=0, in_sync=0, drift=0, could_not_check=0,
                            created_at=utcnow())
    db.add(run)
    db.commit()
    try:
        enqueue_run(app, connection.id, run.id)
    except redis.RedisError:
        log.warning("reconciliation run %s not enqueued (Redis down); the tick enqueues it later", run.id)
    return run


def schedule_due(app: Flask, now: datetime | None = None) -> list[str]:
    """Make this period's run of every due connection and enqueue it; re-enqueue lost runs. Run ids made."""
    now = now or utcnow()
    made: list[tuple[str, str]] = []
    with app.extensions["bridge.sessions"]() as db:
        rows = db.execute(sa.select(Connection.id, Connection.account_id, ReconciliationSchedule.every_seconds)
                          .outerjoin(ReconciliationSchedule, ReconciliationSchedule.connection_id == Connection.id)
                          .where(Connection.status.in_(READABLE))).all()
        insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(ReconciliationRun)
        for connection_id, account_id, every in rows:
            every = DEFAULT_EVERY_SECONDS if every is None else every
            if not every:
                continue
            period, _ = period_of(every, now)
            run_id = new_run_id()
            inserted = db.execute(insert.values(
                id=run_id, account_id=account_id, connection_id=connection_id, trigger="schedule", period=period,
                status="queued", checked=0, in_sync=0, drift=0, could_not_check=0, created_at=now,
            ).on_conflict_do_nothing(index_elements=["connection_id", "period"]))
            if inserted.rowcount:
                made.append((connection_id, run_id))
        lost = db.execute(sa.select(ReconciliationRun.connection_id, ReconciliationRun.id).where(
            ReconciliationRun.status == "queued", ReconciliationRun.created_at < now - LOST_AFTER)).all()
        db.execute(sa.update(ReconciliationRun).where(  # its worker vanished: the next period runs again
            ReconciliationRun.status == "running",
            ReconciliationRun.started_at < now - timedelta(seconds=2 * JOB_TIMEOUT)).values(
            status="failed", error="The worker running it stopped.", finished_at=now))
        db.commit()
    for connection_id, run_id in [*made, *lost]:
        enqueue_run(app, connection_id, run_id)
    return [run_id for _, run_id in made]


def _tick_seconds(app: Flask) -> float:
    """The tick interval (tests shorten it)."""
    return float(app.config.get("RECONCILE_TICK_SECONDS") or TICK_SECONDS)


def schedule_tick(app: Flask, when: datetime) -> None:
    """Schedule the tick for `when`; its job id names the slot, so every worker schedules the same one."""
    seconds = _tick_seconds(app)
    slot = int(when.timestamp() // seconds)
    queue.get_queue(queue.RECONCILIATION, app).enqueue_at(
        when, reconciliation_tick, job_id=f"reconcile-tick-{slot}", job_timeout=300, result_ttl=600,
        failure_ttl=24 * 3600, description="reconciliation tick")


def start_ticking(app: Flask) -> None:
    """Called when a worker starts: make sure a tick is scheduled (the ticks then keep themselves going)."""
    try:
        schedule_tick(app, utcnow())
    except redis.RedisError as exc:
        log.warning("reconciliation tick not scheduled: %s", exc)


def reconciliation_tick() -> int:
    """RQ job: schedule the due reconciliations, then the next tick."""
    app = current_app._get_current_object()
    try:
        return len(schedule_due(app))
    finally:
        now = utcnow()
        seconds = _tick_seconds(app)
        schedule_tick(app, datetime.fromtimestamp((int(now.timestamp() // seconds) + 1) * seconds, tz=now.tzinfo))

"""Helpers of the inbound webhook tests: apply_notices recorded, the events queue drained, stored rows."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from bridge.events import changes
from bridge.store.models import InboundNotice
from bridge.sync import queue
from bridge.sync.worker import make_worker


def record_applied(monkeypatch) -> list[tuple[str, list[dict]]]:
    """Calls of bridge.events.changes.apply_notices, recorded instead of reading the ledger."""
    calls: list[tuple[str, list[dict]]] = []
    lock = threading.Lock()

    def record(app, connection_id, notices):
        with lock:
            calls.append((connection_id, notices))
        return 0

    monkeypatch.setattr(changes, "apply_notices", record)
    return calls


def drain(app) -> None:
    """Run every job on the events queue, here and now."""
    make_worker(app, queues=(queue.EVENTS,)).work(burst=True, logging_level="WARNING")


def inbound_jobs(app) -> list:
    """The apply jobs waiting on the events queue."""
    events = queue.get_queue(queue.EVENTS, app)
    return [job for job in events.get_jobs() if job.func_name.endswith("apply_connection_job")]


def stored(app) -> list[InboundNotice]:
    """Every stored row, oldest first."""
    with app.extensions["bridge.sessions"]() as db:
        return list(db.execute(sa.select(InboundNotice).order_by(InboundNotice.id)).scalars())

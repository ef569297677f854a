"""Events: what happened, recorded once for trigger feeds, REST hooks and alerts (DESIGN.md "Objects")."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store.models import Event, utcnow

EVENTS = ("invoice.created", "invoice.paid", "invoice.updated", "invoice.voided", "payment.received",
          "credit_note.created", "customer.created", "sync.succeeded", "sync.failed",
          "connection.needs_reauth", "reconciliation.drift")


def emit(db, *, account_id: str, event: str, data: dict, connection_id: str | None = None,
         dedupe_key: str | None = None) -> str | None:
    """Record an event in the caller's transaction; the same `dedupe_key` twice records it once.

    Returns the event id, or None when the dedupe key was already recorded. The caller commits.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    event_id = "evt_" + secrets.token_hex(12)
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(Event)
    result = db.execute(insert.values(id=event_id, account_id=account_id, connection_id=connection_id,
                                      event=event, occurred_at=utcnow(), data=data, dedupe_key=dedupe_key)
                        .on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"]))
    return event_id if result.rowcount else None


def emit_many(db, events: list[dict]) -> list[str]:
    """Record several events (dicts of emit's keyword arguments) in one statement; the caller commits.
    Returns the ids given to them (a repeat of a recorded event keeps the first one's)."""
    if not events:
        return []
    for event in events:
        if event["event"] not in EVENTS:
            raise ValueError(f"unknown event {event['event']!r}")
    now = utcnow()
    rows = [{"id": "evt_" + secrets.token_hex(12), "occurred_at": now, "connection_id": None, "dedupe_key": None,
             **event} for event in events]
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(Event)
    db.execute(insert.on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"]), rows)
    return [row["id"] for row in rows]


def recent(db, account_id: str, event: str | None = None, connection_id: str | None = None,
           limit: int = 50) -> list[Event]:
    """The account's events, newest first."""
    query = sa.select(Event).where(Event.account_id == account_id)
    if event:
        query = query.where(Event.event == event)
    if connection_id:
        query = query.where(Event.connection_id == connection_id)
    return list(db.execute(query.order_by(Event.seq.desc()).limit(limit)).scalars())


def envelope(event: Event) -> dict:
    """The Event as trigger feeds and hook deliveries show it: {id, event, occurred_at, connection_id, data}."""
    return {"id": event.id, "event": event.event, "occurred_at": event.occurred_at.isoformat(),
            "connection_id": event.connection_id, "data": event.data}


def wake(app=None) -> None:
    """Call after committing events: the relay's leader dispatches them to REST hooks at once."""
    from bridge.sync import queue

    queue.wake_relay(app)


def publish(app, **event) -> str | None:
    """Emit one event (emit's keyword arguments) in its own transaction, commit, and wake the dispatcher."""
    with app.extensions["bridge.sessions"]() as db:
        event_id = emit(db, **event)
        db.commit()
    wake(app)
    return event_id


def publish_many(app, events: list[dict]) -> None:
    """Emit several events (dicts of emit's keyword arguments) in one transaction, commit, and wake."""
    if not events:
        return
    with app.extensions["bridge.sessions"]() as db:
        emit_many(db, events)
        db.commit()
    wake(app)

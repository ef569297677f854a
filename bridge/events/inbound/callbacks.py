"""FreshBooks callbacks of each connection: registered when it becomes active, verified with the code
FreshBooks POSTs to us (stored sealed: it is the signing key), removed when it is deleted."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite

from bridge import errors, store
from bridge.events.inbound.common import LISTENING, signature_ok
from bridge.ledgers.freshbooks import callbacks as api
from bridge.ledgers.freshbooks import facts
from bridge.store.models import Connection, FreshBooksCallback, utcnow
from bridge.sync import queue
from bridge.sync.adapters import adapter_for

log = logging.getLogger(__name__)

PROVIDER = "freshbooks"
LOCK_SECONDS = 300
"""One registering job per connection at a time."""
TICK_SECONDS = 300
"""How often the relay's leader looks for connections missing callbacks and codes not yet confirmed."""
TICK_KEY = "bridge:freshbooks-callbacks:tick"
CONFIRM_AFTER_SECONDS = 60
"""A code received this long ago and still unconfirmed is confirmed again by the tick."""
ORPHAN_DAYS = 1
"""Codes for callbacks no registering job claimed are dropped after this."""
JOB_TIMEOUT = 300


def registering(app: Flask) -> bool:
    """Whether the bridge registers callbacks itself (app config FRESHBOOKS_REGISTER_CALLBACKS, default on;
    tests of other behaviour turn it off: each registration writes to the ledger)."""
    return bool(app.config.get("FRESHBOOKS_REGISTER_CALLBACKS", True))


def webhook_url(app: Flask) -> str:
    """The uri FreshBooks posts to."""
    return app.config["PUBLIC_URL"].rstrip("/") + "/webhooks/freshbooks"


def _insert(db):
    return (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(FreshBooksCallback)


def _enqueue(app: Flask, func, *args) -> bool:
    """Enqueue on the `events` queue; False when Redis is down (the tick tries again)."""
    try:
        queue.get_queue(queue.EVENTS, app).enqueue(func, *args, job_timeout=JOB_TIMEOUT, result_ttl=3600)
        return True
    except redis.RedisError as exc:
        log.warning("%s%s not enqueued: %s", func.__name__, args, exc.__class__.__name__)
        return False


# --- the route side ----------------------------------------------------------------------------------

def connections_signing(db, account_id: str | None, message: bytes, signature: str | None) -> list[str]:
    """Listening connections owning a verified callback of this business whose verifier signed `message`."""
    if not account_id or not signature:
        return []
    rows = db.execute(sa.select(FreshBooksCallback.connection_id, FreshBooksCallback.verifier).join(
        Connection, Connection.id == FreshBooksCallback.connection_id).where(
        FreshBooksCallback.account_id == account_id, FreshBooksCallback.verified.is_(True),
        FreshBooksCallback.verifier.is_not(None), Connection.status.in_(LISTENING))).all()
    vault = store.vault()
    signed: list[str] = []
    for connection_id, sealed in rows:
        if connection_id not in signed and signature_ok(vault.open(sealed), message, signature):
            signed.append(connection_id)
    return signed


def verification_received(app: Flask, form: dict) -> None:
    """Keep the code FreshBooks sent for a callback (sealed) and enqueue its confirmation; codes for
    businesses no connection listens to are ignored."""
    account_id, callback_id, verifier = form.get("account_id"), form.get("object_id"), form.get("verifier")
    if not account_id or not callback_id or not verifier:
        raise errors.BadRequest("A verification request needs account_id, object_id and verifier.")
    db = store.session()
    listening = db.execute(sa.select(Connection.id).where(
        Connection.provider == PROVIDER, Connection.tenant_id == account_id,
        Connection.status.in_(LISTENING)).limit(1)).scalar()
    if listening is None:
        log.info("FreshBooks verification for unknown business ignored")
        return
    now = utcnow()
    sealed = store.vault().seal(verifier)
    insert = _insert(db).values(account_id=account_id, callback_id=str(callback_id), verifier=sealed,
                                verified=False, created_at=now, updated_at=now)
    row = db.execute(insert.on_conflict_do_update(
        index_elements=["account_id", "callback_id"], set_={"verifier": sealed, "updated_at": now},
        where=FreshBooksCallback.verified.is_(False),
    ).returning(FreshBooksCallback.id, FreshBooksCallback.connection_id)).first()
    db.commit()
    if row is not None and row.connection_id is not None:
        _enqueue(app, confirm_callback_job, row.id)


# --- registering -------------------------------------------------------------------------------------

def schedule_registration(app: Flask, connection_id: str) -> None:
    """Register the connection's callbacks in a job (the OAuth callback stays fast)."""
    if registering(app):
        _enqueue(app, register_callbacks_job, connection_id)


def register_callbacks_job(connection_id: str) -> int:
    """RQ job: register each missing callback of a FreshBooks connection; how many it registered."""
    return register_callbacks(current_app._get_current_object(), connection_id)


def register_callbacks(app: Flask, connection_id: str) -> int:
    """Register every event of facts.WEBHOOK_EVENTS not yet registered for the connection; safe to run twice.

    Callbacks to our uri that no row knows (a crash between FreshBooks' answer and our insert) are
    adopted and their code asked for again, not registered twice.
    """
    lock = f"bridge:freshbooks-callbacks:{connection_id}"
    conn = queue.connection(app)
    if not conn.set(lock, 1, nx=True, ex=LOCK_SECONDS):
        return 0
    try:
        with app.extensions["bridge.sessions"]() as db:
            connection = db.get(Connection, connection_id)
            if connection is None or connection.provider != PROVIDER or connection.status != "active":
                return 0
            have = set(db.execute(sa.select(FreshBooksCallback.event).where(
                FreshBooksCallback.connection_id == connection_id)).scalars())
            missing = [event for event in facts.WEBHOOK_EVENTS if event not in have]
            if not missing:
                return 0
            known = set(db.execute(sa.select(FreshBooksCallback.callback_id).where(
                FreshBooksCallback.account_id == connection.tenant_id,
                FreshBooksCallback.connection_id.is_not(None))).scalars())
            client = adapter_for(app, connection).client
            uri = webhook_url(app)
            registered = 0
            for callback in api.list_callbacks(client, uri=uri):
                callback_id = api.callback_id_of(callback)
                if callback.get("event") in missing and callback_id and callback_id not in known:
                    missing.remove(callback["event"])
                    if _claim(app, db, connection, callback_id, callback["event"]) is None:
                        api.resend(client, callback_id)
            for event in missing:
                callback_id = api.callback_id_of(api.register(client, event, uri))
                if callback_id is None:
                    raise errors.LedgerRejected(f"FreshBooks answered callback {event} without an id")
                _claim(app, db, connection, callback_id, event)
                registered += 1
            return registered
    finally:
        conn.delete(lock)


def _claim(app: Flask, db, connection: Connection, callback_id: str, event: str) -> int | None:
    """Record a callback as the connection's; if its code already arrived, confirm it now. The row id,
    or None when no code has arrived yet."""
    now = utcnow()
    insert = _insert(db).values(account_id=connection.tenant_id, callback_id=callback_id,
                                connection_id=connection.id, event=event, verified=False,
                                created_at=now, updated_at=now)
    row = db.execute(insert.on_conflict_do_update(
        index_elements=["account_id", "callback_id"],
        set_={"connection_id": connection.id, "event": event, "updated_at": now},
    ).returning(FreshBooksCallback.id, FreshBooksCallback.verifier, FreshBooksCallback.verified)).first()
    db.commit()
    if row.verifier is None:
        return None
    if not row.verified:
        confirm_callback(app, row.id)
    return row.id


# --- confirming --------------------------------------------------------------------------------------

def confirm_callback_job(row_id: int) -> bool:
    """RQ job: confirm one callback's code at FreshBooks."""
    return confirm_callback(current_app._get_current_object(), row_id)


def confirm_callback(app: Flask, row_id: int) -> bool:
    """PUT the stored code back to FreshBooks; True once verified. A refused code stays unverified
    (FreshBooks' next verification request brings the right one)."""
    with app.extensions["bridge.sessions"]() as db:
        row = db.get(FreshBooksCallback, row_id)
        if row is None or row.verified or row.verifier is None or row.connection_id is None:
            return bool(row and row.verified)
        connection = db.get(Connection, row.connection_id)
        if connection is None or connection.status not in LISTENING:
            return False
        sealed = row.verifier
        try:
            api.verify(adapter_for(app, connection).client, row.callback_id,
                       app.extensions["bridge.vault"].open(sealed))
        except errors.LedgerRejected as exc:
            log.warning("FreshBooks refused the code of callback %s: %s", row.callback_id, exc.detail)
            return False
        confirmed = db.execute(sa.update(FreshBooksCallback).where(
            FreshBooksCallback.id == row_id, FreshBooksCallback.verifier == sealed).values(
            verified=True, updated_at=utcnow()))
        db.commit()
        return confirmed.rowcount == 1


# --- removing ----------------------------------------------------------------------------------------

def remove_callbacks(app: Flask, connection: Connection) -> int:
    """Delete the connection's callbacks at FreshBooks (best effort, while its token still works) and here."""
    with app.extensions["bridge.sessions"]() as db:
        rows = db.execute(sa.select(FreshBooksCallback).where(
            FreshBooksCallback.connection_id == connection.id)).scalars().all()
        if not rows:
            return 0
        client = adapter_for(app, connection).client
        removed = 0
        for row in rows:
            try:
                api.delete(client, row.callback_id)
                removed += 1
            except errors.LedgerNotFound:
                removed += 1
            except errors.LedgerError as exc:
                log.warning("FreshBooks callback %s of %s not deleted: %s", row.callback_id, connection.id, exc.detail)
            db.delete(row)
        db.commit()
        return removed


# --- the relay's tick --------------------------------------------------------------------------------

def tick(app: Flask) -> None:
    """Every TICK_SECONDS: register missing callbacks, confirm codes left unconfirmed, drop unclaimed codes."""
    if not queue.connection(app).set(TICK_KEY, 1, nx=True, ex=TICK_SECONDS):
        return
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        registered = (sa.select(sa.func.count()).where(FreshBooksCallback.connection_id == Connection.id)
                      .correlate(Connection).scalar_subquery())
        lacking = list(db.execute(sa.select(Connection.id).where(
            Connection.provider == PROVIDER, Connection.status == "active",
            registered < len(facts.WEBHOOK_EVENTS)).limit(500)).scalars()) if registering(app) else []
        unconfirmed = list(db.execute(sa.select(FreshBooksCallback.id).where(
            FreshBooksCallback.connection_id.is_not(None), FreshBooksCallback.verified.is_(False),
            FreshBooksCallback.verifier.is_not(None),
            FreshBooksCallback.updated_at < now - timedelta(seconds=CONFIRM_AFTER_SECONDS)).limit(500)).scalars())
        db.execute(sa.delete(FreshBooksCallback).where(
            FreshBooksCallback.connection_id.is_(None),
            FreshBooksCallback.created_at < now - timedelta(days=ORPHAN_DAYS)))
        db.commit()
    for connection_id in lacking:
        schedule_registration(app, connection_id)
    for row_id in unconfirmed:
        _enqueue(app, confirm_callback_job, row_id)

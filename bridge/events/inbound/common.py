"""What every inbound webhook shares: HMAC checks, notices, one stored row per connection, one waiting job
per connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets

import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store.models import Connection, InboundNotice, utcnow
from bridge.sync import queue

log = logging.getLogger(__name__)

OBJECTS = ("invoice", "payment", "customer", "credit_note")
OPERATIONS = ("create", "update", "delete", "void")
LISTENING = ("active", "paused")
"""Connection states whose ledger changes are read (a paused connection still reports what happens)."""
MAX_NOTICES = 1000
"""Notices kept from one delivery for one connection (QBO and Xero send far fewer); the rest are
left to the polling fallback."""
QUEUED_SECONDS = 60
"""A connection's "a reader will look" flag lasts this long at most (a lost job's flag goes; the sweep wakes
its rows)."""
JOB_TIMEOUT = 300
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


def hmac_base64(key: str, message: bytes) -> str:
    """base64(HMAC-SHA256(key, message)): the signature all three ledgers use."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


def signature_ok(key: str | None, message: bytes, signature: str | None) -> bool:
    """True when `signature` is the ledger's HMAC of `message` under `key` (compared in constant time)."""
    if not key or not signature:
        return False
    return hmac.compare_digest(hmac_base64(key, message).encode("ascii"), signature.strip().encode("utf-8"))


def delivery_key(raw: bytes) -> str:
    """The dedupe key of a delivery: SHA-256 of what was signed."""
    return hashlib.sha256(raw).hexdigest()


def notice(obj: str, ledger_id, operation: str) -> dict:
    """One changed object, as `apply_notices` takes it."""
    return {"object": obj, "ledger_id": str(ledger_id), "operation": operation}


def unique(notices: list[dict]) -> list[dict]:
    """The notices without repeats, in their first order, at most MAX_NOTICES."""
    seen, out = set(), []
    for item in notices:
        key = (item["object"], item["ledger_id"], item["operation"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out[:MAX_NOTICES]


def connections_for(db, provider: str, tenant_ids) -> dict[str, list[str]]:
    """Listening connections of `provider` per tenant id (QBO realmId, Xero tenantId, FreshBooks account_id)."""
    tenant_ids = sorted({str(t) for t in tenant_ids if t})
    if not tenant_ids:
        return {}
    found: dict[str, list[str]] = {}
    for connection_id, tenant_id in db.execute(sa.select(Connection.id, Connection.tenant_id).where(
            Connection.provider == provider, Connection.tenant_id.in_(tenant_ids),
            Connection.status.in_(LISTENING))):
        found.setdefault(tenant_id, []).append(connection_id)
    return found


def record(app: Flask, db, provider: str, per_connection: dict[str, list[dict]], dedupe_key: str) -> list[int]:
    """Store each connection's notices once per delivery (a replay inserts nothing), commit, and wake the
    connections' apply jobs; returns the new rows' ids. Redis being down loses nothing: the sweep wakes them."""
    now = utcnow()
    rows = [{"provider": provider, "connection_id": connection_id, "dedupe_key": dedupe_key,
             "notices": unique(notices), "received_at": now, "enqueued_at": now, "attempts": 0}
            for connection_id, notices in per_connection.items() if notices]
    if not rows:
        return []
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(InboundNotice)
    stored = db.execute(insert.values(rows).on_conflict_do_nothing(
        index_elements=["connection_id", "dedupe_key"]).returning(InboundNotice.id, InboundNotice.connection_id)).all()
    db.commit()
    if stored:
        wake(app, sorted({row.connection_id for row in stored}))
    return [row.id for row in stored]


def receive_signed_json(app: Flask, provider: str, key: str | None, signature: str | None, raw: bytes,
                        notices_by_tenant) -> None:
    """Verify a JSON delivery signed with base64 HMAC, then record its notices per connection of each tenant.

    A bad signature is a 401 and nothing else happens; `notices_by_tenant(payload)` maps tenant id -> notices.
    """
    from bridge import errors, store

    if not signature_ok(key, raw, signature):
        raise errors.Unauthorized(f"Bad or missing {provider} webhook signature.")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise errors.BadRequest("The body is not JSON.") from None
    by_tenant = notices_by_tenant(payload)
    if not by_tenant:
        return
    db = store.session()
    per_connection = {connection_id: by_tenant[tenant]
                      for tenant, ids in connections_for(db, provider, by_tenant).items() for connection_id in ids}
    record(app, db, provider, per_connection, delivery_key(raw))


def _queued_key(connection_id: str) -> str:
    return f"bridge:inbound:{connection_id}:queued"


def clear_queued(app: Flask, connection_id: str) -> None:
    """Say the connection's reader has read what was stored: rows stored from now on wake another job."""
    queue.connection(app).delete(_queued_key(connection_id))


def wake(app: Flask, connection_ids: list[str], force: bool = False) -> bool:
    """Enqueue an apply job on the `events` queue for each connection that has none waiting (`force`: even
    if it has); on a Redis failure the connections' rows wait for the sweep."""
    from bridge.events.inbound.jobs import apply_connection_job

    events = queue.get_queue(queue.EVENTS, app)
    try:
        fresh = [connection_id for connection_id in connection_ids
                 if events.connection.set(_queued_key(connection_id), 1, nx=not force, ex=QUEUED_SECONDS)]
        jobs = [Queue.prepare_data(apply_connection_job, args=(connection_id,), timeout=JOB_TIMEOUT,
                                   job_id=f"inbound-{connection_id}-{secrets.token_hex(4)}", result_ttl=RESULT_TTL,
                                   failure_ttl=FAILURE_TTL, description=f"inbound notices of {connection_id}")
                for connection_id in fresh]
        if jobs:
            with events.connection.pipeline() as pipe:
                events.enqueue_many(jobs, pipeline=pipe)
                pipe.execute()
        return True
    except redis.RedisError as exc:
        log.warning("inbound notices of %s not enqueued (%s): the sweep will", connection_ids, exc.__class__.__name__)
        try:
            events.connection.delete(*(_queued_key(connection_id) for connection_id in connection_ids))
        except redis.RedisError:
            pass  # the flags expire by themselves
        with app.extensions["bridge.sessions"]() as db:
            db.execute(sa.update(InboundNotice).where(InboundNotice.connection_id.in_(connection_ids),
                                                      InboundNotice.processed_at.is_(None)).values(enqueued_at=None))
            db.commit()
        return False

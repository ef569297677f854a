"""Redis and the RQ queues: real Redis at BRIDGE_REDIS_URL, else in-process fakeredis."""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue

log = logging.getLogger(__name__)

LEDGER_WRITES = "ledger-writes"
EVENTS = "events"
RECONCILIATION = "reconciliation"
QUEUES = (LEDGER_WRITES, EVENTS, RECONCILIATION)
"""Queues split by kind of work, so each scales on its own."""

WAKE_KEY = "bridge:relay:wake"
"""A cheap hint the request path pushes so the relay looks at the outbox at once."""


def init_app(app: Flask) -> None:
    """Connect to Redis, or start an in-process fakeredis (the embedded default)."""
    url = app.config.get("REDIS_URL")
    if url:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10,
                                          health_check_interval=30)
        # The request path's hint must fail fast when Redis is down: no retries, short timeouts.
        hint = redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.2,
                                    retry=Retry(NoBackoff(), 0), retry_on_error=[])
        app.extensions["bridge.embedded"] = False
    else:
        import fakeredis

        server = fakeredis.FakeServer()
        connection = fakeredis.FakeRedis(server=server)
        hint = fakeredis.FakeRedis(server=server)
        app.extensions["bridge.embedded"] = True
    app.extensions["bridge.redis"] = connection
    app.extensions["bridge.redis_hint"] = hint


def connection(app: Flask | None = None) -> redis.Redis:
    """The app's Redis (or fakeredis)."""
    return (app or current_app).extensions["bridge.redis"]


def is_embedded(app: Flask | None = None) -> bool:
    """True when running on the in-process fakeredis."""
    return (app or current_app).extensions["bridge.embedded"]


def get_queue(name: str = LEDGER_WRITES, app: Flask | None = None) -> Queue:
    """One of the bridge's RQ queues."""
    return Queue(name, connection=connection(app))


HINT_EVERY = 0.05
"""A process sends at most one hint per this many seconds; the relay drains everything it finds."""


def wake_relay(app: Flask | None = None) -> None:
    """Tell the relay there is new work; harmless if Redis is down (the relay polls anyway)."""
    app = app or current_app
    now = time.monotonic()
    if now - app.extensions.get("bridge.last_hint", 0.0) < HINT_EVERY:
        return
    app.extensions["bridge.last_hint"] = now
    try:
        app.extensions["bridge.redis_hint"].lpush(WAKE_KEY, 1)
    except redis.RedisError:
        log.debug("relay hint skipped: Redis unreachable")

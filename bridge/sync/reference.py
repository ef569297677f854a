"""The ledger's reference data (accounts, tax rates, items, customers), cached per connection in Redis.

Pickers and the mapping check read it through here: a hit costs no ledger call; `refresh` (or a miss)
reads the ledger and caches the answer for REFERENCE_CACHE_SECONDS. Only answers are cached: a ledger
that is down is a 503 every time, never an empty list kept for later. Cached lists are JSON-ready
(decimals as strings), normalized as the adapters return them.
"""

from __future__ import annotations

import hashlib

import orjson
import redis
from flask import Flask

from bridge import errors
from bridge.store.models import Connection
from bridge.sync import queue
from bridge.sync.adapters import adapter_for
from bridge.sync.reads import _call, usable

CACHE_SECONDS = 900
"""Default lifetime of a cached list (REFERENCE_CACHE_SECONDS)."""
CUSTOMER_CACHE_SECONDS = 60
"""Customers change as invoices are written: their searches are kept at most this long."""
LISTS = {"accounts": "list_accounts", "tax_rates": "list_tax_rates", "items": "list_items"}
"""Reference kind -> the adapter verb that lists it."""


def cache_key(connection_id: str, kind: str, query: str = "") -> str:
    """The Redis key of one cached list of one connection."""
    return f"bridge:reference:{connection_id}:{kind}" + (f":{query}" if query else "")


def readable(connection: Connection) -> None:
    """Refuse a connection that cannot be read now: pending, needs_reauth, disconnected, paused."""
    usable(connection)
    if connection.status == "paused":
        raise errors.Conflict("The connection is paused; resume it to read the ledger's reference data.")


def _cached(app: Flask, key: str) -> list[dict] | None:
    """A cached list, or None on a miss (or when Redis does not answer: the ledger is asked instead)."""
    try:
        raw = queue.connection(app).get(key)
    except redis.RedisError:
        return None
    return orjson.loads(raw) if raw is not None else None


def _store(app: Flask, key: str, items: list[dict], seconds: int) -> list[dict]:
    """Cache a list (best effort) and return it JSON-ready."""
    raw = orjson.dumps(items, default=str)
    try:
        queue.connection(app).set(key, raw, ex=max(1, seconds))
    except redis.RedisError:
        pass
    return orjson.loads(raw)


def ttl(app: Flask) -> int:
    """Seconds a reference list stays cached."""
    return int(app.config.get("REFERENCE_CACHE_SECONDS") or CACHE_SECONDS)


def reference_list(app: Flask, connection: Connection, kind: str, *, refresh: bool = False,
                   adapter=None, paused_ok: bool = False) -> list[dict]:
    """Accounts, tax rates or items of the connection's ledger: cached, or read (and cached).

    `paused_ok`: a paused connection may be read (the mapping is checked while sending is paused).
    """
    usable(connection) if paused_ok else readable(connection)
    key = cache_key(connection.id, kind)
    if not refresh and (found := _cached(app, key)) is not None:
        return found
    adapter = adapter or adapter_for(app, connection)
    return _store(app, key, _call(getattr(adapter, LISTS[kind])), ttl(app))


def customers(app: Flask, connection: Connection, *, email: str | None = None, name: str | None = None,
              refresh: bool = False) -> list[dict]:
    """Customers as the ledger holds them, searched at the ledger by e-mail and/or name (briefly cached)."""
    query = hashlib.sha256(orjson.dumps([email, name])).hexdigest()[:16] if email or name else ""
    readable(connection)
    key = cache_key(connection.id, "customers", query)
    if not refresh and (found := _cached(app, key)) is not None:
        return found
    found = _call(adapter_for(app, connection).find_customers, email=email, name=name)
    return _store(app, key, found, min(ttl(app), CUSTOMER_CACHE_SECONDS))


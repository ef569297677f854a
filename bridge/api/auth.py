"""API keys: made once, stored as SHA-256, checked on every /v1 request."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, request

from bridge import errors, store
from bridge.store.models import ApiKey

KEY_PREFIX = "ib_"
CACHE_SECONDS = 5.0
"""How long a process trusts a key it has checked; a revocation reaches other processes within it."""

PUBLIC_PREFIXES = ("/v1/oauth/",)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account, through one key."""

    account_id: str
    key_id: str


def new_key() -> str:
    """A fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class KeyCache:
    """Recently checked keys of this process, by hash."""

    def __init__(self):
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        """A principal still fresh in the cache."""
        entry = self._entries.get(key_hash)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, key_hash: str, principal: Principal) -> None:
        """Remember a checked key."""
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + CACHE_SECONDS, principal)

    def forget_key(self, key_id: str) -> None:
        """Drop a revoked key at once in this process."""
        with self._lock:
            for key_hash, (_, principal) in list(self._entries.items()):
                if principal.key_id == key_id:
                    del self._entries[key_hash]


def lookup(key: str) -> Principal | None:
    """The principal behind a key, or None."""
    key_hash = hash_key(key)
    cache: KeyCache = current_app.extensions["bridge.keys"]
    principal = cache.get(key_hash)
    if principal is None:
        row = store.session().execute(
            sa.select(ApiKey.id, ApiKey.account_id).where(ApiKey.key_hash == key_hash,
                                                          ApiKey.revoked_at.is_(None))).first()
        if row is None:
            return None
        principal = Principal(account_id=row.account_id, key_id=row.id)
        cache.put(key_hash, principal)
    return principal


def authenticate() -> None:
    """before_request: every /v1 route but the OAuth callbacks needs a valid Bearer key."""
    path = request.path
    if not path.startswith("/v1/") or path.startswith(PUBLIC_PREFIXES):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise errors.Unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    principal = lookup(key.strip())
    if principal is None:
        raise errors.Unauthorized("The API key is unknown or revoked.")
    g.principal = principal


def principal() -> Principal:
    """The caller of the current request."""
    return g.principal


def init_app(app) -> None:
    """Install the key check and its cache."""
    app.extensions["bridge.keys"] = KeyCache()
    app.before_request(authenticate)

"""Connection tokens: sealed at rest, refreshed ahead of expiry once across every worker."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import Flask

from bridge import errors
from bridge.events import alerts
from bridge.ledgers.base import OAuthProvider, Token
from bridge.store.models import Connection, utcnow
from bridge.sync import queue

log = logging.getLogger(__name__)

REFRESH_MARGIN = 300.0
"""Refresh when the access token has less than this many seconds left."""
LOCK_TIMEOUT = 30.0
"""The refresh lock expires by itself after this, should its holder die."""
LOCK_WAIT = 40.0
"""How long a worker waits for another one's refresh."""


def lock_name(connection_id: str) -> str:
    """The Redis lock serializing one connection's refreshes."""
    return f"bridge:lock:refresh:{connection_id}"


class ConnectionTokens:
    """The TokenSource a ledger adapter uses for one connection."""

    def __init__(self, app: Flask, connection_id: str, oauth: OAuthProvider):
        self.app = app
        self.connection_id = connection_id
        self.oauth = oauth

    def _read(self) -> tuple[Token | None, str]:
        """The stored token and the connection status, read fresh from the database."""
        with self.app.extensions["bridge.sessions"]() as db:
            row = db.execute(sa.select(Connection.token, Connection.status).where(
                Connection.id == self.connection_id)).one()
        sealed = row.token
        token = Token.from_dict(self.app.extensions["bridge.vault"].open(sealed)) if sealed else None
        return token, row.status

    def current(self) -> Token:
        """A token with at least REFRESH_MARGIN seconds left."""
        token, status = self._read()
        if token is None or status == "needs_reauth":
            raise errors.ReauthRequired("The connection has no usable token; connect it again.")
        if token.expires_at - REFRESH_MARGIN <= time.time():
            return self.refreshed(token)
        return token

    def refreshed(self, stale: Token) -> Token:
        """A token newer than `stale`: the first worker refreshes, the others re-read its result."""
        lock = queue.connection(self.app).lock(lock_name(self.connection_id), timeout=LOCK_TIMEOUT,
                                               blocking_timeout=LOCK_WAIT)
        if not lock.acquire():
            raise errors.RetryableLedgerError("Timed out waiting for another token refresh.", retry_after=5)
        try:
            token, status = self._read()
            if status == "needs_reauth" or token is None:
                raise errors.ReauthRequired("The connection needs to be authorized again.")
            if token.access_token != stale.access_token and token.expires_at - REFRESH_MARGIN > time.time():
                return token
            try:
                fresh = self.oauth.refresh(token)
            except errors.ReauthRequired as exc:
                mark_needs_reauth(self.app, self.connection_id, str(exc))
                raise
            if not fresh.refresh_token:
                fresh.refresh_token = token.refresh_token
            save_token(self.app, self.connection_id, fresh)
            log.info("refreshed token of connection %s", self.connection_id)
            return fresh
        finally:
            try:
                lock.release()
            except Exception:  # the lock expired under us: the token is saved either way
                log.warning("refresh lock of %s expired before release", self.connection_id)


def save_token(app: Flask, connection_id: str, token: Token) -> None:
    """Seal and store a token (and its rotated refresh token) atomically."""
    sealed = app.extensions["bridge.vault"].seal(token.to_dict())
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(Connection).where(Connection.id == connection_id).values(
            token=sealed, token_version=Connection.token_version + 1, updated_at=utcnow()))
        db.commit()


def mark_needs_reauth(app: Flask, connection_id: str, reason: str) -> None:
    """The refresh token was refused: the user must connect again."""
    with app.extensions["bridge.sessions"]() as db:
        changed = db.execute(sa.update(Connection).where(
            Connection.id == connection_id, Connection.status != "needs_reauth").values(
            status="needs_reauth", last_error=reason[:2000], updated_at=utcnow()))
        if changed.rowcount == 1:  # this call made the transition: alert once
            alerts.connection_needs_reauth(db, db.get(Connection, connection_id))
        db.commit()
    log.warning("connection %s needs reauthorization: %s", connection_id, reason)

"""Connections: starting the OAuth grant, finishing it at the callback, pausing, revoking."""

from __future__ import annotations

import hashlib
import logging
import secrets
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import Flask

from bridge import errors, store
from bridge.ledgers import base
from bridge.store.models import Connection, utcnow
from bridge.sync import queue
from bridge.sync.adapters import adapter_for, oauth_for
from bridge.sync.tokens import save_token

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def callback_url(app: Flask, provider: str) -> str:
    """The OAuth redirect URI registered with the ledger."""
    return app.config["PUBLIC_URL"].rstrip("/") + f"/v1/oauth/{provider}/callback"


def check_return_url(url: str | None) -> None:
    """Only https URLs, or loopback ones (tests and local tools), may receive the browser."""
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise errors.ValidationFailed("return_url must be https (or loopback http).",
                                  errors=[{"field": "return_url", "message": "Must be an https URL."}])


def state_hash(state: str) -> str:
    """The stored form of an OAuth state."""
    return hashlib.sha256(state.encode()).hexdigest()


def start(app: Flask, account_id: str, provider: str, tenant: str | None, return_url: str | None,
          layout: str | None = None) -> tuple[Connection, str | None]:
    """A pending connection and the URL where the user grants access (a file ledger: active, no URL)."""
    if provider not in base.LEDGERS:
        raise errors.ValidationFailed("Unknown provider.", errors=[{
            "field": "provider", "message": f"One of: {', '.join(sorted(base.LEDGERS))}."}])
    check_return_url(return_url)
    if not getattr(base.load(provider), "NEEDS_OAUTH", True):
        return start_file_ledger(app, account_id, provider, layout), None
    if layout is not None:
        raise errors.ValidationFailed("Only the csv ledger takes a layout.", errors=[{
            "field": "layout", "message": f"{provider} writes through its API: leave layout out."}])
    oauth = oauth_for(app, provider)
    if not oauth.settings.get("client_id"):
        raise errors.DependencyDown(f"{provider} is not configured on this bridge "
                                    f"(BRIDGE_{provider.upper()}_CLIENT_ID is unset).")
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48) if oauth.PKCE else None
    vault = store.vault()
    connection = Connection(id="con_" + secrets.token_hex(12), account_id=account_id, provider=provider,
                            status="pending", tenant_hint=tenant, return_url=return_url,
                            state_hash=state_hash(state), code_verifier=vault.seal(verifier) if verifier else None,
                            mapping={})
    db = store.session()
    db.add(connection)
    db.commit()
    return connection, oauth.authorization_url(callback_url(app, provider), state, verifier)


def start_file_ledger(app: Flask, account_id: str, provider: str, layout: str | None) -> Connection:
    """A `csv` connection: no grant to wait for, active at once with its file layout."""
    from bridge.ledgers.csv.layouts import LAYOUT_NAMES, LAYOUTS

    if layout not in LAYOUTS:
        raise errors.ValidationFailed("The csv ledger needs a layout.", errors=[{
            "field": "layout", "message": f"One of: {', '.join(LAYOUTS)} (the import file format to write)."}])
    connection = Connection(id="con_" + secrets.token_hex(12), account_id=account_id, provider=provider,
                            status="pending", tenant_id=layout, tenant_name=LAYOUT_NAMES[layout],
                            tenant_extra={"layout": layout}, mapping={})
    db = store.session()
    db.add(connection)
    db.commit()
    activate(app, connection)
    return connection


def reauthorize(app: Flask, connection: Connection, return_url: str | None) -> str:
    """A fresh authorize URL for a connection whose grant was lost (same tenant expected)."""
    if connection.status == "disconnected":
        raise errors.Conflict("A disconnected connection cannot be authorized again; create a new one.")
    check_return_url(return_url)
    oauth = oauth_for(app, connection.provider)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48) if oauth.PKCE else None
    connection.state_hash = state_hash(state)
    connection.code_verifier = store.vault().seal(verifier) if verifier else None
    if return_url:
        connection.return_url = return_url
    store.session().commit()
    return oauth.authorization_url(callback_url(app, connection.provider), state, verifier)


def finish(app: Flask, provider: str, args: dict) -> Connection:
    """The callback: check the state, trade the code for tokens, discover the tenant."""
    db = store.session()
    state = args.get("state") or ""
    connection = db.execute(sa.select(Connection).where(
        Connection.state_hash == state_hash(state), Connection.provider == provider)).scalar_one_or_none()
    if not state or connection is None:
        raise errors.NotFound("Unknown or used OAuth state: start the connection again.")
    connection.state_hash = None  # single use
    if args.get("error"):
        connection.last_error = f"{args['error']}: {args.get('error_description', '')}".strip(": ")
        db.commit()
        return connection
    if not args.get("code"):
        connection.last_error = "the ledger sent no authorization code"
        db.commit()
        return connection
    oauth = oauth_for(app, provider)
    verifier = store.vault().open(connection.code_verifier)
    try:
        token, tenant = oauth.exchange(args["code"], callback_url(app, provider), dict(args), verifier)
    except errors.LedgerError as exc:
        connection.last_error = f"token exchange failed: {exc.detail}"
        db.commit()
        return connection
    if connection.tenant_id and tenant.get("tenant_id") and tenant["tenant_id"] != connection.tenant_id:
        connection.last_error = (f"authorized company {tenant['tenant_id']} is not this connection's "
                                 f"({connection.tenant_id}); connect it as a new connection")
        db.commit()
        return connection
    connection.code_verifier = None
    connection.tenants = tenant.get("tenants") or None
    connection.tenant_id = (tenant.get("tenant_id") or connection.tenant_id
                            or pick_tenant(connection.tenants or [], connection.tenant_hint))
    if connection.tenant_id is None and connection.tenant_hint:
        connection.last_error = f"no organisation {connection.tenant_hint!r} in this grant; choose one of `tenants`"
    db.commit()
    save_token(app, connection.id, token)
    db.refresh(connection)
    if connection.tenant_id:
        activate(app, connection)
    return connection


def pick_tenant(tenants: list[dict], hint: str | None) -> str | None:
    """The tenant to use: the only one, or the one the hint names (id, or name ignoring case)."""
    if len(tenants) == 1 and not hint:
        return tenants[0]["id"]
    if hint:
        for tenant in tenants:
            if hint == tenant["id"] or hint.casefold() == (tenant.get("name") or "").casefold():
                return tenant["id"]
    return None


def activate(app: Flask, connection: Connection) -> None:
    """Read the tenant's facts (name, country, currency) and mark the connection active."""
    db = store.session()
    try:
        info = adapter_for(app, connection).tenant_info()
    except errors.LedgerError as exc:
        log.warning("tenant info of %s unavailable: %s", connection.id, exc)
        info = {}
    connection.tenant_name = info.get("name") or connection.tenant_name
    connection.tenant_extra = info
    connection.status = "active"
    connection.last_error = None
    connection.updated_at = utcnow()
    db.commit()
    queue.wake_relay(app)
    if connection.provider == "freshbooks":  # FreshBooks webhooks need callbacks registered per business
        from bridge.events.inbound import callbacks

        callbacks.schedule_registration(app, connection.id)


def finish_redirect(app: Flask, connection: Connection) -> str:
    """Where the browser goes after the callback."""
    params = {"connection_id": connection.id, "status": connection.status}
    if connection.last_error:
        params["error"] = connection.last_error[:200]
    if connection.return_url:
        separator = "&" if "?" in connection.return_url else "?"
        return connection.return_url + separator + urlencode(params)
    return app.config["PUBLIC_URL"].rstrip("/") + f"/connected/{connection.id}"


def set_paused(connection: Connection, paused: bool) -> None:
    """Stop or restart sending to the ledger."""
    if connection.status not in ("active", "paused"):
        raise errors.Conflict(f"A {connection.status} connection cannot be paused or resumed.")
    connection.status = "paused" if paused else "active"
    connection.updated_at = utcnow()
    store.session().commit()


def disconnect(app: Flask, connection: Connection) -> None:
    """Revoke the grant at the ledger (best effort) and forget the tokens."""
    sealed = connection.token
    if sealed and connection.provider == "freshbooks":  # while the token works (it may be refreshed meanwhile)
        from bridge.events.inbound import callbacks

        callbacks.remove_callbacks(app, connection)
        store.session().refresh(connection)
        sealed = connection.token
    if sealed:
        try:
            oauth_for(app, connection.provider).revoke(base.Token.from_dict(store.vault().open(sealed)))
        except (errors.LedgerError, NotImplementedError) as exc:
            log.warning("revoking %s at the ledger failed: %s", connection.id, exc)
    connection.status = "disconnected"
    connection.token = None
    connection.updated_at = utcnow()
    store.session().commit()

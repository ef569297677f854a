"""Xero's identity service (facts §2.1): authorize (+PKCE), token (code, rotating refresh), revocation,
and the /connections list of organisations a user has connected to the app.

Paths mirror login.xero.com/identity/connect/authorize, identity.xero.com/connect/{token,revocation}
and api.xero.com/connections under the emulator's /xero prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Response, redirect, request

from .. import jsonio
from . import errors
from .seeds import SANDBOX_USER_ID
from .wire import iso_utc, new_id

CLIENT_ID = "5A4D8C2E1B7F4E6A9C3D0B8E7F1A2C4D"  # Xero client ids are 32 upper-case hex characters
CLIENT_SECRET = "sandbox-xero-secret-Qm9vdHN0cmFwLVNhbmRib3gtU2VjcmV0"
AUTHORIZE_PATH = "/identity/connect/authorize"
TOKEN_PATH = "/identity/connect/token"
REVOKE_PATH = "/identity/connect/revocation"
CONNECTIONS_PATH = "/connections"
ISSUER = "https://identity.xero.com"  # the `iss` of Xero's tokens
ACCESS_TOKEN_SECONDS = 1800  # 30 minutes [V] developer.xero.com/faq/oauth2
REFRESH_TOKEN_SECONDS = 60 * 86400  # a refresh token expires after 60 days unused [V] X-FAQ-OAUTH
DEFAULT_REFRESH_GRACE_SECONDS = 1800  # the replaced refresh token works 30 more minutes [V] X-FAQ-OAUTH
CODE_SECONDS = 300  # authorization codes live 5 minutes
TOKEN_SIGNING_KEY = b"sandbox-xero-token-signing-key"  # HS256; Xero signs with RS256, which the bridge need not check
OFFLINE_SCOPE = "offline_access"
# Every scope Xero's identity service grants to accounting apps: legacy (OAS v16.1.0 securitySchemes) and
# granular (apps created from 2026-03-02: apideck.com/blog/xero-scopes, facts §2.1).
KNOWN_SCOPES = frozenset({
    "offline_access", "openid", "profile", "email",
    "accounting.transactions", "accounting.transactions.read", "accounting.contacts", "accounting.contacts.read",
    "accounting.settings", "accounting.settings.read", "accounting.attachments", "accounting.attachments.read",
    "accounting.reports.read", "accounting.journals.read", "accounting.budgets.read",
    "accounting.invoices", "accounting.invoices.read", "accounting.payments", "accounting.payments.read",
    "accounting.banktransactions", "accounting.banktransactions.read", "accounting.manualjournals",
    "accounting.manualjournals.read"})
PKCE_METHODS = ("S256",)  # Xero's PKCE flow documents S256 only


class OAuthError(Exception):
    """A token-endpoint error: `{"error": ...}` with HTTP 400 (Xero's identity service answers 400)."""

    def __init__(self, error: str, description: str | None = None, status: int = 400):
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        """The JSON body Xero sends."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass
class Grant:
    """One consent (an authentication event): client, user, scopes and the organisations picked."""

    id: str  # authentication_event_id
    client_id: str
    user_id: str
    scopes: frozenset
    scope_text: str
    tenants: list
    created: float
    public: bool = False  # PKCE without a client secret
    revoked: bool = False


@dataclass
class Connection:
    """One organisation connected to the app for a user (api.xero.com/connections)."""

    id: str
    client_id: str
    user_id: str
    tenant_id: str
    auth_event_id: str
    created: float
    updated: float
    active: bool = True


@dataclass
class RefreshToken:
    """A refresh token; once used it answers the same successor pair until its grace period ends."""

    grant_id: str
    expires_at: float
    superseded_at: float | None = None
    successor: dict | None = None
    successor_expires_at: float = 0.0


@dataclass
class AccessToken:
    """An issued access token (a JWT the bridge may decode)."""

    grant_id: str
    expires_at: float
    claims: dict = field(default_factory=dict)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict) -> str:
    """An HS256 JWT (header.payload.signature, base64url)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "sandbox"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(TOKEN_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(sha256(code_verifier)) without padding (RFC 7636)."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


class TokenAuthority:
    """Codes, grants, connections and tokens, measured on the sandbox clock."""

    def __init__(self, clock, settings: dict, faults):
        self.clock = clock
        self.settings = settings
        self.faults = faults
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every code, grant, connection and token."""
        self.codes: dict[str, dict] = {}
        self.grants: dict[str, Grant] = {}
        self.connections: dict[tuple, Connection] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    # Clients

    def client_known(self, client_id) -> bool:
        """Is this a registered client id?"""
        return client_id in self.settings["clients"]

    def client_valid(self, client_id, secret) -> bool:
        """Is this client id + secret pair right?"""
        clients = self.settings["clients"]
        return client_id in clients and secrets.compare_digest(str(clients[client_id]), str(secret or ""))

    # Consent

    def authorize(self, client_id: str, redirect_uri: str, scopes: list[str], tenants: list[str],
                  challenge: str | None, nonce: str | None) -> str:
        """Approve at once: record the consent, connect the organisations, return a one-time code."""
        now = self.clock.now()
        code = secrets.token_hex(32).upper()
        with self._lock:
            grant = Grant(new_id(), client_id, SANDBOX_USER_ID, frozenset(scopes), " ".join(scopes), list(tenants),
                          now, public=challenge is not None)
            self.grants[grant.id] = grant
            for tenant_id in tenants:
                key = (client_id, SANDBOX_USER_ID, tenant_id)
                connection = self.connections.get(key)
                if connection is None:
                    self.connections[key] = Connection(new_id(), client_id, SANDBOX_USER_ID, tenant_id, grant.id,
                                                       now, now)
                else:
                    connection.active, connection.auth_event_id, connection.updated = True, grant.id, now
            self.codes[code] = {"grant_id": grant.id, "redirect_uri": redirect_uri, "challenge": challenge,
                                "nonce": nonce, "expires_at": now + CODE_SECONDS}
        return code

    # Tokens

    def exchange_code(self, client_id: str, authenticated: bool, code, redirect_uri, verifier) -> dict:
        """grant_type=authorization_code: single use, 5 minutes, same redirect_uri, PKCE verifier if used."""
        with self._lock:
            now = self.clock.now()
            entry = self.codes.pop(code or "", None)
            if entry is None or entry["expires_at"] <= now:
                raise OAuthError("invalid_grant")
            grant = self.grants[entry["grant_id"]]
            if grant.client_id != client_id or grant.revoked:
                raise OAuthError("invalid_grant")
            if redirect_uri != entry["redirect_uri"]:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorize request")
            if entry["challenge"] is not None:
                if not verifier or not secrets.compare_digest(pkce_challenge(verifier), entry["challenge"]):
                    raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
            elif not authenticated:
                raise OAuthError("invalid_client")
            return self._issue(grant, now, entry["nonce"])

    def use_refresh(self, client_id: str, authenticated: bool, token) -> dict:
        """grant_type=refresh_token: rotates; the used token replays its successor during the grace period.

        [U] Xero staff: the old token "can be used as many times as needed" for 30 minutes in case the
        response was lost (community.xero.com discussion 127920775). The sandbox answers those retries
        with the same new pair (expires_in counting down), so a lost response never forks the token set.
        """
        with self._lock:
            now = self.clock.now()
            entry = self.refresh.get(token or "")
            if self.faults.invalid_grant or entry is None:
                raise OAuthError("invalid_grant")
            grant = self.grants.get(entry.grant_id)
            if grant is None or grant.revoked or grant.client_id != client_id or entry.expires_at <= now:
                raise OAuthError("invalid_grant")
            if not authenticated and not grant.public:
                raise OAuthError("invalid_client")
            if entry.superseded_at is not None:
                if now >= entry.superseded_at + float(self.settings["refresh_grace_seconds"]):
                    raise OAuthError("invalid_grant")
                return {**entry.successor, "expires_in": max(0, int(entry.successor_expires_at - now))}
            payload = self._issue(grant, now, None)
            entry.superseded_at = now
            entry.successor = payload
            entry.successor_expires_at = now + ACCESS_TOKEN_SECONDS
            return payload

    def _issue(self, grant: Grant, now: float, nonce: str | None) -> dict:
        issuer = ISSUER
        claims = {"nbf": int(now), "exp": int(now + ACCESS_TOKEN_SECONDS), "iss": issuer,
                  "aud": f"{issuer}/resources", "client_id": grant.client_id, "sub": grant.user_id.replace("-", ""),
                  "auth_time": int(grant.created), "xero_userid": grant.user_id, "global_session_id": grant.id,
                  "sid": grant.id, "jti": secrets.token_hex(16).upper(), "authentication_event_id": grant.id,
                  "scope": sorted(grant.scopes)}
        access = jwt(claims)
        self.access[access] = AccessToken(grant.id, now + ACCESS_TOKEN_SECONDS, claims)
        payload = {}
        if "openid" in grant.scopes:
            id_claims = {"nbf": int(now), "exp": int(now + 300), "iss": issuer, "aud": grant.client_id,
                         "iat": int(now), "at_hash": _b64(hashlib.sha256(access.encode()).digest()[:16]),
                         "sid": grant.id, "sub": grant.user_id.replace("-", ""), "auth_time": int(grant.created),
                         "xero_userid": grant.user_id, "global_session_id": grant.id,
                         "preferred_username": "sandbox.user@example.invalid", "email": "sandbox.user@example.invalid",
                         "given_name": "Sandbox", "family_name": "User"}
            if nonce:
                id_claims["nonce"] = nonce
            payload["id_token"] = jwt(id_claims)
        payload.update({"access_token": access, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"})
        if OFFLINE_SCOPE in grant.scopes:
            refresh = secrets.token_hex(32)
            self.refresh[refresh] = RefreshToken(grant.id, now + REFRESH_TOKEN_SECONDS)
            payload["refresh_token"] = refresh
        payload["scope"] = grant.scope_text
        return payload

    def revoke(self, client_id: str, token) -> None:
        """Revoke the grant behind a refresh (or access) token and disconnect its organisations."""
        with self._lock:
            entry = self.refresh.get(token or "") or self.access.get(token or "")
            grant = self.grants.get(entry.grant_id) if entry is not None else None
            if grant is None or grant.client_id != client_id:
                return  # RFC 7009: an unknown token is not an error
            grant.revoked = True
            for connection in self.connections.values():
                if connection.auth_event_id == grant.id:
                    connection.active = False

    # Bearer checks

    def check_access(self, token) -> Grant:
        """The grant behind a valid bearer token, else a 401 (AuthenticationUnsuccessful or TokenExpired)."""
        with self._lock:
            entry = self.access.get(token or "")
            if entry is None:
                raise errors.unauthorized()
            grant = self.grants.get(entry.grant_id)
            if grant is None or grant.revoked:
                raise errors.unauthorized()
            if entry.expires_at <= self.clock.now():
                moment = datetime.fromtimestamp(entry.expires_at, timezone.utc).strftime("%m/%d/%Y %H:%M:%S")
                raise errors.unauthorized(f"TokenExpired: token expired at {moment}")
            return grant

    def connected(self, grant: Grant, tenant_id: str) -> bool:
        """Is this organisation connected to the grant's app for its user?"""
        with self._lock:
            connection = self.connections.get((grant.client_id, grant.user_id, tenant_id))
            return connection is not None and connection.active

    def connection_list(self, grant: Grant, tenant_names: dict, auth_event_id: str | None = None) -> list[dict]:
        """The Connection objects (xero-identity.yaml) of the grant's app and user."""
        with self._lock:
            return [{"id": c.id, "authEventId": c.auth_event_id, "tenantId": c.tenant_id,
                     "tenantType": "ORGANISATION", "tenantName": tenant_names.get(c.tenant_id, ""),
                     "createdDateUtc": iso_utc(c.created), "updatedDateUtc": iso_utc(c.updated)}
                    for c in self.connections.values()
                    if c.active and c.client_id == grant.client_id and c.user_id == grant.user_id
                    and (auth_event_id is None or c.auth_event_id.lower() == auth_event_id.lower())]

    def disconnect(self, grant: Grant, connection_id: str) -> bool:
        """DELETE /connections/{id}: False when there is no such active connection."""
        with self._lock:
            for connection in self.connections.values():
                if (connection.id == connection_id.lower() and connection.active
                        and connection.client_id == grant.client_id and connection.user_id == grant.user_id):
                    connection.active = False
                    return True
            return False

    def view(self) -> dict:
        """Counts for the ledger view (never the tokens themselves)."""
        with self._lock:
            return {"grants": len(self.grants), "active_grants": sum(not g.revoked for g in self.grants.values()),
                    "connections": sum(c.active for c in self.connections.values()),
                    "access_tokens": len(self.access), "refresh_tokens": len(self.refresh)}


# Routes

def client_credentials() -> tuple[str | None, str | None]:
    """client_id and secret from HTTP Basic, else from the form (Xero takes either)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return request.form.get("client_id"), request.form.get("client_secret")


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _token_response(payload: dict, status: int = 200) -> Response:
    return jsonio.json_response(payload, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _error_response(error: errors.ApiError) -> Response:
    return jsonio.json_response(error.body, error.status, error.headers)


def register(bp, emulator_of) -> None:
    """Add the identity routes to the Xero blueprint."""

    @bp.get(AUTHORIZE_PATH)
    def authorize():
        """The consent screen, approved at once: 302 back with code, scope and state."""
        emulator = emulator_of()
        args = request.args
        redirect_uri = args.get("redirect_uri")
        state = args.get("state")
        if not redirect_uri:
            return _token_response({"error": "invalid_request", "error_description": "redirect_uri is required"},
                                   400)
        allowed = emulator.settings.get("redirect_uris")
        if allowed and redirect_uri not in allowed:
            return _token_response({"error": "invalid_request",
                                    "error_description": "redirect_uri is not registered for this app"}, 400)

        def back(error: str, description: str | None = None):
            return redirect(_with_query(redirect_uri, {"error": error, "error_description": description,
                                                       "state": state}), 302)

        client_id = args.get("client_id")
        if not emulator.oauth.client_known(client_id):
            return back("unauthorized_client", "Unknown client or client not enabled")
        if args.get("response_type") != "code":
            return back("unsupported_response_type")
        scopes = list(dict.fromkeys((args.get("scope") or "").split()))
        unknown = [scope for scope in scopes if scope not in KNOWN_SCOPES]
        if not scopes or unknown:
            return back("invalid_scope", f"unknown scope: {' '.join(unknown)}" if unknown else "scope is required")
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method")
        if challenge is not None and method not in PKCE_METHODS:
            return back("invalid_request", "code_challenge_method must be S256")
        if challenge is None and method is not None:
            return back("invalid_request", "code_challenge is required with code_challenge_method")
        code = emulator.oauth.authorize(client_id, redirect_uri, scopes, emulator.grant_tenants(), challenge,
                                        args.get("nonce"))
        return redirect(_with_query(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state,
                                                   "session_state": secrets.token_urlsafe(16)}), 302)

    @bp.post(TOKEN_PATH)
    def token():
        """Exchange a code or a refresh token (form-encoded; client auth by Basic or in the form)."""
        emulator = emulator_of()
        grant_type = request.form.get("grant_type") or "unknown"
        emulator.stats.count("token_calls", grant_type)
        client_id, secret = client_credentials()
        authenticated = emulator.oauth.client_valid(client_id, secret)
        try:
            if not emulator.oauth.client_known(client_id) or (secret not in (None, "") and not authenticated):
                raise OAuthError("invalid_client")
            if grant_type == "authorization_code":
                payload = emulator.oauth.exchange_code(client_id, authenticated, request.form.get("code"),
                                                       request.form.get("redirect_uri"),
                                                       request.form.get("code_verifier"))
            elif grant_type == "refresh_token":
                payload = emulator.oauth.use_refresh(client_id, authenticated, request.form.get("refresh_token"))
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            emulator.stats.count("token_errors", error.error)
            return _token_response(error.body(), error.status)
        return _token_response(payload)

    @bp.post(REVOKE_PATH)
    def revoke():
        """Revoke a refresh token's grant and disconnect its organisations (form `token=`)."""
        emulator = emulator_of()
        emulator.stats.count("token_calls", "revoke")
        client_id, secret = client_credentials()
        if not emulator.oauth.client_known(client_id) or (secret not in (None, "")
                                                          and not emulator.oauth.client_valid(client_id, secret)):
            return _token_response({"error": "invalid_client"}, 400)
        token_value = request.form.get("token")
        if not token_value:
            return _token_response({"error": "invalid_request"}, 400)
        emulator.oauth.revoke(client_id, token_value)
        return Response(status=200)

    @bp.get(CONNECTIONS_PATH)
    @bp.get("/Connections")
    def connections():
        """The organisations connected for this token's user and app."""
        emulator = emulator_of()
        try:
            grant = emulator.oauth.check_access(_bearer())
        except errors.ApiError as error:
            return _error_response(error)
        names = {tenant.id: tenant.name for tenant in emulator.store.tenants.values()}
        return jsonio.json_response(emulator.oauth.connection_list(grant, names, request.args.get("authEventId")))

    @bp.delete(CONNECTIONS_PATH + "/<connection_id>")
    @bp.delete("/Connections/<connection_id>")
    def delete_connection(connection_id):
        """Disconnect one organisation: 204, or 404 when it is not connected."""
        emulator = emulator_of()
        try:
            grant = emulator.oauth.check_access(_bearer())
        except errors.ApiError as error:
            return _error_response(error)
        if not emulator.oauth.disconnect(grant, connection_id):
            return Response(errors.NOT_FOUND_TEXT, 404, content_type="text/plain; charset=utf-8")
        return Response(status=204)

"""Intuit OAuth 2.0 (facts §1.1): authorize, token (code + rotating refresh), revoke; bearer checks."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import redirect, request

from .. import jsonio
from . import errors

CLIENT_ID = "sandbox-quickbooks-client"
CLIENT_SECRET = "sandbox-quickbooks-secret"
# Paths mirror Intuit's hosts (appcenter.intuit.com, oauth.platform.intuit.com, developer.api.intuit.com).
AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"  # covers the whole Accounting API [V] I-PY enums.py
KNOWN_SCOPES = frozenset({ACCOUNTING_SCOPE, "com.intuit.quickbooks.payment", "openid", "profile", "email",
                          "phone", "address"})
ACCESS_TOKEN_SECONDS = 3600  # [V] I-FAQ
# x_refresh_token_expires_in as Intuit sends it (100-day rolling expiry) [V] I-BLOG24
REFRESH_TOKEN_SECONDS = 8726400
REFRESH_TOKEN_CAP_SECONDS = 5 * 365 * 86400  # hard 5-year cap from the grant [V] I-BLOG25
CODE_SECONDS = 300  # authorization codes live 5 minutes
DEFAULT_REFRESH_GRACE_SECONDS = 86400  # the replaced refresh token dies about 24 h later [P] facts §1.1


class OAuthError(Exception):
    """An OAuth error answer: `{"error": ...}` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict:
        """The JSON body Intuit sends."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass
class Grant:
    """One user's consent: a client, a company and the scopes."""

    id: str
    client_id: str
    realm_id: str
    scope: str
    created: float
    revoked: bool = False


@dataclass
class RefreshToken:
    """A refresh token; once replaced it keeps working until `superseded_at + grace`."""

    grant_id: str
    expires_at: float
    superseded_at: float | None = None


class TokenAuthority:
    """Codes, grants and tokens, all measured on the sandbox clock."""

    def __init__(self, clock, settings: dict, faults):
        self.clock = clock
        self.settings = settings
        self.faults = faults
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every code, grant and token."""
        self.codes: dict[str, dict] = {}
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, tuple[str, float]] = {}
        self.refresh: dict[str, RefreshToken] = {}

    def client_valid(self, client_id: str | None, secret: str | None = None,
                     check_secret: bool = True) -> bool:
        """Is this a known client (with the right secret)?"""
        clients = self.settings["clients"]
        if client_id not in clients:
            return False
        return not check_secret or secrets.compare_digest(str(clients[client_id]), str(secret or ""))

    def authorize(self, client_id: str, redirect_uri: str, scope: str, realm_id: str) -> str:
        """Approve at once and return a one-time code."""
        code = "AB" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
                                "realm_id": realm_id, "expires_at": self.clock.now() + CODE_SECONDS}
        return code

    def exchange_code(self, client_id: str, code: str | None, redirect_uri: str | None) -> dict:
        """grant_type=authorization_code: single use, 5 minutes, same redirect_uri."""
        with self._lock:
            entry = self.codes.pop(code or "", None)
            now = self.clock.now()
            if entry is None or entry["expires_at"] <= now or entry["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant")
            if redirect_uri != entry["redirect_uri"]:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorize request")
            grant = Grant("g-" + secrets.token_hex(8), client_id, entry["realm_id"], entry["scope"], now)
            self.grants[grant.id] = grant
            return self._issue(grant, now)

    def use_refresh(self, client_id: str, token: str | None) -> dict:
        """grant_type=refresh_token: a new pair every time; the old refresh token lives out its grace."""
        with self._lock:
            now = self.clock.now()
            entry = self.refresh.get(token or "")
            if self.faults.invalid_grant or entry is None:
                raise OAuthError(400, "invalid_grant")
            grant = self.grants.get(entry.grant_id)
            grace = float(self.settings["refresh_grace_seconds"])
            if (grant is None or grant.revoked or grant.client_id != client_id or entry.expires_at <= now
                    or (entry.superseded_at is not None and entry.superseded_at + grace <= now)):
                raise OAuthError(400, "invalid_grant")
            if entry.superseded_at is None:
                entry.superseded_at = now
            return self._issue(grant, now)

    def _issue(self, grant: Grant, now: float) -> dict:
        access = secrets.token_urlsafe(48)
        refresh = "AB11" + secrets.token_urlsafe(36)
        refresh_expiry = min(now + REFRESH_TOKEN_SECONDS, grant.created + REFRESH_TOKEN_CAP_SECONDS)
        self.access[access] = (grant.id, now + ACCESS_TOKEN_SECONDS)
        self.refresh[refresh] = RefreshToken(grant.id, refresh_expiry)
        return {"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": ACCESS_TOKEN_SECONDS, "x_refresh_token_expires_in": int(refresh_expiry - now)}

    def revoke(self, client_id: str, token: str | None) -> None:
        """Revoke the grant behind an access or refresh token (unknown tokens are ignored)."""
        with self._lock:
            grant_id = None
            if token in self.refresh:
                grant_id = self.refresh[token].grant_id
            elif token in self.access:
                grant_id = self.access[token][0]
            grant = self.grants.get(grant_id) if grant_id else None
            if grant is not None and grant.client_id == client_id:
                grant.revoked = True

    def check_access(self, token: str | None, realm_id: str) -> Grant:
        """The grant behind a valid bearer token for this realm, else a 401 AuthenticationFailed fault."""
        with self._lock:
            entry = self.access.get(token or "")
            if entry is None:
                raise errors.authentication_failed("Token invalid: the access token is unknown or revoked")
            grant = self.grants.get(entry[0])
            if grant is None or grant.revoked:
                raise errors.authentication_failed("Token revoked: the grant behind this token was revoked")
            if entry[1] <= self.clock.now():
                raise errors.authentication_failed(
                    f"Token expired: the access token is older than {ACCESS_TOKEN_SECONDS} seconds")
            if grant.realm_id != str(realm_id):
                # Sandbox choice: a token used for another company fails like a bad token (401).
                raise errors.authentication_failed(f"Token invalid: not authorized for company {realm_id}")
            return grant

    def view(self) -> dict:
        """Counts for the ledger view (never the tokens themselves)."""
        with self._lock:
            return {"grants": len(self.grants),
                    "active_grants": sum(not g.revoked for g in self.grants.values()),
                    "access_tokens": len(self.access), "refresh_tokens": len(self.refresh)}


def basic_client() -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic auth (the only client auth Intuit takes)."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _oauth_response(payload: dict, status: int = 200):
    return jsonio.json_response(payload, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def register(bp, emulator_of) -> None:
    """Add the OAuth routes to the QuickBooks blueprint."""

    @bp.get(AUTHORIZE_PATH)
    def authorize():
        """Intuit's consent page, approved at once: 302 back with code, state and realmId."""
        emulator = emulator_of()
        args = request.args
        redirect_uri = args.get("redirect_uri")
        state = args.get("state")
        if not redirect_uri:
            return _oauth_response({"error": "invalid_request",
                                    "error_description": "redirect_uri is required"}, 400)
        allowed = emulator.settings.get("redirect_uris")
        if allowed and redirect_uri not in allowed:
            return _oauth_response({"error": "invalid_request",
                                    "error_description": "redirect_uri is not registered for this app"}, 400)

        def back(**params):
            return redirect(_with_query(redirect_uri, {**params, "state": state}), 302)

        if not emulator.oauth.client_valid(args.get("client_id"), check_secret=False):
            return back(error="invalid_client")
        if args.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scopes = set((args.get("scope") or "").split())
        if ACCOUNTING_SCOPE not in scopes or not scopes <= KNOWN_SCOPES:
            return back(error="invalid_scope")
        realm_id = emulator.resolve_realm(args.get("realm") or emulator.settings["default_realm"])
        if realm_id is None:
            return _oauth_response({"error": "invalid_request", "error_description": "unknown realm"}, 400)
        code = emulator.oauth.authorize(args["client_id"], redirect_uri, " ".join(sorted(scopes)), realm_id)
        return redirect(_with_query(redirect_uri, {"code": code, "state": state, "realmId": realm_id}), 302)

    @bp.post(TOKEN_PATH)
    def token():
        """Exchange a code or a refresh token (form-encoded, HTTP Basic client auth)."""
        emulator = emulator_of()
        grant_type = request.form.get("grant_type") or "unknown"
        emulator.stats.count("token_calls", grant_type)
        client_id, secret = basic_client()
        try:
            if not emulator.oauth.client_valid(client_id, secret):
                raise OAuthError(401, "invalid_client")
            if grant_type == "authorization_code":
                payload = emulator.oauth.exchange_code(client_id, request.form.get("code"),
                                                       request.form.get("redirect_uri"))
            elif grant_type == "refresh_token":
                payload = emulator.oauth.use_refresh(client_id, request.form.get("refresh_token"))
            else:
                raise OAuthError(400, "unsupported_grant_type")
        except OAuthError as error:
            emulator.stats.count("token_errors", error.error)
            return _oauth_response(error.body(), error.status)
        return _oauth_response(payload)

    @bp.post(REVOKE_PATH)
    def revoke():
        """Revoke a grant by one of its tokens (JSON `{"token": ...}`, Basic auth)."""
        emulator = emulator_of()
        client_id, secret = basic_client()
        if not emulator.oauth.client_valid(client_id, secret):
            return _oauth_response({"error": "invalid_client"}, 401)
        token = None
        if request.is_json or (request.data or b"").lstrip().startswith(b"{"):
            try:
                token = (jsonio.loads(request.get_data()) or {}).get("token")
            except (ValueError, AttributeError):
                return _oauth_response({"error": "invalid_request"}, 400)
        else:
            token = request.form.get("token")
        if not token:
            return _oauth_response({"error": "invalid_request"}, 400)
        emulator.oauth.revoke(client_id, token)
        emulator.stats.count("token_calls", "revoke")
        return jsonio.json_response({}, 200)

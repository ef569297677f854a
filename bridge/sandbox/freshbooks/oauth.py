"""FreshBooks OAuth 2.0 (facts §3.1): authorize, token (code + single-use refresh), revoke; bearer checks.

- Authorize approves at once and redirects with `code` and `state`; the code lives 5 minutes, single use.
- Token: JSON (form accepted too) `{grant_type, client_id, client_secret, code|refresh_token, redirect_uri}`
  -> `{access_token, refresh_token, token_type: "Bearer", expires_in, scope, created_at}` [V] FB-SDK fixture.
- Access tokens live 12 h. A refresh token "never expires, but can only be used once" [V] FB-AUTH: each
  refresh returns a new pair and invalidates every earlier token of that grant, the previous access token
  included [P]; reusing a refresh token answers 400 invalid_grant.
- Error bodies are Doorkeeper's (`{"error", "error_description"}`), the OAuth server FreshBooks' token
  shape points to (`created_at`) [P].
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import redirect, request

from .. import jsonio

CLIENT_ID = "sandbox-freshbooks-client"
CLIENT_SECRET = "sandbox-freshbooks-secret"
# Paths mirror FreshBooks' hosts: auth.freshbooks.com/oauth/authorize (also /service/auth/oauth/authorize
# in the SDK) and api.freshbooks.com/auth/oauth/token, /auth/oauth/revoke, /auth/api/v1/users/me.
AUTHORIZE_PATH = "/oauth/authorize"
AUTHORIZE_ALIAS = "/service/auth/oauth/authorize"
TOKEN_PATH = "/auth/oauth/token"
REVOKE_PATH = "/auth/oauth/revoke"
IDENTITY_PATH = "/auth/api/v1/users/me"
ACCESS_TOKEN_SECONDS = 12 * 3600  # [V] FB-AUTH "a token that lasts for 12 hours"
CODE_SECONDS = 300  # [V] FB-AUTH "the authorization code expires in 5 minutes"
PROFILE_SCOPE = "user:profile:read"  # [V] "added to all new apps by default" freshbooks.com/api/scopes
# Scope objects [V] freshbooks.com/api/scopes; actions are read and write.
SCOPE_OBJECTS = ("bill_payments", "bill_vendors", "billable_items", "bills", "business", "clients",
                 "credit_notes", "estimates", "expenses", "invoices", "journal_entries", "notifications",
                 "online_payments", "other_income", "payments", "profile", "projects", "reports", "retainers",
                 "taxes", "teams", "time_entries")
SCOPE_RE = re.compile(r"^user:([a-z_]+):(read|write)$")
# What the sandbox app is registered with (the scopes granted when authorize names none).
DEFAULT_APP_SCOPES = (PROFILE_SCOPE,) + tuple(f"user:{obj}:{action}" for obj in (
    "clients", "invoices", "payments", "credit_notes", "billable_items", "taxes") for action in ("read", "write"))
# Doorkeeper's default descriptions.
INVALID_GRANT = ("The provided authorization grant is invalid, expired, revoked, does not match the "
                 "redirection URI used in the authorization request, or was issued to another client.")
INVALID_CLIENT = ("Client authentication failed due to unknown client, no client authentication included, "
                  "or unsupported authentication method.")
INVALID_REQUEST = ("The request is missing a required parameter, includes an unsupported parameter value, "
                   "or is otherwise malformed.")
UNSUPPORTED_GRANT_TYPE = "The authorization grant type is not supported by the authorization server."
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed."
INVALID_REDIRECT_URI = "The requested redirect uri is malformed or doesn't match client redirect URI."


class OAuthError(Exception):
    """A token-endpoint error: `{"error", "error_description"}` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict:
        """The JSON body."""
        return {"error": self.error, "error_description": self.description}


class AuthFailure(Exception):
    """A bearer token that does not authenticate: reason is missing, invalid, expired or revoked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Grant:
    """One user's consent to one app: the scopes, and the generation of its current token pair."""

    id: str
    client_id: str
    identity_id: int
    scopes: tuple
    created: float
    generation: int = 0
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        """Does the grant hold this scope?"""
        return scope in self.scopes


def parse_scopes(text: str | None) -> list[str] | None:
    """Scopes from a space- (or comma-) separated string; None when one is not a FreshBooks scope."""
    scopes = []
    for scope in re.split(r"[\s,+]+", (text or "").strip()):
        if not scope:
            continue
        match = SCOPE_RE.match(scope)
        if match is None or match.group(1) not in SCOPE_OBJECTS:
            return None
        if scope not in scopes:
            scopes.append(scope)
    return scopes


class TokenAuthority:
    """Codes, grants and tokens, all measured on the sandbox clock."""

    def __init__(self, clock, settings: dict, faults, identity_id: int):
        self.clock = clock
        self.settings = settings
        self.faults = faults
        self.identity_id = identity_id
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every code, grant and token."""
        self.codes: dict[str, dict] = {}
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, tuple[str, int, float]] = {}  # token -> (grant id, generation, expires at)
        self.refresh: dict[str, tuple[str, int]] = {}  # token -> (grant id, generation)

    def client_valid(self, client_id, secret=None, check_secret: bool = True) -> bool:
        """Is this a registered client (with the right secret)?"""
        clients = self.settings["clients"]
        if client_id not in clients:
            return False
        return not check_secret or secrets.compare_digest(str(clients[client_id]), str(secret or ""))

    def authorize(self, client_id: str, redirect_uri: str, scopes: list[str]) -> str:
        """Approve at once and return a one-time code."""
        code = secrets.token_hex(32)
        with self._lock:
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "scopes": tuple(scopes),
                                "expires_at": self.clock.now() + CODE_SECONDS}
        return code

    def exchange_code(self, client_id: str, code, redirect_uri) -> dict:
        """grant_type=authorization_code: single use, 5 minutes, same redirect_uri."""
        with self._lock:
            entry = self.codes.pop(code or "", None)
            now = self.clock.now()
            if (entry is None or entry["expires_at"] <= now or entry["client_id"] != client_id
                    or redirect_uri != entry["redirect_uri"]):
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            grant = Grant("g-" + secrets.token_hex(8), client_id, self.identity_id, entry["scopes"], now)
            self.grants[grant.id] = grant
            return self._issue(grant, now)

    def use_refresh(self, client_id: str, token) -> dict:
        """grant_type=refresh_token: single use; the new pair makes every earlier token of the grant void."""
        with self._lock:
            entry = self.refresh.get(token or "")
            if self.faults.invalid_grant or entry is None:
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            grant = self.grants.get(entry[0])
            if grant is None or grant.revoked or grant.client_id != client_id or entry[1] != grant.generation:
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            grant.generation += 1
            return self._issue(grant, self.clock.now())

    def _issue(self, grant: Grant, now: float) -> dict:
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        self.access[access] = (grant.id, grant.generation, now + ACCESS_TOKEN_SECONDS)
        self.refresh[refresh] = (grant.id, grant.generation)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_SECONDS, "scope": " ".join(grant.scopes), "created_at": int(now)}

    def revoke(self, client_id: str, token) -> None:
        """Revoke the grant behind an access or refresh token (unknown tokens are ignored, as RFC 7009 says)."""
        with self._lock:
            entry = self.refresh.get(token or "") or self.access.get(token or "")
            grant = self.grants.get(entry[0]) if entry else None
            if grant is not None and grant.client_id == client_id:
                grant.revoked = True

    def check_access(self, token) -> Grant:
        """The grant behind a valid bearer token, else AuthFailure."""
        if not token:
            raise AuthFailure("missing")
        with self._lock:
            entry = self.access.get(token)
            if entry is None:
                raise AuthFailure("invalid")
            grant = self.grants.get(entry[0])
            if grant is None or grant.revoked or entry[1] != grant.generation:
                raise AuthFailure("revoked")
            if entry[2] <= self.clock.now():
                raise AuthFailure("expired")
            return grant

    def view(self) -> dict:
        """Counts for the ledger view (never the tokens themselves)."""
        with self._lock:
            return {"grants": len(self.grants), "active_grants": sum(not g.revoked for g in self.grants.values()),
                    "access_tokens": len(self.access), "refresh_tokens": len(self.refresh),
                    "scopes": sorted({s for g in self.grants.values() if not g.revoked for s in g.scopes})}


def bearer() -> str | None:
    """The bearer token of the current request."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def request_fields() -> dict:
    """Body fields from JSON (FreshBooks' documented form) or a form post."""
    raw = request.get_data() or b""
    if request.is_json or raw.lstrip().startswith(b"{"):
        try:
            body = jsonio.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(400, "invalid_request", INVALID_REQUEST) from None
        if not isinstance(body, dict):
            raise OAuthError(400, "invalid_request", INVALID_REQUEST)
        return {key: value if not isinstance(value, (int, float)) else str(value) for key, value in body.items()}
    return request.form.to_dict()


def client_credentials(fields: dict) -> tuple:
    """client_id and client_secret from the body, else from HTTP Basic auth."""
    if fields.get("client_id"):
        return fields.get("client_id"), fields.get("client_secret")
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return None, None


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _oauth_response(payload: dict, status: int = 200):
    return jsonio.json_response(payload, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def register(bp, emulator_of) -> None:
    """Add the OAuth routes to the FreshBooks blueprint."""

    def authorize():
        """The consent page, approved at once: 302 back with code and state."""
        emulator = emulator_of()
        args = request.args
        redirect_uri, state = args.get("redirect_uri"), args.get("state")
        if not emulator.oauth.client_valid(args.get("client_id"), check_secret=False):
            return _oauth_response({"error": "invalid_client", "error_description": INVALID_CLIENT}, 401)
        allowed = emulator.settings.get("redirect_uris")
        if not redirect_uri or (allowed and redirect_uri not in allowed):
            return _oauth_response({"error": "invalid_redirect_uri", "error_description": INVALID_REDIRECT_URI},
                                   400)

        def back(**params):
            return redirect(_with_query(redirect_uri, {**params, "state": state}), 302)

        if args.get("response_type") != "code":
            return back(error="unsupported_response_type")
        app_scopes = list(emulator.settings["app_scopes"])
        requested = parse_scopes(args.get("scope")) if args.get("scope") else app_scopes
        if requested is None or not set(requested) <= set(app_scopes) | {PROFILE_SCOPE}:
            return back(error="invalid_scope", error_description=INVALID_SCOPE)
        scopes = [PROFILE_SCOPE] + [scope for scope in requested if scope != PROFILE_SCOPE]
        code = emulator.oauth.authorize(args["client_id"], redirect_uri, scopes)
        return back(code=code)

    bp.add_url_rule(AUTHORIZE_PATH, "authorize", authorize, methods=["GET"])
    bp.add_url_rule(AUTHORIZE_ALIAS, "authorize_alias", authorize, methods=["GET"])

    @bp.post(TOKEN_PATH)
    def token():
        """Exchange a code or a refresh token."""
        emulator = emulator_of()
        try:
            fields = request_fields()
            grant_type = fields.get("grant_type") or "unknown"
            emulator.stats.count("token_calls", grant_type)
            client_id, secret = client_credentials(fields)
            if not emulator.oauth.client_valid(client_id, secret):
                raise OAuthError(401, "invalid_client", INVALID_CLIENT)
            if grant_type == "authorization_code":
                payload = emulator.oauth.exchange_code(client_id, fields.get("code"), fields.get("redirect_uri"))
            elif grant_type == "refresh_token":
                payload = emulator.oauth.use_refresh(client_id, fields.get("refresh_token"))
            else:
                raise OAuthError(400, "unsupported_grant_type", UNSUPPORTED_GRANT_TYPE)
        except OAuthError as error:
            emulator.stats.count("token_errors", error.error)
            return _oauth_response(error.body(), error.status)
        return _oauth_response(payload)

    @bp.post(REVOKE_PATH)
    def revoke():
        """Revoke the grant behind a token: JSON `{client_id, client_secret, token}` [P] facts §3.1."""
        emulator = emulator_of()
        emulator.stats.count("token_calls", "revoke")
        try:
            fields = request_fields()
        except OAuthError as error:
            return _oauth_response(error.body(), error.status)
        client_id, secret = client_credentials(fields)
        if not emulator.oauth.client_valid(client_id, secret):
            return _oauth_response({"error": "invalid_client", "error_description": INVALID_CLIENT}, 401)
        if not fields.get("token"):
            return _oauth_response({"error": "invalid_request", "error_description": INVALID_REQUEST}, 400)
        emulator.oauth.revoke(client_id, fields["token"])
        return _oauth_response({})

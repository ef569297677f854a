"""Xero OAuth2: authorize (PKCE S256 + state), code exchange with tenant discovery, rotating refresh, revoke."""

from __future__ import annotations

import base64
import json
import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from bridge.errors import LedgerRejected, ReauthRequired, RetryableLedgerError, UncertainOutcome
from bridge.ledgers.base import OAuthProvider, Token
from bridge.ledgers.xero import facts

INVALID_GRANT = "invalid_grant"
"""The token endpoint's answer (400) to a refresh token that is expired, revoked or superseded."""
REVOKED_ALREADY = frozenset({"invalid_grant", "invalid_token", "unsupported_token_type"})
"""Revocation answers meaning there is nothing (left) to revoke."""


class OAuth(OAuthProvider):
    """Xero's OAuth2 (Basic client auth, PKCE, tenants discovered through /connections)."""

    NAME = "xero"
    SCOPES = facts.SCOPES
    PKCE = True
    AUTHORIZE_URL = facts.AUTHORIZE_URL
    TOKEN_URL = facts.TOKEN_URL
    REVOKE_URL = facts.REVOKE_URL
    API_BASE_URL = facts.API_BASE_URL
    CONNECTIONS_URL = facts.CONNECTIONS_URL

    @property
    def timeout(self) -> float:
        """Network timeout in seconds (settings `timeout`)."""
        return self.settings.get("timeout", facts.TOKEN_TIMEOUT_SECONDS)

    def _session(self, **kwargs) -> OAuth2Session:
        """An Authlib session with this app's credentials, Basic client auth and S256 PKCE; a 5xx or 429
        from the token endpoint becomes RetryableLedgerError before Authlib parses it."""
        session = OAuth2Session(self.settings.get("client_id"), self.settings.get("client_secret"),
                                token_endpoint_auth_method="client_secret_basic",
                                code_challenge_method=facts.CODE_CHALLENGE_METHOD, **kwargs)
        session.register_compliance_hook("access_token_response", _retryable_status)
        session.register_compliance_hook("refresh_token_response", _retryable_status)
        return session

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """Xero's consent page for the bridge's scopes, with state and (given a verifier) an S256 challenge."""
        session = self._session(scope=" ".join(self.SCOPES), redirect_uri=redirect_uri)
        url, _ = session.create_authorization_url(self.url("authorize"), state=state, code_verifier=code_verifier,
                                                  response_type="code")
        return url

    def exchange(self, code: str, redirect_uri: str, callback_args: dict,
                 code_verifier: str | None = None) -> tuple[Token, dict]:
        """Trade the code (and PKCE verifier) for tokens, then list the organisations this consent connected."""
        session = self._session(redirect_uri=redirect_uri)
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        data = _token_call(lambda: session.fetch_token(
            self.url("token"), grant_type="authorization_code", code=code, redirect_uri=redirect_uri,
            timeout=self.timeout, **extra), writes=False)
        token = token_from_response(data, time.time())
        tenants = self.tenants(token)
        return token, {"tenant_id": tenants[0]["id"] if len(tenants) == 1 else None, "tenants": tenants}

    def tenants(self, token: Token) -> list[dict]:
        """The organisations of this grant as [{id, name}], those of this very consent first when known.

        /connections lists every tenant the user ever connected to the app. When the access token (a
        JWT) names its authentication event, only the tenants connected by that event are kept
        (Nango's approach), unless none match; PRACTICE tenants are dropped (no Accounting API).
        """
        connections = self._connections(token.access_token)
        organisations = [c for c in connections if c.get("tenantType", facts.TENANT_TYPE_ORGANISATION)
                         == facts.TENANT_TYPE_ORGANISATION and c.get("tenantId")]
        event = token.extra.get("auth_event_id")
        if event:
            this_consent = [c for c in organisations if c.get("authEventId") == event]
            organisations = this_consent or organisations
        return [{"id": c["tenantId"], "name": c.get("tenantName") or c["tenantId"]} for c in organisations]

    def _connections(self, access_token: str) -> list[dict]:
        """GET /connections with the new access token."""
        try:
            response = requests.get(self.url("connections"), timeout=self.timeout, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"Xero connections unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"Xero connections answered {response.status_code}")
        if response.status_code >= 400:
            raise LedgerRejected(f"Xero connections answered {response.status_code}")
        try:
            found = response.json()
        except ValueError as exc:
            raise RetryableLedgerError("Xero connections answered with no JSON") from exc
        return found if isinstance(found, list) else []

    def refresh(self, token: Token) -> Token:
        """A new token set. Xero rotates the refresh token on every refresh: the returned one is kept.

        If the answer is lost (a timeout after sending), the old refresh token still works for
        facts.REFRESH_GRACE_SECONDS, so the refresh is retryable with the same token; `invalid_grant`
        (expired, revoked, or a superseded copy past its grace) means the user must connect again.
        """
        if not token.refresh_token:
            raise ReauthRequired("No Xero refresh token stored: connect again")
        session = self._session()
        data = _token_call(lambda: session.refresh_token(
            self.url("token"), refresh_token=token.refresh_token, timeout=self.timeout), writes=True)
        return token_from_response(data, time.time(), previous=token)

    def revoke(self, token: Token) -> None:
        """Revoke the grant (by its refresh token); a token Xero no longer knows counts as revoked."""
        value = token.refresh_token or token.access_token
        try:
            response = requests.post(
                self.url("revoke"), data={"token": value}, timeout=self.timeout,
                auth=(self.settings.get("client_id") or "", self.settings.get("client_secret") or ""),
                headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"Xero revoke failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"Xero revoke answered {response.status_code}")
        if response.status_code == 400 and _oauth_error(response) in REVOKED_ALREADY:
            return
        if response.status_code >= 400:
            raise LedgerRejected(f"Xero refused the revocation ({response.status_code} {_oauth_error(response)})")


def _oauth_error(response: requests.Response) -> str | None:
    """The `error` of an OAuth error body, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _retryable_status(response: requests.Response) -> requests.Response:
    """Authlib compliance hook: the token endpoint's outages and throttling are retryable."""
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryableLedgerError(f"Xero token endpoint answered {response.status_code}")
    return response


def _token_call(call, *, writes: bool) -> dict:
    """Run one token-endpoint call, mapping its failures onto the error tree.

    `writes`: a refresh spends the old refresh token, so a timeout after sending is an uncertain
    outcome (retryable: the old token keeps working during Xero's grace period).
    """
    try:
        data = dict(call())
    except OAuthError as exc:
        if exc.error == INVALID_GRANT:
            raise ReauthRequired(f"Xero refused the grant: {exc.description or exc.error}") from exc
        raise LedgerRejected(f"Xero token endpoint: {exc.error} {exc.description or ''}".strip()) from exc
    except RetryableLedgerError:
        raise
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status >= 500 or status == 429:
            raise RetryableLedgerError(f"Xero token endpoint answered {status}") from exc
        raise LedgerRejected(f"Xero token endpoint answered {status}") from exc
    except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
        if writes:
            raise UncertainOutcome(f"Xero may have rotated the refresh token ({exc.__class__.__name__}); "
                                   f"the old one works for {facts.REFRESH_GRACE_SECONDS // 60} more minutes") from exc
        raise RetryableLedgerError(f"Xero token endpoint timed out: {exc.__class__.__name__}") from exc
    except (requests.RequestException, ValueError) as exc:
        raise RetryableLedgerError(f"Xero token endpoint unreachable: {exc.__class__.__name__}") from exc
    if not data.get("access_token"):
        raise RetryableLedgerError("Xero token endpoint answered without an access_token")
    return data


def jwt_claims(value: str | None) -> dict:
    """The claims of a JWT, unverified (the token came straight from Xero's token endpoint over TLS)."""
    try:
        payload = (value or "").split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def token_from_response(data: dict, now: float, previous: Token | None = None) -> Token:
    """A Token from a token-endpoint answer: always the returned (rotated) refresh token when there is one."""
    refresh_token = data.get("refresh_token") or (previous.refresh_token if previous else None)
    rotated = bool(data.get("refresh_token"))
    extra = {"token_type": data.get("token_type", "Bearer")}
    if data.get("scope"):
        extra["scope"] = data["scope"]
    elif previous and previous.extra.get("scope"):
        extra["scope"] = previous.extra["scope"]
    claims = jwt_claims(data["access_token"])
    if claims.get(facts.AUTH_EVENT_CLAIM):
        extra["auth_event_id"] = claims[facts.AUTH_EVENT_CLAIM]
    if rotated:
        extra["refresh_token_issued_at"] = now
    elif previous and previous.extra.get("refresh_token_issued_at"):
        extra["refresh_token_issued_at"] = previous.extra["refresh_token_issued_at"]
    return Token(
        access_token=data["access_token"],
        refresh_token=refresh_token,
        expires_at=now + float(data.get("expires_in") or facts.ACCESS_TOKEN_SECONDS),
        refresh_expires_at=(now + facts.REFRESH_TOKEN_SECONDS) if rotated or previous is None
        else previous.refresh_expires_at,
        extra=extra,
    )

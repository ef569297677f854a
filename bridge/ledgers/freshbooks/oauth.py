"""FreshBooks OAuth2: authorize, code exchange + business discovery, single-use refresh, revoke."""

from __future__ import annotations

import time
from decimal import Decimal

import requests
from authlib.integrations.requests_client import OAuth2Session

from bridge.errors import LedgerRejected, ReauthRequired, RetryableLedgerError
from bridge.ledgers.base import OAuthProvider, Token
from bridge.ledgers.freshbooks import facts
from bridge.ledgers.freshbooks.mapping import tenants_from_identity


class OAuth(OAuthProvider):
    """FreshBooks' OAuth2: client secret in a JSON body, no PKCE, tenants from users/me."""

    NAME = "freshbooks"
    SCOPES = facts.SCOPES
    PKCE = facts.PKCE
    AUTHORIZE_URL = facts.AUTHORIZE_URL
    TOKEN_URL = facts.TOKEN_URL
    REVOKE_URL = facts.REVOKE_URL
    API_BASE_URL = facts.API_BASE_URL
    IDENTITY_URL = facts.IDENTITY_URL

    @property
    def timeout(self) -> float:
        """Network timeout in seconds (settings `timeout`)."""
        return self.settings.get("timeout") or facts.TIMEOUT_SECONDS

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """FreshBooks' consent page for the bridge's scopes (FreshBooks takes no PKCE: code_verifier unused)."""
        session = OAuth2Session(self.settings.get("client_id"), scope=" ".join(self.SCOPES),
                                redirect_uri=redirect_uri)
        url, _ = session.create_authorization_url(self.url("authorize"), state=state, response_type="code")
        return url

    def exchange(self, code: str, redirect_uri: str, callback_args: dict,
                 code_verifier: str | None = None) -> tuple[Token, dict]:
        """Trade the code for tokens, then list the user's businesses as tenants (users/me).

        `tenant_id` is the account_id when the user belongs to exactly one business, else None (the
        user picks). Each tenant carries business_id and business_uuid beside id and name.
        """
        data = self._token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        token = token_from_response(data, time.time())
        token.extra["redirect_uri"] = redirect_uri  # FreshBooks wants it on every refresh too
        tenants = tenants_from_identity(self.identity(token.access_token))
        if not tenants:
            raise LedgerRejected("This FreshBooks user belongs to no business the bridge can write to", errors=[
                {"field": "tenant", "code": "no_business",
                 "message": "FreshBooks listed no business membership other than as a client"}])
        return token, {"tenant_id": tenants[0]["id"] if len(tenants) == 1 else None, "tenants": tenants}

    def refresh(self, token: Token) -> Token:
        """A new token pair. FreshBooks refresh tokens are single-use: the answer's refresh token
        replaces the old one, which is dead from now on (the caller must store it at once)."""
        if not token.refresh_token:
            raise ReauthRequired("No FreshBooks refresh token stored: connect again")
        data = self._token_call({"grant_type": "refresh_token", "refresh_token": token.refresh_token,
                                 "redirect_uri": (token.extra or {}).get("redirect_uri")})
        return token_from_response(data, time.time(), previous=token)

    def revoke(self, token: Token) -> None:
        """Revoke the grant with the refresh token (else the access token); an unknown token is done too."""
        value = token.refresh_token or token.access_token
        body = {"client_id": self.settings.get("client_id"), "client_secret": self.settings.get("client_secret"),
                "token": value}
        try:
            response = requests.post(self.url("revoke"), json=body, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"FreshBooks revoke failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"FreshBooks revoke answered {response.status_code}")
        if response.status_code == 401:
            raise LedgerRejected("FreshBooks refused this app's client credentials on revoke")

    def identity(self, access_token: str) -> dict:
        """The users/me answer (response, unwrapped) for an access token."""
        try:
            response = requests.get(self.url("identity"), timeout=self.timeout, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"FreshBooks identity unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"FreshBooks identity answered {response.status_code}")
        if response.status_code in (401, 403):
            raise ReauthRequired(f"FreshBooks identity refused the new token ({response.status_code})")
        try:
            body = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise RetryableLedgerError("FreshBooks identity answered no JSON") from exc
        if response.status_code >= 400 or not isinstance(body, dict):
            raise LedgerRejected(f"FreshBooks identity answered {response.status_code}")
        return body.get("response") if isinstance(body.get("response"), dict) else body

    def _token_call(self, fields: dict) -> dict:
        """POST a JSON token request with the client credentials; failures mapped onto the error tree."""
        body = {"grant_type": fields["grant_type"], "client_id": self.settings.get("client_id"),
                "client_secret": self.settings.get("client_secret"),
                **{key: value for key, value in fields.items() if key != "grant_type" and value is not None}}
        try:
            response = requests.post(self.url("token"), json=body, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"FreshBooks token endpoint unreachable: {exc.__class__.__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"FreshBooks token endpoint answered {response.status_code}")
        if response.status_code >= 400 or data.get("error"):
            error = data.get("error") or f"HTTP {response.status_code}"
            description = data.get("error_description") or error
            if error == facts.INVALID_GRANT:
                raise ReauthRequired(f"FreshBooks refused the grant: {description}")
            raise LedgerRejected(f"FreshBooks token endpoint: {description}")
        if not data.get("access_token"):
            raise RetryableLedgerError("FreshBooks token endpoint answered without an access_token")
        return data


def token_from_response(data: dict, now: float, previous: Token | None = None) -> Token:
    """A Token from a token answer; FreshBooks returns a new refresh token every time (kept)."""
    refresh_token = data.get("refresh_token") or (previous.refresh_token if previous else None)
    extra = {"token_type": data.get("token_type", "Bearer")}
    if previous is not None and (previous.extra or {}).get("redirect_uri"):
        extra["redirect_uri"] = previous.extra["redirect_uri"]
    if data.get("scope"):
        extra["scope"] = data["scope"]
    return Token(access_token=data["access_token"], refresh_token=refresh_token,
                 expires_at=now + float(data.get("expires_in") or facts.ACCESS_TOKEN_SECONDS),
                 refresh_expires_at=None, extra=extra)

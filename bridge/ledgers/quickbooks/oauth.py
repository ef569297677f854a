"""Intuit OAuth2 for QuickBooks Online: authorize, code exchange, refresh (rotating), revoke."""

from __future__ import annotations

import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from bridge.errors import LedgerRejected, ReauthRequired, RetryableLedgerError
from bridge.ledgers.base import OAuthProvider, Token
from bridge.ledgers.quickbooks import facts

INVALID_GRANT = "invalid_grant"
"""The token endpoint's answer (400) to a refresh token that is expired, revoked or superseded."""


class OAuth(OAuthProvider):
    """Intuit's OAuth2 (Basic client auth, form-encoded token calls, realmId on the callback)."""

    NAME = "quickbooks"
    SCOPES = facts.SCOPES
    PKCE = False
    AUTHORIZE_URL = facts.AUTHORIZE_URL
    TOKEN_URL = facts.TOKEN_URL
    REVOKE_URL = facts.REVOKE_URL
    API_BASE_URL = facts.API_BASE_URL

    @property
    def timeout(self) -> float:
        """Network timeout in seconds (settings `timeout`)."""
        return self.settings.get("timeout", facts.TOKEN_TIMEOUT_SECONDS)

    def _session(self, **kwargs) -> OAuth2Session:
        """An Authlib session with this app's client credentials and Basic client auth."""
        return OAuth2Session(self.settings.get("client_id"), self.settings.get("client_secret"),
                             token_endpoint_auth_method="client_secret_basic", **kwargs)

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """Intuit's consent page for the accounting scope (Intuit takes no PKCE: code_verifier unused)."""
        session = self._session(scope=" ".join(self.SCOPES), redirect_uri=redirect_uri)
        url, _ = session.create_authorization_url(self.url("authorize"), state=state, response_type="code")
        return url

    def exchange(self, code: str, redirect_uri: str, callback_args: dict,
                 code_verifier: str | None = None) -> tuple[Token, dict]:
        """Trade the callback's code for tokens; the company is the callback's realmId."""
        realm_id = callback_args.get(facts.REALM_PARAM)
        if not realm_id:
            raise LedgerRejected("The QuickBooks callback carried no realmId", errors=[
                {"field": facts.REALM_PARAM, "message": "Missing from the OAuth callback", "code": "required"}])
        session = self._session(redirect_uri=redirect_uri)
        data = self._token_call(lambda: session.fetch_token(
            self.url("token"), grant_type="authorization_code", code=code, redirect_uri=redirect_uri,
            timeout=self.timeout))
        return token_from_response(data, time.time()), {"tenant_id": str(realm_id)}

    def refresh(self, token: Token) -> Token:
        """A new token set; keeps whichever refresh token Intuit returned (it rotates)."""
        if not token.refresh_token:
            raise ReauthRequired("No QuickBooks refresh token stored: connect again")
        session = self._session()
        data = self._token_call(lambda: session.refresh_token(
            self.url("token"), refresh_token=token.refresh_token, timeout=self.timeout))
        return token_from_response(data, time.time(), previous=token)

    def revoke(self, token: Token) -> None:
        """Revoke the grant (the refresh token revokes the whole grant); an unknown token is done too."""
        value = token.refresh_token or token.access_token
        try:
            response = requests.post(
                self.url("revoke"), json={"token": value}, timeout=self.timeout,
                auth=(self.settings.get("client_id") or "", self.settings.get("client_secret") or ""),
                headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise RetryableLedgerError(f"QuickBooks revoke failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableLedgerError(f"QuickBooks revoke answered {response.status_code}")
        if response.status_code == 401:
            raise LedgerRejected("QuickBooks refused this app's client credentials on revoke")

    @staticmethod
    def _token_call(call) -> dict:
        """Run one token-endpoint call, mapping its failures onto the error tree."""
        try:
            data = dict(call())
        except OAuthError as exc:
            if exc.error == INVALID_GRANT:
                raise ReauthRequired(f"QuickBooks refused the grant: {exc.description or exc.error}") from exc
            raise LedgerRejected(f"QuickBooks token endpoint: {exc.error}") from exc
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status >= 500 or status == 429:
                raise RetryableLedgerError(f"QuickBooks token endpoint answered {status}") from exc
            raise LedgerRejected(f"QuickBooks token endpoint answered {status}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise RetryableLedgerError(f"QuickBooks token endpoint unreachable: {exc.__class__.__name__}") from exc
        if not data.get("access_token"):
            raise RetryableLedgerError("QuickBooks token endpoint answered without an access_token")
        return data


def token_from_response(data: dict, now: float, previous: Token | None = None) -> Token:
    """A Token from a token-endpoint answer; a missing refresh token or expiry keeps the previous one."""
    refresh_token = data.get("refresh_token") or (previous.refresh_token if previous else None)
    if data.get("x_refresh_token_expires_in") is not None:
        refresh_expires_at = now + float(data["x_refresh_token_expires_in"])
    else:
        refresh_expires_at = previous.refresh_expires_at if previous else None
    return Token(
        access_token=data["access_token"],
        refresh_token=refresh_token,
        expires_at=now + float(data.get("expires_in") or facts.ACCESS_TOKEN_SECONDS),
        refresh_expires_at=refresh_expires_at,
        extra={"token_type": data.get("token_type", "bearer")},
    )

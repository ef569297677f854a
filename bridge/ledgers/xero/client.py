"""HTTP to the Xero Accounting API: tenant header, Idempotency-Key, one 401 retry, rate limits, errors."""

from __future__ import annotations

from contextlib import nullcontext
from urllib.parse import quote, urlencode

import requests

from bridge.errors import (LedgerNotFound, LedgerRateLimited, LedgerRejected, ReauthRequired, RetryableLedgerError,
                           UncertainOutcome)
import bridge.ledgers.wire as wire
from bridge.ledgers.base import Context
from bridge.ledgers.wire import dumps
from bridge.ledgers.wire import redact as _redact
from bridge.ledgers.xero import facts
from bridge.ledgers.xero.mapping import error_body_errors
from bridge.ledgers.xero.oauth import OAuth

SECRET_KEYS = frozenset({"authorization", "access_token", "refresh_token", "id_token", "client_secret",
                         "password", "apikey"})
"""Keys whose values never reach the sync log (Organisation.APIKey included)."""
RECORDED_RESPONSE_HEADERS = (facts.CORRELATION_HEADER, "Retry-After", facts.RATE_LIMIT_PROBLEM,
                             facts.MIN_LIMIT_REMAINING, facts.DAY_LIMIT_REMAINING, facts.APP_MIN_LIMIT_REMAINING,
                             "Content-Type")
"""Response headers worth keeping in the sync log."""
WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})


# --- errors ------------------------------------------------------------------------------------------


def rate_limited(headers, detail: str) -> LedgerRateLimited:
    """The error of a 429: which limit (`problem`), and how long to wait."""
    problem = ((headers or {}).get(facts.RATE_LIMIT_PROBLEM) or "").strip().lower() or None
    wait = retry_after(headers)
    error = LedgerRateLimited(f"Xero rate limit ({problem or 'unspecified'}), retry after {wait:g} s: {detail}",
                              retry_after=wait, problem=problem)
    return error


def raise_for_status(status: int, body, headers) -> None:
    """Turn a Xero error response into the bridge's error tree (the one place that does it)."""
    if status < 400:
        return
    errors = error_body_errors(body)
    detail = "; ".join(error["message"] for error in errors if error["message"]) or f"Xero answered {status}"
    if status == 429:
        raise rate_limited(headers, detail)
    if status >= 500:
        raise RetryableLedgerError(f"Xero server error {status}: {detail}", errors=errors)
    if status == 401:
        raise ReauthRequired(f"Xero refused the access token: {detail}", errors=errors)
    if status == 403:
        raise LedgerRejected(f"Xero refused access to this organisation (a missing scope, or the organisation "
                             f"was disconnected): {detail}", errors=errors)
    if status == 404:
        raise LedgerNotFound(f"Not found in Xero: {detail}", errors=errors)
    error = LedgerRejected(detail if errors else f"Xero answered {status}", errors=errors)
    # the refused elements as Xero echoed them: a batch maps them back to its members
    error.elements = body.get("Elements") if isinstance(body, dict) else None
    raise error


# --- redaction -----------------------------------------------------------------------------------------


def retry_after(headers) -> float:
    """Seconds to wait from Retry-After, else the ledger's documented default."""
    return wire.retry_after(headers, facts.RATE_LIMIT_WAIT_SECONDS)


def redact(value):
    """A copy of `value` with every secret's value replaced."""
    return _redact(value, SECRET_KEYS)


class Client:
    """One Xero organisation: every request carries the bearer token and xero-tenant-id; every write
    an Idempotency-Key."""

    def __init__(self, context: Context, oauth: OAuth):
        self.context = context
        self.base = oauth.url("api_base").rstrip("/")
        self.timeout = context.settings.get("timeout", facts.TOKEN_TIMEOUT_SECONDS)
        self.session = requests.Session()

    # --- verbs -----------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> dict:
        """GET a resource (reads carry no Idempotency-Key); `headers` such as If-Modified-Since."""
        return self.request("GET", path, params=params, headers=headers)

    def get_pdf(self, path: str) -> bytes:
        """GET a document (Invoices/<id>, CreditNotes/<id>) with Accept: application/pdf: Xero renders its PDF."""
        headers = {"Accept": "application/pdf", "User-Agent": "invoice-bridge",
                   facts.TENANT_HEADER: str(self.context.tenant_id)}
        return wire.get_bytes(self.context, self.session, f"{self.base}/{path.lstrip('/')}", headers, self.timeout,
                              "Xero", raise_for_status)

    def put(self, path: str, body: dict, key: str, params: dict | None = None) -> dict:
        """PUT (create) with its Idempotency-Key."""
        return self.request("PUT", path, params=params, body=body, key=key)

    def post(self, path: str, body: dict, key: str, params: dict | None = None) -> dict:
        """POST (update, or create-or-update) with its Idempotency-Key."""
        return self.request("POST", path, params=params, body=body, key=key)

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                key: str | None = None, headers: dict | None = None) -> dict:
        """Send once; after a 401 refresh the token once and resend the SAME request (same key, same body)."""
        method = method.upper()
        if method in WRITE_METHODS and not key:
            raise ValueError(f"a Xero {method} needs an Idempotency-Key")
        if key is not None and not 0 < len(key) <= facts.IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"Xero Idempotency-Key must be 1-{facts.IDEMPOTENCY_KEY_MAX} characters: {key!r}")
        url = f"{self.base}/{path.lstrip('/')}"
        if params:
            url += "?" + urlencode({name: _param(value) for name, value in params.items() if value is not None},
                                   quote_via=quote, safe="")
        data = dumps(body).encode("utf-8") if body is not None else None
        token = self.context.tokens.current()
        response = self._send(method, url, data, body, key, token.access_token, headers)
        if response.status_code == 401:
            token = self.context.tokens.refreshed(token)
            response = self._send(method, url, data, body, key, token.access_token, headers)
            if response.status_code == 401:
                raise ReauthRequired("Xero refused a freshly refreshed access token")
        parsed = self._parse(response)
        raise_for_status(response.status_code, parsed, response.headers)
        return parsed if isinstance(parsed, dict) else {}

    # --- plumbing --------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, data: bytes | None, body, key: str | None,
              access_token: str, extra: dict | None = None) -> requests.Response:
        """One HTTP exchange under the throttle, observed and recorded redacted; network failures mapped."""
        headers = {"Accept": "application/json", "User-Agent": "invoice-bridge",
                   facts.TENANT_HEADER: str(self.context.tenant_id), **(extra or {})}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers[facts.IDEMPOTENCY_HEADER] = key
        record = {"method": method, "url": url, "headers": dict(headers), "body": redact(body)}
        headers["Authorization"] = f"Bearer {access_token}"
        try:
            with self.context.throttle() if self.context.throttle else nullcontext():
                response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            self._record(record, None)
            if key is None or wire.sent_nothing(exc):
                raise RetryableLedgerError(f"Xero unreachable: {exc.__class__.__name__}") from exc
            raise UncertainOutcome(f"Xero may have applied the request: {exc.__class__.__name__}") from exc
        if self.context.observe is not None:
            self.context.observe(response.status_code, response.headers)
        self._record(record, {"status": response.status_code,
                              "headers": {name: response.headers[name] for name in RECORDED_RESPONSE_HEADERS
                                          if name in response.headers},
                              "body": redact(self._parse(response))})
        return response

    _parse = staticmethod(wire.parse_response)

    def _record(self, request: dict, response: dict | None) -> None:
        """Hand one exchange to the sync log, if the caller wants it."""
        if self.context.record is not None:
            self.context.record(request, response)


def _param(value) -> str:
    """A query value: booleans as Xero writes them (true/false), lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)

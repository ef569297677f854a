"""HTTP to the QuickBooks Online Accounting API: requestid, minorversion, one 401 retry, faults."""

from __future__ import annotations

from contextlib import nullcontext
from urllib.parse import quote, urlencode

import requests

from bridge.errors import (LedgerNotFound, LedgerRateLimited, LedgerRejected, ReauthRequired, RetryableLedgerError,
                           StaleObject, UncertainOutcome)
import bridge.ledgers.wire as wire
from bridge.ledgers.base import Context
from bridge.ledgers.wire import dumps
from bridge.ledgers.wire import redact as _redact
from bridge.ledgers.quickbooks import facts
from bridge.ledgers.quickbooks.mapping import fault_errors
from bridge.ledgers.quickbooks.oauth import OAuth

SECRET_KEYS = frozenset({"authorization", "access_token", "refresh_token", "id_token", "client_secret",
                         "password"})
"""Keys whose values never reach the sync log."""
RECORDED_RESPONSE_HEADERS = ("intuit_tid", "Retry-After", "Content-Type")
"""Response headers worth keeping in the sync log (intuit_tid is what Intuit support asks for)."""


# --- errors ------------------------------------------------------------------------------------------


def raise_for_fault(status: int, body, headers) -> None:
    """Turn a QBO error response into the bridge's error tree (the one place that does it)."""
    has_fault = isinstance(body, dict) and "Fault" in body
    if status < 400 and not has_fault:
        return
    errors = fault_errors(body)
    detail = "; ".join(error["message"] for error in errors if error["message"]) or f"QuickBooks answered {status}"
    codes = {error["code"] for error in errors}
    if status == 429 or facts.FAULT_THROTTLED in codes:
        raise LedgerRateLimited(f"QuickBooks rate limit: {detail}", retry_after=retry_after(headers))
    if status >= 500:
        raise RetryableLedgerError(f"QuickBooks server error {status}: {detail}", errors=errors)
    if status == 401:
        raise ReauthRequired(f"QuickBooks refused the access token: {detail}", errors=errors)
    if facts.FAULT_STALE_OBJECT in codes:
        raise StaleObject(detail, errors=errors)
    if facts.FAULT_OBJECT_NOT_FOUND in codes or status == 404:
        raise LedgerNotFound(detail, errors=errors)
    raise LedgerRejected(detail, errors=errors)


# --- redaction -----------------------------------------------------------------------------------------


def retry_after(headers) -> float:
    """Seconds to wait from Retry-After, else the ledger's documented default."""
    return wire.retry_after(headers, facts.RATE_LIMIT_WAIT_SECONDS)


def redact(value):
    """A copy of `value` with every secret's value replaced."""
    return _redact(value, SECRET_KEYS)


class Client:
    """One QBO company: every request carries minorversion, a bearer token and, for writes, requestid."""

    def __init__(self, context: Context, oauth: OAuth):
        self.context = context
        self.base = f"{oauth.url('api_base').rstrip('/')}/v3/company/{quote(str(context.tenant_id), safe='')}"
        self.timeout = context.settings.get("timeout", facts.TOKEN_TIMEOUT_SECONDS)
        self.session = requests.Session()

    # --- verbs -----------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None) -> dict:
        """GET an entity or resource (reads carry no requestid)."""
        return self.request("GET", path, params=params)

    def get_pdf(self, entity: str, record_id: str) -> bytes:
        """GET /<entity>/<id>/pdf with Accept: application/pdf (Intuit: "Get invoice as PDF")."""
        url = (f"{self.base}/{entity}/{quote(str(record_id), safe='')}/pdf?"
               f"{urlencode({'minorversion': facts.MINOR_VERSION})}")
        return wire.get_bytes(self.context, self.session, url, {"Accept": "application/pdf",
                                                                "User-Agent": "invoice-bridge"},
                              self.timeout, "QuickBooks", raise_for_fault)

    def query(self, statement: str) -> dict:
        """Run a query; returns the QueryResponse object (possibly empty)."""
        return self.request("GET", "query", params={"query": statement}).get("QueryResponse") or {}

    def post(self, path: str, body: dict, request_id: str, params: dict | None = None) -> dict:
        """POST a write with `?requestid=`: QBO answers a repeated id with the first response."""
        return self.request("POST", path, params=params, body=body, request_id=request_id)

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                request_id: str | None = None) -> dict:
        """Send once; after a 401 refresh the token once and resend the SAME request (same requestid)."""
        if request_id is not None and not 0 < len(request_id) <= facts.REQUEST_ID_MAX:
            raise ValueError(f"QBO requestid must be 1-{facts.REQUEST_ID_MAX} characters: {request_id!r}")
        query = dict(params or {})
        if request_id is not None:
            query["requestid"] = request_id
        query["minorversion"] = facts.MINOR_VERSION
        url = f"{self.base}/{path.lstrip('/')}?{urlencode(query, quote_via=quote, safe='')}"
        data = dumps(body).encode("utf-8") if body is not None else None
        token = self.context.tokens.current()
        kind = "batch" if path == "batch" else "request"
        response = self._send(method, url, data, body, token.access_token, write=request_id is not None, kind=kind)
        if response.status_code == 401:
            token = self.context.tokens.refreshed(token)
            response = self._send(method, url, data, body, token.access_token, write=request_id is not None,
                                  kind=kind)
            if response.status_code == 401:
                raise ReauthRequired("QuickBooks refused a freshly refreshed access token")
        parsed = self._parse(response)
        raise_for_fault(response.status_code, parsed, response.headers)
        return parsed if isinstance(parsed, dict) else {}

    # --- plumbing --------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, data: bytes | None, body, access_token: str, *,
              write: bool, kind: str = "request") -> requests.Response:
        """One HTTP exchange, recorded redacted; network failures mapped to retryable or uncertain."""
        headers = {"Accept": "application/json", "User-Agent": "invoice-bridge"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        record = {"method": method, "url": url, "headers": dict(headers), "body": redact(body)}
        headers["Authorization"] = f"Bearer {access_token}"
        try:
            with self.context.throttle(kind) if self.context.throttle else nullcontext():
                response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            self._record(record, None)
            if not write or wire.sent_nothing(exc):
                raise RetryableLedgerError(f"QuickBooks unreachable: {exc.__class__.__name__}") from exc
            raise UncertainOutcome(f"QuickBooks may have applied the request: {exc.__class__.__name__}") from exc
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

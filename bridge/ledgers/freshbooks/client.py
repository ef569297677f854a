"""HTTP to the FreshBooks accounting API: bearer token, one 401 retry, envelopes, errors, redaction."""

from __future__ import annotations

from contextlib import nullcontext
from urllib.parse import quote, urlencode

import requests

from bridge.errors import (LedgerNotFound, LedgerRateLimited, LedgerRejected, ReauthRequired, RetryableLedgerError,
                           UncertainOutcome)
import bridge.ledgers.wire as wire
from bridge.ledgers.base import Context
from bridge.ledgers.wire import REDACTED, dumps
from bridge.ledgers.freshbooks import facts
from bridge.ledgers.freshbooks.mapping import error_list, missing_scopes
from bridge.ledgers.freshbooks.oauth import OAuth

SECRET_KEYS = frozenset({"authorization", "access_token", "refresh_token", "id_token", "client_secret",
                         "password", "token", "verifier"})
"""Keys whose values never reach the sync log, with every key ending in "_token" (a client's
direct_link_token and statement_token open its invoices without a login)."""
RECORDED_RESPONSE_HEADERS = ("Retry-After", "Content-Type", "X-Request-Id")
"""Response headers worth keeping in the sync log."""
READS = frozenset({"GET", "HEAD"})


# --- errors ------------------------------------------------------------------------------------------


def raise_for_error(status: int, body, headers) -> None:
    """Turn a FreshBooks error response into the bridge's error tree (the one place that does it)."""
    if status < 400:
        return
    errors = error_list(body)
    detail = "; ".join(error["message"] for error in errors if error["message"]) or f"FreshBooks answered {status}"
    if status == 429:
        raise LedgerRateLimited(f"FreshBooks rate limit: {detail}", retry_after=retry_after(headers))
    if status >= 500:
        raise RetryableLedgerError(f"FreshBooks server error {status}: {detail}", errors=errors)
    if status == 401:
        raise ReauthRequired(f"FreshBooks refused the access token: {detail}", errors=errors)
    if status == 403:
        scopes = missing_scopes(body)
        if scopes:
            raise LedgerRejected(
                f"The FreshBooks connection lacks the scope {', '.join(scopes)}: connect it again to grant it",
                errors=[{"field": "", "code": "insufficient_scope",
                         "message": f"Missing FreshBooks scope {', '.join(scopes)}; a token's scopes never "
                                    "change, so disconnect and connect again"}])
        raise LedgerRejected(f"FreshBooks refused access (403): {detail}", errors=errors)
    if status == 404:
        raise LedgerNotFound(detail, errors=errors)
    raise LedgerRejected(detail, errors=errors)


# --- redaction -----------------------------------------------------------------------------------------

def _secret(key) -> bool:
    """True for a key whose value must not be recorded."""
    key = str(key).lower()
    return key in SECRET_KEYS or key.endswith("_token")


def redact(value):
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if _secret(key) else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def unwrap(parsed) -> dict:
    """The payload inside FreshBooks' envelope: response.result (accounting), response (identity),
    else the body itself (ledger accounts' {"data": [...]})."""
    if not isinstance(parsed, dict):
        return {}
    response = parsed.get("response")
    if isinstance(response, dict):
        result = response.get("result")
        return result if isinstance(result, dict) else response
    return parsed


def retry_after(headers) -> float:
    """Seconds to wait from Retry-After, else the ledger's documented default."""
    return wire.retry_after(headers, facts.RATE_LIMIT_WAIT_SECONDS)


class Client:
    """One FreshBooks business (account_id): bearer token, JSON, envelopes, the error tree."""

    def __init__(self, context: Context, oauth: OAuth):
        self.context = context
        self.oauth = oauth
        self.api_base = oauth.url("api_base").rstrip("/")
        self.timeout = context.settings.get("timeout") or facts.TIMEOUT_SECONDS
        self.session = requests.Session()

    # --- urls ---------------------------------------------------------------------------------------------
    def account_url(self, path: str) -> str:
        """An accounting resource of this business."""
        return self.api_base + facts.ACCOUNT_PATH.format(
            account_id=quote(str(self.context.tenant_id), safe=""), path=path.lstrip("/"))

    # --- verbs --------------------------------------------------------------------------------------------
    def get(self, path: str, params: list | dict | None = None) -> dict:
        """GET an accounting resource; returns response.result."""
        return unwrap(self.request("GET", self.account_url(path), params=params))

    def get_pdf(self, path: str) -> bytes:
        """GET an accounting resource's PDF (invoices/invoices/<id>/pdf) with Accept: application/pdf."""
        headers = {**self._headers(False), "Accept": "application/pdf"}
        return wire.get_bytes(self.context, self.session, self.account_url(path), headers, self.timeout,
                              "FreshBooks", raise_for_error)

    def post(self, path: str, body: dict, params: list | dict | None = None) -> dict:
        """POST (create) an accounting resource; returns response.result."""
        return unwrap(self.request("POST", self.account_url(path), params=params, body=body))

    def put(self, path: str, body: dict, params: list | dict | None = None) -> dict:
        """PUT (update, action or soft delete) an accounting resource; returns response.result."""
        return unwrap(self.request("PUT", self.account_url(path), params=params, body=body))

    def list(self, kind: str, params: list | None = None, limit: int | None = None) -> list[dict]:
        """Every `kind` (client, invoice, ...) matching `params`, page by page, up to `limit`."""
        found: list[dict] = []
        per_page = facts.PER_PAGE_MAX if limit is None else max(1, min(limit, facts.PER_PAGE_MAX))
        for page in range(1, facts.LIST_PAGES_MAX + 1):
            query = list(params or []) + [("page", page), ("per_page", per_page)]
            result = self.get(facts.PATHS[kind], query)
            batch = result.get(facts.PLURAL[kind]) or []
            found.extend(batch)
            pages = result.get("pages")
            if (limit is not None and len(found) >= limit) or not batch or (pages is not None and page >= int(pages)):
                break
        return found[:limit] if limit is not None else found

    def request(self, method: str, url: str, *, params: list | dict | None = None,
                body: dict | None = None) -> dict:
        """Send once; after a 401 refresh the token once (single-use refresh) and resend the same request."""
        pairs = list(params.items()) if isinstance(params, dict) else list(params or [])
        if pairs:
            url = f"{url}?{urlencode(pairs, quote_via=quote, safe='')}"
        data = dumps(body).encode("utf-8") if body is not None else None
        token = self.context.tokens.current()
        response = self._send(method, url, data, body, token.access_token)
        if response.status_code == 401:
            token = self.context.tokens.refreshed(token)
            response = self._send(method, url, data, body, token.access_token)
            if response.status_code == 401:
                raise ReauthRequired("FreshBooks refused a freshly refreshed access token")
        parsed = self._parse(response)
        raise_for_error(response.status_code, parsed, response.headers)
        return parsed if isinstance(parsed, dict) else {}

    # --- plumbing -----------------------------------------------------------------------------------------
    def _headers(self, has_body: bool) -> dict:
        """Request headers without the token."""
        headers = {"Accept": "application/json", "User-Agent": "invoice-bridge"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.context.settings.get("api_version"):
            headers[facts.API_VERSION_HEADER] = str(self.context.settings["api_version"])
        return headers

    def _send(self, method: str, url: str, data: bytes | None, body, access_token: str) -> requests.Response:
        """One HTTP exchange under the throttle, recorded redacted and observed; network failures mapped."""
        headers = self._headers(data is not None)
        record = {"method": method, "url": url, "headers": dict(headers), "body": redact(body)}
        headers["Authorization"] = f"Bearer {access_token}"
        try:
            with self.context.throttle() if self.context.throttle else nullcontext():
                response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            self._record(record, None)
            if method in READS or wire.sent_nothing(exc):
                raise RetryableLedgerError(f"FreshBooks unreachable: {exc.__class__.__name__}") from exc
            raise UncertainOutcome(f"FreshBooks may have applied the request: {exc.__class__.__name__}") from exc
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

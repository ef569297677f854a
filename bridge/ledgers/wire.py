"""What every ledger client shares on the wire: exact-decimal JSON, Retry-After, send failures, redaction."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from email.utils import parsedate_to_datetime

import requests

SECRET_KEYS = frozenset({"authorization", "access_token", "refresh_token", "id_token", "client_secret",
                         "password", "apikey"})
"""Keys whose values never reach the sync log (Xero's Organisation.APIKey included)."""
PRE_SEND_FAILURES = frozenset({"NewConnectionError", "NameResolutionError", "ConnectTimeoutError"})
"""urllib3 causes (by class name: ledgers import requests, not urllib3) that mean nothing was sent."""
REDACTED = "[redacted]"
MAX_RECORDED_TEXT = 2000


def dumps(value) -> str:
    """JSON text in which every Decimal is a number literal written exactly (200.00 -> 200.00)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("float in a ledger payload: money must be Decimal")
    if isinstance(value, (str, int)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def loads(text: str):
    """JSON with every non-integer number as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)


def retry_after(headers, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), else `default`."""
    value = (headers or {}).get("Retry-After")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    return float(default)


def sent_nothing(exc: requests.RequestException) -> bool:
    """True when the connection failed before any byte of the request left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return any(cls.__name__ in PRE_SEND_FAILURES for cls in type(reason).__mro__)


def redact(value, secret_keys: frozenset = SECRET_KEYS):
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if str(key).lower() in secret_keys else redact(item, secret_keys)
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, secret_keys) for item in value]
    return value


def parse_response(response: requests.Response):
    """A ledger response's JSON with Decimals; non-JSON text kept (shortened) under `text`."""
    if not response.content:
        return None
    try:
        return loads(response.text)
    except ValueError:
        return {"text": response.text[:MAX_RECORDED_TEXT]}


def get_bytes(context, session: requests.Session, url: str, headers: dict, timeout: float, vendor: str,
              raise_error) -> bytes:
    """GET a binary resource (an invoice PDF): throttled, observed, recorded without the bytes, one 401 refresh.

    `raise_error(status, parsed_body, headers)` is the ledger's own error mapping; a success that is not
    the wanted content type is a LedgerError too.
    """
    from contextlib import nullcontext

    from bridge.errors import LedgerError, ReauthRequired, RetryableLedgerError

    record = {"method": "GET", "url": url, "headers": dict(headers), "body": None}

    def send(access_token: str) -> requests.Response:
        try:
            with context.throttle() if context.throttle else nullcontext():
                response = session.get(url, headers={**headers, "Authorization": f"Bearer {access_token}"},
                                       timeout=timeout)
        except requests.RequestException as exc:
            if context.record is not None:
                context.record(record, None)
            raise RetryableLedgerError(f"{vendor} unreachable: {exc.__class__.__name__}") from exc
        if context.observe is not None:
            context.observe(response.status_code, response.headers)
        if context.record is not None:
            kind = response.headers.get("Content-Type", "")
            body = (f"[{len(response.content)} bytes of {kind}]" if response.status_code < 400
                    else redact(parse_response(response)))
            context.record(record, {"status": response.status_code, "headers": {"Content-Type": kind}, "body": body})
        return response

    token = context.tokens.current()
    response = send(token.access_token)
    if response.status_code == 401:
        response = send(context.tokens.refreshed(token).access_token)
        if response.status_code == 401:
            raise ReauthRequired(f"{vendor} refused a freshly refreshed access token")
    wanted = headers.get("Accept", "")
    if response.status_code >= 400:
        raise_error(response.status_code, parse_response(response), response.headers)
    if not response.headers.get("Content-Type", "").startswith(wanted):
        raise LedgerError(f"{vendor} answered {response.headers.get('Content-Type')!r}, not {wanted}")
    return response.content

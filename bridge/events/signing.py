"""REST hook signatures: `Bridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

The key is the subscription's secret exactly as shown on subscribe (`whsec_...`, UTF-8). A receiver
recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in constant time, and
refuses timestamps too far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
"""How old (or how far ahead) a signed timestamp a receiver should accept."""


def new_secret() -> str:
    """A fresh random signing secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under the secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    """The Bridge-Signature header value."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, value: str, body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when a Bridge-Signature header signs `body` with `secret` at a timestamp within `tolerance`."""
    parts: dict[str, list[str]] = {}
    for item in (value or "").split(","):
        key, _, text = item.strip().partition("=")
        parts.setdefault(key, []).append(text)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))

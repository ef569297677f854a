"""The last line of defence before an exchange is stored in the sync log: no secret survives it.

Ledger clients already redact what they record (bridge.ledgers.wire.redact); this pass runs over every
recorded exchange, request and response alike, whatever the client did: secret-named keys (headers,
bodies, token responses), bearer/basic credentials inside any text, and secrets in URL query strings.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
SECRET_KEYS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "access_token", "refresh_token", "id_token",
    "client_secret", "code_verifier", "password", "apikey", "api_key", "x-api-key", "secret", "verifier",
    "webhook_key", "verifier_token", "x-xero-signature", "intuit-signature", "x-freshbooks-hmac-sha256",
})
"""Keys whose values are never stored, compared lower-case (`code` is not one: ledgers use it for error
codes; an OAuth `code` only travels in a query string, handled below)."""
CREDENTIALS = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/=]+", re.IGNORECASE)
QUERY_SECRETS = re.compile(r"([?&](?:code|code_verifier|access_token|refresh_token|client_secret|token)=)[^&#\s\"']*",
                           re.IGNORECASE)


def _secret_key(key) -> bool:
    """True for a key whose value must not be stored."""
    key = str(key).lower()
    return key in SECRET_KEYS or key.endswith(("_token", "_secret"))


def scrub(value):
    """A copy of `value` with every secret replaced by "[redacted]"."""
    if isinstance(value, dict):
        return {key: REDACTED if _secret_key(key) and item not in (None, "") else scrub(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return QUERY_SECRETS.sub(r"\1" + REDACTED, CREDENTIALS.sub(lambda m: f"{m.group(1)} {REDACTED}", value))
    return value


def redacting(record):
    """A recorder that scrubs each exchange before handing it on (None stays None)."""
    if record is None:
        return None

    def scrubbed(request: dict, response: dict | None) -> None:
        record(scrub(request), scrub(response) if response is not None else None)
    return scrubbed

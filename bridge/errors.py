"""One error tree, sorted by what the caller should do.

API errors become RFC 9457 problem documents in one handler (`bridge.api.problems`).
Ledger errors tell the sync engine whether to retry, fail the operation or ask for reauth.
"""

from __future__ import annotations

PROBLEM_BASE = "https://invoice-bridge.dev/problems/"


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""

    status = 500
    slug = "internal"
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, errors: list[dict] | None = None,
                 headers: dict | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def type(self) -> str:
        """The problem type URI."""
        return PROBLEM_BASE + self.slug


# --- API errors: the caller fixes the request -------------------------------------------------

class BadRequest(BridgeError):
    """The body is not JSON or not the declared content type."""

    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(BridgeError):
    """No API key, or a key that is unknown or revoked."""

    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="invoice-bridge"')


class NotFound(BridgeError):
    """The object does not exist or belongs to another account."""

    status, slug, title = 404, "not-found", "Not found"


class Conflict(BridgeError):
    """An idempotency conflict, or a state that forbids the action."""

    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(BridgeError):
    """The body is over the size limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class ValidationFailed(BridgeError):
    """A well-formed body that fails validation; `errors` names each field."""

    status, slug, title = 422, "validation", "Validation failed"


class TooManyRequests(BridgeError):
    """Our own rate limit."""

    status, slug, title = 429, "rate-limited", "Too many requests"


class DependencyDown(BridgeError):
    """A dependency is down and the request was not accepted."""

    status, slug, title = 503, "dependency-down", "Service unavailable"


# --- Ledger errors: what the sync engine does next ---------------------------------------------

class LedgerError(BridgeError):
    """Something went wrong talking to a ledger."""

    status, slug, title = 502, "ledger", "Ledger error"


class RetryableLedgerError(LedgerError):
    """429, 5xx or a network failure before the request was sent: retry later."""

    slug, title = "ledger-retryable", "Ledger temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class LedgerRateLimited(RetryableLedgerError):
    """A limit of the ledger (ours or its 429): wait, never a failure and never an attempt used."""

    slug, title = "ledger-rate-limited", "Ledger rate limit reached"

    def __init__(self, detail: str | None = None, *, problem: str | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.problem = problem


class UncertainOutcome(RetryableLedgerError):
    """The request may have been applied (timeout after sending): retry with the same key."""

    slug, title = "ledger-uncertain", "Ledger outcome uncertain"


class LedgerRejected(LedgerError):
    """The ledger refused the data (validation, duplicate, missing reference): the user must fix it."""

    slug, title = "ledger-rejected", "Ledger rejected the request"


class LedgerNotFound(LedgerRejected):
    """The ledger has no such object."""

    slug, title = "ledger-not-found", "Not found in the ledger"


class StaleObject(LedgerError):
    """The object changed in the ledger since it was read (QBO SyncToken): re-read and retry."""

    slug, title = "ledger-stale", "Ledger object changed meanwhile"


class ReauthRequired(LedgerError):
    """The refresh token was refused (`invalid_grant`): the user must connect again."""

    slug, title = "ledger-reauth", "Connection needs reauthorization"

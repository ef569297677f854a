"""Which of ERROR_CLASSES (bridge.schemas.operation) an operation's failed attempt belongs to."""

from __future__ import annotations

from bridge import errors
from bridge.schemas.operation import ERROR_CLASSES  # noqa: F401  (the vocabulary, defined with the Operation)


def _ledger_answered_error(exchanges: list[dict] | None) -> bool:
    """True when the last recorded exchange is an error answer from the ledger."""
    last = (exchanges or [None])[-1]
    response = (last or {}).get("response") or {}
    return int(response.get("status") or 0) >= 400


def of_exception(exc: BaseException, exchanges: list[dict] | None = None) -> str:
    """The class of an exception raised while performing an operation."""
    if isinstance(exc, errors.ReauthRequired):
        return "auth"
    if isinstance(exc, errors.LedgerRateLimited):
        return "rate_limit"
    if isinstance(exc, errors.UncertainOutcome):
        return "uncertain"
    if isinstance(exc, (errors.RetryableLedgerError, errors.StaleObject)):
        return "ledger_unavailable"
    if isinstance(exc, errors.ValidationFailed):
        return "validation"
    if isinstance(exc, errors.LedgerRejected):
        return "ledger_rejected" if _ledger_answered_error(exchanges) else "mapping"
    return "internal"


def of_outcome(status: str, *, uncertain: bool = False, waiting: str | None = None,
               exchanges: list[dict] | None = None, exc: BaseException | None = None,
               in_batch: bool = False) -> str | None:
    """The class of an attempt's outcome (None for a success or a plain wait behind an earlier operation)."""
    if status == "succeeded":
        return None
    if exc is not None:
        return of_exception(exc, exchanges)
    waiting = waiting or ""
    if "reauthorization" in waiting:
        return "auth"
    if "limit" in waiting:
        return "rate_limit"
    if status == "failed":  # a batch member fails alone only on the ledger's answer for it
        return "ledger_rejected" if in_batch or _ledger_answered_error(exchanges) else "mapping"
    if status in ("retrying", "dead"):
        return "uncertain" if uncertain else "ledger_unavailable"
    return None

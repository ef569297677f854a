"""QuickBooks rules checked before an operation is queued, so the caller gets a 422 at once."""

from __future__ import annotations

from bridge.ledgers.quickbooks import facts
from bridge.ledgers.quickbooks.mapping import discount_errors


def _too_long(value: str | None, limit: int, field: str, what: str) -> list[dict]:
    """A field error when a text is over QuickBooks' limit."""
    if value and len(value) > limit:
        return [{"field": field, "message": f"QuickBooks Online takes at most {limit} characters for {what}."}]
    return []


def check(kind: str, data: dict) -> tuple[list[str], list[dict]]:
    """Warnings and field errors for a validated document of `kind` (the adapter warns at write time)."""
    warnings: list[str] = []
    errors: list[dict] = []
    if kind in ("invoice", "credit_note"):
        errors += _too_long(data.get("number"), facts.DOC_NUMBER_MAX, "number", "a document number")
        errors += discount_errors(data["lines"])
        for index, payment in enumerate(data.get("payments") or []):
            errors += _too_long(payment.get("reference"), facts.PAYMENT_REF_MAX, f"payments[{index}].reference",
                                "a payment reference")
    if kind == "payment":
        errors += _too_long(data.get("reference"), facts.PAYMENT_REF_MAX, "reference", "a payment reference")
    return warnings, errors

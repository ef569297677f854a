"""What the csv layouts cannot carry, refused before an operation is queued (a 422 naming the field)."""

from __future__ import annotations

NO_PAYMENTS = ("The csv ledger's import files carry no payments: record them in the accounting software "
               "(or send the invoice without payments[]).")


def check(kind: str, data: dict) -> tuple[list[str], list[dict]]:
    """Warnings and field errors for a validated document of `kind` (every layout)."""
    if kind == "payment":
        return [], [{"field": "amount", "code": "unsupported", "message": NO_PAYMENTS}]
    if kind == "invoice" and data.get("payments"):
        return [], [{"field": "payments", "code": "unsupported", "message": NO_PAYMENTS}]
    return [], []

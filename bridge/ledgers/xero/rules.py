"""Xero rules checked before an operation is queued, so the caller gets a 422 (or a warning) at once."""

from __future__ import annotations

from bridge.ledgers.xero import facts
from bridge.ledgers.xero.mapping import MEMO_WARNING, decimal_places, fold_discount


def _too_long(value, limit: int, field: str, what: str) -> list[dict]:
    """A field error when a text is over Xero's limit."""
    if value and len(str(value)) > limit:
        return [{"field": field, "code": "too_long", "message": f"Xero takes at most {limit} characters for {what}."}]
    return []


def _customer(customer: dict | None, prefix: str) -> tuple[list[str], list[dict]]:
    """A customer's name limit, and a warning when its external_id needs a shortened ContactNumber."""
    customer = customer or {}
    warnings = []
    if len(str(customer.get("external_id") or "")) > facts.CONTACT_NUMBER_MAX:
        warnings.append(f"{prefix}external_id is over {facts.CONTACT_NUMBER_MAX} characters: the Xero contact "
                        "code (ContactNumber) will be its head plus a hash")
    return warnings, _too_long(customer.get("name"), facts.CONTACT_NAME_MAX, f"{prefix}name", "a contact name")


def _lines(lines: list[dict], credit_note: bool) -> list[dict]:
    """Per-line limits: precision, description or item, credit-note discounts."""
    errors = []
    for index, line in enumerate(lines or []):
        here = f"lines[{index}]"
        if line.get("unit_price") is not None and decimal_places(line["unit_price"]) > facts.UNIT_AMOUNT_PLACES:
            errors.append({"field": f"{here}.unit_price", "code": "too_precise",
                           "message": f"Xero takes at most {facts.UNIT_AMOUNT_PLACES} decimals."})
        if line.get("quantity") is not None and decimal_places(line["quantity"]) > facts.QUANTITY_PLACES:
            errors.append({"field": f"{here}.quantity", "code": "too_precise",
                           "message": f"Xero takes at most {facts.QUANTITY_PLACES} decimals."})
        if not line.get("description") and not line.get("product_code"):
            errors.append({"field": f"{here}.description", "code": "required",
                           "message": "Xero needs a description (or a product mapped to a Xero item)."})
        errors += _too_long(line.get("description"), facts.DESCRIPTION_MAX, f"{here}.description", "a description")
        if credit_note and line.get("discount_percent") and fold_discount(
                line["quantity"], line["unit_price"], line["discount_percent"]) is None:
            errors.append({"field": f"{here}.discount_percent", "code": "discount_not_exact",
                           "message": "Xero credit notes take no line discounts, and this one cannot be folded "
                                      f"into the unit price at {facts.UNIT_AMOUNT_PLACES} decimals."})
    return errors


def check(kind: str, data: dict) -> tuple[list[str], list[dict]]:
    """Warnings and field errors for a validated document of `kind` (the adapter re-checks at write time)."""
    warnings: list[str] = []
    errors: list[dict] = []
    if kind in ("invoice", "credit_note"):
        errors += _too_long(data.get("number"), facts.INVOICE_NUMBER_MAX, "number", "a document number")
        errors += _lines(data.get("lines"), credit_note=kind == "credit_note")
        customer_warnings, customer_errors = _customer(data.get("customer"), "customer.")
        warnings += customer_warnings
        errors += customer_errors
        if data.get("memo"):
            warnings.append(MEMO_WARNING if kind == "invoice" else MEMO_WARNING.replace("invoices", "credit notes"))
        for index, payment in enumerate(data.get("payments") or []):
            errors += _too_long(payment.get("reference"), facts.REFERENCE_MAX, f"payments[{index}].reference",
                                "a payment reference")
        if data.get("status") == "draft" and data.get("payments"):
            errors.append({"field": "payments", "code": "unsupported",
                           "message": "Xero takes payments only on approved invoices: send status open, "
                                      "or the payments once the invoice is open."})
    elif kind == "payment":
        errors += _too_long(data.get("reference"), facts.REFERENCE_MAX, "reference", "a payment reference")
    elif kind == "customer":
        customer_warnings, customer_errors = _customer(data, "")
        warnings += customer_warnings
        errors += customer_errors
    return warnings, errors

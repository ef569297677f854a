"""Xero rules checked before an operation is queued, so the caller gets a 422 (or a warning) at once."""

from __future__ import annotations

from bridge.ledgers.base import check_reference, mapping_references
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


# --- the mapping against the organisation's reference data (PUT /mapping) --------------------------------

RULES = (
    f"InvoiceNumber (number): at most {facts.INVOICE_NUMBER_MAX} characters, unique among sales invoices",
    f"UnitAmount: at most {facts.UNIT_AMOUNT_PLACES} decimals (unitdp={facts.UNIT_DP}); Quantity: at most "
    f"{facts.QUANTITY_PLACES} decimals",
    f"Description: at most {facts.DESCRIPTION_MAX} characters; a line needs a description or an item",
    "Every line needs an AccountCode: account_code, the product's mapped account, or defaults.income_account",
    "Every line needs a TaxType of the organisation's country, unless LineAmountTypes is NoTax",
    "LineAmountTypes: Exclusive, Inclusive (amounts_include_tax) or NoTax (mapping.xero.line_amount_types)",
    "Payments go to a BANK account, or one with payments enabled, and only on approved invoices",
    "Credit notes take no line discounts: folded into the unit price when exact",
    "Tax is computed per line by Xero and may differ from the source's totals by a cent",
)
"""What Xero is known to enforce (dry run lists them)."""


def references(mapping: dict) -> list[tuple[str, str, str]]:
    """The ledger references of a mapping for Xero."""
    return mapping_references(mapping)


def check_references(mapping: dict, reference: dict[str, list[dict]], company: dict) -> list[dict]:
    """Field errors of a mapping against the organisation's accounts, sales tax rates (TaxTypes of its
    country) and items, and of mapping.xero.line_amount_types."""
    where = f"This Xero organisation ({company.get('country') or 'country unknown'})"
    errors: list[dict] = []
    for field, kind, value in references(mapping):
        also = ("account_id",) if kind == "accounts" else ()
        entry, found = check_reference(field, kind, value, reference.get(kind) or [], where, *also)
        if kind == "tax_rates" and found and not entry:
            found = [{"field": field, "message": f"{where} has no sales tax rate {value!r}: Xero takes a TaxType of "
                      "the organisation's country (GET /v1/connections/<id>/tax-rates)"}]
        errors += found
        if entry is not None and field == "defaults.payment_account" and not (
                entry.get("bank") or (entry.get("extra") or {}).get("payments_enabled")):
            errors.append({"field": field, "message": f"Account {value!r} ({entry.get('type')}) cannot take "
                           "payments: pick a BANK account, or one with payments enabled"})
    wanted = (mapping.get("xero") or {}).get("line_amount_types")
    if wanted and str(wanted).replace(" ", "").lower() not in {kind.lower() for kind in facts.LINE_AMOUNT_TYPES}:
        errors.append({"field": "xero.line_amount_types",
                       "message": f"One of {', '.join(facts.LINE_AMOUNT_TYPES)}, not {wanted!r}"})
    return errors

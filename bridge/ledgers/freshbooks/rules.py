"""FreshBooks rules checked before an operation is queued, so the caller gets a 422 at once.

What FreshBooks cannot hold is refused here: a discount that does not fold exactly into a 2-decimal
unit cost, a unit price finer than 2 decimals, more than two taxes on a line (when the mapping is
known), tax-inclusive amounts on taxed lines. FreshBooks documents no length limit on invoice or
credit note numbers, so none is checked.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.ledgers.freshbooks import facts
from bridge.ledgers.base import check_reference, mapping_references
from bridge.ledgers.freshbooks.mapping import (fold_discount, line_errors, mapping_tax_errors, payment_type,
                                               tax_names)


def check(kind: str, data: dict, mapping: dict | None = None) -> tuple[list[str], list[dict]]:
    """Warnings and field errors for a validated document of `kind` (the adapter warns again at write time).

    `mapping` (the connection's, optional) adds the checks that depend on it: taxes per line and
    tax-inclusive amounts on taxed lines.
    """
    warnings: list[str] = []
    errors: list[dict] = []
    if kind in ("invoice", "credit_note"):
        lines = data.get("lines") or []
        errors += line_errors(lines)
        warnings += _folding_warnings(lines)
        if mapping is not None:
            errors += _tax_errors(data, mapping)
        for index, payment in enumerate(data.get("payments") or []):
            warnings += [f"payments[{index}]: {text}" for text in payment_type(payment, mapping)[1]]
    if kind == "payment":
        warnings += payment_type(data, mapping)[1]
    return warnings, errors


def check_mapping(mapping: dict, taxes: dict | None = None) -> list[dict]:
    """Field errors of a mapping document for FreshBooks (for PUT /mapping): at most two taxes per
    tax_categories value ("GST" or "GST+PST" or "NONE"), and, given the business's taxes, known names."""
    return mapping_tax_errors(mapping, taxes)


def _folding_warnings(lines: list[dict]) -> list[str]:
    """The discounts that will be folded into the unit price."""
    warnings = []
    for index, line in enumerate(lines):
        percent = line.get("discount_percent")
        if percent and fold_discount(line["quantity"], line["unit_price"], percent) is not None:
            warnings.append(f"lines[{index}]: FreshBooks has no line discounts; the "
                            f"{format(Decimal(percent).normalize(), 'f')}% discount is folded into the unit price")
    return warnings


def _tax_errors(data: dict, mapping: dict) -> list[dict]:
    """Lines whose mapped taxes FreshBooks cannot take."""
    categories = mapping.get("tax_categories") or {}
    default = (mapping.get("defaults") or {}).get("tax_code")
    errors, taxed = [], False
    for index, line in enumerate(data.get("lines") or []):
        category = line.get("tax_category")
        value = categories.get(category, default) if category else default
        names = tax_names(value)
        taxed = taxed or bool(names)
        if len(names) > facts.TAXES_PER_LINE:
            errors.append({"field": f"lines[{index}].tax_category", "code": "too_many_taxes",
                           "message": f"Mapped to {value!r}: FreshBooks takes at most "
                                      f"{facts.TAXES_PER_LINE} taxes per line"})
    if taxed and data.get("amounts_include_tax"):
        errors.append({"field": "amounts_include_tax", "code": "unsupported",
                       "message": "FreshBooks line prices are before tax: send amounts_include_tax false"})
    return errors


# --- the mapping against the business's reference data (PUT /mapping) ------------------------------------

RULES = (
    f"unit_cost: at most {facts.UNIT_COST_PLACES} decimals; amounts in cents, rounded half up per line",
    "No line discounts: a discount is folded into the unit cost when exact, else the line is refused",
    f"At most {facts.TAXES_PER_LINE} named taxes per line (taxName1/taxAmount1, taxName2/taxAmount2), each one "
    "of the business's taxes; prices before tax only",
    "Lines take no income account or ledger item: the line name is the product code or description",
    "Payments take a type (Cash, Check, Credit Card, Bank Transfer, ...), not a bank account",
    "No exchange rate on documents; no void: voiding deletes the invoice (vis_state 1)",
    "An invoice is created as a draft, then marked as sent to enter the books",
    "Tax is computed per line by FreshBooks and may differ from the source's totals by a cent",
)
"""What FreshBooks is known to enforce (dry run lists them)."""


def references(mapping: dict) -> list[tuple[str, str, str]]:
    """The ledger references of a mapping for FreshBooks (its payment account is a payment type, not an account)."""
    return [ref for ref in mapping_references(mapping) if ref[0] != "defaults.payment_account"]


def check_references(mapping: dict, reference: dict[str, list[dict]], company: dict) -> list[dict]:
    """Field errors of a mapping against the business's taxes (names, "A+B" pairs), items, accounts,
    and payment types."""
    where = f"This FreshBooks business ({company.get('name') or company.get('id') or 'unknown'})"
    taxes = {tax["name"]: tax.get("rate") for tax in reference.get("tax_rates") or [] if tax.get("name")}
    errors = mapping_tax_errors(mapping, taxes if "tax_rates" in reference else None)
    errors = [{"field": error["field"], "message": error["message"]} for error in errors]
    for field, kind, value in references(mapping):
        if kind == "tax_rates":
            continue  # names and pairs: mapping_tax_errors above
        also = ("code", "name") if kind == "items" else ("code",)
        errors += check_reference(field, kind, value, reference.get(kind) or [], where, *also)[1]
    payment = (mapping.get("defaults") or {}).get("payment_account")
    if payment and payment.strip().casefold() not in {kind.casefold() for kind in facts.PAYMENT_TYPES}:
        errors.append({"field": "defaults.payment_account",
                       "message": f"FreshBooks payments take a type, not an account: one of "
                                  f"{', '.join(facts.PAYMENT_TYPES)}; not {payment!r}"})
    return errors

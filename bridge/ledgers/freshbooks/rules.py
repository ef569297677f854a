"""FreshBooks rules checked before an operation is queued, so the caller gets a 422 at once.

What FreshBooks cannot hold is refused here: a discount that does not fold exactly into a 2-decimal
unit cost, a unit price finer than 2 decimals, more than two taxes on a line (when the mapping is
known), tax-inclusive amounts on taxed lines. FreshBooks documents no length limit on invoice or
credit note numbers, so none is checked.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.ledgers.freshbooks import facts
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

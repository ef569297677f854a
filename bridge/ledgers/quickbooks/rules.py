"""QuickBooks rules checked before an operation is queued, so the caller gets a 422 at once."""

from __future__ import annotations

from bridge.ledgers.quickbooks import facts
from bridge.ledgers.base import check_reference, mapping_references
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


# --- the mapping against the company's reference data (PUT /mapping) --------------------------------------

RULES = (
    f"DocNumber (number): at most {facts.DOC_NUMBER_MAX} characters",
    f"CustomerMemo (memo): at most {facts.CUSTOMER_MEMO_MAX} characters",
    f"PaymentRefNum (reference): at most {facts.PAYMENT_REF_MAX} characters",
    f"UnitPrice: at most {facts.UNIT_PRICE_PLACES} decimals; line Amount = Qty x UnitPrice rounded half up to cents",
    "No line discounts: a discount is folded into the unit price when exact, else the line is refused",
    "Every line needs an ItemRef: the product's mapped item, defaults.item, else the company's default item",
    "The income account belongs to the item: an account on a line is not applied",
    "US companies: each line is TAX or NON, and taxable invoices take one transaction tax code "
    "(mapping.quickbooks.txn_tax_code) unless Automated Sales Tax computes it; amounts before tax only",
    "Other countries: each line takes a TaxCode id; GlobalTaxCalculation TaxExcluded or TaxInclusive",
    "A currency other than the home currency needs multicurrency turned on",
    "Tax is computed per line by QuickBooks and may differ from the source's totals by a cent",
)
"""What QuickBooks Online is known to enforce (dry run lists them)."""

US_CODES = (facts.US_TAXABLE, facts.US_NON_TAXABLE)


def references(mapping: dict) -> list[tuple[str, str, str]]:
    """The ledger references of a mapping for QuickBooks (the mapping's own, and the transaction tax code)."""
    found = mapping_references(mapping)
    code = (mapping.get("quickbooks") or {}).get("txn_tax_code")
    if code:
        found.append(("quickbooks.txn_tax_code", "tax_rates", code))
    return found


def check_references(mapping: dict, reference: dict[str, list[dict]], company: dict) -> list[dict]:
    """Field errors of a mapping against the company's accounts, tax codes and items, by region:
    a US company maps tax categories to TAX or NON plus one real transaction tax code; others to TaxCode ids."""
    us = company.get("country") == facts.US
    where = f"This QuickBooks company ({company.get('country') or 'country unknown'})"
    errors: list[dict] = []
    taxable = False
    for field, kind, value in references(mapping):
        if field == "quickbooks.txn_tax_code":
            errors += _transaction_code(value, reference.get("tax_rates") or [], us, where)
            continue
        if kind == "tax_rates" and us:
            if value not in US_CODES:
                errors.append({"field": field, "message": f"A US QuickBooks company takes {facts.US_TAXABLE} or "
                               f"{facts.US_NON_TAXABLE} per line, not {value!r} (the rate comes from "
                               "quickbooks.txn_tax_code)"})
            taxable = taxable or value == facts.US_TAXABLE
            continue
        if kind == "tax_rates" and value in US_CODES:
            errors.append({"field": field, "message": f"{value} is for US companies; {where} takes a TaxCode id "
                           "per line (GET /v1/connections/<id>/tax-rates)"})
            continue
        entry, found = check_reference(field, kind, value, reference.get(kind) or [], where)
        errors += found
        if entry is not None and field == "defaults.payment_account" and not entry.get("bank"):
            errors.append({"field": field, "message": f"Account {value!r} ({entry.get('type')}) cannot take "
                           "deposits: pick a Bank or Other Current Asset account"})
    if us and taxable and not (mapping.get("quickbooks") or {}).get("txn_tax_code") \
            and not company.get("automated_sales_tax"):
        errors.append({"field": "quickbooks.txn_tax_code", "message": "A US QuickBooks company needs a transaction "
                       f"tax code (a TaxCode id other than {facts.US_TAXABLE}/{facts.US_NON_TAXABLE}) for TAX lines"})
    return errors


def _transaction_code(value: str, tax_rates: list[dict], us: bool, where: str) -> list[dict]:
    """A US company's transaction tax code: a real TaxCode (not TAX/NON) it has."""
    field = "quickbooks.txn_tax_code"
    if not us:
        return [{"field": field, "message": f"Only US companies take a transaction tax code; {where} takes "
                 "a TaxCode per line (tax_categories)"}]
    if value in US_CODES:
        return [{"field": field, "message": f"{value} is a line code; the transaction tax code is a TaxCode "
                 "with a rate (GET /v1/connections/<id>/tax-rates)"}]
    return check_reference(field, "tax_rates", value, tax_rates, where)[1]

"""Sales tax as QBO computes it (facts §1.7).

US companies: line TaxCodeRef is TAX or NON, TxnTaxDetail.TxnTaxCodeRef names the code whose rate
applies to the sum of TAX lines; tax is rounded half-up to 2 dp on that total.
Non-US companies: each line names a real TaxCode; tax per line, rounded half-up to 2 dp, summed;
GlobalTaxCalculation says whether unit prices exclude tax, include it, or tax does not apply.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from . import errors

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
US_PSEUDO_CODES = ("TAX", "NON")  # dic/…/manage-sales-tax-for-us-locales
# [P] enum (dic/.../manage-sales-tax-for-non-us-locales); EJ2 defaults to TaxExcluded
GLOBAL_TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
DEFAULT_GLOBAL_TAX_CALCULATION = "TaxExcluded"
VAT_MISSING_DETAIL = "Make sure all your transactions have a VAT rate before you save."


def money(value: Decimal) -> Decimal:
    """Round half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def code_rates(realm, code_id: str) -> list[tuple[str, str, Decimal]]:
    """(TaxRate Id, name, percent) for each sales rate of a tax code."""
    code = realm.referable("TaxCode", code_id)
    if code is None:
        return []
    rates = []
    for detail in code.body.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
        rate = realm.get("TaxRate", detail["TaxRateRef"]["value"])
        if rate is not None:
            rates.append((rate.id, rate.body["Name"], rate.body["RateValue"]))
    return rates


def check_line_code(realm, code: str | None, line_number: int, calculation: str | None) -> None:
    """Refuse a line TaxCodeRef the company cannot use."""
    element = f"Line[{line_number}].SalesItemLineDetail.TaxCodeRef"
    if realm.is_us:
        if code is not None and code not in US_PSEUDO_CODES:
            raise errors.invalid_reference(element)
        return
    if calculation == "NotApplicable":
        return
    if code is None:
        raise errors.business(VAT_MISSING_DETAIL, element)
    if code in US_PSEUDO_CODES or realm.referable("TaxCode", code) is None:
        raise errors.invalid_reference(element)


def _tax_line(rate_id: str, name: str, percent: Decimal, tax: Decimal, net: Decimal) -> dict:
    return {"Amount": tax, "DetailType": "TaxLineDetail",
            "TaxLineDetail": {"TaxRateRef": {"value": rate_id, "name": name}, "PercentBased": True,
                              "TaxPercent": percent, "NetAmountTaxable": net}}


def compute(realm, lines: list[dict], txn_code: str | None, calculation: str | None) -> dict:
    """Totals of a sales document: subtotal, tax, total and the TxnTaxDetail object.

    `lines` are normalized sales lines ({"Amount", "TaxCode"}); amounts are what the client sent
    (tax-inclusive when calculation is TaxInclusive).
    """
    subtotal = sum((line["Amount"] for line in lines), ZERO)
    if realm.is_us:
        return _us(realm, lines, txn_code, subtotal)
    return _non_us(realm, lines, calculation or DEFAULT_GLOBAL_TAX_CALCULATION, subtotal)


def _us(realm, lines, txn_code, subtotal) -> dict:
    detail: dict = {}
    tax_lines = []
    total_tax = ZERO
    if txn_code is not None:
        detail["TxnTaxCodeRef"] = {"value": txn_code}
        taxable = sum((line["Amount"] for line in lines if line.get("TaxCode") == "TAX"), ZERO)
        for rate_id, name, percent in code_rates(realm, txn_code):
            tax = money(taxable * percent / HUNDRED)
            total_tax += tax
            tax_lines.append(_tax_line(rate_id, name, percent, tax, money(taxable)))
    # TAX lines without a TxnTaxCodeRef: QBO would pick a rate by Automated Sales Tax, which sandbox
    # companies do not support (facts §1.7), so no tax is charged.
    detail["TotalTax"] = money(total_tax)
    detail["TaxLine"] = tax_lines
    return {"subtotal": money(subtotal), "tax": money(total_tax), "total": money(subtotal + total_tax),
            "detail": detail}


def _non_us(realm, lines, calculation, subtotal) -> dict:
    groups: dict[str, list] = {}
    total_tax = ZERO
    if calculation != "NotApplicable":
        for line in lines:
            rates = code_rates(realm, line.get("TaxCode") or "")
            combined = sum((percent for _, _, percent in rates), ZERO)
            for rate_id, name, percent in rates:
                amount = line["Amount"]
                if calculation == "TaxInclusive":
                    # The amount includes tax: tax = amount - amount / (1 + rate), split by rate.
                    tax = money(amount * percent / (HUNDRED + combined)) if combined else ZERO
                    net = amount - money(amount * combined / (HUNDRED + combined)) if combined else amount
                else:
                    tax = money(amount * percent / HUNDRED)
                    net = amount
                group = groups.setdefault(rate_id, [name, percent, ZERO, ZERO])
                group[2] += tax
                group[3] += net
                total_tax += tax
    tax_lines = [_tax_line(rate_id, name, percent, money(tax), money(net))
                 for rate_id, (name, percent, tax, net) in groups.items()]
    total = subtotal if calculation == "TaxInclusive" else subtotal + total_tax
    return {"subtotal": money(subtotal), "tax": money(total_tax), "total": money(total),
            "detail": {"TotalTax": money(total_tax), "TaxLine": tax_lines}}


def zero_detail(detail: dict) -> dict:
    """TxnTaxDetail of a voided transaction: every amount zero."""
    zeroed = dict(detail)
    zeroed["TotalTax"] = money(ZERO)
    zeroed["TaxLine"] = [{**line, "Amount": money(ZERO),
                          "TaxLineDetail": {**line["TaxLineDetail"], "NetAmountTaxable": money(ZERO)}}
                         for line in detail.get("TaxLine", [])]
    return zeroed

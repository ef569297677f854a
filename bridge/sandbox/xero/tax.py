"""Line amounts and tax as Xero computes them (developer.xero.com/documentation/api-guides/rounding-in-xero).

- LineAmount = Quantity x UnitAmount x (100 - DiscountRate) / 100 (or minus DiscountAmount), rounded
  half-up to 2 dp (spec LineItem.LineAmount).
- Tax is worked out per line and rounded to 2 dp, then summed: Exclusive tax = LineAmount x rate;
  Inclusive tax = LineAmount - LineAmount / (1 + rate) = LineAmount x rate / (100 + rate); NoTax none.
- SubTotal is the total excluding tax (spec Invoice.SubTotal), so Inclusive documents report
  SubTotal = sum(LineAmount) - TotalTax and Total = sum(LineAmount).
- Half-up: Xero's own example rounds 25.06 x 15 % = 3.759 to 3.76 and 25.63 x 15 % = 3.8445 to 3.84;
  a third-party note on unit prices shows 1.795 entered with 2 dp stored as 1.80.
"""

from __future__ import annotations

from decimal import Decimal

from .wire import ZERO, money

HUNDRED = Decimal("100")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")  # spec LineAmountTypes
DEFAULT_LINE_AMOUNT_TYPES = "Exclusive"  # "Line amounts are exclusive of tax by default" (spec)


def line_amount(quantity: Decimal, unit: Decimal, discount_rate: Decimal | None,
                discount_amount: Decimal | None) -> Decimal:
    """The line's amount after discount, rounded half-up to cents."""
    gross = quantity * unit
    if discount_rate is not None:
        return money(gross * (HUNDRED - discount_rate) / HUNDRED)
    if discount_amount is not None:
        return money(gross - discount_amount)
    return money(gross)


def line_tax(amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    """Tax on one line, rounded half-up to cents."""
    if line_amount_types == "NoTax" or not rate:
        return money(ZERO)
    if line_amount_types == "Inclusive":
        return money(amount * rate / (HUNDRED + rate))
    return money(amount * rate / HUNDRED)


def totals(lines: list[dict], line_amount_types: str) -> dict:
    """SubTotal, TotalTax, Total and TotalDiscount of stored lines."""
    amounts = sum((line["LineAmount"] for line in lines), ZERO)
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    discount = ZERO
    for line in lines:
        if line.get("Quantity") is not None and line.get("UnitAmount") is not None:
            discount += money(line["Quantity"] * line["UnitAmount"]) - line["LineAmount"]
    if line_amount_types == "Inclusive":
        return {"SubTotal": money(amounts - tax), "TotalTax": money(tax), "Total": money(amounts),
                "TotalDiscount": money(discount)}
    return {"SubTotal": money(amounts), "TotalTax": money(tax), "Total": money(amounts + tax),
            "TotalDiscount": money(discount)}

"""The normalized objects of DESIGN.md: Invoice, Line, Customer, Address, Payment, CreditNote."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from bridge.schemas.codes import COUNTRIES, CURRENCIES
from bridge.schemas.money import DecimalString, Money, Quantity

MAX_LINES = 1000
MAX_PAYMENTS = 100
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def _text(max_length: int, **kwargs) -> fields.String:
    """A string of at most `max_length` characters."""
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


def _external_id(**kwargs) -> fields.String:
    """The invoicing platform's id: 1 to 255 characters."""
    return fields.String(validate=validate.Length(min=1, max=255), **kwargs)


class Among(validate.Validator):
    """Membership in a large set (a set lookup, where OneOf scans a list); documented as an enum."""

    def __init__(self, choices: frozenset, error: str):
        self.choices, self.error = choices, error

    def __call__(self, value):
        """The value, if it is one of the choices."""
        if value not in self.choices:
            raise ValidationError(self.error)
        return value


def _currency(**kwargs) -> fields.String:
    """An ISO 4217 code."""
    enum = sorted(CURRENCIES) + ([None] if kwargs.get("allow_none") else [])
    return fields.String(validate=Among(CURRENCIES, "Not an ISO 4217 currency code."),
                         metadata={"example": "USD", "enum": enum}, **kwargs)


class AddressSchema(Schema):
    """A postal address."""

    line1 = _text(500, allow_none=True)
    line2 = _text(500, allow_none=True)
    city = _text(255, allow_none=True)
    region = _text(255, allow_none=True)
    postal_code = _text(30, allow_none=True)
    country = fields.String(allow_none=True, metadata={"example": "US", "enum": sorted(COUNTRIES) + [None]},
                            validate=Among(COUNTRIES, "Not an ISO 3166-1 alpha-2 code."))


class CustomerSchema(Schema):
    """A customer; `{external_id}` alone refers to one already sent."""

    external_id = _external_id(required=True)
    name = _text(500)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = _text(30, allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True)
    tax_number = _text(50, allow_none=True)
    currency = _currency(allow_none=True)

    @validates_schema
    def _name_unless_reference(self, data, **kwargs):
        """A customer given in full needs a name."""
        if set(data) - {"external_id"} and not (data.get("name") or "").strip():
            raise ValidationError("Required unless the customer is given by external_id alone.", "name")


class LineSchema(Schema):
    """One invoice or credit-note line."""

    description = _text(4000, allow_none=True)
    quantity = Quantity(required=True, minimum=ZERO, exclusive_minimum=True)
    unit_price = Quantity(required=True)
    discount_percent = DecimalString(places=4, minimum=ZERO, maximum=HUNDRED, allow_none=True)
    product_code = _text(100, allow_none=True)
    tax_category = _text(100, allow_none=True)
    account_code = _text(100, allow_none=True)


def line_amount(line: dict) -> Decimal:
    """Quantity x unit price less the line discount, unrounded."""
    amount = line["quantity"] * line["unit_price"]
    if line.get("discount_percent"):
        amount -= amount * line["discount_percent"] / HUNDRED
    return amount


class TotalsSchema(Schema):
    """Totals as the source computed them, checked against the ledger's."""

    subtotal = Money(allow_none=True)
    tax = Money(allow_none=True)
    total = Money(allow_none=True)


class PaymentSchema(Schema):
    """A payment applied to one invoice."""

    external_id = _external_id(required=True)
    invoice_external_id = _external_id(required=True)
    amount = Money(required=True, minimum=ZERO, exclusive_minimum=True)
    currency = _currency(allow_none=True)
    exchange_rate = DecimalString(places=8, minimum=ZERO, exclusive_minimum=True, allow_none=True)
    date = fields.Date(required=True)
    method = _text(100, allow_none=True)
    reference = _text(100, allow_none=True)
    deposit_account = _text(100, allow_none=True)


class InvoicePaymentSchema(PaymentSchema):
    """A payment inside an invoice: its invoice is implied."""

    invoice_external_id = _external_id()


class _Lines:
    """Shared rule: 1 to 1000 lines and a total that is not negative."""

    @validates("lines")
    def _line_count(self, lines, **kwargs):
        """Between 1 and MAX_LINES lines."""
        if not 1 <= len(lines) <= MAX_LINES:
            raise ValidationError(f"Between 1 and {MAX_LINES} lines.")

    @validates_schema(skip_on_field_errors=True)
    def _total_not_negative(self, data, **kwargs):
        """Discount lines may be negative; the whole may not."""
        if sum((line_amount(line) for line in data.get("lines", [])), ZERO) < 0:
            raise ValidationError("The total of the lines may not be negative.", "lines")


class InvoiceSchema(_Lines, Schema):
    """An invoice to upsert by external_id, optionally with its payments."""

    external_id = _external_id(required=True)
    number = _text(255, allow_none=True)
    customer = fields.Nested(CustomerSchema, required=True)
    issue_date = fields.Date(required=True)
    due_date = fields.Date(allow_none=True)
    currency = _currency(required=True)
    exchange_rate = DecimalString(places=8, minimum=ZERO, exclusive_minimum=True, allow_none=True)
    amounts_include_tax = fields.Boolean(load_default=False)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    memo = _text(4000, allow_none=True)
    status = fields.String(load_default="open", validate=validate.OneOf(["draft", "open"]))
    payments = fields.List(fields.Nested(InvoicePaymentSchema), load_default=list,
                           validate=validate.Length(max=MAX_PAYMENTS))
    totals = fields.Nested(TotalsSchema, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _dates_and_payments(self, data, **kwargs):
        """Due date not before issue date; payments belong to this invoice."""
        if data.get("due_date") and data["due_date"] < data["issue_date"]:
            raise ValidationError("Must not be before issue_date.", "due_date")
        errors = {}
        for index, payment in enumerate(data.get("payments", [])):
            if payment.get("invoice_external_id") not in (None, data["external_id"]):
                errors[index] = {"invoice_external_id": ["Must be this invoice's external_id."]}
        if errors:
            raise ValidationError({"payments": errors})


class AllocationSchema(Schema):
    """Part of a credit note applied to an invoice."""

    invoice_external_id = _external_id(required=True)
    amount = Money(required=True, minimum=ZERO, exclusive_minimum=True)
    date = fields.Date(allow_none=True)


class CreditNoteSchema(_Lines, Schema):
    """A credit note, optionally allocated to invoices."""

    external_id = _external_id(required=True)
    number = _text(255, allow_none=True)
    customer = fields.Nested(CustomerSchema, required=True)
    issue_date = fields.Date(required=True)
    currency = _currency(required=True)
    amounts_include_tax = fields.Boolean(load_default=False)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    memo = _text(4000, allow_none=True)
    allocations = fields.List(fields.Nested(AllocationSchema), load_default=list,
                              validate=validate.Length(max=MAX_PAYMENTS))


class VoidSchema(Schema):
    """Why an invoice is voided (optional)."""

    reason = _text(500, allow_none=True)


class FullCustomerSchema(CustomerSchema):
    """A customer sent on its own: the name is required."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=500))

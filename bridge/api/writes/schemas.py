"""Schemas of invoices as the ledger holds them, and of invoice searches."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.schemas.money import Money, Quantity


class LedgerLineSchema(Schema):
    """A line as the ledger holds it."""

    description = fields.String(allow_none=True)
    quantity = Quantity(allow_none=True)
    unit_price = Quantity(allow_none=True)
    amount = Money(allow_none=True)
    product_code = fields.String(allow_none=True)
    tax_category = fields.String(allow_none=True)


class LedgerTotalsSchema(Schema):
    """Totals the ledger computed."""

    subtotal = Money(allow_none=True)
    tax = Money(allow_none=True)
    total = Money(allow_none=True)


class LedgerCustomerRefSchema(Schema):
    """The invoice's customer in the ledger."""

    ledger_id = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class LedgerInvoiceSchema(Schema):
    """An invoice as the ledger holds it now, normalized."""

    external_id = fields.String(allow_none=True)
    ledger_id = fields.String(required=True)
    number = fields.String(allow_none=True)
    customer = fields.Nested(LedgerCustomerRefSchema, allow_none=True)
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    currency = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["draft", "open", "partially_paid", "paid", "void"]})
    balance = Money(allow_none=True)
    totals = fields.Nested(LedgerTotalsSchema, allow_none=True)
    lines = fields.List(fields.Nested(LedgerLineSchema))
    memo = fields.String(allow_none=True)


class InvoiceSearchSchema(Schema):
    """Find invoices in the ledger."""

    number = fields.String(validate=validate.Length(min=1, max=255))
    customer = fields.String(validate=validate.Length(min=1, max=255),
                             metadata={"description": "the customer's external_id"})
    status = fields.String(validate=validate.OneOf(["draft", "open", "partially_paid", "paid", "void"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class InvoiceListSchema(Schema):
    """Invoices found in the ledger."""

    data = fields.List(fields.Nested(LedgerInvoiceSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class DryRunSchema(Schema):
    """What a write would send (`?dry_run=true`); nothing was queued or written."""

    dry_run = fields.Boolean(required=True, metadata={"enum": [True]})
    provider = fields.String(required=True)
    method = fields.String(required=True, metadata={"description": "HTTP method of the ledger request (POST, PUT)"})
    path = fields.String(required=True, metadata={"description": "path under the ledger's API base"})
    payload = fields.Raw(required=True, allow_none=True, metadata={
        "type": "object", "description": "the exact JSON body we would send (amounts as JSON numbers, exact)"})
    warnings = fields.List(fields.String(), required=True)
    rules = fields.List(fields.String(), required=True,
                        metadata={"description": "what this ledger is known to enforce"})

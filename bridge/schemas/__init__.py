"""Normalized objects (marshmallow 4), pure: no store, no ledger. Money is Decimal."""

from bridge.schemas.objects import (  # noqa: F401
    CreditNoteSchema, CustomerSchema, FullCustomerSchema, InvoiceSchema, LineSchema, PaymentSchema,
    VoidSchema, line_amount,
)

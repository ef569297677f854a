"""Schemas of connections."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from bridge.ledgers.base import LEDGERS


class ConnectionCreateSchema(Schema):
    """Start connecting a ledger."""

    provider = fields.String(required=True, validate=validate.OneOf(sorted(LEDGERS)))
    tenant = fields.String(allow_none=True, validate=validate.Length(max=300),
                           metadata={"description": "organisation id or name to pick in advance"})
    return_url = fields.Url(allow_none=True, require_tld=False, schemes={"http", "https"},
                            validate=validate.Length(max=2000))
    layout = fields.String(allow_none=True, validate=validate.OneOf(["xero", "quickbooks"]), metadata={
        "description": "csv ledger only (required there): the import files' layout, Xero sales-invoice CSV "
                       "or QuickBooks Online invoice CSV"})


class ReauthorizeSchema(Schema):
    """Where to send the browser after authorizing again."""

    return_url = fields.Url(allow_none=True, require_tld=False, schemes={"http", "https"},
                            validate=validate.Length(max=2000))


class TenantSchema(Schema):
    """One organisation the grant covers."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True)


class TenantChoiceSchema(Schema):
    """Pick one organisation."""

    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ConnectionSchema(Schema):
    """A link to one ledger company."""

    id = fields.String(required=True)
    provider = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "active", "paused", "needs_reauth", "disconnected"]})
    tenant_id = fields.String(allow_none=True)
    tenant_name = fields.String(allow_none=True)
    tenants = fields.List(fields.Nested(TenantSchema), allow_none=True)
    country = fields.String(allow_none=True)
    limited_until = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ConnectionStartedSchema(ConnectionSchema):
    """A pending connection and where to send the user."""

    authorize_url = fields.String(required=True, allow_none=True,
                                  metadata={"description": "null for the csv ledger: nothing to authorize"})


class ConnectionListSchema(Schema):
    """The account's connections."""

    data = fields.List(fields.Nested(ConnectionSchema), required=True)
    next = fields.String(allow_none=True, required=True)


def _ref(**kwargs) -> fields.String:
    """A ledger reference as /accounts, /tax-rates and /items give it."""
    return fields.String(validate=validate.Length(min=1, max=100), **kwargs)


class ProductMappingSchema(Schema):
    """Where a product lands: a ledger item and/or an income account."""

    item = _ref(allow_none=True)
    account = _ref(allow_none=True)


class MappingDefaultsSchema(Schema):
    """What applies when nothing more specific is mapped."""

    income_account = _ref(allow_none=True)
    payment_account = _ref(allow_none=True, metadata={"description": (
        "automatic bank deposits: every recorded payment lands in this account unless it names its own "
        "deposit_account (QuickBooks DepositToAccountRef: a bank account Id; Xero payment Account: a bank "
        "account code; FreshBooks, which has no deposit account: the payment type, such as \"Bank Transfer\")")})
    tax_code = _ref(allow_none=True)
    item = _ref(allow_none=True)


class CustomerMatchingSchema(Schema):
    """How customers are matched: an ordered list of keys, or "create"."""

    match = fields.Raw(metadata={"oneOf": [
        {"type": "array", "items": {"type": "string", "enum": ["external_id", "email", "name"]}},
        {"type": "string", "enum": ["create"]}]})

    @validates("match")
    def _match(self, value, **kwargs):
        """A list of known keys, or "create"."""
        if value == "create":
            return
        if not isinstance(value, list) or not value or any(v not in ("external_id", "email", "name") for v in value):
            raise ValidationError('A list of "external_id", "email", "name", or "create".')


class SourceOfTruthSchema(Schema):
    """Which side wins for customers and items."""

    customers = fields.String(validate=validate.OneOf(["invoicing", "ledger"]))
    items = fields.String(validate=validate.OneOf(["invoicing", "ledger"]), metadata={"description": (
        "\"ledger\" (default): the ledger's item list is the truth; a product_code uses its mapped item, else the "
        "defaults. \"invoicing\": a product_code with no mapped item is found in the ledger by its code (QuickBooks "
        "Name or Sku, Xero Code, FreshBooks name) or created there once (with products.<code>.account or "
        "defaults.income_account), and its lines reference that item")})


class MappingSchema(Schema):
    """The field mapping document (DESIGN.md "Mapping")."""

    products = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                           values=fields.Nested(ProductMappingSchema))
    tax_categories = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)), values=_ref())
    defaults = fields.Nested(MappingDefaultsSchema)
    customers = fields.Nested(CustomerMatchingSchema)
    source_of_truth = fields.Nested(SourceOfTruthSchema)
    quickbooks = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), values=_ref(),
                             metadata={"description": "QuickBooks extras, e.g. txn_tax_code"})
    xero = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), values=_ref())
    freshbooks = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), values=_ref())

"""Schemas of the ledger's reference data: what /accounts, /tax-rates, /items and /customers return."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.api.common import DEFAULT_LIMIT, MAX_LIMIT

DECIMAL_TEXT = {"pattern": r"^-?\d+(\.\d+)?$", "example": "20.0"}


class ReferenceArgsSchema(Schema):
    """`?limit=`, `?after=`, `?q=` (name search) and `?refresh=true` (bypass the cache)."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    after = fields.String(load_default=None)
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "case-insensitive search in id, code and name"})
    refresh = fields.Boolean(load_default=False, metadata={"description": "read the ledger, not the cache"})


class CustomerSearchArgsSchema(Schema):
    """`?email=` and `?name=` (searched at the ledger), `?limit=`, `?after=`, `?refresh=true`."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    after = fields.String(load_default=None)
    email = fields.String(validate=validate.Length(min=1, max=254))
    name = fields.String(validate=validate.Length(min=1, max=500))
    refresh = fields.Boolean(load_default=False, metadata={"description": "read the ledger, not the cache"})


class AccountSchema(Schema):
    """An account of the chart of accounts; `id` is what mappings name (income and payment accounts).

    QuickBooks: the Account Id; Xero: the account Code (its AccountID when it has none); FreshBooks:
    the ledger account's uuid.
    """

    id = fields.String(required=True)
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    class_ = fields.String(allow_none=True, data_key="class")
    currency = fields.String(allow_none=True)
    bank = fields.Boolean(required=True, metadata={"description": "payments may be deposited here"})
    active = fields.Boolean(required=True)
    extra = fields.Dict(metadata={"description": "what else the ledger says of it"})


class TaxRateSchema(Schema):
    """A tax code usable on sales; `id` is what `tax_categories` and `defaults.tax_code` name.

    QuickBooks: the TaxCode Id (a US company also offers TAX and NON); Xero: the TaxType;
    FreshBooks: the tax's name.
    """

    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    rate = fields.String(allow_none=True, metadata={"description": "percent, a decimal string", **DECIMAL_TEXT})
    active = fields.Boolean(required=True)
    extra = fields.Dict()


class ItemSchema(Schema):
    """A product or service; `id` is what `products.<code>.item` names.

    QuickBooks: the Item Id; Xero: the item Code; FreshBooks: the item id.
    """

    id = fields.String(required=True)
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    unit_price = fields.String(allow_none=True, metadata=DECIMAL_TEXT)
    income_account = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    extra = fields.Dict()


class CustomerAddressSchema(Schema):
    """A customer's address as the ledger holds it."""

    line1 = fields.String(allow_none=True)
    line2 = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    country = fields.String(allow_none=True)


class LedgerCustomerSchema(Schema):
    """A customer as the ledger holds it; `external_id` when the bridge wrote it."""

    ledger_id = fields.String(required=True)
    external_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.Nested(CustomerAddressSchema, allow_none=True)
    tax_number = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    balance = fields.String(allow_none=True, metadata=DECIMAL_TEXT)
    active = fields.Boolean(allow_none=True)


def _page(item: type[Schema], name: str) -> type[Schema]:
    """The `{data, next}` envelope of one kind."""
    return Schema.from_dict({"data": fields.List(fields.Nested(item), required=True),
                             "next": fields.String(allow_none=True, required=True)}, name=name)


AccountListSchema = _page(AccountSchema, "AccountList")
TaxRateListSchema = _page(TaxRateSchema, "TaxRateList")
ItemListSchema = _page(ItemSchema, "ItemList")
LedgerCustomerListSchema = _page(LedgerCustomerSchema, "LedgerCustomerList")

"""Schemas of connections."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.ledgers.base import LEDGERS


class ConnectionCreateSchema(Schema):
    """Start connecting a ledger."""

    provider = fields.String(required=True, validate=validate.OneOf(sorted(LEDGERS)))
    tenant = fields.String(allow_none=True, validate=validate.Length(max=300),
                           metadata={"description": "organisation id or name to pick in advance"})
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

    authorize_url = fields.String(required=True)


class ConnectionListSchema(Schema):
    """The account's connections."""

    data = fields.List(fields.Nested(ConnectionSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class MappingSchema(Schema):
    """The field mapping document (DESIGN.md "Mapping")."""

    class Meta:
        unknown = "include"

    products = fields.Dict(keys=fields.String(), values=fields.Dict())
    tax_categories = fields.Dict(keys=fields.String(), values=fields.String())
    defaults = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    customers = fields.Dict()
    source_of_truth = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.OneOf(["invoicing", "ledger"])))

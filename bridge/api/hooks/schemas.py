"""Schemas of REST hook subscriptions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.api import common
from bridge.events import EVENTS

HOOK_STATES = ("active", "disabled")


class HookCreateSchema(Schema):
    """A subscription: where to POST which events."""

    target_url = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "http(s) URL on a public address; each delivery is a signed JSON POST of the Event",
        "example": "https://hooks.zapier.com/hooks/standard/1234/abcd/"})
    event = fields.String(required=True, validate=validate.OneOf(EVENTS), metadata={"example": "invoice.paid"})
    connection_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=40),
                                  metadata={"description": "only this connection's events (default: all)"})


class HookSchema(Schema):
    """A REST hook subscription and how its deliveries go (its secret is shown only on creation)."""

    id = fields.String(required=True)
    event = fields.String(required=True, metadata={"enum": list(EVENTS)})
    target_url = fields.String(required=True)
    connection_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": list(HOOK_STATES)})
    disabled_reason = fields.String(required=True, allow_none=True,
                                    metadata={"description": "why deliveries stopped (status disabled)"})
    created_at = fields.DateTime(required=True)
    last_delivery_at = fields.DateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True,
                               metadata={"description": "the last failed attempt (cleared by a delivery)"})
    failures = fields.Integer(required=True, metadata={"description": "failed attempts since the last delivery"})
    failing_since = fields.DateTime(required=True, allow_none=True)
    deliveries_given_up = fields.Integer(required=True,
                                         metadata={"description": "deliveries given up after a day of retries"})


class NewHookSchema(HookSchema):
    """A new subscription, with its signing secret shown this once."""

    secret = fields.String(required=True, metadata={
        "description": "HMAC-SHA256 key of the Bridge-Signature header: t=<unix seconds>,v1=<hex of "
                       "HMAC(secret, \"<t>.<raw body>\")>", "example": "whsec_3q2-7wE..."})


class HookListSchema(Schema):
    """A page of the account's hooks, newest first."""

    data = fields.List(fields.Nested(HookSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class HookFilterSchema(common.PageArgsSchema):
    """Filters of the hook list."""

    event = fields.String(validate=validate.OneOf(EVENTS))
    connection_id = fields.String()
    status = fields.String(validate=validate.OneOf(HOOK_STATES))

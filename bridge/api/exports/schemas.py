"""Schemas of exports."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.sync.exports import FORMATS, STATUSES


class ExportArgsSchema(Schema):
    """Which invoices to export, and how."""

    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))
    connection_id = fields.String(validate=validate.Length(min=1, max=40))
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "sync status of the latest operation"})
    since = fields.String(validate=validate.Length(min=10, max=40), metadata={
        "description": "updated at or after: ISO date (midnight UTC) or date-time"})
    until = fields.String(validate=validate.Length(min=10, max=40), metadata={
        "description": "updated before: ISO date (the whole day included) or date-time"})

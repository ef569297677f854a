"""Schemas of the csv ledger's import files."""

from __future__ import annotations

from marshmallow import Schema, fields


class ImportFileSchema(Schema):
    """One import file."""

    name = fields.String(required=True, metadata={"example": "invoices-2026-11-21.csv"})
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    rows = fields.Integer(required=True, metadata={"description": "data rows (one per document line), header excluded"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ImportFileListSchema(Schema):
    """A connection's import files, newest first."""

    data = fields.List(fields.Nested(ImportFileSchema), required=True)
    next = fields.String(allow_none=True, required=True)

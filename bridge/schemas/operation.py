"""The Operation object: the 202 body of every write and each sync log entry."""

from __future__ import annotations

from marshmallow import Schema, fields

OPERATION_STATES = ("queued", "running", "retrying", "succeeded", "failed", "dead")
FINISHED = ("succeeded", "failed", "dead")
UNFINISHED = ("queued", "running", "retrying")
ERROR_CLASSES = ("validation", "mapping", "ledger_rejected", "rate_limit", "auth", "ledger_unavailable",
                 "uncertain", "internal")
"""What went wrong (bridge.sync.error_classes): validation: our own checks refused the data; mapping: it
could not be put in the ledger's terms (nothing sent); ledger_rejected: the ledger answered 4xx;
rate_limit: a limit of the ledger held it; auth: the connection needs reauthorization;
ledger_unavailable: 5xx or unreachable; uncertain: the write may have been applied; internal: our bug."""


class FieldErrorSchema(Schema):
    """One problem with one field."""

    field = fields.String(required=True, metadata={"example": "lines[2].unit_price"})
    message = fields.String(required=True)
    code = fields.String(allow_none=True)


class RelatedSchema(Schema):
    """An operation queued by the same request (an invoice's payments)."""

    id = fields.String(required=True)
    object = fields.String(required=True)
    external_id = fields.String(required=True)


class OperationSchema(Schema):
    """A write to a ledger and where it stands."""

    id = fields.String(required=True, metadata={"example": "op_3f9c2a7d1b4e4a0c9d8e7f60"})
    connection_id = fields.String(required=True)
    object = fields.String(required=True, metadata={"enum": ["invoice", "payment", "credit_note", "customer"]})
    external_id = fields.String(required=True)
    action = fields.String(required=True, metadata={"enum": ["upsert", "void", "note"]})
    status = fields.String(required=True, metadata={"enum": list(OPERATION_STATES)})
    attempts = fields.Integer(required=True)
    ledger_id = fields.String(allow_none=True)
    warnings = fields.List(fields.String(), required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema), required=True)
    error_class = fields.String(allow_none=True, metadata={
        "enum": list(ERROR_CLASSES), "description": "What kind of error the last attempt met; null after a success."})
    waiting_for = fields.String(allow_none=True)
    related = fields.List(fields.Nested(RelatedSchema), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)


class ExchangeSchema(Schema):
    """One redacted request to the ledger and its response."""

    request = fields.Dict(required=True)
    response = fields.Dict(allow_none=True)


class AttemptSchema(Schema):
    """One try of an operation."""

    number = fields.Integer(required=True)
    outcome = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    exchanges = fields.List(fields.Nested(ExchangeSchema), required=True)


class OperationDetailSchema(OperationSchema):
    """An operation with each attempt's redacted exchanges."""

    history = fields.List(fields.Nested(AttemptSchema), required=True)

"""Schemas of reconciliation: drift items, runs and schedules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bridge.api import common
from bridge.sync.reconcile import KINDS

ITEM_STATES = ["open", "resolved", "could_not_check"]
RUN_STATES = ["queued", "running", "in_sync", "drift", "could_not_check", "failed"]


class DriftItemSchema(Schema):
    """One difference between what we wrote and what the ledger holds."""

    id = fields.String(required=True, metadata={"example": "drift_5b1f0e9a2c3d4e5f60718293"})
    run_id = fields.String(required=True, metadata={"description": "the run that found it"})
    last_run_id = fields.String(required=True, metadata={"description": "the latest run that still found it"})
    connection_id = fields.String(required=True)
    object = fields.String(required=True, metadata={"enum": ["invoice", "payment", "credit_note"]})
    external_id = fields.String(allow_none=True, required=True,
                                metadata={"description": "ours; null for a payment recorded in the ledger"})
    invoice_external_id = fields.String(allow_none=True, required=True,
                                        metadata={"description": "for a payment: the invoice it applies to"})
    ledger_id = fields.String(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    ours = fields.String(allow_none=True, required=True,
                         metadata={"description": "what we wrote: a decimal amount, or a status"})
    theirs = fields.String(allow_none=True, required=True,
                           metadata={"description": "what the ledger holds: a decimal amount, a status, or null"})
    detail = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"enum": ITEM_STATES})
    resolution = fields.String(allow_none=True, required=True,
                               metadata={"enum": ["resynced", "acknowledged", "in_sync", None]})
    operation_id = fields.String(allow_none=True, required=True, metadata={"description": "the resync operation"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class RunSchema(Schema):
    """One reconciliation of a connection."""

    id = fields.String(required=True, metadata={"example": "rec_0a1b2c3d4e5f60718293a4b5"})
    connection_id = fields.String(required=True)
    trigger = fields.String(required=True, metadata={"enum": ["manual", "schedule"]})
    status = fields.String(required=True, metadata={
        "enum": RUN_STATES, "description": "could_not_check when any object could not be read: never in_sync then"})
    checked = fields.Integer(required=True)
    in_sync = fields.Integer(required=True)
    drift = fields.Integer(required=True)
    could_not_check = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    started = fields.DateTime(allow_none=True, required=True)
    finished = fields.DateTime(allow_none=True, required=True)


class DriftListSchema(Schema):
    """Drift items, newest first, with the last run of each connection."""

    data = fields.List(fields.Nested(DriftItemSchema), required=True)
    next = fields.String(allow_none=True, required=True)
    runs = fields.List(fields.Nested(RunSchema), required=True)


class DriftFilterSchema(common.PageArgsSchema):
    """Filters of the drift list."""

    connection_id = fields.String(validate=validate.Length(max=40))
    status = fields.String(validate=validate.OneOf(ITEM_STATES))


class ScheduleSchema(Schema):
    """How often a connection is reconciled."""

    every = fields.String(required=True, metadata={
        "description": 'whole hours or days from 1h to 31d ("6h", "24h", "7d"), or "off"; default "24h"',
        "example": "24h"})


class ScheduleViewSchema(ScheduleSchema):
    """A connection's reconciliation schedule."""

    connection_id = fields.String(required=True)
    next_run_at = fields.DateTime(allow_none=True, required=True,
                                  metadata={"description": "start of the next period (null when off)"})


class ResyncSchema(Schema):
    """Optional changes to the re-sent version."""

    number = fields.String(validate=validate.Length(min=1, max=255), metadata={
        "description": "a new invoice or credit note number (Xero keeps a voided invoice's number)"})

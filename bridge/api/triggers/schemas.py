"""Schemas of the trigger feeds: the Event envelope and the feed's filters."""

from __future__ import annotations

from marshmallow import Schema, fields

from bridge.api import common
from bridge.events import EVENTS


class EventSchema(Schema):
    """Something that happened: the same envelope in trigger feeds and REST hook deliveries."""

    id = fields.String(required=True, metadata={"description": "unique and stable: dedupe on it",
                                                "example": "evt_6f1c2a9e0b3d4c5e6f7a8b9c"})
    event = fields.String(required=True, metadata={"enum": list(EVENTS)})
    occurred_at = fields.DateTime(required=True)
    connection_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True, metadata={
        "description": "the normalized object (invoice, payment, customer, credit note, connection, drift item), "
                       "or the Operation for sync.* events"})


class EventListSchema(Schema):
    """A page of a trigger feed, newest first."""

    data = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class TriggerArgsSchema(common.PageArgsSchema):
    """Filters of a trigger feed."""

    connection_id = fields.String(metadata={"description": "only this connection's events"})

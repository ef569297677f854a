"""Trigger feeds: the account's events of one name, newest first (Zapier and Make polling triggers)."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors, store
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc
from bridge.api.triggers.schemas import EventListSchema, TriggerArgsSchema
from bridge.events import EVENTS, envelope
from bridge.store.models import Event
from bridge.sync.reads import owned_connection

blp = Blueprint("triggers", __name__, url_prefix="/v1/triggers", description="Trigger feeds (polling triggers)")

EVENT_PARAMETER = {"name": "event", "in": "path", "required": True, "description": "the event name",
                   "schema": {"type": "string", "enum": list(EVENTS)}}


@blp.route("/<event>", parameters=[EVENT_PARAMETER])
class TriggerFeed(MethodView):
    """One event's feed."""

    @blp.doc(operationId="listTriggerEvents")
    @blp.arguments(TriggerArgsSchema, location="query")
    @blp.response(200, EventListSchema)
    @errors_doc(blp, 401, 404, 422)
    def get(self, args, event):
        """List events of one kind

        The account's events named `event`, newest first, each with a unique, stable `id` to dedupe on
        (the same event a REST hook delivers). `connection_id` keeps one connection's events.
        """
        account_id = principal().account_id
        if event not in EVENTS:
            raise errors.NotFound(f"No such event {event!r}; events are: {', '.join(EVENTS)}.")
        query = sa.select(Event).where(Event.account_id == account_id, Event.event == event)
        if args.get("connection_id"):
            owned_connection(account_id, args["connection_id"])
            query = query.where(Event.connection_id == args["connection_id"])
        if (after := common.seq_after(args)) is not None:
            query = query.where(Event.seq < after)
        rows = list(store.session().execute(query.order_by(Event.seq.desc()).limit(args["limit"] + 1)).scalars())
        page = common.page(rows, args["limit"], lambda row: row.seq)
        return {"data": [{**envelope(row), "occurred_at": row.occurred_at} for row in page["data"]],
                "next": page["next"]}

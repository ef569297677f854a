"""The sync log: every operation, its attempts and redacted exchanges; retries."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.idempotency import idempotent
from bridge.schemas.operation import ERROR_CLASSES, OPERATION_STATES, OperationDetailSchema, OperationSchema
from bridge.store.models import utcnow
from bridge.sync import operations

blp = Blueprint("syncs", __name__, url_prefix="/v1/syncs", description="The sync log")


class SyncFilterSchema(common.PageArgsSchema):
    """Filters of the sync log."""

    connection_id = fields.String()
    status = fields.String(validate=validate.OneOf(OPERATION_STATES))
    object = fields.String(validate=validate.OneOf(["invoice", "payment", "credit_note", "customer"]))
    action = fields.String(validate=validate.OneOf(["upsert", "void", "note"]))
    external_id = fields.String(validate=validate.Length(max=255))
    error_class = fields.String(validate=validate.OneOf(ERROR_CLASSES))
    since = fields.DateTime()
    until = fields.DateTime()


class SummaryArgsSchema(Schema):
    """Which period and connection the summary covers."""

    period = fields.String(load_default="7d", metadata={"description": "24h, 7d, 30d ... (at most 90d)"})
    connection_id = fields.String()


class FailureSchema(Schema):
    """The oldest failure no later success on the same object resolved."""

    id = fields.String(required=True)
    object = fields.String(required=True)
    external_id = fields.String(required=True)
    action = fields.String(required=True)
    status = fields.String(required=True)
    error_class = fields.String(allow_none=True)
    failed_at = fields.DateTime(required=True)
    age_seconds = fields.Integer(required=True)


class ConnectionSummarySchema(Schema):
    """One connection's operations over the period."""

    connection_id = fields.String(required=True)
    provider = fields.String(required=True)
    connection_status = fields.String(required=True)
    operations = fields.Integer(required=True, metadata={"description": "operations created in the period"})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_error_class = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    oldest_unresolved_failure = fields.Nested(FailureSchema, allow_none=True, required=True)


class SummarySchema(Schema):
    """The sync log summed up per connection."""

    period = fields.String(required=True)
    since = fields.DateTime(required=True)
    until = fields.DateTime(required=True)
    connections = fields.List(fields.Nested(ConnectionSummarySchema), required=True)


class SyncListSchema(Schema):
    """A page of the sync log."""

    data = fields.List(fields.Nested(OperationSchema), required=True)
    next = fields.String(allow_none=True, required=True)


@blp.route("")
class Syncs(MethodView):
    """The sync log."""

    @blp.doc(operationId="listSyncs")
    @blp.arguments(SyncFilterSchema, location="query")
    @blp.response(200, SyncListSchema)
    @errors_doc(blp, 401, 422)
    def get(self, args):
        """List operations

        Newest first; filter by connection, status, object, action, external_id, error class and date
        range (`since` inclusive, `until` exclusive, on the creation time).
        """
        ops = operations.search(principal().account_id, args, args["limit"], common.seq_after(args))
        page = common.page(ops, args["limit"], lambda op: op.seq)
        return {"data": [operations.shaped(op) for op in page["data"]], "next": page["next"]}


@blp.route("/summary")
class SyncSummary(MethodView):
    """The sync log summed up."""

    @blp.doc(operationId="getSyncSummary")
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    @errors_doc(blp, 401, 404, 422)
    def get(self, args):
        """Summarize the sync log

        Per connection: operations created in the period counted by status and by error class, and the
        oldest failed or dead operation that no later success on the same object has resolved (any age).
        """
        period = operations.parse_period(args["period"])
        until = utcnow()
        return {"period": args["period"], "since": until - period, "until": until,
                "connections": operations.summary(principal().account_id, period, args.get("connection_id"), until)}


@blp.route("/<operation_id>")
class SyncById(MethodView):
    """One operation."""

    @blp.doc(operationId="getSync")
    @blp.response(200, OperationDetailSchema)
    @errors_doc(blp, 401, 404)
    def get(self, operation_id):
        """Get an operation with its attempts"""
        return operations.detail(operations.owned(principal().account_id, operation_id))


@blp.route("/<operation_id>/retry")
class SyncRetry(MethodView):
    """Retrying an operation."""

    @idempotent
    @blp.doc(**post_doc("retrySync"))
    @blp.response(202, OperationSchema)
    @errors_doc(blp, 401, 404, 409)
    def post(self, operation_id):
        """Retry a failed or dead operation"""
        op = operations.retry(operations.owned(principal().account_id, operation_id))
        return operations.shaped(op)

"""The sync log: every operation, its attempts and redacted exchanges; retries."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from bridge import errors
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.idempotency import idempotent
from bridge.schemas.operation import OPERATION_STATES, OperationDetailSchema, OperationSchema
from bridge.sync import operations

blp = Blueprint("syncs", __name__, url_prefix="/v1/syncs", description="The sync log")


class SyncFilterSchema(common.PageArgsSchema):
    """Filters of the sync log."""

    connection_id = fields.String()
    status = fields.String(validate=validate.OneOf(OPERATION_STATES))
    object = fields.String(validate=validate.OneOf(["invoice", "payment", "credit_note", "customer"]))
    action = fields.String(validate=validate.OneOf(["upsert", "void"]))
    external_id = fields.String(validate=validate.Length(max=255))
    since = fields.DateTime()
    until = fields.DateTime()


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

        Newest first; filter by connection, status, object, action, external_id and date range.
        """
        after = None
        if args.get("after"):
            position = common.decode_cursor(args["after"])
            if not position.isdigit():
                raise errors.ValidationFailed("Bad cursor.", errors=[{"field": "after", "message": "Not a cursor."}])
            after = int(position)
        ops = operations.search(principal().account_id, args, args["limit"], after)
        page = common.page(ops, args["limit"], lambda op: op.seq)
        return {"data": [operations.shaped(op) for op in page["data"]], "next": page["next"]}


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

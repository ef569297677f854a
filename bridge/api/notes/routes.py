"""Notes on invoices, written in the ledger and kept on our side."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

from bridge import errors
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.idempotency import accepted_response, body_hash, key_from_request, route_scope
from bridge.schemas.operation import OPERATION_STATES, OperationSchema
from bridge.sync import ingest, notes, queue, reads

blp = Blueprint("notes", __name__, url_prefix="/v1/connections", description="Notes on invoices")


class NoteCreateSchema(Schema):
    """A note to add to an invoice."""

    text = fields.String(required=True, validate=validate.Length(1, notes.NOTE_MAX),
                         metadata={"example": "Customer asked for a copy by post."})

    @validates("text")
    def not_blank(self, value, **kwargs):
        """A note of only spaces says nothing."""
        if not value.strip():
            raise ValidationError("The note is blank.")


class NoteSchema(Schema):
    """A note, and where its write to the ledger stands."""

    id = fields.String(required=True)
    external_id = fields.String(required=True)
    text = fields.String(required=True)
    operation_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(OPERATION_STATES)})
    created_at = fields.DateTime(required=True)


class NoteListSchema(Schema):
    """An invoice's notes, oldest first."""

    data = fields.List(fields.Nested(NoteSchema), required=True)
    next = fields.String(allow_none=True, required=True)


@blp.route("/<connection_id>/invoices/<external_id>/notes")
class InvoiceNotes(MethodView):
    """Notes of one invoice."""

    @blp.doc(**post_doc("addInvoiceNote", NoteCreateSchema))
    @blp.response(202, OperationSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422)
    def post(self, connection_id, external_id):
        """Add a note to an invoice

        Written in the ledger (QuickBooks PrivateNote, Xero history, FreshBooks notes) after every
        earlier write of the invoice, and kept here; the answer is the note's operation.
        """
        caller = principal()
        ingest.connection_facts(caller.account_id, connection_id)
        if len(external_id) > 255:
            raise errors.NotFound("No such invoice.")
        text = common.load_body(NoteCreateSchema())["text"]
        key = key_from_request()
        accepted = notes.add(caller.account_id, connection_id, external_id, text, route=route_scope(),
                             idempotency_key=key, body_hash=body_hash() if key else None)
        if not accepted.replayed:
            queue.wake_relay()
        return accepted_response(accepted)

    @blp.doc(operationId="listInvoiceNotes")
    @blp.response(200, NoteListSchema)
    @errors_doc(blp, 401, 404)
    def get(self, connection_id, external_id):
        """List an invoice's notes"""
        reads.owned_connection(principal().account_id, connection_id)
        return {"data": notes.listed(connection_id, external_id), "next": None}

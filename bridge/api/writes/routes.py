"""Writes to a ledger (202 + the operation) and reads of what the ledger holds."""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.idempotency import accepted_response, body_hash, key_from_request, route_scope
from bridge.api.writes.schemas import DryRunSchema, InvoiceListSchema, InvoiceSearchSchema, LedgerInvoiceSchema
from bridge.schemas import CreditNoteSchema, FullCustomerSchema, InvoiceSchema, PaymentSchema, VoidSchema
from bridge.schemas.fast import Fallback, compile_schema
from bridge.schemas.operation import OperationSchema
from bridge.sync import dry_run, ingest, plan, queue, reads

blp = Blueprint("writes", __name__, url_prefix="/v1/connections",
                description="Invoices, payments, credit notes and customers, written to the ledger")

SCHEMAS = {"invoice": InvoiceSchema(), "payment": PaymentSchema(), "credit_note": CreditNoteSchema(),
           "customer": FullCustomerSchema()}
FAST = {kind: compile_schema(schema) for kind, schema in SCHEMAS.items()}
"""Fast loaders for well-formed bodies; anything else goes through marshmallow for its error messages."""


def load(kind: str, raw) -> dict:
    """The validated body: the fast loader when it vouches for it, else marshmallow."""
    try:
        if "\\u0000" not in request.get_data(cache=True).decode("utf-8", "replace"):
            return FAST[kind](raw)
    except Fallback:
        pass
    return common.load_body(SCHEMAS[kind], raw)


DRY_RUN_PARAMETER = {
    "name": "dry_run", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": "true: answer 200 with the exact payload we would send, its warnings and the ledger's known "
                   "rules; nothing is queued or written (no operation, no idempotency record, no ledger write).",
}
DRY_RUN_DOC = "A dry run (`?dry_run=true`): what would be sent; nothing was written"


def dry_run_wanted() -> bool:
    """`?dry_run=true|false` (also 1/0); anything else is a 422 naming it."""
    value = request.args.get("dry_run")
    if value is None:
        return False
    flag = {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    if flag is None:
        raise errors.ValidationFailed("Bad query.", errors=[{"field": "dry_run", "message": "true or false."}])
    return flag


def _dry_answer(text: str) -> Response:
    """The 200 of a dry run."""
    return Response(text, status=200, mimetype="application/json")


def submit(connection_id: str, kind: str) -> Response:
    """Validate, queue the operations in the outbox, answer 202 with the first one (or preview: dry run)."""
    caller = principal()
    facts = ingest.connection_facts(caller.account_id, connection_id)
    raw = common.parse_json()
    data = load(kind, raw)
    ops = plan.PLANS[kind](facts.provider, data, raw)
    if request.args and dry_run_wanted():
        return _dry_answer(dry_run.dry_run(current_app._get_current_object(), caller.account_id, connection_id,
                                           kind, data, ops[0].warnings))
    return _accept(caller.account_id, connection_id, ops)


def _write_doc(operation_id: str, schema=None) -> dict:
    """The doc of a write route: body, Idempotency-Key and dry_run."""
    doc = post_doc(operation_id, schema)
    doc["parameters"] = [*doc["parameters"], DRY_RUN_PARAMETER]
    return doc


def _accept(account_id: str, connection_id: str, ops: list) -> Response:
    """Commit the operations with the Idempotency-Key and wake the relay."""
    key = key_from_request()
    accepted = ingest.accept(account_id, connection_id, ops, route=route_scope(), idempotency_key=key,
                             body_hash=body_hash() if key else None)
    if not accepted.replayed:
        queue.wake_relay()
    return accepted_response(accepted)


@blp.route("/<connection_id>/invoices")
class Invoices(MethodView):
    """Invoices of one connection."""

    @blp.doc(**_write_doc("upsertInvoice", InvoiceSchema))
    @blp.response(202, OperationSchema)
    @blp.alt_response(200, schema=DryRunSchema, description=DRY_RUN_DOC)
    @errors_doc(blp, 400, 401, 404, 409, 413, 422, 503)
    def post(self, connection_id):
        """Create or update an invoice (with its payments)

        Upserts by `external_id`. The invoice and each of its `payments[]` become operations,
        applied in order; the answer is the invoice's operation, its payments in `related`.
        """
        return submit(connection_id, "invoice")

    @blp.doc(operationId="findInvoices")
    @blp.arguments(InvoiceSearchSchema, location="query")
    @blp.response(200, InvoiceListSchema)
    @errors_doc(blp, 401, 404, 422, 503)
    def get(self, args, connection_id):
        """Find invoices in the ledger

        Searches the ledger itself (by number, customer or status), normalized, newest first.
        """
        connection = reads.owned_connection(principal().account_id, connection_id)
        return {"data": reads.find_invoices(current_app._get_current_object(), connection, args), "next": None}


@blp.route("/<connection_id>/invoices/<external_id>")
class InvoiceByExternalId(MethodView):
    """One invoice, as the ledger holds it now."""

    @blp.doc(operationId="getInvoice")
    @blp.response(200, LedgerInvoiceSchema)
    @errors_doc(blp, 401, 404, 503)
    def get(self, connection_id, external_id):
        """Read an invoice back from the ledger"""
        connection = reads.owned_connection(principal().account_id, connection_id)
        return reads.get_invoice(current_app._get_current_object(), connection, external_id)


@blp.route("/<connection_id>/invoices/<external_id>/void")
class InvoiceVoid(MethodView):
    """Voiding an invoice."""

    @blp.doc(**_write_doc("voidInvoice"))
    @blp.doc(requestBody={"required": False, "content": {"application/json": {"schema": VoidSchema}}})
    @blp.response(202, OperationSchema)
    @blp.alt_response(200, schema=DryRunSchema, description=DRY_RUN_DOC)
    @errors_doc(blp, 400, 401, 404, 409, 422, 503)
    def post(self, connection_id, external_id):
        """Void an invoice

        Queued after every earlier write of the same invoice.
        """
        caller = principal()
        facts = ingest.connection_facts(caller.account_id, connection_id)
        raw = common.load_body(VoidSchema()) if request.get_data(cache=True) else {}
        if len(external_id) > 255:
            raise errors.NotFound("No such invoice.")
        if request.args and dry_run_wanted():
            return _dry_answer(dry_run.dry_run_void(current_app._get_current_object(), caller.account_id,
                                                    connection_id, external_id))
        return _accept(caller.account_id, connection_id, plan.plan_void(facts.provider, external_id, raw))


def _write_route(path: str, kind: str, schema, operation_id: str, summary: str):
    """A POST route that queues one kind of object."""

    def post(self, connection_id):
        return submit(connection_id, kind)

    post.__doc__ = summary
    post = blp.doc(**_write_doc(operation_id, schema))(blp.response(202, OperationSchema)(
        blp.alt_response(200, schema=DryRunSchema, description=DRY_RUN_DOC)(
            errors_doc(blp, 400, 401, 404, 409, 413, 422, 503)(post))))
    view = type(f"{kind.title().replace('_', '')}Writes", (MethodView,), {"post": post, "__doc__": summary})
    blp.route(path)(view)


_write_route("/<connection_id>/payments", "payment", PaymentSchema,
             "recordPayment", "Record a payment against an invoice")
_write_route("/<connection_id>/credit-notes", "credit_note", CreditNoteSchema,
             "upsertCreditNote", "Create a credit note (and allocate it to invoices)")
_write_route("/<connection_id>/customers", "customer", FullCustomerSchema,
             "upsertCustomer", "Create or update a customer")

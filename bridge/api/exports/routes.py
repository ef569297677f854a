"""Exports of the account's invoices with their sync status and ledger ids."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import store
from bridge.api.auth import principal
from bridge.api.docs import errors_doc
from bridge.api.exports.schemas import ExportArgsSchema
from bridge.sync import exports
from bridge.sync.reads import owned_connection

blp = Blueprint("exports", __name__, url_prefix="/v1/exports", description="Exports of invoices and their sync status")


@blp.route("/invoices")
class InvoiceExport(MethodView):
    """The invoice export."""

    @blp.doc(operationId="exportInvoices", responses={"200": {"description": "The export file", "content": {
        exports.MIME["csv"]: {"schema": {"type": "string"}},
        exports.MIME["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
    @blp.arguments(ExportArgsSchema, location="query")
    @errors_doc(blp, 401, 404, 422)
    def get(self, args):
        """Export invoices with their sync status

        One row per invoice and connection, most recently updated first: the invoice as last sent,
        the latest operation's status, action and error, the ledger's id and total. Amounts are exact
        decimal text in CSV; numbers in XLSX when a spreadsheet number holds them exactly.
        """
        account_id = principal().account_id
        since = exports.parse_moment(args["since"], "since") if args.get("since") else None
        until = exports.parse_moment(args["until"], "until", end=True) if args.get("until") else None
        if args.get("connection_id"):
            owned_connection(account_id, args["connection_id"])
        rows = exports.invoice_rows(store.session(), exports.Filters(
            account_id=account_id, connection_id=args.get("connection_id"), status=args.get("status"),
            since=since, until=until))
        fmt = args["format"]
        body = exports.csv_chunks(rows) if fmt == "csv" else exports.xlsx_bytes(rows)
        response = Response(body, mimetype=exports.MIME[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{exports.file_name(fmt)}"'
        return response

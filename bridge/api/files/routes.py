"""Files: the import files a `csv` connection writes (listed, downloaded), and invoice PDFs from the ledger."""

from __future__ import annotations

import re

from flask import Response, current_app, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors, store
from bridge.api.auth import principal
from bridge.api.docs import errors_doc
from bridge.api.files.schemas import ImportFileListSchema
from bridge.store.models import Connection
from bridge.sync import csv_files
from bridge.sync import reads
from bridge.sync.reads import owned_connection

blp = Blueprint("files", __name__, url_prefix="/v1/connections",
                description="Files: invoice PDFs from the ledger, import files of the csv ledger")


def file_connection(connection_id: str) -> Connection:
    """The caller's connection, if it writes files; else a 404."""
    connection = owned_connection(principal().account_id, connection_id)
    if connection.provider != "csv":
        raise errors.NotFound("This connection writes to its ledger's API: it has no import files.")
    return connection


@blp.route("/<connection_id>/files")
class Files(MethodView):
    """A csv connection's import files."""

    @blp.doc(operationId="listImportFiles")
    @blp.response(200, ImportFileListSchema)
    @errors_doc(blp, 401, 404)
    def get(self, connection_id):
        """List import files

        One file per kind (`invoices`, `credit-notes`), tax treatment and UTC day, newest first;
        import each into the accounting software as it is.
        """
        connection = file_connection(connection_id)
        return {"data": csv_files.list_files(store.session(), connection), "next": None}


@blp.route("/<connection_id>/files/<name>")
class FileByName(MethodView):
    """One import file."""

    @blp.doc(operationId="downloadImportFile", responses={"200": {
        "description": "The file", "content": {"text/csv": {"schema": {"type": "string"}}}}})
    @errors_doc(blp, 401, 404)
    def get(self, connection_id, name):
        """Download an import file"""
        connection = file_connection(connection_id)
        chunks = csv_files.file_chunks(store.session(), connection, name)
        if chunks is None:
            raise errors.NotFound("No such file.")
        response = Response(stream_with_context(chunks), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@blp.route("/<connection_id>/invoices/<external_id>/pdf")
class InvoicePdf(MethodView):
    """An invoice's PDF."""

    @blp.doc(operationId="getInvoicePdf", responses={"200": {
        "description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
    @errors_doc(blp, 401, 404, 409, 503)
    def get(self, connection_id, external_id):
        """Get an invoice's PDF from the ledger

        The ledger's own rendering (QuickBooks, Xero, FreshBooks); the csv ledger has none (404).
        """
        connection = owned_connection(principal().account_id, connection_id)
        pdf = reads.invoice_pdf(current_app._get_current_object(), connection, external_id)
        response = Response(pdf, mimetype="application/pdf")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", external_id)[:100]
        response.headers["Content-Disposition"] = f'inline; filename="invoice-{safe}.pdf"'
        return response

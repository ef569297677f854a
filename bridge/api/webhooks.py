"""`POST /webhooks/<provider>`: inbound ledger webhooks, answered as each ledger requires.

A plain Flask blueprint, outside /v1 and its API keys: the signature is the authentication. Every
answer has an empty body (Xero requires it; QuickBooks and FreshBooks only read the status) and no
cookies; errors from the one error tree become bare statuses here instead of problem documents.
"""

from __future__ import annotations

import logging

import psycopg
from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from bridge import errors
from bridge.events.inbound import freshbooks, quickbooks, xero

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

RECEIVERS = {"quickbooks": quickbooks.receive, "xero": xero.receive, "freshbooks": freshbooks.receive}
"""provider -> receive(app, raw body, headers): raises a BridgeError, or returns for a 200."""


def empty(status: int) -> Response:
    """A bare answer."""
    return Response(b"", status=status, mimetype="text/plain")


@bp.post("/webhooks/<provider>")
def receive(provider: str) -> Response:
    """Verify the ledger's signature, record the changed ids, enqueue their job, answer 200."""
    receiver = RECEIVERS.get(provider)
    if receiver is None:
        return empty(404)
    receiver(current_app._get_current_object(), request.get_data(cache=False), request.headers)
    return empty(200)


@bp.errorhandler(errors.BridgeError)
def bridge_error(error: errors.BridgeError) -> Response:
    """A refused delivery: the status alone (401 for a bad signature)."""
    if error.status >= 500:
        log.warning("inbound webhook failed: %s", error.detail)
    return empty(error.status)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """413, 405...: the status alone."""
    return empty(error.code or 500)


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(psycopg.OperationalError)
def database_down(error: Exception) -> Response:
    """Nothing was recorded: a 503 makes the ledger deliver again."""
    log.error("inbound webhook not recorded, database unavailable: %s", error.__class__.__name__)
    return empty(503)


def init_app(app) -> None:
    """Register the route."""
    app.register_blueprint(bp)

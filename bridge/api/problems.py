"""RFC 9457 problem documents: the one place where errors become HTTP responses."""

from __future__ import annotations

import logging

import orjson
import psycopg
from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from bridge import errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

HTTP_CLASSES = {
    400: errors.BadRequest, 401: errors.Unauthorized, 404: errors.NotFound, 409: errors.Conflict,
    413: errors.PayloadTooLarge, 422: errors.ValidationFailed, 429: errors.TooManyRequests,
    503: errors.DependencyDown,
}


class FieldProblemSchema(Schema):
    """One field that failed, by its path in the body."""

    field = fields.String(required=True, metadata={"example": "lines[2].unit_price"})
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True, metadata={"example": errors.PROBLEM_BASE + "validation"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldProblemSchema))


def field_path(parts: list) -> str:
    """`["lines", 2, "unit_price"]` -> `lines[2].unit_price`."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def flatten(messages, prefix: list | None = None) -> list[dict]:
    """marshmallow's nested messages as a flat list of {field, message}."""
    prefix = prefix or []
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            key = int(key) if isinstance(key, str) and key.isdigit() else key
            out.extend(flatten(value, prefix + ([] if key == "_schema" else [key])))
        return out
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return [{"field": field_path(prefix), "message": message} for message in messages]
    if isinstance(messages, (list, tuple)):
        return [item for message in messages for item in flatten(message, prefix)]
    return [{"field": field_path(prefix), "message": str(messages)}]


def problem(error: errors.BridgeError) -> Response:
    """The problem document for a BridgeError."""
    body = {"type": error.type, "title": error.title, "status": error.status, "detail": error.detail}
    if error.errors:
        body["errors"] = error.errors
    response = Response(orjson.dumps(body), status=error.status, mimetype=PROBLEM_JSON)
    for name, value in error.headers.items():
        response.headers[name] = str(value)
    return response


def from_http_exception(exc: HTTPException) -> Response:
    """A werkzeug or flask-smorest error as a problem document."""
    status = exc.code or 500
    cls = HTTP_CLASSES.get(status)
    data = getattr(exc, "data", None) or {}
    detail = data.get("message") or exc.description
    field_errors = []
    for location, messages in (data.get("messages") or {}).items():
        # webargs nests by location; body and query fields are named by their own path.
        field_errors += flatten(messages, [] if location in ("json", "query") else [location])
    if cls is None:
        error = errors.BridgeError(detail)
        error.status, error.slug, error.title = status, f"http-{status}", exc.name
    else:
        error = cls(detail, errors=field_errors)
    if status == 413:
        error.detail = "The body is over the 1 MB limit."
    if status == 405:
        error.headers["Allow"] = ", ".join(exc.valid_methods or [])
    return problem(error)


def from_unexpected(exc: Exception) -> Response:
    """Anything unplanned: logged, answered as a 500 problem without internals."""
    if isinstance(exc, HTTPException):
        return from_http_exception(exc)
    log.exception("unhandled error")
    return problem(errors.BridgeError("An unexpected error occurred; it has been logged."))


def from_database_down(exc: Exception) -> Response:
    """The database did not answer: nothing was accepted, try again shortly."""
    log.error("database unavailable: %s", exc.__class__.__name__)
    return problem(errors.DependencyDown("The database is unavailable; nothing was accepted. Try again shortly.",
                                         headers={"Retry-After": "5"}))


def init_app(app) -> None:
    """Route every error through the problem document."""
    app.register_error_handler(OperationalError, from_database_down)
    app.register_error_handler(InterfaceError, from_database_down)
    app.register_error_handler(psycopg.OperationalError, from_database_down)
    app.register_error_handler(errors.BridgeError, problem)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(Exception, from_unexpected)

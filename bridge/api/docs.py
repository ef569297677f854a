"""OpenAPI fragments shared by routes."""

from __future__ import annotations

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Same key and body within 24 hours replays the first response; another body gets 409.",
}

ERROR_STATUSES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 409: "CONFLICT",
    413: "REQUEST_ENTITY_TOO_LARGE", 422: "UNPROCESSABLE_ENTITY", 503: "SERVICE_UNAVAILABLE",
}


def json_body(schema) -> dict:
    """A required JSON request body described by `schema`."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def post_doc(operation_id: str, schema=None, *, idempotent: bool = True) -> dict:
    """The doc of a POST: operationId, optional body and the Idempotency-Key header."""
    doc: dict = {"operationId": operation_id}
    if schema is not None:
        doc["requestBody"] = json_body(schema)
    if idempotent:
        doc["parameters"] = [IDEMPOTENCY_PARAMETER]
    return doc


def errors_doc(blp, *statuses: int):
    """Document the problem responses a route can give."""
    def decorate(func):
        for status in statuses:
            func = blp.alt_response(status, response=ERROR_STATUSES[status])(func)
        return func
    return decorate

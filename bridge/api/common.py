"""Helpers shared by the resources: JSON bodies, pagination, ownership."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from bridge import errors
from bridge.api.problems import flatten

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def _constant(name: str) -> Decimal:
    """NaN and Infinity literals reach the field, which names itself in the error."""
    return Decimal(name.replace("Infinity", "Inf"))


def parse_json() -> object:
    """The request body as JSON (floats as Decimal), or a 400."""
    if not request.is_json:
        raise errors.BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw or b"null", parse_float=Decimal, parse_constant=_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadRequest(f"The body is not valid JSON: {exc}.") from None


def nul_fields(value, path: str = "") -> list[dict]:
    """Field errors for strings holding NUL characters (no database stores them)."""
    if isinstance(value, str):
        return [{"field": path or "body", "message": "NUL characters are not allowed."}] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            found += [{"field": child, "message": "NUL characters are not allowed."}] if "\x00" in str(key) else []
            found += nul_fields(item, child)
        return found
    if isinstance(value, list):
        return [error for index, item in enumerate(value) for error in nul_fields(item, f"{path}[{index}]")]
    return []


def reject_nul_in_url() -> None:
    """before_request: a NUL character in the path or query is a 400, not a database error."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise errors.BadRequest("NUL characters are not allowed in the URL.")


def load_body(schema: Schema, data: object = None) -> dict:
    """The body (or already parsed `data`) validated by `schema`, or a 400/422 naming each field."""
    data = parse_json() if data is None else data
    if not isinstance(data, dict):
        raise errors.ValidationFailed("The body must be a JSON object.",
                                      errors=[{"field": "body", "message": "Must be a JSON object."}])
    if "\\u0000" in request.get_data(cache=True).decode("utf-8", "replace") and (found := nul_fields(data)):
        raise errors.ValidationFailed("The body failed validation.", errors=found)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise errors.ValidationFailed("The body failed validation.", errors=flatten(exc.messages)) from None


def encode_cursor(seq: int | str) -> str:
    """An opaque cursor for `after=`."""
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The position behind a cursor, or a 422 naming `after`."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise errors.ValidationFailed("Bad cursor.", errors=[{"field": "after", "message": "Not a cursor."}]) from None


def seq_after(args: dict) -> int | None:
    """The sequence number behind `?after=` (lists ordered by seq), None without one, or a 422 naming `after`."""
    if not args.get("after"):
        return None
    position = decode_cursor(args["after"])
    if not position.isdigit():
        raise errors.ValidationFailed("Bad cursor.", errors=[{"field": "after", "message": "Not a cursor."}])
    return int(position)


class PageArgsSchema(Schema):
    """`?limit=` (1-200) and `?after=<cursor>`."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    after = fields.String(load_default=None)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A `{data: [...], next}` schema around `item_schema`."""
    return Schema.from_dict({
        "data": fields.List(fields.Nested(item_schema), required=True),
        "next": fields.String(allow_none=True, required=True),
    }, name=name)


def page(items: list, limit: int, position) -> dict:
    """The list envelope: newest first, `next` set when more may follow."""
    more = len(items) > limit
    items = items[:limit]
    return {"data": items, "next": encode_cursor(position(items[-1])) if more and items else None}

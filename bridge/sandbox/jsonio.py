"""JSON in and out with exact money: numbers parse to Decimal and Decimals print as number literals."""

from __future__ import annotations

import json
from decimal import Decimal
from json.encoder import encode_basestring

from flask import Response

JSON_MIMETYPE = "application/json;charset=UTF-8"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def loads(text: str | bytes):
    """Parse JSON, every non-integer number as Decimal; NaN and Infinity are refused."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def decimal_literal(value: Decimal) -> str:
    """A Decimal as a JSON number literal, never in exponent form."""
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as JSON")
    text = format(value, "f")
    return "0" if text in ("-0", "-0.0") else text


def dumps(value) -> str:
    """Serialize to JSON text; Decimal becomes a bare number (not a string, not a float)."""
    out: list[str] = []
    _write(value, out.append)
    return "".join(out)


def _write(value, out) -> None:
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(encode_basestring(value))
    elif isinstance(value, Decimal):
        out(decimal_literal(value))
    elif isinstance(value, int):
        out(str(int(value)))
    elif isinstance(value, float):
        # Only settings (time_scale, error_rate) are floats; money never is.
        out(json.dumps(value))
    elif isinstance(value, dict):
        out("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out(",")
            out(encode_basestring(str(key)))
            out(":")
            _write(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _write(item, out)
        out("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    """A Flask response holding `payload` as exact JSON."""
    return Response(dumps(payload), status=status, headers=headers or {},
                    content_type=JSON_MIMETYPE)

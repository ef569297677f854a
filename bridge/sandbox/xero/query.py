"""The read parameters of Xero's collections: `where`, `order`, `page`/`pageSize`, comma lists.

`where` takes the subset of Xero's .NET-style filter grammar a bridge needs (spec examples:
`Status=="AUTHORISED" AND Type=="ACCREC"`, `Contact.ContactID==guid("...")`):
`Field OP value` with OP one of == != > >= < <=, values "text", guid("..."), DateTime(y,m,d[,h,m,s]),
numbers, true, false, null; `Field.Contains("x")`, `.StartsWith("x")`, `.EndsWith("x")`; clauses joined
by AND (or &&), with parentheses. Anything else (OR, unknown fields) is a 400 QueryParseException saying
what the sandbox supports. Text compares without regard to case, as Xero's filters do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Callable

from .errors import query_parse
from .wire import to_decimal

PAGE_SIZE = 100  # "Up to 100 invoices will be returned in a single API call" (spec `page` parameter)
MAX_PAGE_SIZE = 1000  # [P] pageSize goes up to 1000 (facts §2.2: CData/odatalink)
OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
METHODS = ("Contains", "StartsWith", "EndsWith")
TOKEN_RE = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>==|!=|>=|<=|&&|\|\||[<>(),])'
                      r'|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))')


@dataclass(frozen=True)
class Field:
    """A filterable, sortable field: its type and how to read it from a stored record."""

    kind: str  # text | guid | date | datetime | number | bool
    read: Callable


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if not match or match.end() == position:
            raise query_parse(f"where: cannot read {text[position:position + 20]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens; produces a predicate on (tenant, record)."""

    def __init__(self, text: str, fields: dict, collection: str):
        self.tokens = _tokens(text)
        self.index = 0
        self.fields = fields
        self.collection = collection

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value and token[1] != value):
            wanted = value or kind or "more"
            raise query_parse(f"where: expected {wanted} but found {token[1] or 'the end'}")
        self.index += 1
        return token

    def parse(self):
        predicate = self.expression()
        if self.index != len(self.tokens):
            raise query_parse(f"where: unexpected {self.peek()[1]!r}")
        return predicate

    def _is_and(self, token) -> bool:
        return token == ("op", "&&") or (token[0] == "name" and token[1].upper() == "AND")

    def _is_or(self, token) -> bool:
        return token == ("op", "||") or (token[0] == "name" and token[1].upper() == "OR")

    def expression(self):
        parts = [self.term()]
        while True:
            token = self.peek()
            if self._is_and(token):
                self.index += 1
                parts.append(self.term())
            elif self._is_or(token):
                raise query_parse("where: OR is not supported by the sandbox; use AND, or the Statuses, IDs, "
                                  "InvoiceNumbers and ContactIDs parameters")
            else:
                return lambda tenant, record: all(part(tenant, record) for part in parts)

    def term(self):
        if self.peek() == ("op", "("):
            self.index += 1
            inner = self.expression()
            self.take("op", ")")
            return inner
        kind, name = self.take("name")
        method = None
        head, _, last = name.rpartition(".")
        if head and last in METHODS and self.peek() == ("op", "("):
            name, method = head, last
        field = self.fields.get(name)
        if field is None:
            raise query_parse(f"where: the sandbox cannot filter {self.collection} on {name!r}; supported fields: "
                              f"{', '.join(sorted(self.fields))}")
        if method is not None:
            self.take("op", "(")
            _, literal = self.take("string")
            self.take("op", ")")
            needle = _unquote(literal).lower()
            test = {"Contains": lambda text: needle in text, "StartsWith": lambda text: text.startswith(needle),
                    "EndsWith": lambda text: text.endswith(needle)}[method]
            return lambda tenant, record: test(str(field.read(tenant, record) or "").lower())
        op_kind, op = self.take("op")
        if op not in OPERATORS:
            raise query_parse(f"where: {op!r} is not a comparison operator ({' '.join(OPERATORS)})")
        value = self.value()
        return _comparison(field, name, op, value)

    def value(self):
        kind, text = self.take()
        if kind == "string":
            return ("text", _unquote(text))
        if kind == "number":
            return ("number", Decimal(text))
        if kind == "name":
            lowered = text.lower()
            if lowered in ("true", "false"):
                return ("bool", lowered == "true")
            if lowered == "null":
                return ("null", None)
            if lowered == "guid":
                self.take("op", "(")
                _, literal = self.take("string")
                self.take("op", ")")
                return ("guid", _unquote(literal))
            if lowered == "datetime":
                self.take("op", "(")
                numbers = [int(self.take("number")[1])]
                while self.peek() == ("op", ","):
                    self.index += 1
                    numbers.append(int(self.take("number")[1]))
                self.take("op", ")")
                if len(numbers) not in (3, 6):
                    raise query_parse("where: DateTime takes (year, month, day) or (year, month, day, h, m, s)")
                try:
                    return ("datetime", datetime(*numbers, tzinfo=timezone.utc))
                except ValueError as error:
                    raise query_parse(f"where: {error}") from None
        raise query_parse(f"where: {text!r} is not a value the sandbox understands")


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _coerce(field: Field, name: str, value: tuple):
    """The literal as the field's type, or a QueryParseException."""
    kind, literal = value
    if kind == "null":
        return None
    try:
        if field.kind in ("text", "guid"):
            if kind not in ("text", "guid"):
                raise ValueError
            return literal.lower()
        if field.kind == "number":
            return to_decimal(literal)
        if field.kind == "bool":
            if kind != "bool":
                raise ValueError
            return literal
        if field.kind == "date":
            if kind == "datetime":
                return literal.date().isoformat()
            return date.fromisoformat(literal[:10]).isoformat()
        if field.kind == "datetime":
            if kind == "datetime":
                return literal.timestamp()
            return datetime.fromisoformat(literal.replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()
    except (ValueError, TypeError, AttributeError):
        pass
    raise query_parse(f"where: {name} cannot be compared with {literal!r}")


def _comparison(field: Field, name: str, op: str, value: tuple):
    wanted = _coerce(field, name, value)

    def test(tenant, record) -> bool:
        actual = field.read(tenant, record)
        if isinstance(actual, str) and field.kind in ("text", "guid"):
            actual = actual.lower()
        if wanted is None:
            empty = actual in (None, "")
            return empty if op == "==" else (not empty if op == "!=" else False)
        if actual is None:
            return op == "!="
        if op == "==":
            return actual == wanted
        if op == "!=":
            return actual != wanted
        try:
            return {">": actual > wanted, ">=": actual >= wanted, "<": actual < wanted, "<=": actual <= wanted}[op]
        except TypeError:
            return False

    return test


def where(text: str | None, fields: dict, collection: str):
    """A predicate for the `where` parameter (None when absent)."""
    if text is None or not text.strip():
        return None
    return _Parser(text, fields, collection).parse()


def order(records: list, text: str | None, fields: dict, tenant, collection: str) -> list:
    """Sort for the `order` parameter: `Field [ASC|DESC]`, comma-separated."""
    if text is None or not text.strip():
        return records
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise query_parse(f"order: cannot read {part.strip()!r}; use 'Field ASC' or 'Field DESC'")
        field = fields.get(words[0])
        if field is None:
            raise query_parse(f"order: the sandbox cannot order {collection} by {words[0]!r}; supported fields: "
                              f"{', '.join(sorted(fields))}")
        keys.append((field, len(words) == 2 and words[1].upper() == "DESC"))
    result = list(records)
    for field, descending in reversed(keys):
        present = [r for r in result if field.read(tenant, r) is not None]
        missing = [r for r in result if field.read(tenant, r) is None]

        def sort_key(record, field=field):
            value = field.read(tenant, record)
            return value.lower() if isinstance(value, str) else value

        result = sorted(present, key=sort_key, reverse=descending) + missing
    return result


def comma_list(value: str | None) -> list[str] | None:
    """IDs=a,b / InvoiceNumbers="INV-1","INV-2" as a list (quotes and spaces dropped)."""
    if value is None or not value.strip():
        return None
    return [part.strip().strip('"').strip() for part in value.split(",") if part.strip().strip('"').strip()]


def positive_int(value: str | None, name: str, maximum: int | None = None) -> int | None:
    """page / pageSize / unitdp as an integer >= 1."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise query_parse(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        number = 1  # page=0 reads as the first page
    return min(number, maximum) if maximum else number


def page(records: list, page_number: int, page_size: int) -> tuple[list, dict]:
    """One page and the spec's `pagination` object."""
    start = (page_number - 1) * page_size
    pagination = {"page": page_number, "pageSize": page_size,
                  "pageCount": math.ceil(len(records) / page_size) if records else 0, "itemCount": len(records)}
    return records[start:start + page_size], pagination

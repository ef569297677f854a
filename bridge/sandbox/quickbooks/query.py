"""The QBO query language (facts §1.3; dic/learn/explore-the-quickbooks-online-api/data-queries).

SELECT * | count(*) FROM Entity [WHERE p op v [AND ...]] [ORDERBY p [ASC|DESC][, ...]]
[STARTPOSITION n] [MAXRESULTS n]; operators = < > <= >= IN LIKE ('%' wildcard); no OR, no joins.
Keywords, entity and property names are matched case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from . import errors

DEFAULT_MAX_RESULTS = 100  # [U] facts §1.3
MAX_MAX_RESULTS = 1000  # [U] larger values are capped silently, as the server pages at 1000 anyway
OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")
TOKEN_RE = re.compile(r"""\s*(?:
    (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""", re.X)


@dataclass
class Condition:
    """One `property op value` test."""

    prop: str
    op: str
    values: list


@dataclass
class Query:
    """A parsed select statement."""

    entity: str
    count: bool = False
    conditions: list = field(default_factory=list)
    order: list = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    position = 0
    text = text.rstrip().rstrip(";")
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise errors.query_parse(f"Invalid content. Lexical error at column {position + 1}. "
                                     f"Encountered: {text[position]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def next(self):
        token = self.peek()
        if token[0] is None:
            raise errors.query_parse("Encountered \"<EOF>\"")
        self.index += 1
        return token

    def keyword(self, *words) -> str | None:
        kind, value = self.peek()
        if kind == "word" and value.upper() in words:
            self.index += 1
            return value.upper()
        return None

    def expect_keyword(self, word: str) -> None:
        if self.keyword(word) is None:
            found = self.peek()[1] or "<EOF>"
            raise errors.query_parse(f"Encountered \"{found}\". Was expecting: \"{word}\"")

    def expect(self, kind: str, value: str | None = None) -> str:
        token = self.next()
        if token[0] != kind or (value is not None and token[1] != value):
            raise errors.query_parse(f"Encountered \"{token[1]}\". Was expecting: \"{value or kind}\"")
        return token[1]

    def number(self) -> int:
        kind, value = self.next()
        if kind != "number" or not value.isdigit():
            raise errors.query_parse(f"Encountered \"{value}\". Was expecting a whole number")
        return int(value)

    def value(self):
        kind, value = self.next()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "number":
            return Decimal(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise errors.query_parse(f"Encountered \"{value}\". Was expecting a value")

    def parse(self) -> Query:
        if not self.tokens:
            raise errors.query_parse("The query provided was empty")
        self.expect_keyword("SELECT")
        count = False
        if self.keyword("COUNT"):
            self.expect("punct", "(")
            self.expect("punct", "*")
            self.expect("punct", ")")
            count = True
        else:
            self.expect("punct", "*")
        self.expect_keyword("FROM")
        query = Query(self.expect("word"), count=count)
        if self.keyword("WHERE"):
            query.conditions.append(self.condition())
            while self.keyword("AND"):
                query.conditions.append(self.condition())
        ordered = self.keyword("ORDERBY") is not None
        if not ordered and self.keyword("ORDER"):  # "ORDER BY" is taken too
            self.expect_keyword("BY")
            ordered = True
        if ordered:
            while True:
                prop = self.expect("word")
                direction = self.keyword("ASC", "DESC") or "ASC"
                query.order.append((prop, direction == "DESC"))
                if self.peek() != ("punct", ","):
                    break
                self.next()
        seen = set()
        while True:
            word = self.keyword("STARTPOSITION", "MAXRESULTS")
            if word is None or word in seen:
                if word in seen:
                    raise errors.query_parse(f"Encountered \"{word}\" twice")
                break
            seen.add(word)
            if word == "STARTPOSITION":
                query.start = max(1, self.number())
            else:
                query.max_results = self.number()
        if self.peek()[0] is not None:
            raise errors.query_parse(f"Encountered \"{self.peek()[1]}\" at the end of the query")
        if query.max_results < 1:
            raise errors.query_invalid("MAXRESULTS must be at least 1")
        query.max_results = min(query.max_results, MAX_MAX_RESULTS)
        return query

    def condition(self) -> Condition:
        prop = self.expect("word")
        if prop.upper() in ("OR", "NOT"):
            raise errors.query_parse(f"Encountered \"{prop}\": OR and NOT are not supported")
        kind, value = self.next()
        if kind == "op":
            if value in ("!=", "<>"):
                raise errors.query_parse(f"Encountered \"{value}\": operator not supported")
            result = Condition(prop, value, [self.value()])
        elif kind == "word" and value.upper() == "IN":
            self.expect("punct", "(")
            values = [self.value()]
            while self.peek() == ("punct", ","):
                self.next()
                values.append(self.value())
            self.expect("punct", ")")
            result = Condition(prop, "IN", values)
        elif kind == "word" and value.upper() == "LIKE":
            pattern = self.value()
            if not isinstance(pattern, str):
                raise errors.query_parse("LIKE takes a quoted pattern")
            result = Condition(prop, "LIKE", [pattern])
        else:
            raise errors.query_parse(f"Encountered \"{value}\". Was expecting one of: {', '.join(OPERATORS)}")
        if self.peek() == ("word", "OR") or (self.peek()[0] == "word" and self.peek()[1].upper() == "OR"):
            raise errors.query_parse("Encountered \"OR\": OR is not supported")
        return result


def parse(text: str) -> Query:
    """Parse a select statement, or raise a 4000 QueryParserError fault."""
    if not isinstance(text, str):
        raise errors.query_parse("The query provided was empty")
    return _Parser(text).parse()


def resolve(obj, path: str):
    """The value at a dotted property path (keys matched case-insensitively); refs give their value."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    if isinstance(current, dict):
        for key in ("value", "Address", "FreeFormNumber", "URI"):
            if key in current:
                return current[key]
        return None
    if isinstance(current, list):
        return None
    return current


def _as_datetime(text: str, utc_offset_minutes: int):
    if not isinstance(text, str) or len(text) < 10 or text[4:5] != "-":
        return None
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=utc_offset_minutes)))
    return moment


def parse_time(text: str, utc_offset_minutes: int):
    """A date or date-time literal as an aware datetime (no offset: the company's), or None."""
    return _as_datetime(text, utc_offset_minutes)


def _sort_key(value, utc_offset_minutes: int):
    if value is None:
        return (1, 0, "")
    if isinstance(value, bool):
        return (0, 0, int(value))
    if isinstance(value, (int, Decimal)):
        return (0, 1, Decimal(value))
    moment = _as_datetime(value, utc_offset_minutes)
    if moment is not None:
        return (0, 2, moment.timestamp())
    return (0, 3, str(value).casefold())


def _matches_one(actual, op: str, expected, utc_offset_minutes: int) -> bool:
    if actual is None:
        return False
    if isinstance(actual, bool):
        if isinstance(expected, str):
            expected = {"true": True, "false": False}.get(expected.lower(), expected)
        return op in ("=", "IN") and actual == expected
    if isinstance(actual, (int, Decimal)):
        try:
            left, right = Decimal(actual), Decimal(str(expected))
        except (InvalidOperation, ValueError):
            return False
    else:
        actual_text = str(actual)
        expected_text = str(expected) if not isinstance(expected, bool) else str(expected).lower()
        if op == "LIKE":
            pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in expected_text)
            return re.fullmatch(pattern, actual_text, re.IGNORECASE | re.DOTALL) is not None
        left_time = _as_datetime(actual_text, utc_offset_minutes)
        right_time = _as_datetime(expected_text, utc_offset_minutes)
        if left_time is not None and right_time is not None:
            left, right = left_time, right_time
        else:
            left, right = actual_text.casefold(), expected_text.casefold()
    if op in ("=", "IN"):
        return left == right
    if op == "LIKE":
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def matches(obj: dict, condition: Condition, utc_offset_minutes: int) -> bool:
    """Does a rendered object satisfy one condition?"""
    actual = resolve(obj, condition.prop)
    return any(_matches_one(actual, condition.op, value, utc_offset_minutes) for value in condition.values)


def check_properties(query: Query, known: set[str], entity: str) -> None:
    """Refuse properties the entity does not have (4001 QueryValidationError)."""
    lowered = {name.lower() for name in known}
    for prop in [c.prop for c in query.conditions] + [p for p, _ in query.order]:
        if prop.split(".")[0].lower() not in lowered:
            raise errors.query_invalid(f"property '{prop}' is not queryable for entity {entity}")


def run(query: Query, objects: list[dict], entity: str, utc_offset_minutes: int, active_only: bool) -> dict:
    """Filter, sort and page rendered objects into a QueryResponse."""
    if active_only and not any(c.prop.lower() == "active" for c in query.conditions):
        objects = [o for o in objects if o.get("Active", True) is not False]
    selected = [o for o in objects if all(matches(o, c, utc_offset_minutes) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(selected)}
    for prop, descending in reversed(query.order):
        selected.sort(key=lambda o: _sort_key(resolve(o, prop), utc_offset_minutes), reverse=descending)
    page = selected[query.start - 1:query.start - 1 + query.max_results]
    if not page:
        return {}
    return {entity: page, "startPosition": query.start, "maxResults": len(page)}

"""Search, paging and includes on list endpoints, as freshbooks.com/api/parameters describes them.

- `search[<name>]=v` (Equals / Like / Between), `search[<name>][]=a&search[<name>][]=b` (In);
  Betweens on dates and `updated` have DAY granularity: `_min` is >= the day, `_max` is < the day.
- `page` / `per_page`: per_page silently capped at 100; page 0 returns page 1; a non-positive-integer
  page is an error; a page past the end returns an empty list.
- `include[]=<name>` (only the array form works: "the comma/string form is silently ignored").
- Deleted objects (vis_state 1) are left out unless `search[vis_state]` asks for them.
Unknown search names are ignored (and counted in the stats) [U].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import errors, money
from .money import BadValue

DEFAULT_PER_PAGE = 15  # [V] FB-SDK list fixtures ("per_page": 15)
MAX_PER_PAGE = 100  # [V] freshbooks.com/api/parameters; FB-SDK MAX_PER_PAGE


@dataclass(frozen=True)
class Filter:
    """One search: how it compares (equals, in, like, min, max, bool) and what it reads from a record."""

    mode: str
    getter: object  # (business, record) -> value
    value_type: str = "text"  # text | int | date | money | bool | fold (case-insensitive text)


def equals(getter, value_type: str = "text") -> Filter:
    """Exact match."""
    return Filter("equals", getter, value_type)


def in_list(getter, value_type: str = "int") -> Filter:
    """Match any of the values (search[<name>][]=...)."""
    return Filter("in", getter, value_type)


def like(getter) -> Filter:
    """Case-insensitive "contains"."""
    return Filter("like", getter, "fold")


def at_least(getter, value_type: str = "date") -> Filter:
    """Between, lower end (>=)."""
    return Filter("min", getter, value_type)


def below(getter, value_type: str = "date") -> Filter:
    """Between, upper end (<)."""
    return Filter("max", getter, value_type)


def updated_day(business, record) -> str:
    """The US/Eastern day of `updated` (day-granular searches)."""
    return money.today(record.updated)


def standard_filters() -> dict:
    """updated_min / updated_max, on every resource."""
    return {"updated_min": at_least(updated_day), "updated_max": below(updated_day)}


def parse_search(args) -> dict[str, list[str]]:
    """`search[name]` and `search[name][]` parameters, by name."""
    found: dict[str, list[str]] = {}
    for key, values in args.lists():
        if not key.startswith("search[") or "]" not in key:
            continue
        name = key[len("search["):key.index("]")]
        found.setdefault(name, []).extend(values)
    return found


def _convert(raw: str, value_type: str, name: str):
    try:
        if value_type == "int":
            return int(str(raw).strip())
        if value_type == "date":
            return money.check_date(str(raw).strip()[:10])
        if value_type == "money":
            return money.to_decimal(raw)
        if value_type == "bool":
            lowered = str(raw).strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return lowered in ("true", "1")
        if value_type == "fold":
            return str(raw).casefold()
        return str(raw)
    except (ValueError, BadValue):
        raise errors.invalid(None, f"search[{name}]", raw, f"search[{name}] has an invalid value.") from None


def _matches(flt: Filter, actual, wanted) -> bool:
    if actual is None:
        return False
    if flt.value_type == "fold":
        actual = str(actual).casefold()
    if flt.mode == "equals":
        return actual == wanted[0]
    if flt.mode == "in":
        return actual in wanted
    if flt.mode == "like":
        return wanted[0] in actual
    if flt.mode == "min":
        return actual >= wanted[0]
    if flt.mode == "max":
        return actual < wanted[0]
    raise ValueError(flt.mode)


def search(filters: dict, business, records: list, args) -> tuple[list, list[str]]:
    """Records matching every known search; also the names that were ignored."""
    requested = parse_search(args)
    ignored = []
    vis_states = None
    checks = []
    for name, raw_values in requested.items():
        if name == "vis_state":
            vis_states = {_convert(raw, "int", name) for raw in raw_values}
            continue
        flt = filters.get(name)
        if flt is None:
            ignored.append(name)
            continue
        checks.append((flt, [_convert(raw, flt.value_type, name) for raw in raw_values]))
    out = []
    for record in records:
        if vis_states is None:
            if record.vis_state == 1:
                continue
        elif record.vis_state not in vis_states:
            continue
        if all(_matches(flt, flt.getter(business, record), wanted) for flt, wanted in checks):
            out.append(record)
    return out, sorted(ignored)


def _positive(args, key: str, default: int) -> int:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.page_not_number(key, raw) from None
    if value < 0:
        raise errors.page_not_number(key, raw)
    return value


def paginate(items: list, args) -> tuple[list, dict]:
    """One page of `items` and the page/pages/per_page/total fields."""
    page = _positive(args, "page", 1) or 1  # "requesting page 0 will return page 1"
    per_page = min(_positive(args, "per_page", DEFAULT_PER_PAGE) or DEFAULT_PER_PAGE, MAX_PER_PAGE)
    total = len(items)
    start = (page - 1) * per_page
    return items[start:start + per_page], {"page": page, "pages": math.ceil(total / per_page),
                                           "per_page": per_page, "total": total}


def includes(args) -> frozenset:
    """The include[]=... names."""
    return frozenset(value for value in args.getlist("include[]") if value)

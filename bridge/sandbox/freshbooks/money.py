"""Money, tax percentages, quantities and dates as FreshBooks writes them (facts §3.5)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# taxAmountN is "a percentage, up to 3 decimal places (i.e. "13.175")" [V] freshbooks.com/api/credits
PERCENT_PLACES = 3
# Accounting times are zone-naive "US/Eastern" strings [V] FB-SDK docs making_calls.md "Dates and Times".
# The sandbox uses fixed EST (UTC-5) all year: daylight saving is not modelled.
EASTERN_UTC_OFFSET_MINUTES = -5 * 60
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # e.g. "2020-11-01 13:11:10" [V] FB-SDK fixture get_client_response.json
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
EASTERN = timezone(timedelta(minutes=EASTERN_UTC_OFFSET_MINUTES))


class BadValue(ValueError):
    """A value that cannot be read as the type a field needs."""


def to_decimal(value) -> Decimal:
    """A JSON number or numeric string as a finite Decimal (floats and booleans are refused)."""
    if isinstance(value, bool) or value is None:
        raise BadValue(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise BadValue(f"{value!r} is not a number") from None
    else:
        raise BadValue(f"{value!r} is not a number")
    if not result.is_finite():
        raise BadValue(f"{value!r} is not a number")
    return result


def round_cents(value: Decimal) -> Decimal:
    """Half-up to the cent (the sandbox's rounding for line amounts and per-line tax)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """A decimal string with two places, e.g. "27.00" (FreshBooks sends amounts as strings)."""
    text = format(round_cents(value), "f")
    return "0.00" if text == "-0.00" else text


def money(value: Decimal, code: str) -> dict:
    """A FreshBooks money object: {"amount": "27.00", "code": "CAD"}."""
    return {"amount": money_text(value), "code": code}


def money_input(value) -> Decimal:
    """The amount of a money object ({"amount": "180.00", "code": ...}); a bare number is taken too."""
    if isinstance(value, dict):
        if "amount" not in value:
            raise BadValue("amount is missing")
        value = value["amount"]
    return to_decimal(value)


def percent(value) -> Decimal | None:
    """A tax percentage (string or number, at most 3 places, 0..100); None or "" means no tax."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result = to_decimal(value)
    if result < 0 or result > 100:
        raise BadValue(f"{value!r} is not a percentage between 0 and 100")
    if -result.as_tuple().exponent > PERCENT_PLACES and result != result.quantize(Decimal("0.001")):
        raise BadValue(f"{value!r} has more than {PERCENT_PLACES} decimal places")
    return result


def decimal_text(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: "5", "13.175"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def number_out(value: Decimal):
    """A quantity as a JSON number: an int when whole, else the Decimal."""
    if value == value.to_integral_value():
        return int(value)
    return Decimal(decimal_text(value))


def check_currency(value) -> str:
    """A three-letter currency code, upper-cased."""
    if not isinstance(value, str) or not CURRENCY_RE.match(value):
        raise BadValue(f"{value!r} is not a currency code")
    return value.upper()


def check_date(value) -> str:
    """A YYYY-MM-DD date string."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise BadValue(f"{value!r} is not a YYYY-MM-DD date")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise BadValue(f"{value!r} is not a valid date") from None
    return value


def add_days(day: str, days: int) -> str:
    """A YYYY-MM-DD date moved by `days`."""
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def eastern(epoch: float) -> datetime:
    """Sandbox time in FreshBooks' accounting zone."""
    return datetime.fromtimestamp(epoch, EASTERN)


def stamp(epoch: float) -> str:
    """A zone-naive "YYYY-MM-DD HH:MM:SS" in US/Eastern, as accounting objects carry `updated`."""
    return eastern(epoch).strftime(STAMP_FORMAT)


def today(epoch: float) -> str:
    """The US/Eastern date at `epoch` (default dates, day-granular searches)."""
    return eastern(epoch).date().isoformat()


def utc_stamp(epoch: float) -> str:
    """An ISO UTC time with a Z, as the events and ledger-account APIs write it."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Xero's wire formats: MS-JSON dates, money and unit precision, numbers in, the response envelope."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

CENT = Decimal("0.01")
UNIT_4DP = Decimal("0.0001")  # Quantity always, UnitAmount with unitdp=4 (developer.xero.com rounding-in-xero)
RATE_6DP = Decimal("0.000001")  # CurrencyRate as the spec examples show it (1.000000)
ZERO = Decimal("0")
PROVIDER_NAME = "Invoice Bridge (sandbox)"  # the envelope's ProviderName is the calling app's name
MS_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
ISO_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def new_id() -> str:
    """A fresh Xero identifier (a lower-case GUID)."""
    return str(uuid.uuid4())


def is_guid(value) -> bool:
    """Does `value` look like a Xero GUID?"""
    return isinstance(value, str) and bool(GUID_RE.match(value))


def money(value: Decimal) -> Decimal:
    """Round half-up to cents: Xero rounds per line to two decimal places (rounding-in-xero)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def quantize(value: Decimal, step: Decimal) -> Decimal:
    """Round half-up to `step`."""
    return Decimal(value).quantize(step, rounding=ROUND_HALF_UP)


def to_decimal(value) -> Decimal:
    """A JSON number (or numeric string) as a finite Decimal; ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        value = repr(value)  # only reached when a caller parsed JSON without Decimal
    try:
        result = Decimal(str(value).strip()) if isinstance(value, (int, str, Decimal)) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return result


def _millis(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(milliseconds=1))


def ms_date(day: str) -> str:
    """A yyyy-mm-dd date as Xero writes it: midnight UTC in MS-JSON, `/Date(1552262400000+0000)/`."""
    moment = datetime.combine(date.fromisoformat(day), datetime.min.time(), timezone.utc)
    return f"/Date({_millis(moment)}+0000)/"


def date_string(day: str) -> str:
    """The DateString companion field: `2019-03-11T00:00:00`."""
    return f"{day}T00:00:00"


def ms_datetime(epoch: float) -> str:
    """A timestamp as Xero writes UpdatedDateUTC: `/Date(1552327126117+0000)/`."""
    return f"/Date({int(round(epoch * 1000))}+0000)/"


def utc_string(epoch: float) -> str:
    """UpdatedDateUTCString: `2019-03-11T17:58:46Z`."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope_time(epoch: float) -> str:
    """The envelope's DateTimeUTC: `/Date(1552327126164)/` (no offset, as in the spec examples)."""
    return f"/Date({int(round(epoch * 1000))})/"


def iso_utc(epoch: float, fraction_digits: int = 7) -> str:
    """An identity-service time: `2019-12-07T18:46:19.5165400` (UTC, no zone, as /connections writes it)."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}{'0' * max(0, fraction_digits - 6)}"


def parse_date(value) -> str:
    """A date sent by a client (yyyy-mm-dd, an ISO date-time, or MS-JSON) as yyyy-mm-dd; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    text = value.strip()
    match = MS_DATE_RE.match(text)
    if match:
        moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group(1)))
        return moment.date().isoformat()
    match = ISO_DATE_RE.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a date")
    return date.fromisoformat(match.group(1)).isoformat()


def parse_since(text: str) -> float:
    """If-Modified-Since as epoch seconds: ISO 8601 (no zone means UTC), MS-JSON, or an HTTP date."""
    text = (text or "").strip()
    match = MS_DATE_RE.match(text)
    if match:
        return int(match.group(1)) / 1000
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError(f"If-Modified-Since {text!r} is not a date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def envelope(now: float, payload: dict) -> dict:
    """Xero's response envelope around a collection: Id, Status, ProviderName, DateTimeUTC."""
    return {"Id": new_id(), "Status": "OK", "ProviderName": PROVIDER_NAME, "DateTimeUTC": envelope_time(now),
            **payload}

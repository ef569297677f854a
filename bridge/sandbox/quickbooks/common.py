"""What every QBO entity shares: input checks, references, numbers, dates and the rendered envelope."""

from __future__ import annotations

import copy
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from . import errors

BASE_READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURRENCY_NAMES = {"USD": "United States Dollar", "GBP": "British Pound Sterling", "EUR": "Euro",
                  "CAD": "Canadian Dollar", "AUD": "Australian Dollar"}


class EntityKind:
    """One QBO entity: which fields it takes, how a write is checked, how it reads back."""

    name = ""
    path = ""
    writable = False
    deletable = False
    voidable = False
    fields: frozenset = frozenset()
    read_only: frozenset = frozenset()
    name_list = False  # Customer, Item, Account...: default queries return active ones only

    def clean(self, body: dict) -> dict:
        """Drop read-only fields, refuse unknown ones (QBO answers 2010 for those)."""
        cleaned = {}
        for key, value in body.items():
            if key in BASE_READ_ONLY or key in self.read_only:
                continue
            if key not in self.fields:
                raise errors.invalid_property(key)
            cleaned[key] = value
        return cleaned

    def prepare(self, realm, body: dict, record) -> dict:
        """Check a create or update and return the body to store."""
        raise errors.unsupported(f"Create/Update on {self.name}")

    def compute(self, realm, body: dict) -> dict:
        """Derived figures stored beside the body (totals)."""
        return {}

    def extra(self, realm, record) -> dict:
        """Computed fields added when the object is read."""
        return {}

    def render(self, realm, record) -> dict:
        """The object as QBO returns it."""
        out = {"Id": record.id, "SyncToken": str(record.sync_token)}
        out.update(copy.deepcopy(record.body))
        out.update(self.extra(realm, record))
        out["MetaData"] = {"CreateTime": realm.iso(record.created),
                           "LastUpdatedTime": realm.iso(record.updated)}
        out["domain"] = "QBO"
        out["sparse"] = False
        return out

    def after_write(self, realm, record) -> None:
        """Refresh realm-wide figures after a write of `record`."""


def to_decimal(value, element: str) -> Decimal:
    """A JSON number (or numeric string) as Decimal; anything else is a 2040 fault."""
    if isinstance(value, bool) or value is None:
        raise errors.invalid_number(element, value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise errors.invalid_number(element, value) from None
    else:
        raise errors.invalid_number(element, value)
    if not result.is_finite():
        raise errors.invalid_number(element, value)
    return result


def ref_value(body: dict, key: str, element: str | None = None) -> str | None:
    """The `value` of a reference field (`{"value": "58"}`), or None when absent."""
    ref = body.get(key)
    if ref is None:
        return None
    if not isinstance(ref, dict) or ref.get("value") in (None, ""):
        raise errors.invalid_property(element or key)
    return str(ref["value"])


def check_date(body: dict, key: str) -> None:
    """A yyyy-mm-dd date or a 2010 fault."""
    value = body.get(key)
    if value is None:
        return
    try:
        if not isinstance(value, str) or not DATE_RE.match(value[:10]):
            raise ValueError
        date.fromisoformat(value[:10])
    except ValueError:
        raise errors.invalid_property(key, f"has an invalid date value: {value!r}") from None
    body[key] = value[:10]


def check_string(body: dict, key: str, maximum: int) -> None:
    """A string no longer than `maximum`, else 2010 / 2050."""
    value = body.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise errors.invalid_property(key)
    if len(value) > maximum:
        raise errors.too_long(key, maximum, len(value))


def check_object(body: dict, key: str) -> None:
    """A nested object (address, email) must be a JSON object."""
    if body.get(key) is not None and not isinstance(body[key], dict):
        raise errors.invalid_property(key)


def named_ref(value: str, name: str | None) -> dict:
    """A reference as QBO reads it back: value plus the current name."""
    return {"value": value, "name": name} if name is not None else {"value": value}


def check_currency(realm, body: dict) -> str:
    """CurrencyRef defaults to the home currency; a code must be three letters."""
    code = ref_value(body, "CurrencyRef") or realm.home_currency
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        raise errors.invalid_reference("CurrencyRef")
    code = code.upper()
    body["CurrencyRef"] = named_ref(code, CURRENCY_NAMES.get(code))
    return code

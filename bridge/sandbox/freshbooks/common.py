"""What every accounting resource shares: its names, field checks, id fields and the rendered envelope."""

from __future__ import annotations

from . import errors, money
from .money import BadValue
from .store import DELETED


class Kind:
    """One accounting resource (clients, invoices...): names, writable fields, checks, rendering."""

    entity = ""  # store key, also the webhook event prefix ("invoice" -> invoice.create)
    single = ""  # JSON wrapper of one object ("invoice")
    plural = ""  # JSON key of a list ("invoices")
    path = ""  # URL path under /accounting/account/<account_id>/ ("invoices/invoices")
    scope = ""  # scope object: user:<scope>:read / user:<scope>:write
    id_field = "id"  # the second id field FreshBooks repeats (userid, invoiceid, logid...)
    fields: frozenset = frozenset()  # writable input fields; anything else is ignored, as FreshBooks does
    newest_first = False  # list order
    http_delete = None  # None (soft delete only, via vis_state), "soft" or "hard" on DELETE
    filters: dict = {}  # search[<name>] -> query.Filter
    includes: frozenset = frozenset()  # include[]=<name> this resource understands
    actions: tuple = ()  # PUT action keys (invoices: action_mark_as_sent, action_email)

    @property
    def read_scope(self) -> str:
        """user:<object>:read."""
        return f"user:{self.scope}:read"

    @property
    def write_scope(self) -> str:
        """user:<object>:write."""
        return f"user:{self.scope}:write"

    def clean(self, body: dict) -> tuple[dict, list[str]]:
        """Keep the writable fields; return them and the names that were ignored."""
        kept = {key: value for key, value in body.items() if key in self.fields}
        return kept, sorted(key for key in body if key not in self.fields)

    def prepare(self, writer, body: dict, record) -> dict:
        """Check a create (record None) or an update (body already merged) and return what to store."""
        raise NotImplementedError

    def after_create(self, writer, record) -> None:
        """Side effects of a create (payments settle invoices)."""

    def after_update(self, writer, record, before: dict) -> None:
        """Side effects of a regular update."""

    def after_vis_state(self, writer, record, before: int) -> None:
        """Side effects of a delete, archive or restore."""

    def run_action(self, writer, record, body: dict) -> list[str]:
        """Run a PUT action; return the event names to emit."""
        raise NotImplementedError

    def render(self, business, record, includes=frozenset()) -> dict:
        """The object as FreshBooks returns it."""
        raise NotImplementedError

    def base(self, business, record) -> dict:
        """The fields every accounting object carries."""
        return {"id": record.id, self.id_field: record.id, "accounting_systemid": business.account_id,
                "vis_state": record.vis_state, "updated": money.stamp(record.updated)}


def text(body: dict, key: str, obj: str, maximum: int = 4000) -> None:
    """An optional string field (null allowed)."""
    value = body.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise errors.invalid(obj, key, value, f"{key} must be a string.")
    if len(value) > maximum:
        raise errors.invalid(obj, key, value[:40], f"{key} must be at most {maximum} characters.")


def integer(body: dict, key: str, obj: str, minimum: int | None = None) -> int | None:
    """An optional whole number (JSON number or numeric string)."""
    value = body.get(key)
    if value is None:
        return None
    try:
        number = money.to_decimal(value)
        if number != number.to_integral_value():
            raise BadValue(value)
    except BadValue:
        raise errors.invalid(obj, key, value, f"{key} must be a whole number.") from None
    if minimum is not None and number < minimum:
        raise errors.invalid(obj, key, value, f"{key} must be at least {minimum}.")
    body[key] = int(number)
    return body[key]


def date_field(body: dict, key: str, obj: str, required: bool = False) -> None:
    """A YYYY-MM-DD date."""
    if body.get(key) is None:
        if required:
            raise errors.required(obj, key)
        return
    try:
        money.check_date(body[key])
    except BadValue:
        raise errors.invalid(obj, key, body[key], f"{key} must be a date in YYYY-MM-DD format.") from None


def currency_field(body: dict, key: str, obj: str) -> None:
    """A three-letter currency code, upper-cased in place."""
    if body.get(key) is None:
        return
    try:
        body[key] = money.check_currency(body[key])
    except BadValue:
        raise errors.invalid(obj, key, body[key], f"{key} must be a 3-letter currency code.") from None


def boolean(body: dict, key: str, obj: str) -> None:
    """A true/false flag (0 and 1 are taken too)."""
    value = body.get(key)
    if value is None:
        return
    if value in (True, False, 0, 1):
        body[key] = bool(value)
        return
    raise errors.invalid(obj, key, value, f"{key} must be true or false.")


def is_deleted(record) -> bool:
    """vis_state 1."""
    return record.vis_state == DELETED

"""The adapter contract every ledger implements, and the registry of ledgers by name.

A ledger package knows its vendor and `bridge.schemas`; nothing of routes, the store or the
sync engine. Tokens reach it through `TokenSource`, handed in by `bridge.sync`.
Normalized objects are the plain dicts `bridge.schemas` loads (Decimal amounts, `date` dates).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

LEDGERS = {
    "quickbooks": "bridge.ledgers.quickbooks",
    "xero": "bridge.ledgers.xero",
    "freshbooks": "bridge.ledgers.freshbooks",
    "csv": "bridge.ledgers.csv",
}
"""Ledger name -> package exposing `Adapter` (a Ledger subclass) and `OAuth` (an OAuthProvider)."""


class UnknownLedger(KeyError):
    """No ledger of that name."""


@dataclass
class Token:
    """An OAuth token set, as stored (encrypted) on a connection."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    refresh_expires_at: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON-safe form stored encrypted."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at, "refresh_expires_at": self.refresh_expires_at,
                "extra": self.extra}

    @classmethod
    def from_dict(cls, data: dict) -> "Token":
        """Rebuild a token from its stored form."""
        return cls(data["access_token"], data.get("refresh_token"), float(data["expires_at"]),
                   data.get("refresh_expires_at"), data.get("extra") or {})


class TokenSource(Protocol):
    """How an adapter gets a usable access token; implemented by `bridge.sync.tokens`."""

    def current(self) -> Token:
        """A token that is not about to expire (refreshing it first if needed)."""

    def refreshed(self, stale: Token) -> Token:
        """A token newer than `stale` (after a 401): refreshed once across all workers."""


class Exchange(Protocol):
    """Receives each HTTP exchange with the ledger, already redacted, for the sync log."""

    def __call__(self, request: dict, response: dict | None) -> None:
        """Record one exchange."""


@dataclass
class LedgerRef:
    """What the bridge remembers of an object it wrote: the ledger's id and extras."""

    ledger_id: str
    extra: dict = field(default_factory=dict)


@dataclass
class Written:
    """The result of one write: the ledger id, the normalized object read back, warnings."""

    ledger_id: str
    object: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class BatchItem:
    """One member of a batch write: its own key (the operation's request key) and inputs."""

    key: str
    document: dict
    customer: LedgerRef
    existing: LedgerRef | None = None


@dataclass
class BatchResult:
    """What became of one batch member: written, or refused on its own (the others unaffected)."""

    key: str
    written: Written | None = None
    error: Exception | None = None


class Change(NamedTuple):
    """One object a ledger reports changed: its kind, the object normalized (a deleted one is
    `{"ledger_id", "deleted": True}`), and "create", "update", "delete" or "void"."""

    object: str
    data: dict
    operation: str


@dataclass
class Preview:
    """What a write would send, built without sending it (dry run): the HTTP method, the path under the
    ledger's API base, the exact JSON body, and the warnings the write would carry."""

    method: str
    path: str
    payload: dict | list | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Everything an adapter needs for one connection."""

    tenant_id: str
    tokens: TokenSource
    settings: dict
    mapping: dict = field(default_factory=dict)
    record: Exchange | None = None
    tenant_extra: dict = field(default_factory=dict)
    throttle: Any = None
    """A callable returning a context manager held around each HTTP request (the shared limiter)."""
    observe: Any = None
    """A callable `observe(status, headers)` fed every ledger response (rate-limit headers, 429s)."""
    after_uncertain: bool = False
    """True when an earlier attempt of this operation may have been applied (a ledger without
    idempotency keys looks the object up before creating it again)."""
    files: Any = None
    """Where a file-writing ledger (`csv`) keeps its import files: `bridge.ledgers.csv.store.ImportFiles`,
    handed in by `bridge.sync` (None for ledgers with an API)."""


class Ledger:
    """Uniform verbs over one ledger connection. Unsupported verbs raise NotImplementedError."""

    name = "base"
    capabilities: tuple[str, ...] = ()
    RATE_LIMITS: dict[str, tuple[int, float]] = {}
    """Published request limits per connection: window name -> (requests, seconds)."""
    CONCURRENT_REQUESTS = 0
    """Published cap on requests in flight per connection (0: none)."""
    LEARNED_LIMIT_SECONDS: float | None = None
    """A ledger that publishes no limit: the window (seconds) over which a 429 teaches the bridge one."""
    BATCH_MAX = 0
    """Most invoices one batch call may carry (0: the ledger has no batch writes)."""
    BATCH_RESERVE: tuple[str, str] | None = None
    """(request window, batch window) when batch calls have their own, smaller allowance inside the
    request allowance: single writes then go beside batches and leave the batches their share."""

    def __init__(self, context: Context):
        self.context = context

    # Writes take a `request_key`: the operation's stable idempotency key, reused on every retry.
    def upsert_customer(self, customer: dict, existing: LedgerRef | None, request_key: str) -> Written:
        """Find or create (or update) a customer."""
        raise NotImplementedError(f"upsert_customer not implemented for {self.name}")

    def upsert_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None,
                       request_key: str) -> Written:
        """Create the invoice, or update the one already written."""
        raise NotImplementedError(f"upsert_invoice not implemented for {self.name}")

    def record_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                       existing: LedgerRef | None, request_key: str) -> Written:
        """Record a payment applied to an invoice."""
        raise NotImplementedError(f"record_payment not implemented for {self.name}")

    def upsert_credit_note(self, credit_note: dict, customer: LedgerRef,
                           allocations: list[tuple[dict, LedgerRef]], existing: LedgerRef | None,
                           request_key: str) -> Written:
        """Create a credit note and allocate it to invoices."""
        raise NotImplementedError(f"upsert_credit_note not implemented for {self.name}")

    def upsert_invoices(self, items: list[BatchItem], batch_key: str) -> list[BatchResult]:
        """Write up to BATCH_MAX invoices in one call, one result per item, in order.

        `batch_key` is the batch's own idempotency key, reused when the whole batch is retried.
        A refusal of one item is that item's `error` (a LedgerRejected); a failure of the whole
        call (429, 5xx, timeout) raises, and the batch is retried whole with the same key.
        """
        raise NotImplementedError(f"upsert_invoices not implemented for {self.name}")

    def find_invoice_ids(self, numbers: list[str]) -> dict[str, str]:
        """Ledger ids of the invoices with these numbers (after an ambiguous batch failure)."""
        raise NotImplementedError(f"find_invoice_ids not implemented for {self.name}")

    def void_invoice(self, invoice: LedgerRef, request_key: str) -> Written:
        """Void an invoice."""
        raise NotImplementedError(f"void_invoice not implemented for {self.name}")

    def add_note(self, invoice: LedgerRef, text: str, request_key: str) -> Written:
        """Add a note to an invoice where the ledger keeps notes (QBO PrivateNote, Xero history, FreshBooks notes)."""
        raise NotImplementedError(f"add_note not implemented for {self.name}")

    def get_invoice(self, invoice: LedgerRef) -> dict:
        """The invoice as the ledger holds it now, normalized."""
        raise NotImplementedError(f"get_invoice not implemented for {self.name}")

    def invoice_pdf(self, invoice: LedgerRef) -> bytes:
        """The invoice's PDF as the ledger renders it."""
        raise NotImplementedError(f"invoice_pdf not implemented for {self.name}")

    def find_invoices(self, number: str | None = None, customer: LedgerRef | None = None,
                      limit: int = 50) -> list[dict]:
        """Invoices as the ledger holds them, normalized, newest first."""
        raise NotImplementedError(f"find_invoices not implemented for {self.name}")

    def read_invoices(self, invoices: list[LedgerRef]) -> dict[str, dict | None]:
        """Invoices as the ledger holds them now, by ledger id (None: deleted), batched where it can.

        Each carries `payments: [{ledger_id, amount, date}]`, the payments applied to it (credit note
        allocations left out): reconciliation compares them with the payments we wrote.
        """
        raise NotImplementedError(f"read_invoices not implemented for {self.name}")

    def read_credit_notes(self, credit_notes: list[LedgerRef]) -> dict[str, dict | None]:
        """Credit notes as the ledger holds them now, by ledger id (None: deleted), batched where it can."""
        raise NotImplementedError(f"read_credit_notes not implemented for {self.name}")

    # Change reading (bridge.events.changes): objects the ledger says changed, normalized, for events.
    # Invoices as get_invoice returns them; payments {ledger_id, external_id, invoice_ledger_id,
    # invoice_ledger_ids, amount, currency, date, method, reference, status}; customers as find_customers;
    # credit notes as read_credit_notes. Each also carries `updated_at` and `created_at` (aware UTC
    # datetimes, None when the ledger does not say). Money is Decimal.
    def read_objects(self, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
        """Objects of one kind (invoice, payment, customer, credit_note) by ledger id, in as few requests as
        the ledger allows; None: gone, or not one the bridge reports (a Xero bill)."""
        raise NotImplementedError(f"read_objects not implemented for {self.name}")

    def changes_since(self, checkpoint: str | None, now: datetime) -> tuple[list[Change], str]:
        """What changed since `checkpoint` (an ISO time in UTC; None: nothing read, `now` becomes the
        checkpoint) and the checkpoint to read from next time."""
        raise NotImplementedError(f"changes_since not implemented for {self.name}")

    def tenant_info(self) -> dict:
        """The company or organisation behind the connection: `{id, name, country, ...}`."""
        raise NotImplementedError(f"tenant_info not implemented for {self.name}")

    # Previews (dry run): the exact request a write would send, built by the same mapping code, with no
    # write to the ledger (reads of company facts or of the current object are allowed). A mapping problem
    # raises LedgerRejected naming the field, as the write would.
    def preview_invoice(self, invoice: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The request upsert_invoice would send."""
        raise NotImplementedError(f"preview_invoice not implemented for {self.name}")

    def preview_payment(self, payment: dict, invoice: LedgerRef, customer: LedgerRef,
                        existing: LedgerRef | None) -> Preview:
        """The request record_payment would send."""
        raise NotImplementedError(f"preview_payment not implemented for {self.name}")

    def preview_credit_note(self, credit_note: dict, customer: LedgerRef, existing: LedgerRef | None) -> Preview:
        """The request upsert_credit_note would send first (allocations follow it)."""
        raise NotImplementedError(f"preview_credit_note not implemented for {self.name}")

    def preview_customer(self, customer: dict, existing: LedgerRef | None) -> Preview:
        """The request upsert_customer would send to create or update the customer."""
        raise NotImplementedError(f"preview_customer not implemented for {self.name}")

    def preview_void(self, invoice: LedgerRef) -> Preview:
        """The request void_invoice would send."""
        raise NotImplementedError(f"preview_void not implemented for {self.name}")

    def list_accounts(self) -> list[dict]:
        """The chart of accounts: `[{id, code, name, type, class, currency, bank, active}]`."""
        raise NotImplementedError(f"list_accounts not implemented for {self.name}")

    def list_tax_rates(self) -> list[dict]:
        """Tax codes usable on sales: `[{id, name, rate (Decimal percent), active}]`; `id` goes in mappings."""
        raise NotImplementedError(f"list_tax_rates not implemented for {self.name}")

    def list_items(self) -> list[dict]:
        """Products and services: `[{id, code, name, unit_price, income_account, active}]`."""
        raise NotImplementedError(f"list_items not implemented for {self.name}")

    # Items the invoicing platform owns (mapping.source_of_truth.items "invoicing"): a product code the
    # mapping does not place is found by its code, or created from
    # `{code, description, unit_price, currency, account, tax_code, field}` (`field`: what refusals name).
    ITEM_ID_IS_CODE = False
    """True when the ledger references items by their code (Xero's ItemCode): a new item's id is known ahead."""

    def find_item(self, code: str) -> dict | None:
        """The active item the ledger holds for a product code, normalized as list_items does, or None."""
        raise NotImplementedError(f"find_item not implemented for {self.name}")

    def create_item(self, item: dict, request_key: str) -> Written:
        """Create a sales item for a product code; `Written.object` is the item, normalized."""
        raise NotImplementedError(f"create_item not implemented for {self.name}")

    def preview_item(self, item: dict) -> Preview:
        """The request create_item would send (LedgerRejected names `item["field"]` when it cannot be made)."""
        raise NotImplementedError(f"preview_item not implemented for {self.name}")

    def find_customers(self, email: str | None = None, name: str | None = None) -> list[dict]:
        """Customers as the ledger holds them, normalized, optionally by email or name."""
        raise NotImplementedError(f"find_customers not implemented for {self.name}")


def money(value: Any) -> Decimal:
    """A ledger amount as Decimal; a float here means JSON was parsed without parse_float=Decimal."""
    if isinstance(value, float):
        raise TypeError("float amount: parse ledger JSON with parse_float=Decimal")
    return Decimal(str(value)) if value is not None else Decimal("0")


TOTALS = ("subtotal", "tax", "total")


def totals_warnings(source: dict | None, ledger: dict | None) -> list[str]:
    """One warning per source total the ledger computed differently, even by a cent
    ("totals.tax: ledger 10.01, source 10.00"): ledgers round tax per line, platforms often per invoice."""
    warnings = []
    for name in TOTALS:
        wanted, got = (source or {}).get(name), (ledger or {}).get(name)
        if wanted is not None and got is not None and money(got) != Decimal(str(wanted)):
            warnings.append(f"totals.{name}: ledger {got}, source {wanted}")
    return warnings


# --- mapping references ---------------------------------------------------------------------------------
# The ledger references a mapping names, and whether the ledger has them (pure; each ledger's rules.py adds
# its region rules). A reference is `(field, kind, value)`: the field's path in the mapping document
# (`products.CONSULT.item`), the reference data it points into (`accounts`, `tax_rates`, `items`: what
# GET /accounts, /tax-rates and /items list) and the ledger id it names.

REFERENCE_PATHS = {"accounts": "accounts", "tax_rates": "tax-rates", "items": "items"}
REFERENCE_WHAT = {"accounts": "account", "tax_rates": "tax rate", "items": "item"}
MAPPING_DEFAULTS = (("income_account", "accounts"), ("payment_account", "accounts"), ("tax_code", "tax_rates"),
            ("item", "items"))


def mapping_references(mapping: dict) -> list[tuple[str, str, str]]:
    """Every ledger reference in the products, tax_categories and defaults of a mapping."""
    found = []
    for code, product in (mapping.get("products") or {}).items():
        for name, kind in (("item", "items"), ("account", "accounts")):
            if (product or {}).get(name):
                found.append((f"products.{code}.{name}", kind, product[name]))
    for category, value in (mapping.get("tax_categories") or {}).items():
        if value:
            found.append((f"tax_categories.{category}", "tax_rates", value))
    defaults = mapping.get("defaults") or {}
    for name, kind in MAPPING_DEFAULTS:
        if defaults.get(name):
            found.append((f"defaults.{name}", kind, defaults[name]))
    return found


def find_reference(listing: list[dict], value: str, *also: str, fold: bool = False) -> dict | None:
    """The entry whose `id` (or one of the `also` keys, or `extra` keys) is `value`; `fold` ignores case."""
    wanted = value.casefold() if fold else value
    for entry in listing:
        candidates = [entry.get("id"), *(entry.get(key) for key in also),
                      *((entry.get("extra") or {}).get(key) for key in also)]
        for candidate in candidates:
            if candidate is not None and (str(candidate).casefold() if fold else str(candidate)) == wanted:
                return entry
    return None


def missing_reference(field: str, kind: str, value: str, where: str) -> dict:
    """The field error of a reference the ledger does not have."""
    return {"field": field, "message": f"{where} has no {REFERENCE_WHAT[kind]} {value!r}: pick one from "
                                       f"GET /v1/connections/<id>/{REFERENCE_PATHS[kind]}"}


def inactive_reference(field: str, kind: str, value: str, where: str) -> dict:
    """The field error of a reference the ledger has archived."""
    return {"field": field, "message": f"The {REFERENCE_WHAT[kind]} {value!r} is inactive (archived) in {where}"}


def check_reference(field: str, kind: str, value: str, listing: list[dict], where: str, *also: str,
           fold: bool = False) -> tuple[dict | None, list[dict]]:
    """The entry a reference names, and the field errors when it is missing or inactive."""
    entry = find_reference(listing, value, *also, fold=fold)
    if entry is None:
        return None, [missing_reference(field, kind, value, where)]
    if entry.get("active") is False:
        return entry, [inactive_reference(field, kind, value, where)]
    return entry, []


class OAuthProvider:
    """A ledger's OAuth2 facts (UPPER_CASE) and the few calls the bridge makes with them."""

    NAME = "base"
    SCOPES: tuple[str, ...] = ()
    PKCE = False
    AUTHORIZE_URL = TOKEN_URL = REVOKE_URL = API_BASE_URL = ""

    def __init__(self, settings: dict):
        """`settings`: client_id, client_secret and optional *_url overrides (lower-case keys)."""
        self.settings = settings

    def url(self, kind: str) -> str:
        """The configured URL of `kind` (authorize, token, revoke, api_base), else the real one."""
        return self.settings.get(f"{kind}_url") or getattr(self, f"{kind.upper()}_URL")

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """Where to send the browser to grant access."""
        raise NotImplementedError

    def exchange(self, code: str, redirect_uri: str, callback_args: dict,
                 code_verifier: str | None = None) -> tuple[Token, dict]:
        """Trade the callback's code for a token, and discover the tenants the grant covers.

        Returns `(token, {"tenant_id": id or None, "tenants": [{"id", "name"}, ...]})`: `tenant_id`
        when the ledger names one (QBO's realmId), else the engine picks among `tenants`
        (one is picked automatically; several wait for the user's choice).
        """
        raise NotImplementedError

    def refresh(self, token: Token) -> Token:
        """A new token set; raises ReauthRequired on invalid_grant."""
        raise NotImplementedError

    def revoke(self, token: Token) -> None:
        """Revoke the grant at the ledger."""
        raise NotImplementedError


def load(name: str):
    """The ledger package registered under `name`."""
    try:
        return importlib.import_module(LEDGERS[name])
    except KeyError as exc:
        raise UnknownLedger(name) from exc

"""The `ledger` fixture of the contract suite: one adapter per ledger, connected to the sandbox through the
provider's real OAuth code flow, with an in-memory token source that counts its refreshes.

Nothing here goes through the Flask app or the queue: the suite speaks to the adapter contract
(`bridge.ledgers.base.Ledger`) alone, like singer-sdk's `get_tap_test_class` speaks to a tap.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from bridge.ledgers import base
from bridge.ledgers.base import Context, LedgerRef, Token
from bridge.sandbox import env_lines
from bridge.schemas.objects import (
    CreditNoteSchema,
    FullCustomerSchema,
    InvoiceSchema,
    PaymentSchema,
)
from tests.ledgers.xero.spec import SERVER, xero_request_errors

PROVIDERS = ("quickbooks", "xero", "freshbooks")
REDIRECT_URI = "http://127.0.0.1:5999/v1/oauth/{provider}/callback"
TIMEOUT = 10.0
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which the token source refreshes (as bridge.sync.tokens does)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "sandbox_limits: keep the sandbox's own request limits switched on")


# --- tokens -------------------------------------------------------------------------------------------

class MemoryTokens:
    """A TokenSource kept in memory: refreshes through the provider's OAuth.refresh, and counts them."""

    def __init__(self, oauth: base.OAuthProvider, token: Token):
        self.oauth = oauth
        self.token = token
        self.refreshes = 0
        self.history: list[Token] = [token]
        self._lock = threading.Lock()

    def current(self) -> Token:
        """The token, refreshed first when it is within REFRESH_MARGIN of its expiry."""
        with self._lock:
            if self.token.expires_at - REFRESH_MARGIN <= time.time():
                self._refresh()
            return self.token

    def refreshed(self, stale: Token) -> Token:
        """A token newer than `stale` (after a 401): refreshed once, unless someone already did."""
        with self._lock:
            if self.token.access_token == stale.access_token:
                self._refresh()
            return self.token

    def expire(self) -> None:
        """Make the held access token look expired (the ledger may still accept it)."""
        self.token.expires_at = time.time() - 60

    def _refresh(self) -> None:
        self.refreshes += 1
        self.token = self.oauth.refresh(self.token)
        self.history.append(self.token)


# --- Xero: every Accounting API request checked against Xero's official OpenAPI ---------------------

class XeroSpecAdapter(HTTPAdapter):
    """A transport adapter that validates each request (its URL moved to Xero's real server) first."""

    def __init__(self, sandbox_base: str, checked: list, problems: list):
        super().__init__()
        self.sandbox_base = sandbox_base.rstrip("/")
        self.checked = checked
        self.problems = problems

    def send(self, request, **kwargs):
        copy = request.copy()
        copy.url = SERVER + request.url[len(self.sandbox_base):]
        found = xero_request_errors(copy)
        self.checked.append(f"{request.method} {copy.url}")
        if found:
            message = f"{request.method} {copy.url} is not a valid Xero request: " + "; ".join(found)
            self.problems.append(message)
            raise AssertionError(message)
        return super().send(request, **kwargs)


# --- what differs per ledger -----------------------------------------------------------------------------

@dataclass
class Profile:
    """The facts of one sandbox ledger the contract needs: currency, seeded tax rate, mapping, quirks."""

    name: str
    currency: str
    standard_rate: Decimal
    """The seeded rate behind the mapping's "standard" tax category (percent)."""
    mapping: dict
    mapped_tax_ids: tuple[str, ...]
    """Ids the mapping uses that list_tax_rates must offer."""
    mapped_account_ids: tuple[str, ...] = ()
    """Ids the mapping uses that list_accounts must offer."""
    access_token_seconds: int = 3600
    """How long the sandbox's access tokens live (to expire one with clock_offset)."""
    refresh_grace_seconds: int | None = None
    """How long a superseded refresh token keeps working (0: single use)."""


PROFILES = {
    # QBO US: lines are TAX or NON, the rate comes from the transaction tax code (seeded "California" 8.25 %);
    # txn_tax_code is filled in from the sandbox's seeded tax codes when the fixture connects.
    "quickbooks": Profile("quickbooks", "USD", Decimal("8.25"),
                          {"tax_categories": {"standard": "TAX", "zero": "NON"},
                           "defaults": {"tax_code": "NON", "payment_account": "35"},
                           "quickbooks": {"txn_tax_code": None}},
                          mapped_tax_ids=(), mapped_account_ids=("35",),
                          access_token_seconds=3600, refresh_grace_seconds=86400),
    # Xero UK: OUTPUT2 is 20 % VAT on income.
    "xero": Profile("xero", "GBP", Decimal(20),
                    {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
                     "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}},
                    mapped_tax_ids=("OUTPUT2", "ZERORATEDOUTPUT", "NONE"), mapped_account_ids=("200", "090"),
                    access_token_seconds=1800, refresh_grace_seconds=1800),
    # FreshBooks (Canadian business): GST 5 %; "NONE" means no tax on the line.
    "freshbooks": Profile("freshbooks", "CAD", Decimal(5),
                          {"tax_categories": {"standard": "GST", "zero": "NONE"}},
                          mapped_tax_ids=("GST",),
                          access_token_seconds=12 * 3600, refresh_grace_seconds=0),
}


# --- the handle tests get ------------------------------------------------------------------------------

@dataclass
class ConnectedLedger:
    """One adapter connected to one sandbox tenant, with the means to poke the sandbox behind it."""

    name: str
    profile: Profile
    sandbox: object
    settings: dict
    oauth: base.OAuthProvider
    tokens: MemoryTokens
    tenant_id: str
    tenant: dict
    callback: dict
    mapping: dict
    adapter: base.Ledger = None
    spec_checked: list = field(default_factory=list)
    spec_problems: list = field(default_factory=list)
    _keys: int = 0

    # sandbox control
    def control(self, path: str, method: str = "POST", **kwargs):
        """Call /_sandbox/<provider>/<path> and return its JSON (with Decimals)."""
        response = requests.request(method, f"{self.sandbox.url}/_sandbox/{self.name}/{path}", timeout=TIMEOUT,
                                    **kwargs)
        assert response.status_code < 400, response.text
        return json.loads(response.text, parse_float=Decimal) if response.content else None

    def configure(self, **config) -> dict:
        """Merge sandbox settings (limits, faults, clock_offset...)."""
        return self.control("config", json=config)

    def stored(self) -> dict:
        """This tenant's part of the sandbox ledger view."""
        view = self.control("ledger", "GET")
        key = {"quickbooks": "realms", "xero": "tenants", "freshbooks": "businesses"}[self.name]
        return view[key][self.tenant_id]

    def stored_customer_names(self) -> list[str]:
        """Names of the live customers the ledger holds."""
        stored = self.stored()
        if self.name == "quickbooks":
            return [c["DisplayName"] for c in stored["customers"] if c.get("Active", True)]
        if self.name == "xero":
            return [c["Name"] for c in stored["contacts"] if c.get("ContactStatus", "ACTIVE") == "ACTIVE"]
        return [c.get("organization") for c in stored["clients"] if c.get("vis_state", 0) == 0]

    def stored_invoice_numbers(self) -> list[str]:
        """Numbers of the invoices the ledger holds (not deleted; voided ones count)."""
        stored = self.stored()
        if self.name == "quickbooks":
            return [i["DocNumber"] for i in stored["invoices"]]
        if self.name == "xero":
            return [i["InvoiceNumber"] for i in stored["invoices"] if i.get("Status") != "DELETED"]
        return [i["invoice_number"] for i in stored["invoices"] if i.get("vis_state", 0) == 0]

    # documents, loaded through the normalized schemas exactly as the sync engine hands them over
    def key(self, what: str) -> str:
        """A fresh request key (short enough for every ledger, QBO batches included)."""
        self._keys += 1
        return f"ct-{what[:8]}-{self._keys}-{secrets.token_hex(4)}"

    def customer_doc(self, external_id: str = "cus-contract-1", **overrides) -> dict:
        """A normalized customer."""
        data = {"external_id": external_id, "name": "Contract Customer Ltd", "email": "ap@contract.example",
                "phone": "555-0100"}
        data.update(overrides)
        return FullCustomerSchema().load(data)

    def invoice_doc(self, external_id: str, number: str, support_quantity: str = "1.5", **overrides) -> dict:
        """A normalized two-line invoice: a "standard" taxed line and a "zero" rated one."""
        data = {
            "external_id": external_id, "number": number, "customer": {"external_id": "cus-contract-1"},
            "issue_date": "2026-01-15", "due_date": "2026-02-14", "currency": self.profile.currency,
            "lines": [
                {"description": "Consulting", "quantity": "2", "unit_price": "100.05", "tax_category": "standard"},
                {"description": "Support", "quantity": support_quantity, "unit_price": "40.10",
                 "tax_category": "zero"},
            ],
        }
        data.update(overrides)
        return InvoiceSchema().load(data)

    def payment_doc(self, external_id: str, invoice_external_id: str, amount: str, **overrides) -> dict:
        """A normalized payment."""
        data = {"external_id": external_id, "invoice_external_id": invoice_external_id, "amount": amount,
                "currency": self.profile.currency, "date": "2026-01-20"}
        data.update(overrides)
        return PaymentSchema().load(data)

    def credit_note_doc(self, external_id: str, number: str, allocations: list[dict]) -> dict:
        """A normalized one-line (zero rated) credit note with allocations."""
        return CreditNoteSchema().load({
            "external_id": external_id, "number": number, "customer": {"external_id": "cus-contract-1"},
            "issue_date": "2026-01-18", "currency": self.profile.currency,
            "lines": [{"description": "Goodwill credit", "quantity": "1", "unit_price": "50.00",
                       "tax_category": "zero"}],
            "allocations": allocations})

    def customer(self) -> LedgerRef:
        """The standard customer, written (or linked) in the ledger."""
        written = self.adapter.upsert_customer(self.customer_doc(), None, self.key("customer"))
        return LedgerRef(written.ledger_id)

    def open_invoice(self, customer: LedgerRef, external_id: str, number: str, **overrides):
        """Write an open invoice; its LedgerRef and the Written."""
        written = self.adapter.upsert_invoice(self.invoice_doc(external_id, number, **overrides), customer, None,
                                              self.key("invoice"))
        return LedgerRef(written.ledger_id), written


def _settings(sandbox, provider: str) -> dict:
    """The provider's settings as bridge.sync.adapters builds them: lower-case keys, plus the timeout."""
    prefix = f"BRIDGE_{provider.upper()}_"
    pairs = (line.split("=", 1) for line in env_lines(sandbox.port))
    found = {key.removeprefix(prefix).lower(): value for key, value in pairs if key.startswith(prefix)}
    found["timeout"] = TIMEOUT
    return found


def _authorize(oauth: base.OAuthProvider, provider: str) -> tuple[Token, dict, dict]:
    """The real code flow: consent URL, the sandbox's 302, the code traded for tokens and tenants."""
    redirect_uri = REDIRECT_URI.format(provider=provider)
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48) if oauth.PKCE else None
    approval = requests.get(oauth.authorization_url(redirect_uri, state, verifier), allow_redirects=False,
                            timeout=TIMEOUT)
    assert approval.status_code == 302, approval.text
    location = approval.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    callback = dict(parse_qsl(urlsplit(location).query))
    assert callback.get("state") == state and callback.get("code"), callback
    token, found = oauth.exchange(callback["code"], redirect_uri, callback, verifier)
    return token, found, callback


def _pick_tenant(sandbox, provider: str, found: dict, callback: dict) -> str:
    """QBO: the callback's realmId (the US company); Xero: the UK organisation; FreshBooks: its one business."""
    tenants = requests.get(f"{sandbox.url}/_sandbox/{provider}/tenants", timeout=TIMEOUT).json()
    if provider == "quickbooks":
        us = next(t["realm_id"] for t in tenants if t["country"] == "US")
        assert callback["realmId"] == found["tenant_id"] == us
        return found["tenant_id"]
    if provider == "xero":
        uk = next(t["tenant_id"] for t in tenants if t["country"] == "GB")
        assert found["tenant_id"] is None and {t["id"] for t in found["tenants"]} == {t["tenant_id"] for t in tenants}
        return uk
    assert len(tenants) == 1 and found["tenant_id"] == tenants[0]["account_id"]
    return found["tenant_id"]


def _qbo_txn_tax_code(stored: dict) -> str:
    """The seeded US sales tax code that carries a rate (QBO's transaction tax code)."""
    codes = [code["Id"] for code in stored["taxcodes"]
             if code.get("Taxable") and (code.get("SalesTaxRateList") or {}).get("TaxRateDetail")]
    assert len(codes) == 1, stored["taxcodes"]
    return codes[0]


def build_adapter(handle: ConnectedLedger, tenant_extra: dict) -> base.Ledger:
    """The provider's Adapter over the handle's context; Xero's session validates against the spec."""
    context = Context(tenant_id=handle.tenant_id, tokens=handle.tokens, settings=handle.settings,
                      mapping=handle.mapping, tenant_extra=tenant_extra)
    adapter = base.load(handle.name).Adapter(context)
    if handle.name == "xero":
        api_base = handle.settings["api_base_url"].rstrip("/")
        adapter.client.session.mount(api_base + "/", XeroSpecAdapter(api_base, handle.spec_checked,
                                                                      handle.spec_problems))
    return adapter


@pytest.fixture(params=PROVIDERS)
def ledger(request, sandbox):
    """One ledger adapter, connected through OAuth to a freshly reset sandbox tenant."""
    provider = request.param
    control = f"{sandbox.url}/_sandbox/{provider}"
    requests.post(f"{control}/reset", json={"config": True}, timeout=TIMEOUT).raise_for_status()
    if request.node.get_closest_marker("sandbox_limits") is None:
        requests.post(f"{control}/config", json={"limits": {"enabled": False}}, timeout=TIMEOUT).raise_for_status()

    settings = _settings(sandbox, provider)
    oauth = base.load(provider).OAuth(settings)
    token, found, callback = _authorize(oauth, provider)
    tenant_id = _pick_tenant(sandbox, provider, found, callback)
    profile = PROFILES[provider]
    mapping = json.loads(json.dumps(profile.mapping))
    handle = ConnectedLedger(provider, profile, sandbox, settings, oauth, MemoryTokens(oauth, token), tenant_id,
                             {}, callback, mapping)
    if provider == "quickbooks":
        mapping["quickbooks"]["txn_tax_code"] = _qbo_txn_tax_code(handle.stored())
    handle.tenant = build_adapter(handle, {}).tenant_info()
    handle.adapter = build_adapter(handle, handle.tenant)
    yield handle
    assert not handle.spec_problems, handle.spec_problems
    if provider == "xero":
        assert handle.spec_checked, "no Xero request went through the spec check"

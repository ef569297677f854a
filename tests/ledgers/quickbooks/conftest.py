"""Shared helpers for the QuickBooks Online adapter tests: recorded fixtures, a fake token source."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.ledgers.base import Context, Token

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "quickbooks"
REALM = "9130000000000001"
API = "https://quickbooks.api.intuit.com"
COMPANY_URL = f"{API}/v3/company/{REALM}"
SETTINGS = {"client_id": "test-client-id", "client_secret": "test-client-secret-value", "timeout": 5}
US_COMPANY = {"id": REALM, "name": "Example Landscaping Co", "country": "US", "home_currency": "USD",
              "multi_currency": False, "uses_sales_tax": True, "automated_sales_tax": False,
              "default_item": "1"}
UK_COMPANY = {"id": REALM, "name": "Example Trading UK Ltd", "country": "GB", "home_currency": "GBP",
              "multi_currency": True, "uses_sales_tax": True, "automated_sales_tax": False,
              "default_item": "1"}


def load_fixture(name: str):
    """A recorded response, parsed the way the client parses it (numbers as Decimal)."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def fixture_text(name: str) -> str:
    """A recorded response as raw JSON text (what the fake server sends)."""
    return (FIXTURES / name).read_text()


class FakeTokens:
    """A TokenSource: hands out `first`, and `second` after a 401, counting refreshes."""

    def __init__(self):
        self.token = Token("access-one-SECRET", "refresh-one-SECRET", expires_at=2e9)
        self.refreshes = 0

    def current(self) -> Token:
        """The current token."""
        return self.token

    def refreshed(self, stale: Token) -> Token:
        """A newer token than `stale`."""
        self.refreshes += 1
        self.token = Token(f"access-{self.refreshes + 1}-SECRET", "refresh-two-SECRET", expires_at=2e9)
        return self.token


class Recorder:
    """Collects the redacted exchanges the client hands to the sync log."""

    def __init__(self):
        self.exchanges = []

    def __call__(self, request, response):
        self.exchanges.append((request, response))


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_context(tokens, recorder):
    """Build a Context for the fake realm with a chosen mapping and tenant facts."""

    def make(mapping=None, tenant_extra=None) -> Context:
        return Context(tenant_id=REALM, tokens=tokens, settings=dict(SETTINGS), mapping=mapping or {},
                       record=recorder, tenant_extra=dict(US_COMPANY if tenant_extra is None else tenant_extra))

    return make

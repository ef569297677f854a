"""Shared helpers for the FreshBooks adapter tests: recorded fixtures, a fake token source."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.ledgers.base import Context, Token

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "freshbooks"
ACCOUNT = "AbCd12"
API = "https://api.freshbooks.com"
ACCOUNT_URL = f"{API}/accounting/account/{ACCOUNT}"
IDENTITY = f"{API}/auth/api/v1/users/me"
TOKEN = f"{API}/auth/oauth/token"
SETTINGS = {"client_id": "test-client-id", "client_secret": "test-client-secret-value", "timeout": 5}
COMPANY = {"id": ACCOUNT, "name": "Example Landscaping Ltd", "country": "CA", "home_currency": "CAD",
           "business_id": "900001", "business_uuid": "00000000-0000-4000-8000-000000000001",
           "taxes": {"GST": "5", "PST": "7", "QST": "9.975"}, "compound_taxes": ["QST"]}
MAPPING = {"tax_categories": {"standard": "GST+PST", "federal": "GST", "zero": "NONE", "quebec": "GST+QST"},
           "defaults": {"payment_account": "Bank Transfer"}}


def load_fixture(name: str):
    """A recorded response, parsed the way the client parses it (numbers as Decimal)."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def fixture_text(name: str) -> str:
    """A recorded response as raw JSON text (what the fake server sends)."""
    return (FIXTURES / name).read_text()


class FakeTokens:
    """A TokenSource: hands out one token, and a newer one after a 401, counting refreshes."""

    def __init__(self):
        self.token = Token("access-one-SECRET", "refresh-one-SECRET", expires_at=2e9)
        self.refreshes = 0

    def current(self) -> Token:
        """The current token."""
        return self.token

    def refreshed(self, stale: Token) -> Token:
        """A newer token than `stale`."""
        self.refreshes += 1
        self.token = Token(f"access-{self.refreshes + 1}-SECRET", f"refresh-{self.refreshes + 1}-SECRET",
                           expires_at=2e9)
        return self.token


class Recorder:
    """Collects the redacted exchanges the client hands to the sync log."""

    def __init__(self):
        self.exchanges = []

    def __call__(self, request, response):
        self.exchanges.append((request, response))


class Observer:
    """Collects what the client feeds `context.observe`."""

    def __init__(self):
        self.seen = []

    def __call__(self, status, headers):
        self.seen.append((status, dict(headers)))


class Throttle:
    """A stand-in for the shared limiter: counts slots taken and checks none overlap."""

    def __init__(self):
        self.taken = 0
        self.inside = False

    def __call__(self):
        throttle = self

        class Slot:
            def __enter__(self):
                assert not throttle.inside
                throttle.inside = True
                throttle.taken += 1

            def __exit__(self, *exc):
                throttle.inside = False

        return Slot()


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def throttle() -> Throttle:
    return Throttle()


@pytest.fixture
def make_context(tokens, recorder, observer, throttle):
    """Build a Context for the fake business with a chosen mapping, tenant facts and uncertainty."""

    def make(mapping=None, tenant_extra=None, after_uncertain=False) -> Context:
        return Context(tenant_id=ACCOUNT, tokens=tokens, settings=dict(SETTINGS),
                       mapping=MAPPING if mapping is None else mapping, record=recorder,
                       tenant_extra=dict(COMPANY if tenant_extra is None else tenant_extra),
                       throttle=throttle, observe=observer, after_uncertain=after_uncertain)

    return make

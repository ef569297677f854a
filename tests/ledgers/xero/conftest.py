"""Shared helpers for the Xero adapter tests: recorded fixtures, fake tokens, a spec-checked fake Xero."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from bridge.ledgers.base import Context, Token

from .spec import SERVER, assert_valid_xero_calls

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "xero"
API = SERVER
"""The real Accounting API base (the spec's server): every call the tests make is checked against the spec."""
UK_TENANT = "11111111-1111-4111-8111-111111111111"
AU_TENANT = "22222222-2222-4222-8222-222222222222"
CONTACT_ID = "c0000000-0000-4000-8000-000000000001"
INVOICE_ID = "a0000000-0000-4000-8000-000000000001"
DRAFT_ID = "a0000000-0000-4000-8000-000000000004"
PAYMENT_ID = "b0000000-0000-4000-8000-000000000001"
CREDIT_NOTE_ID = "d0000000-0000-4000-8000-000000000001"
SETTINGS = {"client_id": "test-client-id", "client_secret": "test-client-secret-value", "timeout": 5}
UK_ORG = {"id": UK_TENANT, "name": "Example Trading UK Ltd", "country": "GB", "home_currency": "GBP"}
UK_MAPPING = {
    "products": {"CONSULT": {"item": "CONSULT", "account": "200"}},
    "tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT", "exempt": "EXEMPTOUTPUT"},
    "defaults": {"income_account": "260", "payment_account": "090", "tax_code": "NONE"},
}
AU_MAPPING = {
    "tax_categories": {"standard": "OUTPUT", "free": "EXEMPTOUTPUT"},
    "defaults": {"income_account": "200", "payment_account": "090"},
}


def load_fixture(name: str):
    """A recorded response, parsed the way the client parses it (numbers as Decimal)."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def fixture_text(name: str) -> str:
    """A recorded response as raw JSON text (what the fake Xero sends)."""
    return (FIXTURES / name).read_text()


class FakeTokens:
    """A TokenSource: hands out one token, and a newer one after each 401, counting refreshes."""

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


class Observer:
    """Collects what the client feeds `context.observe` (the shared limiter reads these)."""

    def __init__(self):
        self.seen = []

    def __call__(self, status, headers):
        self.seen.append((status, dict(headers)))


class Throttle:
    """Counts how often the client held the limiter's slot, and checks it is never held twice at once."""

    def __init__(self):
        self.entered = 0
        self.held = False

    def __call__(self):
        throttle = self

        class Slot:
            def __enter__(self):
                assert not throttle.held, "the throttle slot was taken twice at once"
                throttle.held = True
                throttle.entered += 1

            def __exit__(self, *exc):
                throttle.held = False
                return False

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
    """Build a Context for the fake UK organisation with a chosen mapping."""

    def make(mapping=None, tenant_id=UK_TENANT, after_uncertain=False, **settings) -> Context:
        return Context(tenant_id=tenant_id, tokens=tokens, settings={**SETTINGS, **settings},
                       mapping=UK_MAPPING if mapping is None else mapping, record=recorder,
                       tenant_extra=dict(UK_ORG), throttle=throttle, observe=observer,
                       after_uncertain=after_uncertain)

    return make


@pytest.fixture
def xero():
    """A fake Xero (`responses`); after the test, EVERY Accounting API request sent is validated
    against Xero's official OpenAPI (tests/ledgers/xero/spec.py): an invalid one fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        calls = list(mock.calls)
    assert_valid_xero_calls(calls)

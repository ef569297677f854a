"""Fixtures for the sandbox tests: a fresh sandbox app per test and a small QBO client on top of it."""

from __future__ import annotations

import pytest

from bridge.sandbox import create_sandbox_app
from bridge.sandbox.quickbooks import UK_REALM_ID, US_REALM_ID

from .qbo_client import QBO
from .webhook_receiver import Receiver


@pytest.fixture
def sandbox_app():
    """A fresh sandbox; throttles off so behaviour tests are not disturbed (limit tests turn them on)."""
    return create_sandbox_app({"limits": {"enabled": False}})


@pytest.fixture
def client(sandbox_app):
    return sandbox_app.test_client()


@pytest.fixture
def emulator(sandbox_app):
    return sandbox_app.extensions["sandbox"]["providers"]["quickbooks"]


@pytest.fixture
def qbo(client):
    """A connected client for the US company."""
    return QBO(client, US_REALM_ID).connect()


@pytest.fixture
def qbo_uk(client):
    """A connected client for the UK company."""
    return QBO(client, UK_REALM_ID).connect()


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 that records every POST."""
    server = Receiver()
    yield server
    server.close()

"""Fixtures for the Xero sandbox tests: a fresh sandbox serving only the Xero emulator."""

from __future__ import annotations

import pytest

from bridge.sandbox import create_sandbox_app
from bridge.sandbox.xero import AU_TENANT_ID, UK_TENANT_ID

from .xero_client import Xero


@pytest.fixture
def xero_app():
    """A fresh sandbox; limits off so behaviour tests are not disturbed (limit tests turn them on)."""
    return create_sandbox_app({"limits": {"enabled": False}}, providers=("xero",))


@pytest.fixture
def client(xero_app):
    return xero_app.test_client()


@pytest.fixture
def emulator(xero_app):
    return xero_app.extensions["sandbox"]["providers"]["xero"]


@pytest.fixture
def xero(client):
    """A connected client for the UK organisation."""
    return Xero(client, UK_TENANT_ID).connect()


@pytest.fixture
def xero_au(xero):
    """The same grant, talking to the AU organisation."""
    au = Xero(xero.client, AU_TENANT_ID)
    au.tokens = xero.tokens
    return au

"""Fixtures for the FreshBooks sandbox tests: a fresh FreshBooks-only sandbox per test."""

from __future__ import annotations

import pytest

from bridge.sandbox import create_sandbox_app

from .fb_client import FB


@pytest.fixture
def fb_app():
    """A sandbox serving only the FreshBooks emulator (hidden limit off, as by default)."""
    return create_sandbox_app({}, providers=("freshbooks",))


@pytest.fixture
def fb_http(fb_app):
    return fb_app.test_client()


@pytest.fixture
def fb_emulator(fb_app):
    return fb_app.extensions["sandbox"]["providers"]["freshbooks"]


@pytest.fixture
def fb(fb_http):
    """A client connected with the bridge's scopes to the Canadian business."""
    return FB(fb_http).connect()

"""Xero emulator: Xero's OAuth 2 identity service, /connections and the Accounting API, from ledger-api-facts.md §2."""

from __future__ import annotations

from flask import Blueprint, current_app

from . import api, oauth
from .emulator import WEBHOOK_KEY, XeroEmulator
from .seeds import AU_TENANT_ID, UK_TENANT_ID

URL_PREFIX = "/xero"
CLIENT_ID = oauth.CLIENT_ID
CLIENT_SECRET = oauth.CLIENT_SECRET

Emulator = XeroEmulator

__all__ = ["AU_TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "UK_TENANT_ID", "URL_PREFIX", "WEBHOOK_KEY", "Emulator",
           "XeroEmulator", "create_blueprint", "env_lines"]


def env_lines(base: str) -> list[str]:
    """The BRIDGE_XERO_* settings that point the bridge at this emulator under `base`."""
    return [
        f"BRIDGE_XERO_CLIENT_ID={CLIENT_ID}",
        f"BRIDGE_XERO_CLIENT_SECRET={CLIENT_SECRET}",
        f"BRIDGE_XERO_AUTHORIZE_URL={base}{URL_PREFIX}{oauth.AUTHORIZE_PATH}",
        f"BRIDGE_XERO_TOKEN_URL={base}{URL_PREFIX}{oauth.TOKEN_PATH}",
        f"BRIDGE_XERO_REVOKE_URL={base}{URL_PREFIX}{oauth.REVOKE_PATH}",
        f"BRIDGE_XERO_API_BASE_URL={base}{URL_PREFIX}{api.API_PREFIX}",
        f"BRIDGE_XERO_CONNECTIONS_URL={base}{URL_PREFIX}{oauth.CONNECTIONS_PATH}",
        f"BRIDGE_XERO_WEBHOOK_KEY={WEBHOOK_KEY}",
    ]


def current_emulator() -> XeroEmulator:
    """The Xero emulator of the running sandbox app."""
    return current_app.extensions["sandbox"]["providers"]["xero"]


def create_blueprint() -> Blueprint:
    """The /xero blueprint: identity routes, /connections and the Accounting API."""
    bp = Blueprint("xero", __name__, url_prefix=URL_PREFIX)
    oauth.register(bp, current_emulator)
    api.register(bp)
    return bp

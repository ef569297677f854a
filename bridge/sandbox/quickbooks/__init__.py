"""QuickBooks Online emulator: Intuit OAuth 2.0 and the Accounting API v3, from ledger-api-facts.md §1."""

from __future__ import annotations

from flask import Blueprint, current_app

from . import api, oauth
from .emulator import WEBHOOK_KEY, QuickBooksEmulator
from .seeds import UK_REALM_ID, US_REALM_ID

URL_PREFIX = "/quickbooks"
CLIENT_ID = oauth.CLIENT_ID
CLIENT_SECRET = oauth.CLIENT_SECRET

Emulator = QuickBooksEmulator

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "URL_PREFIX", "UK_REALM_ID", "US_REALM_ID", "WEBHOOK_KEY", "Emulator",
           "QuickBooksEmulator", "create_blueprint", "env_lines"]


def env_lines(base: str) -> list[str]:
    """The BRIDGE_QUICKBOOKS_* settings that point the bridge at this emulator under `base`."""
    return [
        f"BRIDGE_QUICKBOOKS_CLIENT_ID={CLIENT_ID}",
        f"BRIDGE_QUICKBOOKS_CLIENT_SECRET={CLIENT_SECRET}",
        f"BRIDGE_QUICKBOOKS_AUTHORIZE_URL={base}{URL_PREFIX}{oauth.AUTHORIZE_PATH}",
        f"BRIDGE_QUICKBOOKS_TOKEN_URL={base}{URL_PREFIX}{oauth.TOKEN_PATH}",
        f"BRIDGE_QUICKBOOKS_REVOKE_URL={base}{URL_PREFIX}{oauth.REVOKE_PATH}",
        f"BRIDGE_QUICKBOOKS_API_BASE_URL={base}{URL_PREFIX}",
        f"BRIDGE_QUICKBOOKS_WEBHOOK_KEY={WEBHOOK_KEY}",
    ]


def current_emulator() -> QuickBooksEmulator:
    """The QuickBooks emulator of the running sandbox app."""
    return current_app.extensions["sandbox"]["providers"]["quickbooks"]


def create_blueprint() -> Blueprint:
    """The /quickbooks blueprint: OAuth routes plus the Accounting API."""
    bp = Blueprint("quickbooks", __name__, url_prefix=URL_PREFIX)
    oauth.register(bp, current_emulator)
    api.register(bp)
    return bp

"""QuickBooks Online emulator: Intuit OAuth 2.0 and the Accounting API v3, from ledger-api-facts.md §1."""

from __future__ import annotations

from flask import Blueprint, current_app

from . import api, oauth
from .emulator import WEBHOOK_KEY, QuickBooksEmulator
from .seeds import UK_REALM_ID, US_REALM_ID

URL_PREFIX = "/quickbooks"
CLIENT_ID = oauth.CLIENT_ID
CLIENT_SECRET = oauth.CLIENT_SECRET

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "URL_PREFIX", "UK_REALM_ID", "US_REALM_ID", "WEBHOOK_KEY",
           "QuickBooksEmulator", "create_blueprint"]


def current_emulator() -> QuickBooksEmulator:
    """The QuickBooks emulator of the running sandbox app."""
    return current_app.extensions["sandbox"]["providers"]["quickbooks"]


def create_blueprint() -> Blueprint:
    """The /quickbooks blueprint: OAuth routes plus the Accounting API."""
    bp = Blueprint("quickbooks", __name__, url_prefix=URL_PREFIX)
    oauth.register(bp, current_emulator)
    api.register(bp)
    return bp

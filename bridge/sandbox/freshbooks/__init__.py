"""FreshBooks emulator: OAuth 2.0, users/me, the accounting API and webhook callbacks, from ledger-api-facts.md §3."""

from __future__ import annotations

from flask import Blueprint

from . import api, events, oauth
from .api import current_emulator
from .emulator import FreshBooksEmulator
from .seeds import ACCOUNT_ID, BUSINESS_ID, BUSINESS_UUID, EXTRA_ACCOUNT_ID, EXTRA_BUSINESS_ID, EXTRA_BUSINESS_UUID

URL_PREFIX = "/freshbooks"
CLIENT_ID = oauth.CLIENT_ID
CLIENT_SECRET = oauth.CLIENT_SECRET

Emulator = FreshBooksEmulator

__all__ = ["ACCOUNT_ID", "BUSINESS_ID", "BUSINESS_UUID", "CLIENT_ID", "CLIENT_SECRET", "EXTRA_ACCOUNT_ID",
           "EXTRA_BUSINESS_ID", "EXTRA_BUSINESS_UUID", "URL_PREFIX", "Emulator", "FreshBooksEmulator",
           "create_blueprint", "current_emulator", "env_lines"]


def env_lines(base: str) -> list[str]:
    """The BRIDGE_FRESHBOOKS_* settings that point the bridge at this emulator under `base`."""
    return [
        f"BRIDGE_FRESHBOOKS_CLIENT_ID={CLIENT_ID}",
        f"BRIDGE_FRESHBOOKS_CLIENT_SECRET={CLIENT_SECRET}",
        f"BRIDGE_FRESHBOOKS_AUTHORIZE_URL={base}{URL_PREFIX}{oauth.AUTHORIZE_PATH}",
        f"BRIDGE_FRESHBOOKS_TOKEN_URL={base}{URL_PREFIX}{oauth.TOKEN_PATH}",
        f"BRIDGE_FRESHBOOKS_REVOKE_URL={base}{URL_PREFIX}{oauth.REVOKE_PATH}",
        f"BRIDGE_FRESHBOOKS_API_BASE_URL={base}{URL_PREFIX}",
        f"BRIDGE_FRESHBOOKS_IDENTITY_URL={base}{URL_PREFIX}{oauth.IDENTITY_PATH}",
    ]


def create_blueprint() -> Blueprint:
    """The /freshbooks blueprint: OAuth, identity, accounting, ledger accounts and callbacks."""
    bp = Blueprint("freshbooks", __name__, url_prefix=URL_PREFIX)
    oauth.register(bp, current_emulator)
    api.register(bp)
    events.register(bp)
    return bp

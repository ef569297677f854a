"""FreshBooks webhook callbacks over HTTP: register, list, verify, ask again for the code, delete (facts §3.4)."""

from __future__ import annotations

from urllib.parse import quote

from bridge.ledgers.freshbooks import facts
from bridge.ledgers.freshbooks.client import Client, unwrap

MAX_PAGES = 5
"""Pages of callbacks read at most when listing (a business has a few dozen at most)."""


def callbacks_url(client: Client, callback_id: str | None = None) -> str:
    """The callbacks resource of the client's business, or one callback."""
    url = client.api_base + facts.CALLBACKS_PATH.format(account_id=quote(str(client.context.tenant_id), safe=""))
    return f"{url}/{quote(str(callback_id), safe='')}" if callback_id is not None else url


def register(client: Client, event: str, uri: str) -> dict:
    """Register a callback for `event` to `uri`; FreshBooks then POSTs its verifier to `uri`."""
    result = unwrap(client.request("POST", callbacks_url(client), body={"callback": {"event": event, "uri": uri}}))
    return result.get("callback") or {}


def list_callbacks(client: Client, uri: str | None = None) -> list[dict]:
    """The business's callbacks (those to `uri` when given)."""
    found: list[dict] = []
    for page in range(1, MAX_PAGES + 1):
        params = [("page", page), ("per_page", facts.PER_PAGE_MAX)] + ([("search[uri]", uri)] if uri else [])
        result = unwrap(client.request("GET", callbacks_url(client), params=params))
        batch = result.get("callbacks") or []
        found.extend(batch)
        if not batch or page >= int(result.get("pages") or 1):
            break
    return found


def verify(client: Client, callback_id: str, verifier: str) -> dict:
    """Confirm a callback with the verifier FreshBooks sent to its uri."""
    result = unwrap(client.request("PUT", callbacks_url(client, callback_id),
                                   body={"callback": {"verifier": verifier}}))
    return result.get("callback") or {}


def resend(client: Client, callback_id: str) -> None:
    """Ask FreshBooks to send the callback's verifier to its uri again."""
    client.request("PUT", callbacks_url(client, callback_id), body={"callback": {"resend": True}})


def delete(client: Client, callback_id: str) -> None:
    """Remove a callback."""
    client.request("DELETE", callbacks_url(client, callback_id))


def callback_id_of(callback: dict) -> str | None:
    """The id of a callback as FreshBooks renders it (`callbackid`; `id` in some answers)."""
    value = callback.get("callbackid", callback.get("id"))
    return str(value) if value is not None else None

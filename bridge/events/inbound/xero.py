"""Xero webhooks: `x-xero-signature`, Intent to Receive, INVOICE / CONTACT / CREDITNOTE events (facts §2.5)."""

from __future__ import annotations

from flask import Flask

from bridge.events.inbound.common import notice, receive_signed_json

PROVIDER = "xero"
SIGNATURE_HEADER = "x-xero-signature"
"""base64(HMAC-SHA256(webhook key, raw body)); Intent to Receive: 200 if it matches, else 401, empty body,
within 5 s. [V] facts §2.5, xero-webhooks.yaml"""
CATEGORIES = {"INVOICE": "invoice", "CONTACT": "customer", "CREDITNOTE": "credit_note"}
"""Event category -> our object (SUBSCRIPTION is about the app, not a ledger object)."""
OPERATIONS = {"CREATE": "create", "UPDATE": "update"}
PAYABLE_CREDIT_NOTE = "ACCPAYCREDIT"
"""A supplier credit note (CREDITNOTE events carry data.Type): not something the bridge writes or reports."""


def notices_by_tenant(payload) -> dict[str, list[dict]]:
    """{"events": [...]} -> {tenantId: [notice, ...]}; the Intent to Receive (no events) gives {}."""
    found: dict[str, list[dict]] = {}
    events = payload.get("events") if isinstance(payload, dict) else None
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        obj = CATEGORIES.get(str(event.get("eventCategory") or "").upper())
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        if obj is None or not event.get("tenantId") or not event.get("resourceId"):
            continue
        if obj == "credit_note" and data.get("Type") == PAYABLE_CREDIT_NOTE:
            continue
        operation = OPERATIONS.get(str(event.get("eventType") or "").upper(), "update")
        found.setdefault(str(event["tenantId"]), []).append(notice(obj, event["resourceId"], operation))
    return found


def receive(app: Flask, raw: bytes, headers) -> None:
    """Verify (this alone answers an Intent to Receive), record per connection of each tenant, enqueue."""
    receive_signed_json(app, PROVIDER, app.config.get("XERO_WEBHOOK_KEY"), headers.get(SIGNATURE_HEADER),
                        raw, notices_by_tenant)

"""QuickBooks Online webhooks: `intuit-signature`, the legacy `eventNotifications` body and CloudEvents (facts §1.6)."""

from __future__ import annotations

from flask import Flask

from bridge.events.inbound.common import notice, receive_signed_json

PROVIDER = "quickbooks"
SIGNATURE_HEADER = "intuit-signature"
"""base64(HMAC-SHA256(verifier token, raw body)). [V] facts §1.6"""
ENTITIES = {"invoice": "invoice", "payment": "payment", "customer": "customer", "creditmemo": "credit_note"}
"""QBO entity (lower case) -> our object; other entities (Item, Account, ...) are not read."""
OPERATIONS = {"create": "create", "created": "create", "update": "update", "updated": "update",
              "delete": "delete", "deleted": "delete", "void": "void", "voided": "void"}
"""Legacy operation or CloudEvents verb -> ours; Merge, Emailed and anything new count as an update."""


def _operation(word: str) -> str:
    return OPERATIONS.get(str(word).lower(), "update")


def notices_by_realm(payload) -> dict[str, list[dict]]:
    """Both payload shapes -> {realmId: [notice, ...]} (entities the bridge does not read are left out)."""
    found: dict[str, list[dict]] = {}

    def add(realm, entity, entity_id, operation):
        obj = ENTITIES.get(str(entity or "").lower())
        if obj and realm and entity_id not in (None, ""):
            found.setdefault(str(realm), []).append(notice(obj, entity_id, _operation(operation)))

    if isinstance(payload, dict):  # legacy: {"eventNotifications": [{"realmId", "dataChangeEvent": {"entities"}}]}
        for item in payload.get("eventNotifications") or []:
            if not isinstance(item, dict):
                continue
            entities = (item.get("dataChangeEvent") or {}).get("entities") or []
            for entity in entities if isinstance(entities, list) else []:
                if isinstance(entity, dict):
                    add(item.get("realmId"), entity.get("name"), entity.get("id"), entity.get("operation"))
    elif isinstance(payload, list):  # CloudEvents: [{"type": "qbo.invoice.updated.v1", "intuitentityid", ...}]
        for event in payload:
            if not isinstance(event, dict):
                continue
            parts = str(event.get("type") or "").split(".")
            if len(parts) >= 3 and parts[0] == "qbo":
                add(event.get("intuitaccountid"), parts[1], event.get("intuitentityid"), parts[2])
    return found


def receive(app: Flask, raw: bytes, headers) -> None:
    """Verify, record per connection of each realm, enqueue; a bad signature is a 401 and nothing else."""
    receive_signed_json(app, PROVIDER, app.config.get("QUICKBOOKS_WEBHOOK_KEY"), headers.get(SIGNATURE_HEADER),
                        raw, notices_by_realm)

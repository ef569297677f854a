"""QuickBooks Online webhooks, sent from the emulator's changes (ledger-api-facts.md §1.6).

- Legacy payload (the default): `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{name, id, operation, lastUpdated}]}}]}`, one element per company [V] dic/develop/webhooks;
  `lastUpdated` in UTC with milliseconds, as in Intuit's 2025 sample [V] [I-CE].
- `webhook_format: "cloudevents"`: a JSON array of CloudEvents 1.0, `type` `qbo.<entity>.<created|updated|
  deleted|voided|merged|emailed>.v1`, `intuitentityid` the object's Id, `intuitaccountid` the realmId
  [V] [I-CE]; `id` "<uuid>-<Entity>-<Id>" as in dic/develop/webhooks/data-objects.
- `intuit-signature` = base64(HMAC-SHA256(verifier token, raw body)) [V].
- Entities with webhooks among those the sandbox keeps: Customer, Item, Account, Invoice, Payment,
  CreditMemo (TaxCode and TaxRate have none) [V] dic/develop/webhooks/managing-webhooks-notifications.
- Production aggregates changes over 1, 3 or 5 minutes, the developer sandbox is near real time [V]: the
  emulator sends at once unless `webhook_delay_seconds` collects a window into one notification.
- Anything but a 200 is a failed delivery, retried (webhooks.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timezone

from ..webhooks import Delivery, WebhookSender, hmac_base64

WEBHOOK_ENTITIES = ("Customer", "Item", "Account", "Invoice", "Payment", "CreditMemo")
FORMATS = ("legacy", "cloudevents")
PAST_TENSE = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Merge": "merged",
              "Emailed": "emailed"}
USER_AGENT = "sandbox-quickbooks-webhooks"


def accept_200(status: int, body: bytes) -> bool:
    """Intuit takes only a 200 as received."""
    return status == 200


def utc_millis(epoch: float) -> str:
    """2025-09-08T20:52:31.657Z"""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_payload(items: list[dict]) -> dict:
    """The eventNotifications document: entities grouped per realm, in the order they changed."""
    realms: dict[str, list] = {}
    for item in items:
        realms.setdefault(item["realm_id"], []).append(
            {"name": item["entity"], "id": item["id"], "operation": item["operation"],
             "lastUpdated": utc_millis(item["time"])})
    return {"eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {"entities": entities}}
                                   for realm_id, entities in realms.items()]}


def cloudevents_payload(items: list[dict], source: str) -> list[dict]:
    """The CloudEvents array: one event per change."""
    return [{"specversion": "1.0", "id": f"{uuid.uuid4()}-{item['entity']}-{item['id']}", "source": source,
             "type": f"qbo.{item['entity'].lower()}.{PAST_TENSE.get(item['operation'], item['operation'].lower())}.v1",
             "datacontenttype": "application/json", "time": utc_millis(item["time"]),
             "intuitentityid": item["id"], "intuitaccountid": item["realm_id"], "data": {}}
            for item in items]


class QuickBooksWebhooks:
    """Turns the emulator's changes into signed notifications to `webhook_target`."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.sender = WebhookSender("quickbooks", clock=emulator.clock.now)
        emulator.change_listeners.append(self.on_change)

    def source(self) -> str:
        """An opaque, stable `source` per app, like Intuit's "intuit.<base64>"."""
        client_id = sorted(self.emulator.settings["clients"])[0]
        return "intuit." + base64.b64encode(hashlib.sha256(client_id.encode()).digest()).decode()

    def on_change(self, change: dict) -> None:
        """A change listener (runs under the store lock: it only queues)."""
        settings = self.emulator.settings
        target = settings["webhook_target"]
        if not target or change["entity"] not in WEBHOOK_ENTITIES:
            return
        item = {"realm_id": change["realm_id"], "entity": change["entity"], "id": change["id"],
                "operation": change["operation"], "time": self.emulator.clock.now()}
        key = (target, settings["webhook_format"], settings["webhook_key"], settings["webhook_retries"],
               settings["webhook_retry_seconds"])
        self.sender.collect(key, item, settings["webhook_delay_seconds"],
                            lambda items, key=key, source=self.source(): [self._delivery(key, source, items)])

    def _delivery(self, key: tuple, source: str, items: list[dict]) -> Delivery:
        target, form, webhook_key, retries, retry_seconds = key
        payload = cloudevents_payload(items, source) if form == "cloudevents" else legacy_payload(items)
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "intuit-signature": hmac_base64(webhook_key, body)}
        return Delivery(target, body, headers, kind=f"notification:{form}", accept=accept_200, retries=retries,
                        retry_seconds=retry_seconds)

    def reset(self) -> None:
        """Forget queued and logged deliveries."""
        self.sender.clear()

    def view(self) -> dict:
        """What GET /_sandbox/quickbooks/webhooks shows."""
        settings = self.emulator.settings
        return {"provider": "quickbooks", "webhook_target": settings["webhook_target"],
                "webhook_format": settings["webhook_format"],
                "webhook_delay_seconds": settings["webhook_delay_seconds"], "pending": self.sender.pending(),
                "deliveries": self.sender.deliveries()}


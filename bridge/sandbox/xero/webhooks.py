"""Xero webhooks, sent from the emulator's changes (ledger-api-facts.md §2.5, xero-webhooks.yaml).

- Payload `{"events": [{resourceUrl, resourceId, eventDateUtc, eventType, eventCategory, tenantId,
  tenantType}], "firstEventSequence", "lastEventSequence", "entropy"}`; CREDITNOTE events add
  `data: {Type, Status}` [V] xero-webhooks.yaml. `eventDateUtc` has no zone designator, as in its examples.
- Categories INVOICE, CONTACT, CREDITNOTE x CREATE, UPDATE; there is no payment category: a payment is
  an INVOICE UPDATE (the emulator already reports it so) [V]/[P] facts §2.5.
- `x-xero-signature` = base64(HMAC-SHA256(webhook key, raw body)) [V] [X-WH].
- Intent to Receive [V] [X-WH]: when the target is set or changed (or set again, like pressing "Send
  'Intent To Receive'"), Xero POSTs `{"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
  "entropy"}` correctly signed and again wrongly signed; the target passes if it answered 200 and 401
  respectively, with no body, within 5 s. Until it passes no events are sent: events that happen while
  the check runs are held and sent when it passes, dropped when it fails (counted in the view).
  `webhook_intent_to_receive: false` skips the check (for tests that do not care).
- Only a 200 counts as received; Xero retries for 24 h and then disables the webhook, the sandbox
  retries a few times (webhooks.py) and never disables it.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from datetime import datetime, timezone

from ..webhooks import TIMEOUT_SECONDS, Delivery, WebhookSender, hmac_base64

CATEGORIES = ("INVOICE", "CONTACT", "CREDITNOTE")  # SUBSCRIPTION is about the app, not an organisation
RESOURCE_PATHS = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
RESOURCE_BASE = "https://api.xero.com/api.xro/2.0"  # resourceUrl as Xero writes it
ENTROPY_ALPHABET = string.ascii_uppercase
USER_AGENT = "sandbox-xero-webhooks"


def entropy() -> str:
    """A random string like Xero's "FXNGWLCCGVANWHKILRUB"."""
    return "".join(secrets.choice(ENTROPY_ALPHABET) for _ in range(20))


def event_date(epoch: float) -> str:
    """2025-12-02T00:44:09.923 (UTC, milliseconds, no zone designator)."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def accept_200(status: int, body: bytes) -> bool:
    """Xero takes only a 200 as received."""
    return status == 200


def _intent_answer(expected: int):
    def accept(status: int, body: bytes) -> bool:
        return status == expected and body == b""
    return accept


class XeroWebhooks:
    """Turns the emulator's changes into signed Xero notifications, behind the Intent to Receive check."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.sender = WebhookSender("xero", clock=emulator.clock.now)
        self._lock = threading.Lock()
        self._sequence = 0
        self._held: list[tuple] = []
        self.intent = {"target": None, "status": "none"}
        emulator.change_listeners.append(self.on_change)

    # Intent to Receive

    def target_changed(self) -> None:
        """The target was set (or set again): run Intent to Receive, or skip it if so configured."""
        settings = self.emulator.settings
        target = settings["webhook_target"]
        with self._lock:
            self._held = []
            if not target:
                self.intent = {"target": None, "status": "none"}
                return
            if not settings["webhook_intent_to_receive"]:
                self.intent = {"target": target, "status": "skipped"}
                return
            intent = self.intent = {"target": target, "status": "pending", "good": None, "bad": None,
                                    "dropped_events": 0}
        key = settings["webhook_key"]
        for which, signing_key, expected in (("good", key, 200), ("bad", key + "-not-the-key", 401)):
            body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                               "entropy": entropy()}, separators=(",", ":")).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                       "x-xero-signature": hmac_base64(signing_key, body)}
            self.sender.send(Delivery(target, body, headers, kind=f"intent-to-receive:{which}-signature",
                                      accept=_intent_answer(expected), retries=0,
                                      on_done=lambda entry, which=which, intent=intent:
                                      self._intent_answered(intent, which, entry)))

    def _intent_answered(self, intent: dict, which: str, entry: dict) -> None:
        passed = (entry["state"] == "delivered" and entry["elapsed_ms"] is not None
                  and entry["elapsed_ms"] < TIMEOUT_SECONDS * 1000)
        with self._lock:
            if self.intent is not intent:
                return
            intent[which] = {"status": entry["status"], "passed": passed, "elapsed_ms": entry["elapsed_ms"],
                             "error": entry["error"], "body": entry["response"]}
            if intent["good"] is None or intent["bad"] is None:
                return
            verified = intent["good"]["passed"] and intent["bad"]["passed"]
            intent["status"] = "verified" if verified else "failed"
            held, self._held = self._held, []
            if not verified:
                intent["dropped_events"] += len(held)
                return
        for key, event, delay in held:
            self._collect(key, event, delay)

    # Events

    def on_change(self, change: dict) -> None:
        """A change listener (runs under the store lock: it only queues)."""
        settings = self.emulator.settings
        target = settings["webhook_target"]
        if not target or change["category"] not in CATEGORIES:
            return
        event = {"resourceUrl": f"{RESOURCE_BASE}/{RESOURCE_PATHS[change['category']]}/{change['id']}",
                 "resourceId": change["id"], "eventDateUtc": event_date(self.emulator.clock.now()),
                 "eventType": change["operation"], "eventCategory": change["category"],
                 "tenantId": change["tenant_id"], "tenantType": change.get("tenant_type", "ORGANISATION")}
        if change["category"] == "CREDITNOTE":
            tenant = self.emulator.store.tenant(change["tenant_id"])
            record = tenant.get("CreditNote", change["id"]) if tenant else None
            if record is not None:
                event["data"] = {"Type": record.body["Type"], "Status": record.body["Status"]}
        key = (target, settings["webhook_key"], settings["webhook_retries"], settings["webhook_retry_seconds"])
        delay = settings["webhook_delay_seconds"]
        with self._lock:
            status = self.intent["status"] if self.intent["target"] == target else "none"
            if status == "pending":
                self._held.append((key, event, delay))
                return
            if status not in ("verified", "skipped"):
                if status == "failed":
                    self.intent["dropped_events"] += 1
                return
        self._collect(key, event, delay)

    def _collect(self, key: tuple, event: dict, delay: float) -> None:
        self.sender.collect(key, event, delay, lambda events, key=key: [self._delivery(key, events)])

    def _delivery(self, key: tuple, events: list[dict]) -> Delivery:
        target, webhook_key, retries, retry_seconds = key
        with self._lock:
            first = self._sequence + 1
            self._sequence += len(events)
        body = json.dumps({"events": events, "firstEventSequence": first,
                           "lastEventSequence": first + len(events) - 1, "entropy": entropy()},
                          separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "x-xero-signature": hmac_base64(webhook_key, body)}
        return Delivery(target, body, headers, kind="notification", accept=accept_200, retries=retries,
                        retry_seconds=retry_seconds)

    # Control

    def reset(self, keep_intent: bool) -> None:
        """Forget queued and logged deliveries (and the Intent to Receive result unless kept)."""
        self.sender.clear()
        with self._lock:
            self._held = []
            checking = self.intent["status"] == "pending"
            if not keep_intent:
                self.intent = {"target": None, "status": "none"}
        if keep_intent and checking:
            self.target_changed()  # its requests were dropped with the queue: check again

    def intent_view(self) -> dict:
        """The Intent to Receive state of the current target."""
        with self._lock:
            return dict(self.intent)

    def view(self) -> dict:
        """What GET /_sandbox/xero/webhooks shows."""
        settings = self.emulator.settings
        return {"provider": "xero", "webhook_target": settings["webhook_target"],
                "intent_to_receive": self.intent_view(),
                "webhook_delay_seconds": settings["webhook_delay_seconds"], "pending": self.sender.pending(),
                "deliveries": self.sender.deliveries()}

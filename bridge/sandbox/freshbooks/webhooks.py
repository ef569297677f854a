"""FreshBooks webhooks: the verification POST and the signed event deliveries (ledger-api-facts.md §3.4).

- Verification: "When a callback is first registered, we will automatically send an HTTP POST request
  containing a unique verification code as well as a unique id for the callback record being verified"
  [V] freshbooks.com/api/webhooks. Its form fields here are the delivery fields with `name` =
  `callback.verify`, `object_id` = the callback id, plus `verifier`: receivers read `name`, `object_id`
  and `verifier` from the form [P] (a receiver published as gist magician11/e587d1921578fe1e808c9b4ce9971776;
  `callback.verify` is the classic API's method name, rubydoc freshbooks_client Callback#verify).
  The same POST goes out again on `{"callback": {"resend": true}}` and when the uri changes.
  It is signed like a delivery, with the verifier it carries [U]: a receiver may ignore that.
- Deliveries: a form-encoded POST per verified callback whose event matches (`invoice` matches
  `invoice.create`): `name=invoice.create&object_id=..&account_id=..&business_id=..&identity_id=..&user_id=..`
  [V] FB-SDK webhooks guide; header `X-FreshBooks-Hmac-SHA256` = base64(HMAC-SHA256(verifier,
  json.dumps(form))) with Python's default separators, the fields in the order sent, values as strings
  [V] FB-SDK guide, freshbooks-php-sdk guide. Not the raw body.
- FreshBooks promises no delivery speed ("a few seconds to several minutes") [V]; the sandbox sends at once.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from ..webhooks import Delivery, WebhookSender, hmac_base64
from . import events

FORM_TYPE = "application/x-www-form-urlencoded"
USER_AGENT = "sandbox-freshbooks-webhooks"


def signed(uri: str, form: dict, verifier: str, kind: str, settings: dict, on_done=None) -> Delivery:
    """A form POST to `uri`, signed over json.dumps of the form (values as strings, in order)."""
    form = {key: str(value) for key, value in form.items()}
    headers = {"Content-Type": FORM_TYPE, "User-Agent": USER_AGENT,
               "X-FreshBooks-Hmac-SHA256": hmac_base64(verifier, json.dumps(form).encode("utf-8"))}
    return Delivery(uri, urlencode(form).encode("ascii"), headers, kind=kind, retries=settings["webhook_retries"],
                    retry_seconds=settings["webhook_retry_seconds"], on_done=on_done)


class FreshBooksWebhooks:
    """Sends each callback's verification and, once verified, its events."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.sender = WebhookSender("freshbooks", clock=emulator.clock.now)
        emulator.change_listeners.append(self.on_change)

    def verification(self, entry: dict) -> None:
        """Send a queued verification (an outbox entry); the entry records whether it arrived."""
        self.sender.send(signed(entry["uri"], entry["form"], entry["form"]["verifier"], "verification",
                                self.emulator.settings, on_done=lambda final: self._verified_sent(entry, final)))

    def _verified_sent(self, entry: dict, final: dict) -> None:
        with self.emulator.store.lock:
            entry.update(sent=final["state"] == "delivered", status=final["status"], attempts=final["attempts"])

    def on_change(self, change: dict) -> None:
        """A change listener (runs under the store lock: it only queues)."""
        if not change["callbacks"]:
            return
        business = self.emulator.store.business(change["account_id"])
        form = {"name": change["name"], "object_id": change["object_id"], "account_id": change["account_id"],
                "business_id": change["business_id"], "identity_id": change["identity_id"],
                "user_id": change["user_id"]}
        for callback_id in change["callbacks"]:
            callback = business.callbacks.get(callback_id) if business else None
            if callback is None or not callback["verified"] or not events.event_matches(callback["event"],
                                                                                        change["name"]):
                continue
            self.sender.send(signed(callback["uri"], form, callback["verifier"], f"event:{callback_id}",
                                    self.emulator.settings))

    def reset(self) -> None:
        """Forget queued and logged deliveries."""
        self.sender.clear()

    def view(self) -> dict:
        """What GET /_sandbox/freshbooks/webhooks shows."""
        with self.emulator.store.lock:
            callbacks = [{"account_id": business.account_id, **events.render(callback)}
                         for business in self.emulator.store.businesses.values()
                         for callback in sorted(business.callbacks.values(), key=lambda c: c["callbackid"])]
        return {"provider": "freshbooks", "callbacks": callbacks, "pending": self.sender.pending(),
                "deliveries": self.sender.deliveries()}

"""Webhook callbacks: `/events/account/<account_id>/events/callbacks[/<id>]` (facts §3.4).

- POST `{"callback": {"event", "uri"}}` registers an unverified callback; FreshBooks then POSTs a
  verification code to the uri. Here the code is generated and queued in the emulator's outbox as "to be
  sent" (delivery comes with the webhook sender); the ledger view shows it.
- PUT `{"callback": {"verifier": code}}` verifies; `{"callback": {"resend": true}}` queues the code again;
  other fields (event, uri) update the callback, and a new uri needs verifying again [U].
- DELETE answers 204 with no body [V] FB-SDK test_events_resource.py.
- The verifier is also the HMAC key of every later delivery: it is kept per callback.
- Registering needs the read scope of the event's object ("The scope required is based on the webhook
  being registered") [V] freshbooks.com/api/webhooks.
- `search[event]` "Matches event and parent event" [V] freshbooks.com/api/webhooks.
"""

from __future__ import annotations

import secrets
import string
from urllib.parse import urlsplit

from flask import request

from . import errors, money, query
from .api import handle, request_json
from .errors import EVENTS

PREFIX = "/events/account/<account_id>/events/callbacks"
# Event object -> scope object. Objects the sandbox never changes are still accepted for registration.
EVENT_SCOPES = {"client": "clients", "invoice": "invoices", "payment": "payments", "credit_note": "credit_notes",
                "item": "billable_items", "tax": "taxes", "estimate": "estimates", "expense": "expenses",
                "bill": "bills", "bill_payment": "bill_payments", "bill_vendor": "bill_vendors",
                "project": "projects", "time_entry": "time_entries", "recurring": "invoices"}
EVENT_ACTIONS = ("create", "update", "delete")
EXTRA_EVENTS = ("invoice.sendByEmail", "estimate.sendByEmail", "credit_note.sendByEmail")  # [P] facts §3.4
VERIFIER_ALPHABET = string.ascii_letters + string.digits
VERIFIER_LENGTH = 32
VERIFY_EVENT = "callback.verify"  # [P] the name the verification POST carries


def known_event(name: str) -> bool:
    """An event name FreshBooks accepts: an object ("invoice") or object.action."""
    if name in EVENT_SCOPES or name in EXTRA_EVENTS:
        return True
    obj, _, action = name.partition(".")
    return obj in EVENT_SCOPES and action in EVENT_ACTIONS


def event_matches(registered: str, name: str) -> bool:
    """Does a callback registered for `registered` receive `name`? (a parent event matches its children)."""
    return registered == name or registered == name.split(".", 1)[0]


def render(callback: dict) -> dict:
    """A callback as the events API returns it [V] FB-SDK get_callback_response.json."""
    return {"callbackid": callback["callbackid"], "verified": callback["verified"], "uri": callback["uri"],
            "event": callback["event"], "updated_at": money.utc_stamp(callback["updated"])}


def _new_verifier() -> str:
    return "".join(secrets.choice(VERIFIER_ALPHABET) for _ in range(VERIFIER_LENGTH))


def _check(event, uri) -> None:
    details = []
    if not isinstance(event, str) or not known_event(event):
        details.append("event: Value error, Unrecognized event.")
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        details.append("uri: Input should be a valid URL, relative URL without a base")
    if details:
        raise errors.events(422, errors.EVENTS_UNPROCESSABLE, details)


def _callback_body() -> dict:
    try:
        body = request_json()
    except errors.FreshBooksError:
        raise errors.events(400, "The request body is not valid JSON.") from None
    inner = body.get("callback")
    if not isinstance(inner, dict):
        raise errors.events(422, errors.EVENTS_UNPROCESSABLE, ["callback: Field required"])
    return inner


def _find(call, callback_id) -> dict:
    try:
        callback = call.business.callbacks.get(int(callback_id))
    except ValueError:
        callback = None
    if callback is None:
        raise errors.events(404, errors.EVENTS_NOT_FOUND)
    return callback


def _queue_verification(call, callback) -> None:
    callback["verification_requests"] += 1
    call.emulator.queue_verification(call.business, callback)


def register(bp) -> None:
    """Add the callbacks API to the FreshBooks blueprint."""

    @bp.route(PREFIX, methods=["GET", "POST"])
    def callbacks(account_id):
        """List or register callbacks."""
        if request.method == "GET":
            def listing(call):
                items = sorted(call.business.callbacks.values(), key=lambda c: c["callbackid"])
                wanted = request.args.get("search[event]")
                if wanted:
                    items = [c for c in items if event_matches(c["event"], wanted) or c["event"] == wanted]
                uri = request.args.get("search[uri]")
                if uri:
                    items = [c for c in items if c["uri"] == uri]
                page, meta = query.paginate(items, request.args)
                return 200, {"response": {"result": {"callbacks": [render(c) for c in page], **meta}}}
            return handle(EVENTS, listing, account_id=account_id)

        def create(call):
            inner = _callback_body()
            event, uri = inner.get("event"), inner.get("uri")
            _check(event, uri)
            call.require(f"user:{EVENT_SCOPES[event.split('.', 1)[0]]}:read")
            now = call.emulator.clock.now()
            callback = {"callbackid": call.business.next_id("callback"), "event": event, "uri": uri,
                        "verified": False, "verifier": _new_verifier(), "verification_requests": 0,
                        "created": now, "updated": now}
            call.business.callbacks[callback["callbackid"]] = callback
            _queue_verification(call, callback)
            return 200, {"response": {"result": {"callback": render(callback)}}}
        return handle(EVENTS, create, account_id=account_id, write=True)

    @bp.route(f"{PREFIX}/<callback_id>", methods=["GET", "PUT", "DELETE"])
    def callback_view(account_id, callback_id):
        """Read, verify / resend / update, or delete one callback."""
        def read(call):
            return 200, {"response": {"result": {"callback": render(_find(call, callback_id))}}}

        def update(call):
            callback = _find(call, callback_id)
            inner = _callback_body()
            if "verifier" in inner:
                if not secrets.compare_digest(str(inner["verifier"]), callback["verifier"]):
                    raise errors.events(422, errors.EVENTS_UNPROCESSABLE, ["verifier: Invalid verifier."])
                callback["verified"] = True
            elif inner.get("resend"):
                _queue_verification(call, callback)
            else:
                event, uri = inner.get("event", callback["event"]), inner.get("uri", callback["uri"])
                _check(event, uri)
                if uri != callback["uri"]:
                    callback.update(uri=uri, verified=False, verifier=_new_verifier())
                    _queue_verification(call, callback)
                callback["event"] = event
            callback["updated"] = call.emulator.clock.now()
            return 200, {"response": {"result": {"callback": render(callback)}}}

        def delete(call):
            callback = _find(call, callback_id)
            del call.business.callbacks[callback["callbackid"]]
            return 204, None

        handler = {"GET": read, "PUT": update, "DELETE": delete}[request.method]
        return handle(EVENTS, handler, account_id=account_id, write=request.method != "GET")

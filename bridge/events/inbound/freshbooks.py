"""FreshBooks webhooks: the verification handshake and form deliveries signed per callback (facts §3.4)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from flask import Flask

from bridge import errors, store
from bridge.events.inbound import callbacks
from bridge.events.inbound.common import delivery_key, notice, record
from bridge.ledgers.freshbooks import facts

PROVIDER = "freshbooks"
OBJECTS = {"invoice": "invoice", "payment": "payment", "client": "customer", "credit_note": "credit_note"}
"""FreshBooks event object -> ours."""
OPERATIONS = {"create": "create", "update": "update", "delete": "delete"}
"""Anything else (invoice.sendByEmail, ...) counts as an update."""
MAX_FIELDS = 50


def parse_form(raw: bytes) -> dict[str, str]:
    """The form fields in the order received, values as strings (what FreshBooks signs)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise errors.BadRequest("The body is not a form.") from None
    return dict(pairs)


def signed_text(form: dict[str, str]) -> bytes:
    """What X-FreshBooks-Hmac-SHA256 signs: Python's json.dumps of the form, default separators."""
    return json.dumps(form).encode("utf-8")


def notices_from_form(form: dict[str, str]) -> list[dict]:
    """`name=invoice.update&object_id=123...` -> [notice]; events on other objects give []."""
    obj, _, action = (form.get("name") or "").partition(".")
    if obj not in OBJECTS or not form.get("object_id"):
        return []
    return [notice(OBJECTS[obj], form["object_id"], OPERATIONS.get(action, "update"))]


def receive(app: Flask, raw: bytes, headers) -> None:
    """A verification request stores the code (a job confirms it); a delivery must be signed by a verified
    callback of the business, and goes to that callback's connection."""
    form = parse_form(raw)
    if form.get("name") == facts.VERIFY_EVENT:
        callbacks.verification_received(app, form)
        return
    db = store.session()
    connection_ids = callbacks.connections_signing(db, form.get("account_id"), signed_text(form),
                                                   headers.get(facts.WEBHOOK_SIGNATURE_HEADER))
    if not connection_ids:
        raise errors.Unauthorized("Bad or missing X-FreshBooks-Hmac-SHA256.")
    notices = notices_from_form(form)
    if notices:
        record(app, db, PROVIDER, {connection_id: notices for connection_id in connection_ids}, delivery_key(raw))

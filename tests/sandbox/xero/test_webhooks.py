"""Xero webhooks from the sandbox: Intent to Receive first, then signed events in Xero's own schema."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bridge.sandbox.xero import UK_TENANT_ID, WEBHOOK_KEY

from ..webhook_receiver import hmac_base64, wait_until_idle

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs" / "xero" / "xero-webhooks.yaml"
SPEC_URI = "urn:xero-webhooks"
# Xero writes eventDateUtc without a zone designator ("2024-06-21T01:15:39.902", as every example in
# xero-webhooks.yaml does), which RFC 3339 `date-time` refuses: that one format is checked by pattern.
EVENT_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
FORMATS = FormatChecker([name for name in Draft202012Validator.FORMAT_CHECKER.checkers if name != "date-time"])


@pytest.fixture(scope="module")
def xero_schema():
    """check(name, payload): validate against a schema of xero-webhooks.yaml (WebhookEvent, CreditNoteWebhookEvent)."""
    document = yaml.safe_load(SPEC.read_text())
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012))
    validators = {name: Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"},
                                             registry=registry, format_checker=FORMATS)
                  for name in ("WebhookEvent", "CreditNoteWebhookEvent")}

    def check(name: str, payload: dict) -> None:
        validators[name].validate(payload)
        assert all(EVENT_DATE.match(event["eventDateUtc"]) for event in payload["events"])
    return check


def xero_receiver(received) -> tuple[int, bytes]:
    """A receiver that does what Xero asks: 200 for a good signature, 401 for a bad one, no body."""
    good = received.headers.get("x-xero-signature") == hmac_base64(WEBHOOK_KEY, received.body)
    return (200, b"") if good else (401, b"")


def _configure(client, **settings) -> dict:
    response = client.post("/_sandbox/xero/config", json=settings)
    assert response.status_code == 200, response.data
    return response.get_json()


def _events(requests) -> list[dict]:
    return [event for request in requests for event in json.loads(request.body)["events"]]


def _intent(client) -> dict:
    return wait_until_idle(client, "xero")["intent_to_receive"]


def test_intent_to_receive_verifies_a_target_that_checks_signatures(xero, client, receiver, xero_schema):
    receiver.respond = xero_receiver
    _configure(client, webhook_target=f"{receiver.url}/webhooks/xero")
    intent = _intent(client)
    assert intent["status"] == "verified" and (intent["good"]["status"], intent["bad"]["status"]) == (200, 401)
    assert _configure(client)["intent_to_receive"]["status"] == "verified"
    checks = receiver.received()
    assert len(checks) == 2
    for check in checks:
        body = json.loads(check.body)
        assert body["events"] == [] and body["firstEventSequence"] == 0 == body["lastEventSequence"]
        assert body["entropy"]
    signatures = [c.headers["x-xero-signature"] == hmac_base64(WEBHOOK_KEY, c.body) for c in checks]
    assert sorted(signatures) == [False, True]

    invoice = xero.invoice()
    requests = receiver.wait_for(lambda rs: any(e["resourceId"] == invoice["InvoiceID"] for e in _events(rs[2:])))
    events = _events(requests[2:])
    assert [(e["eventCategory"], e["eventType"]) for e in events] == [("CONTACT", "CREATE"), ("INVOICE", "CREATE")]
    for request in requests[2:]:
        assert request.path == "/webhooks/xero"
        assert request.headers["x-xero-signature"] == hmac_base64(WEBHOOK_KEY, request.body)
        payload = json.loads(request.body)
        xero_schema("WebhookEvent", payload)
        assert payload["lastEventSequence"] - payload["firstEventSequence"] + 1 == len(payload["events"])
    event = events[-1]
    assert event["tenantId"] == UK_TENANT_ID and event["tenantType"] == "ORGANISATION"
    assert event["resourceUrl"] == f"https://api.xero.com/api.xro/2.0/Invoices/{invoice['InvoiceID']}"


def test_a_target_that_accepts_anything_fails_the_check_and_gets_no_events(xero, client, receiver):
    _configure(client, webhook_target=receiver.url)  # the receiver answers 200 to everything
    intent = _intent(client)
    assert intent["status"] == "failed" and intent["good"]["passed"] and not intent["bad"]["passed"]
    xero.contact("Never announced")
    view = wait_until_idle(client, "xero")
    assert len(receiver.received()) == 2 and view["intent_to_receive"]["dropped_events"] == 1


def test_an_answer_with_a_body_fails_the_check(client, receiver):
    receiver.respond = lambda received: (xero_receiver(received)[0], b"ok")
    _configure(client, webhook_target=receiver.url)
    assert _intent(client)["status"] == "failed"
    receiver.respond = xero_receiver
    _configure(client, webhook_target=receiver.url)  # setting it again runs the check again
    assert _intent(client)["status"] == "verified"


def test_events_during_the_check_wait_for_it_then_go(xero, client, receiver):
    release = threading.Event()

    def slow(received):
        release.wait(5)
        return xero_receiver(received)

    receiver.respond = slow
    _configure(client, webhook_target=receiver.url)
    contact = xero.contact("Made during the check")
    assert client.get("/_sandbox/xero/webhooks").get_json()["intent_to_receive"]["status"] == "pending"
    release.set()
    requests = receiver.wait_for(lambda rs: len(rs) == 3)
    assert [e["resourceId"] for e in _events(requests)] == [contact["ContactID"]]


def test_a_payment_shows_as_an_invoice_update(xero, client, receiver, xero_schema):
    invoice = xero.invoice(Status="AUTHORISED")
    _configure(client, webhook_target=receiver.url, webhook_intent_to_receive=False)
    response = client.post("/_sandbox/xero/UK/payments", json={"invoice_id": invoice["InvoiceID"], "amount": "10.00"})
    assert response.status_code == 201
    [request] = receiver.wait_for(lambda rs: len(rs) == 1)
    payload = json.loads(request.body)
    xero_schema("WebhookEvent", payload)
    assert [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in payload["events"]] == [
        ("INVOICE", "UPDATE", invoice["InvoiceID"])]


def test_credit_note_events_carry_type_and_status(xero, client, receiver, xero_schema):
    contact = xero.contact("Credited")
    _configure(client, webhook_target=receiver.url, webhook_intent_to_receive=False)
    status, body = xero.put("CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact["ContactID"]}, "Date": "2026-01-20",
        "Status": "AUTHORISED", "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": "10.00",
                                               "AccountCode": "200", "TaxType": "OUTPUT2"}]}]})
    assert status == 200, body
    [request] = receiver.wait_for(lambda rs: len(rs) == 1)
    payload = json.loads(request.body)
    xero_schema("CreditNoteWebhookEvent", payload)
    [event] = payload["events"]
    assert event["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}
    assert event["resourceId"] == body["CreditNotes"][0]["CreditNoteID"]


def test_sequences_grow_across_notifications(xero, client, receiver):
    _configure(client, webhook_target=receiver.url, webhook_intent_to_receive=False)
    for name in ("One", "Two", "Three"):
        xero.contact(name)
    requests = receiver.wait_for(lambda rs: len(_events(rs)) == 3)
    sequences = [(p["firstEventSequence"], p["lastEventSequence"]) for p in map(json.loads, (r.body for r in requests))]
    assert sequences[0][0] == 1 and sequences[-1][1] == 3
    assert all(later[0] == earlier[1] + 1 for earlier, later in zip(sequences, sequences[1:]))

"""FreshBooks webhooks from the sandbox: the verification POST, then signed form deliveries to verified callbacks."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from bridge.sandbox.freshbooks import ACCOUNT_ID, BUSINESS_ID

from ..webhook_receiver import hmac_base64, wait_until_idle
from .fb_client import line

CALLBACKS = f"/freshbooks/events/account/{ACCOUNT_ID}/events/callbacks"
DELIVERY_FIELDS = ["name", "object_id", "account_id", "business_id", "identity_id", "user_id"]


def _form(request) -> dict:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def _register(fb, receiver, event: str, path: str = "/webhooks/freshbooks") -> dict:
    status, body = fb.post(CALLBACKS, {"callback": {"event": event, "uri": f"{receiver.url}{path}"}}, absolute=True)
    assert status == 200, body
    return body["response"]["result"]["callback"]


def _verify(fb, receiver, callback) -> None:
    """Answer the verification POST the way a receiver would: PUT back the code it carried."""
    def checks(requests):
        return [r for r in requests
                if _form(r).get("name") == "callback.verify" and _form(r)["object_id"] == str(callback["callbackid"])]

    check = checks(receiver.wait_for(checks))[-1]
    status, body = fb.put(f"{CALLBACKS}/{callback['callbackid']}",
                          {"callback": {"verifier": _form(check)["verifier"]}}, absolute=True)
    assert status == 200 and body["response"]["result"]["callback"]["verified"] is True


def _signed_by(request, verifier: str) -> bool:
    return request.headers["x-freshbooks-hmac-sha256"] == hmac_base64(verifier, json.dumps(_form(request)).encode())


def test_registration_posts_the_verifier_and_events_flow_only_after_verification(fb, fb_http, receiver):
    callback = _register(fb, receiver, "invoice")
    [check] = receiver.wait_for(lambda rs: len(rs) == 1)
    stored = fb.business_ledger()["callbacks"][0]
    assert check.path == "/webhooks/freshbooks"
    assert check.headers["content-type"] == "application/x-www-form-urlencoded"
    form = _form(check)
    assert (form["name"], form["object_id"], form["verifier"]) == ("callback.verify", str(callback["callbackid"]),
                                                                   stored["verifier"])
    assert (form["account_id"], form["business_id"]) == (ACCOUNT_ID, str(BUSINESS_ID))
    assert wait_until_idle(fb_http, "freshbooks") and fb.ledger()["outbox"][0]["sent"] is True

    client = fb.new_client()
    fb.new_invoice(client["id"])  # not verified yet: nothing is sent
    assert wait_until_idle(fb_http, "freshbooks") and len(receiver.received()) == 1

    _verify(fb, receiver, callback)
    invoice = fb.new_invoice(client["id"], invoice_number="V-2")
    fb.new_client(organization="Not an invoice event", email="other@acme.test")
    [delivery] = receiver.wait_for(lambda rs: len(rs) == 2)[1:]
    assert wait_until_idle(fb_http, "freshbooks") and len(receiver.received()) == 2
    assert [key for key, _ in parse_qsl(delivery.body.decode())] == DELIVERY_FIELDS
    assert _form(delivery) == {"name": "invoice.create", "object_id": str(invoice["id"]), "account_id": ACCOUNT_ID,
                               "business_id": str(BUSINESS_ID), "identity_id": form["identity_id"], "user_id": "1"}
    assert _signed_by(delivery, stored["verifier"])
    assert not _signed_by(delivery, stored["verifier"] + "x")


def test_a_user_payment_fires_payment_create_and_invoice_update(fb, fb_http, receiver):
    callbacks = {event: _register(fb, receiver, event, f"/{event}") for event in ("payment", "invoice.update")}
    for callback in callbacks.values():
        _verify(fb, receiver, callback)
    verifiers = {c["callbackid"]: c["verifier"] for c in fb.business_ledger()["callbacks"]}
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], invoice_number="P-1", lines=[line("Work", 1, "50.00")])
    fb.send(invoice["id"])
    wait_until_idle(fb_http, "freshbooks")
    before = len(receiver.received())
    response = fb_http.post(f"/_sandbox/freshbooks/{ACCOUNT_ID}/payments",
                            json={"invoice_id": invoice["id"], "amount": "50.00"})
    assert response.status_code == 201
    payment_id = response.get_json()["payment"]["id"]
    wait_until_idle(fb_http, "freshbooks")
    deliveries = receiver.received()[before:]
    assert sorted((r.path, _form(r)["name"], _form(r)["object_id"]) for r in deliveries) == [
        ("/invoice.update", "invoice.update", str(invoice["id"])), ("/payment", "payment.create", str(payment_id))]
    for request in deliveries:
        callback = callbacks["payment" if request.path == "/payment" else "invoice.update"]
        assert _signed_by(request, verifiers[callback["callbackid"]])


def test_a_failed_verification_post_is_retried_until_it_lands(fb, fb_http, receiver):
    answers = iter([500])
    receiver.respond = lambda received: (next(answers, 200), b"")
    fb.config(webhook_retry_seconds=0.05)
    _register(fb, receiver, "invoice.create")
    view = wait_until_idle(fb_http, "freshbooks")
    [delivery] = view["deliveries"]
    assert (delivery["kind"], delivery["attempts"], delivery["status"]) == ("verification", 2, 200)
    assert len(receiver.received()) == 2 and fb.ledger()["outbox"][0]["sent"] is True
    assert view["callbacks"][0]["verified"] is False

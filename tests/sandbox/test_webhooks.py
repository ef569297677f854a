"""QuickBooks webhooks from the sandbox, and the shared sender: signed, batched, retried, asynchronous."""

from __future__ import annotations

import json
import re
import threading
import time
from decimal import Decimal as D

from bridge.sandbox import QUICKBOOKS_WEBHOOK_KEY, serve
from bridge.sandbox.quickbooks import US_REALM_ID

from .qbo_client import sales_line
from .webhook_receiver import hmac_base64, wait_until_idle

UTC_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _configure(client, **settings) -> dict:
    response = client.post("/_sandbox/quickbooks/config", json=settings)
    assert response.status_code == 200, response.data
    return response.get_json()


def _invoice(qbo, amount="100.00", number="W-1") -> dict:
    customer = qbo.customer(f"Customer of {number}")
    return qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]}, "DocNumber": number,
                                  "Line": [sales_line(D(amount), 1, D(amount))]})


def _entities(requests) -> list[tuple]:
    """(realmId, name, id, operation) of every entity in legacy notifications, in arrival order."""
    return [(n["realmId"], e["name"], e["id"], e["operation"])
            for r in requests for n in json.loads(r.body)["eventNotifications"]
            for e in n["dataChangeEvent"]["entities"]]


def test_api_writes_send_signed_legacy_notifications(qbo, client, receiver):
    _configure(client, webhook_target=f"{receiver.url}/webhooks/quickbooks")
    invoice = _invoice(qbo)
    customer_id = invoice["CustomerRef"]["value"]
    requests = receiver.wait_for(lambda rs: ("Invoice", invoice["Id"], "Create") in [e[1:] for e in _entities(rs)])
    assert _entities(requests) == [(US_REALM_ID, "Customer", customer_id, "Create"),
                                   (US_REALM_ID, "Invoice", invoice["Id"], "Create")]
    for request in requests:
        assert request.path == "/webhooks/quickbooks"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["intuit-signature"] == hmac_base64(QUICKBOOKS_WEBHOOK_KEY, request.body)
        payload = json.loads(request.body)
        assert list(payload) == ["eventNotifications"]
        for notification in payload["eventNotifications"]:
            assert list(notification) == ["realmId", "dataChangeEvent"]
            for entity in notification["dataChangeEvent"]["entities"]:
                assert list(entity) == ["name", "id", "operation", "lastUpdated"]
                assert UTC_MILLIS.match(entity["lastUpdated"])


def test_a_user_payment_fires_payment_create_and_invoice_update(qbo, client, receiver):
    invoice = _invoice(qbo)
    _configure(client, webhook_target=receiver.url)
    response = client.post(f"/_sandbox/quickbooks/{US_REALM_ID}/payments",
                           json={"invoice_id": invoice["Id"], "amount": "100.00"})
    payment_id = response.get_json()["Payment"]["Id"]
    requests = receiver.wait_for(lambda rs: len(_entities(rs)) >= 2)
    assert [e[1:] for e in _entities(requests)] == [("Payment", payment_id, "Create"),
                                                    ("Invoice", invoice["Id"], "Update")]


def test_a_users_edit_delete_and_api_void_each_fire_a_webhook(qbo, client, receiver):
    first, second = _invoice(qbo, number="W-1"), _invoice(qbo, number="W-2")
    _configure(client, webhook_target=receiver.url)
    client.patch(f"/_sandbox/quickbooks/{US_REALM_ID}/invoice/{first['Id']}", json={"PrivateNote": "edited"})
    client.delete(f"/_sandbox/quickbooks/{US_REALM_ID}/invoice/{first['Id']}")
    status, _ = qbo.post("invoice", {"Id": second["Id"], "SyncToken": second["SyncToken"]}, operation="void")
    assert status == 200
    requests = receiver.wait_for(lambda rs: len(_entities(rs)) >= 3)
    assert [e[1:] for e in _entities(requests)] == [("Invoice", first["Id"], "Update"),
                                                    ("Invoice", first["Id"], "Delete"),
                                                    ("Invoice", second["Id"], "Void")]


def test_cloudevents_format_sends_an_array_of_cloudevents(qbo, client, receiver):
    _configure(client, webhook_target=receiver.url, webhook_format="cloudevents")
    invoice = _invoice(qbo)
    requests = receiver.wait_for(lambda rs: any("qbo.invoice.created.v1" in r.body.decode() for r in rs))
    events = [event for request in requests for event in json.loads(request.body)]
    assert [(e["type"], e["intuitentityid"]) for e in events] == [
        ("qbo.customer.created.v1", invoice["CustomerRef"]["value"]), ("qbo.invoice.created.v1", invoice["Id"])]
    for request in requests:
        assert request.headers["intuit-signature"] == hmac_base64(QUICKBOOKS_WEBHOOK_KEY, request.body)
    event = events[-1]
    assert set(event) == {"specversion", "id", "source", "type", "datacontenttype", "time", "intuitentityid",
                          "intuitaccountid", "data"}
    assert event["specversion"] == "1.0" and event["intuitaccountid"] == US_REALM_ID
    assert event["source"].startswith("intuit.") and event["id"].endswith(f"-Invoice-{invoice['Id']}")
    assert event["datacontenttype"] == "application/json" and UTC_MILLIS.match(event["time"])
    assert events[0]["id"] != event["id"]


def test_a_delay_collects_changes_into_one_notification(qbo, client, receiver):
    _configure(client, webhook_target=receiver.url, webhook_delay_seconds=0.6)
    started = time.monotonic()
    invoice = _invoice(qbo)
    paid = client.post(f"/_sandbox/quickbooks/{US_REALM_ID}/payments",
                       json={"invoice_id": invoice["Id"], "amount": "40"}).get_json()["Payment"]
    assert receiver.received() == []
    wait_until_idle(client, "quickbooks")
    [request] = receiver.received()
    assert request.at - started >= 0.6
    assert [e[1:3] for e in _entities([request])] == [("Customer", invoice["CustomerRef"]["value"]),
                                                      ("Invoice", invoice["Id"]), ("Payment", paid["Id"]),
                                                      ("Invoice", invoice["Id"])]


def test_a_failed_delivery_is_retried_with_the_same_signed_body(qbo, client, receiver):
    answers = iter([500, 500])
    receiver.respond = lambda received: (next(answers, 200), b"")
    _configure(client, webhook_target=receiver.url, webhook_retry_seconds=0.1)
    qbo.customer("Retried")
    requests = receiver.wait_for(lambda rs: len(rs) == 3)
    assert len({(r.body, r.headers["intuit-signature"]) for r in requests}) == 1
    assert requests[2].at - requests[1].at > requests[1].at - requests[0].at  # the delay grows
    [delivery] = wait_until_idle(client, "quickbooks")["deliveries"]
    assert (delivery["state"], delivery["status"], delivery["attempts"]) == ("delivered", 200, 3)
    assert delivery["url"] == receiver.url and delivery["body"] == requests[0].body.decode()
    assert delivery["sent_at"].endswith("Z")


def test_retries_are_bounded_then_the_delivery_is_given_up(qbo, client, receiver):
    receiver.respond = lambda received: (503, b"")
    _configure(client, webhook_target=receiver.url, webhook_retries=2, webhook_retry_seconds=0.02)
    qbo.customer("Refused")
    [delivery] = wait_until_idle(client, "quickbooks")["deliveries"]
    assert (delivery["state"], delivery["status"], delivery["attempts"]) == ("failed", 503, 3)
    assert len(receiver.received()) == 3


def test_an_unreachable_or_hanging_target_does_not_slow_the_api(qbo, client, receiver):
    release = threading.Event()
    receiver.respond = lambda received: (release.wait(10), (200, b""))[1]
    _configure(client, webhook_target=receiver.url)
    try:
        qbo.customer("First")
        receiver.wait_for(lambda rs: len(rs) == 1)  # the sender is now stuck in that POST
        started = time.monotonic()
        for number in range(5):
            _invoice(qbo, number=f"H-{number}")
        assert time.monotonic() - started < 2
        assert client.get("/_sandbox/quickbooks/webhooks").get_json()["pending"] > 0
    finally:
        release.set()
    wait_until_idle(client, "quickbooks")
    _configure(client, webhook_target="http://127.0.0.1:9/closed", webhook_retries=1, webhook_retry_seconds=0.01)
    started = time.monotonic()
    qbo.customer("Nobody listens")
    assert time.monotonic() - started < 1
    failed = wait_until_idle(client, "quickbooks")["deliveries"][-1]
    assert failed["state"] == "failed" and failed["status"] is None and "Connection" in failed["error"]


def test_no_target_sends_nothing_and_reset_clears_the_log(qbo, client, receiver):
    qbo.customer("Unheard")
    assert client.get("/_sandbox/quickbooks/webhooks").get_json()["deliveries"] == []
    _configure(client, webhook_target=receiver.url)
    qbo.customer("Heard")
    view = wait_until_idle(client, "quickbooks")
    assert [d["state"] for d in view["deliveries"]] == ["delivered"] and len(receiver.received()) == 1
    client.post("/_sandbox/quickbooks/reset")
    view = client.get("/_sandbox/quickbooks/webhooks").get_json()
    assert view["deliveries"] == [] and view["webhook_target"] == receiver.url


def test_webhook_settings_are_validated(client):
    for bad in ({"webhook_format": "xml"}, {"webhook_delay_seconds": -1}, {"webhook_retries": "3"},
                {"webhook_target": "ftp://nowhere"}):
        assert client.post("/_sandbox/quickbooks/config", json=bad).status_code == 400, bad
    view = _configure(client, webhook_retries=1, webhook_delay_seconds=2)
    assert (view["webhook_retries"], view["webhook_delay_seconds"], view["webhook_format"]) == (1, 2.0, "legacy")


def test_shutting_the_sandbox_down_stops_its_senders(receiver):
    server = serve()
    emulator = server.emulator("quickbooks")
    emulator.configure({"webhook_target": receiver.url})
    emulator.emit_change(US_REALM_ID, "Customer", "1", "Update")
    receiver.wait_for(lambda rs: len(rs) == 1)
    threads = [e.webhooks.sender._thread for e in server.app.extensions["sandbox"]["providers"].values()]
    assert threads[0] is not None and threads[0].is_alive()
    server.shutdown()
    assert not any(thread is not None and thread.is_alive() for thread in threads)
    emulator.emit_change(US_REALM_ID, "Customer", "1", "Update")
    assert emulator.webhooks.sender._thread is None  # a stopped sender starts no thread again

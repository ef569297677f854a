"""Inbound ledger webhooks (QuickBooks, Xero, and what they share): signatures checked, each delivery
recorded once per connection, one job per connection hands the changed ids to `apply_notices`."""

from __future__ import annotations

import json
import time

import pytest
import redis
from rq import Queue

from bridge.events import changes
from bridge.events.inbound import jobs
from bridge.events.inbound.common import hmac_base64
from bridge.events.inbound.quickbooks import notices_by_realm
from bridge.events.inbound.xero import notices_by_tenant
from bridge.sandbox.xero import UK_TENANT_ID
from bridge.store.models import Connection, utcnow
from bridge.sync.relay import Relay
from tests.conftest import UK_REALM, US_REALM, auth, connect, connect_quickbooks, sample_invoice, wait_for
from tests.inbound_support import drain, inbound_jobs, record_applied, stored

QBO_LEGACY = {"eventNotifications": [{"realmId": US_REALM, "dataChangeEvent": {"entities": [
    {"name": "Invoice", "id": "130", "operation": "Update", "lastUpdated": "2026-01-20T10:00:00.000Z"},
    {"name": "Payment", "id": "131", "operation": "Create", "lastUpdated": "2026-01-20T10:00:00.000Z"},
    {"name": "Item", "id": "7", "operation": "Update", "lastUpdated": "2026-01-20T10:00:00.000Z"},
    {"name": "CreditMemo", "id": "132", "operation": "Void", "lastUpdated": "2026-01-20T10:00:00.000Z"}]}}]}
QBO_CLOUDEVENTS = [
    {"specversion": "1.0", "id": f"ce-{entity_id}", "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
     "type": f"qbo.{entity}.{verb}.v1", "datacontenttype": "application/json", "time": "2026-01-20T10:00:00Z",
     "intuitentityid": entity_id, "intuitaccountid": US_REALM, "data": {}}
    for entity, verb, entity_id in (("invoice", "updated", "130"), ("payment", "created", "131"),
                                    ("item", "updated", "7"), ("creditmemo", "voided", "132"))]
EXPECTED_QBO = [{"object": "invoice", "ledger_id": "130", "operation": "update"},
                {"object": "payment", "ledger_id": "131", "operation": "create"},
                {"object": "credit_note", "ledger_id": "132", "operation": "void"}]


@pytest.fixture(name="applied")
def applied_fixture(monkeypatch):
    """apply_notices calls, recorded."""
    return record_applied(monkeypatch)


def qbo_post(client, app, payload, signature: str | None = "good", key: str | None = None):
    """POST a body to /webhooks/quickbooks as Intuit would (signed with the verifier token unless told)."""
    raw = json.dumps(payload).encode()
    headers = {}
    if signature == "good":
        headers["intuit-signature"] = hmac_base64(key or app.config["QUICKBOOKS_WEBHOOK_KEY"], raw)
    elif signature is not None:
        headers["intuit-signature"] = signature
    return client.post("/webhooks/quickbooks", data=raw, headers=headers, content_type="application/json")


def xero_post(client, app, payload, key: str | None = None):
    """POST a body to /webhooks/xero signed with `key` (the configured webhook key unless told)."""
    raw = json.dumps(payload).encode()
    signature = hmac_base64(key or app.config["XERO_WEBHOOK_KEY"], raw)
    return client.post("/webhooks/xero", data=raw, headers={"x-xero-signature": signature},
                       content_type="application/json")


def xero_events(*events) -> dict:
    """A Xero delivery of (category, type, resource id) events in the UK organisation."""
    return {"events": [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource}",
                        "resourceId": resource, "eventDateUtc": "2026-01-20T10:00:00.000", "eventType": kind,
                        "eventCategory": category, "tenantId": UK_TENANT_ID, "tenantType": "ORGANISATION",
                        **({"data": data} if data else {})}
                       for category, kind, resource, data in events],
            "firstEventSequence": 1, "lastEventSequence": len(events), "entropy": "QWERTYUIOPASDFGHJKLZ"}


# --- QuickBooks --------------------------------------------------------------------------------------

def test_quickbooks_legacy_and_cloudevents_payloads_give_the_same_notices():
    assert notices_by_realm(QBO_LEGACY) == {US_REALM: EXPECTED_QBO}
    assert notices_by_realm(QBO_CLOUDEVENTS) == {US_REALM: EXPECTED_QBO}


def test_quickbooks_signed_delivery_reaches_apply_notices_once_per_connection(app, client, api_key, applied):
    connection_id = connect_quickbooks(client, api_key)
    response = qbo_post(client, app, QBO_LEGACY)
    assert response.status_code == 200 and response.data == b""
    assert len(inbound_jobs(app)) == 1
    drain(app)
    assert applied == [(connection_id, EXPECTED_QBO)]
    (row,) = stored(app)
    assert row.processed_at is not None and row.attempts == 1


def test_quickbooks_cloudevents_delivery_is_accepted_like_the_legacy_one(app, client, api_key, applied):
    connection_id = connect_quickbooks(client, api_key)
    assert qbo_post(client, app, QBO_CLOUDEVENTS).status_code == 200
    drain(app)
    assert applied == [(connection_id, EXPECTED_QBO)]


def test_quickbooks_replayed_delivery_is_acknowledged_but_applied_once(app, client, api_key, applied):
    connect_quickbooks(client, api_key)
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    assert len(inbound_jobs(app)) == 1 and len(stored(app)) == 1
    drain(app)
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200  # replayed after it was applied, too
    drain(app)
    assert len(applied) == 1 and len(stored(app)) == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "wrong-key"])
def test_quickbooks_bad_or_missing_signature_is_401_and_nothing_else(app, client, api_key, applied, signature):
    connect_quickbooks(client, api_key)
    if signature == "wrong-key":
        response = qbo_post(client, app, QBO_LEGACY, key="not-the-verifier-token")
    else:
        response = qbo_post(client, app, QBO_LEGACY, signature=signature)
    assert response.status_code == 401 and response.data == b""
    assert stored(app) == [] and inbound_jobs(app) == []


def test_quickbooks_signature_covers_the_raw_body(app, client, api_key, applied):
    connect_quickbooks(client, api_key)
    raw = json.dumps(QBO_LEGACY).encode()
    signature = hmac_base64(app.config["QUICKBOOKS_WEBHOOK_KEY"], raw)
    tampered = raw.replace(b'"130"', b'"999"')
    response = client.post("/webhooks/quickbooks", data=tampered, headers={"intuit-signature": signature},
                           content_type="application/json")
    assert response.status_code == 401 and stored(app) == []


def test_quickbooks_unknown_realm_is_acknowledged_and_ignored(app, client, api_key, applied):
    connect_quickbooks(client, api_key)  # the US company; the delivery is about the UK one
    payload = {"eventNotifications": [{"realmId": UK_REALM, "dataChangeEvent": {"entities": [
        {"name": "Invoice", "id": "5", "operation": "Create", "lastUpdated": "2026-01-20T10:00:00.000Z"}]}}]}
    assert qbo_post(client, app, payload).status_code == 200
    assert stored(app) == [] and inbound_jobs(app) == []


def test_quickbooks_delivery_for_a_disconnected_connection_is_ignored(app, client, api_key, applied):
    connection_id = connect_quickbooks(client, api_key)
    assert client.delete(f"/v1/connections/{connection_id}", headers=auth(api_key)).status_code == 200
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    assert stored(app) == []


def test_one_delivery_reaches_every_connection_of_the_realm_each_with_its_own_job(app, client, api_key, applied):
    from tests.conftest import make_key

    first = connect_quickbooks(client, api_key)
    other_key = make_key(app, "globex")
    second = connect_quickbooks(client, other_key)
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    assert len(inbound_jobs(app)) == 2
    drain(app)
    assert sorted(applied) == sorted([(first, EXPECTED_QBO), (second, EXPECTED_QBO)])


def test_a_burst_of_deliveries_to_one_connection_wakes_one_job_that_applies_them_in_one_batch(
        app, client, api_key, applied):
    connection_id = connect_quickbooks(client, api_key)
    for n in range(5):
        assert qbo_post(client, app, {"eventNotifications": [{"realmId": US_REALM, "dataChangeEvent": {"entities": [
            {"name": "Payment", "id": str(100 + n), "operation": "Create",
             "lastUpdated": f"2026-01-20T10:00:0{n}.000Z"}]}}]}).status_code == 200
    assert len(stored(app)) == 5 and len(inbound_jobs(app)) == 1
    drain(app)
    assert applied == [(connection_id, [{"object": "payment", "ledger_id": str(100 + n), "operation": "create"}
                                        for n in range(5)])]
    assert all(row.processed_at is not None and row.attempts == 1 for row in stored(app))


def test_a_delivery_stored_after_the_job_started_wakes_another_job(app, client, api_key, applied):
    connection_id = connect_quickbooks(client, api_key)
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    jobs.apply_pending(app, connection_id)  # the waiting job runs
    assert qbo_post(client, app, QBO_CLOUDEVENTS).status_code == 200
    assert len(inbound_jobs(app)) == 2  # the first never ran through the queue here; the second is new
    drain(app)
    assert applied == [(connection_id, EXPECTED_QBO), (connection_id, EXPECTED_QBO)]


# --- Xero --------------------------------------------------------------------------------------------

def test_xero_intent_to_receive_good_signature_is_an_empty_200_without_cookies(app, client):
    intent = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "FXNGWLCCGVANWHKILRUB"}
    started = time.monotonic()
    response = xero_post(client, app, intent)
    assert time.monotonic() - started < 5
    assert response.status_code == 200 and response.data == b""
    assert "Set-Cookie" not in response.headers


def test_xero_intent_to_receive_bad_signature_is_an_empty_401_without_cookies(app, client):
    intent = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "FXNGWLCCGVANWHKILRUB"}
    started = time.monotonic()
    response = xero_post(client, app, intent, key="some-other-webhook-key")
    assert time.monotonic() - started < 5
    assert response.status_code == 401 and response.data == b""
    assert "Set-Cookie" not in response.headers
    unsigned = client.post("/webhooks/xero", data=json.dumps(intent), content_type="application/json")
    assert unsigned.status_code == 401 and unsigned.data == b""


def test_xero_events_become_notices_for_the_tenant_connection(app, client, api_key, applied):
    connection_id = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    delivery = xero_events(("INVOICE", "UPDATE", "a1", None), ("CONTACT", "CREATE", "c1", None),
                           ("CREDITNOTE", "CREATE", "n1", {"Type": "ACCRECCREDIT", "Status": "DRAFT"}),
                           ("CREDITNOTE", "CREATE", "n2", {"Type": "ACCPAYCREDIT", "Status": "DRAFT"}))
    response = xero_post(client, app, delivery)
    assert response.status_code == 200 and response.data == b"" and "Set-Cookie" not in response.headers
    drain(app)
    assert applied == [(connection_id, [{"object": "invoice", "ledger_id": "a1", "operation": "update"},
                                        {"object": "customer", "ledger_id": "c1", "operation": "create"},
                                        {"object": "credit_note", "ledger_id": "n1", "operation": "create"}])]


def test_xero_replayed_delivery_is_applied_once_and_a_bad_signature_changes_nothing(app, client, api_key, applied):
    connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    delivery = xero_events(("INVOICE", "UPDATE", "a1", None))
    assert xero_post(client, app, delivery).status_code == 200
    assert xero_post(client, app, delivery).status_code == 200
    assert xero_post(client, app, delivery, key="forged").status_code == 401
    assert len(stored(app)) == 1 and len(inbound_jobs(app)) == 1
    drain(app)
    assert len(applied) == 1


def test_xero_payload_parsing_ignores_subscription_events_and_supplier_credit_notes():
    delivery = xero_events(("SUBSCRIPTION", "UPDATE", "s1", None), ("INVOICE", "CREATE", "i1", None),
                           ("CREDITNOTE", "UPDATE", "n2", {"Type": "ACCPAYCREDIT", "Status": "PAID"}))
    assert notices_by_tenant(delivery) == {UK_TENANT_ID: [{"object": "invoice", "ledger_id": "i1",
                                                           "operation": "create"}]}
    assert notices_by_tenant({"events": [], "entropy": "x"}) == {}


# --- what all three share ----------------------------------------------------------------------------

def test_unknown_provider_is_404_with_no_body(client):
    response = client.post("/webhooks/sage", data=b"{}", content_type="application/json")
    assert response.status_code == 404 and response.data == b""


def test_with_redis_down_the_delivery_is_kept_and_the_relay_sweep_enqueues_it(app, client, api_key, applied,
                                                                                monkeypatch):
    connection_id = connect_quickbooks(client, api_key)

    def refuse(*args, **kwargs):
        raise redis.ConnectionError("Redis is down")

    with monkeypatch.context() as down:
        down.setattr(Queue, "enqueue_many", refuse)
        assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    (row,) = stored(app)
    assert row.enqueued_at is None and inbound_jobs(app) == []
    Relay(app).step()  # the leader's step sweeps
    assert len(inbound_jobs(app)) == 1
    drain(app)
    assert applied == [(connection_id, EXPECTED_QBO)]


def test_a_failed_apply_is_kept_and_tried_again_by_the_sweep(make_app, monkeypatch):
    app = make_app(INBOUND_LOST_AFTER_SECONDS=0)
    client = app.test_client()
    from tests.conftest import make_key

    key = make_key(app, "initech")
    connection_id = connect_quickbooks(client, key)
    calls = []

    def flaky(app_, connection_id_, notices):
        calls.append(connection_id_)
        if len(calls) == 1:
            raise RuntimeError("ledger unreachable")
        return 0

    monkeypatch.setattr(changes, "apply_notices", flaky)
    assert qbo_post(client, app, QBO_LEGACY).status_code == 200
    drain(app)
    (row,) = stored(app)
    assert row.processed_at is None and row.attempts == 1 and "ledger unreachable" in row.last_error
    assert jobs.sweep(app) == 1
    drain(app)
    (row,) = stored(app)
    assert row.processed_at is not None and calls == [connection_id, connection_id]
    assert jobs.sweep(app) == 0


# --- through the sandbox's own webhooks and the real change reader ---------------------------------

def test_a_payment_recorded_in_the_quickbooks_sandbox_becomes_one_invoice_paid_event(app, client, api_key, sandbox,
                                                                                   live_server, runtime):
    from bridge.events import recent

    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure("quickbooks", webhook_target=live_server(app) + "/webhooks/quickbooks")
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(),
                     headers=auth(api_key)).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded"
    sandbox.control("quickbooks", f"{US_REALM}/payments", json={"invoice_id": done["ledger_id"], "amount": "260.15"})

    def paid_events():
        with app.extensions["bridge.sessions"]() as db:
            account_id = db.get(Connection, connection_id).account_id
            return recent(db, account_id, "invoice.paid", connection_id)

    deadline = time.monotonic() + 20
    while not paid_events():
        assert time.monotonic() < deadline, "no invoice.paid event"
        time.sleep(0.05)
    while sandbox.control("quickbooks", "webhooks", "GET")["pending"] or any(
            row.processed_at is None for row in stored(app)):  # every delivery sent and applied
        assert time.monotonic() < deadline, "deliveries still pending"
        time.sleep(0.05)
    deliveries = sandbox.control("quickbooks", "webhooks", "GET")["deliveries"]
    assert deliveries and all(d["state"] == "delivered" and d["status"] == 200 for d in deliveries)
    (event,) = paid_events()
    assert event.data["ledger_id"] == done["ledger_id"]


def test_a_read_refused_for_the_rate_limit_rests_while_newer_deliveries_are_read(app, client, api_key, monkeypatch):
    from bridge import errors

    connection_id = connect_quickbooks(client, api_key)
    calls = []

    def limited_once(app_, connection_id_, notices):
        calls.append([notice["ledger_id"] for notice in notices])
        if len(calls) == 1:
            raise errors.LedgerRateLimited("The ledger's rate limit for this connection is reached.", retry_after=30)
        return 0

    monkeypatch.setattr(changes, "apply_notices", limited_once)

    def payment(ledger_id: str) -> dict:
        return {"eventNotifications": [{"realmId": US_REALM, "dataChangeEvent": {"entities": [
            {"name": "Payment", "id": ledger_id, "operation": "Create", "lastUpdated": "2026-01-20T10:00:00.000Z"}]}}]}

    assert qbo_post(client, app, payment("100")).status_code == 200
    drain(app)
    assert qbo_post(client, app, payment("101")).status_code == 200
    drain(app)
    assert calls == [["100"], ["101"]]  # the refused one waits for the ledger; the newer one is read now
    first, second = stored(app)
    assert first.processed_at is None and "rate limit" in first.last_error and second.processed_at is not None
    assert 25 < (first.retry_at - utcnow()).total_seconds() <= 30
    assert jobs.sweep(app) == 0  # not before its wait

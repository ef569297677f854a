"""FreshBooks webhooks: callbacks registered when a connection becomes active, the verification handshake,
the verifier kept sealed, deliveries signed over the JSON of the form, callbacks removed on delete."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from bridge.events.inbound import callbacks, jobs
from bridge.events.inbound.common import hmac_base64
from bridge.ledgers.freshbooks import facts
from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.store.models import FreshBooksCallback, InboundNotice
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect, make_key, sample_invoice, wait_for
from tests.inbound_support import drain, inbound_jobs, record_applied, stored

VERIFIER = "kVgk3nPq8sTz0xYb2RwLm5HdJ7cFa9Ue"


@pytest.fixture(name="applied")
def applied_fixture(monkeypatch):
    """apply_notices calls, recorded."""
    return record_applied(monkeypatch)


def callback_rows(app) -> list[FreshBooksCallback]:
    """Our callback rows, by callback id."""
    with app.extensions["bridge.sessions"]() as db:
        return list(db.execute(sa.select(FreshBooksCallback).order_by(FreshBooksCallback.id)).scalars())


def sandbox_callbacks(sandbox) -> list[dict]:
    """The callbacks the FreshBooks emulator holds for the seeded business (with their verifiers)."""
    return sandbox.ledger("freshbooks")["businesses"][ACCOUNT_ID]["callbacks"]


def until(check, timeout: float = 20.0, what: str = "condition"):
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met after {timeout}s")
        time.sleep(0.05)


def form_body(form: dict) -> bytes:
    """The form-encoded body FreshBooks posts."""
    return urlencode(form).encode()


def delivery(name: str = "invoice.update", object_id: str = "4001") -> dict:
    """A delivery's form fields, in FreshBooks' order."""
    return {"name": name, "object_id": object_id, "account_id": ACCOUNT_ID, "business_id": "7001001",
            "identity_id": "9100001", "user_id": "1"}


def fb_post(client, form: dict, verifier: str | None = VERIFIER, signature: str | None = None):
    """POST a delivery as FreshBooks does: signed over json.dumps(form) with the callback's verifier."""
    headers = {}
    if signature is not None:
        headers[facts.WEBHOOK_SIGNATURE_HEADER] = signature
    elif verifier is not None:
        headers[facts.WEBHOOK_SIGNATURE_HEADER] = hmac_base64(verifier, json.dumps(form).encode())
    return client.post("/webhooks/freshbooks", data=form_body(form), headers=headers,
                       content_type="application/x-www-form-urlencoded")


def with_verified_callback(app, connection_id: str, verifier: str = VERIFIER, callback_id: str = "9001") -> None:
    """A callback of the connection, verified with `verifier` (as the handshake leaves it)."""
    with app.app_context():
        from bridge import store

        sealed = store.vault().seal(verifier)
    with app.extensions["bridge.sessions"]() as db:
        db.add(FreshBooksCallback(account_id=ACCOUNT_ID, callback_id=callback_id, connection_id=connection_id,
                                  event="invoice.update", verifier=sealed, verified=True))
        db.commit()


def test_handshake_registers_verifies_and_delivers_end_to_end(make_app, live_server, sandbox, applied):
    app = make_app(FRESHBOOKS_REGISTER_CALLBACKS=True)
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect(client, key, "freshbooks")
    app.config["PUBLIC_URL"] = live_server(app)  # where the emulator can reach the bridge
    uri = app.config["PUBLIC_URL"] + "/webhooks/freshbooks"
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        until(lambda: sum(row.verified for row in callback_rows(app)) == len(facts.WEBHOOK_EVENTS),
              what="every callback verified")
        at_freshbooks = sandbox_callbacks(sandbox)
        assert sorted(c["event"] for c in at_freshbooks) == sorted(facts.WEBHOOK_EVENTS)
        assert all(c["verified"] and c["uri"] == uri for c in at_freshbooks)

        # the verifier is the signing key: stored sealed, never in plain text
        verifiers = {str(c["callbackid"]): c["verifier"] for c in at_freshbooks}
        with app.app_context():
            from bridge import store

            for row in callback_rows(app):
                assert row.connection_id == connection_id
                assert verifiers[row.callback_id] not in row.verifier
                assert store.vault().open(row.verifier) == verifiers[row.callback_id]

        # a change in FreshBooks (here: the bridge writing an invoice) comes back as a signed delivery
        op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(currency="CAD"),
                         headers=auth(key)).get_json()
        assert wait_for(client, key, op["id"])["status"] == "succeeded"
        (invoice,) = sandbox.ledger("freshbooks")["businesses"][ACCOUNT_ID]["invoices"]
        wanted = {"object": "invoice", "ledger_id": str(invoice["id"]), "operation": "create"}
        until(lambda: any(cid == connection_id and wanted in notices for cid, notices in applied),
              what="invoice.create applied")

        # deleting the connection removes its callbacks at FreshBooks and here
        assert client.delete(f"/v1/connections/{connection_id}", headers=auth(key)).status_code == 200
        assert sandbox_callbacks(sandbox) == [] and callback_rows(app) == []
    finally:
        runtime.stop()


def test_registration_is_safe_to_run_twice(app, client, api_key, sandbox):
    connection_id = connect(client, api_key, "freshbooks")
    assert callbacks.register_callbacks(app, connection_id) == len(facts.WEBHOOK_EVENTS)
    assert callbacks.register_callbacks(app, connection_id) == 0
    assert len(sandbox_callbacks(sandbox)) == len(facts.WEBHOOK_EVENTS)
    assert len(callback_rows(app)) == len(facts.WEBHOOK_EVENTS)


def test_a_callback_registered_but_not_recorded_is_adopted_not_registered_again(app, client, api_key, sandbox):
    connection_id = connect(client, api_key, "freshbooks")
    assert callbacks.register_callbacks(app, connection_id) == len(facts.WEBHOOK_EVENTS)
    with app.extensions["bridge.sessions"]() as db:  # as if the job died between FreshBooks' answer and our insert
        db.execute(sa.delete(FreshBooksCallback).where(FreshBooksCallback.event == "payment.create"))
        db.commit()
    assert callbacks.register_callbacks(app, connection_id) == 0
    assert len(sandbox_callbacks(sandbox)) == len(facts.WEBHOOK_EVENTS)
    assert "payment.create" in {row.event for row in callback_rows(app)}


def test_verification_request_is_stored_sealed_and_confirmed_at_freshbooks(app, client, api_key, sandbox):
    connection_id = connect(client, api_key, "freshbooks")
    callbacks.register_callbacks(app, connection_id)  # the emulator cannot reach PUBLIC_URL: we post for it
    target = next(c for c in sandbox_callbacks(sandbox) if c["event"] == "invoice.update")
    form = {"name": facts.VERIFY_EVENT, "object_id": str(target["callbackid"]), "verifier": target["verifier"],
            "account_id": ACCOUNT_ID, "business_id": "7001001", "identity_id": "9100001", "user_id": "1"}
    response = client.post("/webhooks/freshbooks", data=form_body(form),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.data == b""
    row = next(r for r in callback_rows(app) if r.callback_id == str(target["callbackid"]))
    assert row.verifier and target["verifier"] not in row.verifier and not row.verified
    drain(app)
    row = next(r for r in callback_rows(app) if r.callback_id == str(target["callbackid"]))
    assert row.verified
    assert next(c for c in sandbox_callbacks(sandbox) if c["callbackid"] == target["callbackid"])["verified"]


def test_verification_for_a_business_nobody_connected_is_ignored(app, client):
    form = {"name": facts.VERIFY_EVENT, "object_id": "123", "verifier": VERIFIER, "account_id": "nobody",
            "business_id": "1", "identity_id": "1", "user_id": "1"}
    response = client.post("/webhooks/freshbooks", data=form_body(form),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and callback_rows(app) == []


def test_signed_delivery_is_recorded_once_and_replay_does_nothing_twice(app, client, api_key, applied):
    connection_id = connect(client, api_key, "freshbooks")
    with_verified_callback(app, connection_id)
    form = delivery("invoice.update", "4001")
    response = fb_post(client, form)
    assert response.status_code == 200 and response.data == b""
    assert fb_post(client, form).status_code == 200  # the same signed body again
    (row,) = stored(app)
    assert row.connection_id == connection_id
    assert row.notices == [{"object": "invoice", "ledger_id": "4001", "operation": "update"}]
    assert len(inbound_jobs(app)) == 1
    jobs.apply_pending(app, connection_id)
    jobs.apply_pending(app, connection_id)  # a second run of the job does nothing
    assert applied == [(connection_id, [{"object": "invoice", "ledger_id": "4001", "operation": "update"}])]


def test_identical_delivery_after_the_first_was_applied_is_read_again(app, client, api_key, applied):
    # FreshBooks sends no event id or time: the same body later may be a new change of the same invoice
    connection_id = connect(client, api_key, "freshbooks")
    with_verified_callback(app, connection_id)
    form = delivery("invoice.update", "4001")
    assert fb_post(client, form).status_code == 200
    jobs.apply_pending(app, connection_id)
    assert fb_post(client, form).status_code == 200
    assert len(stored(app)) == 2


def test_bad_missing_or_raw_body_signatures_are_401_and_nothing_else(app, client, api_key, applied):
    connection_id = connect(client, api_key, "freshbooks")
    with_verified_callback(app, connection_id)
    form = delivery("payment.create", "5001")
    raw_body_signature = hmac_base64(VERIFIER, form_body(form))  # FreshBooks signs the JSON, not the body
    for response in (fb_post(client, form, verifier="another-callbacks-verifier"), fb_post(client, form, verifier=None),
                     fb_post(client, form, signature=raw_body_signature),
                     fb_post(client, {**form, "account_id": "SbxUS2"})):
        assert response.status_code == 401 and response.data == b""
    assert stored(app) == [] and inbound_jobs(app) == []


def test_unverified_callbacks_and_disconnected_connections_do_not_authenticate(app, client, api_key, applied):
    connection_id = connect(client, api_key, "freshbooks")
    with_verified_callback(app, connection_id)
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(FreshBooksCallback).values(verified=False))
        db.commit()
    assert fb_post(client, delivery()).status_code == 401
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(FreshBooksCallback).values(verified=True))
        db.commit()
    assert client.delete(f"/v1/connections/{connection_id}", headers=auth(api_key)).status_code == 200
    assert fb_post(client, delivery()).status_code == 401
    with app.extensions["bridge.sessions"]() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(InboundNotice)).scalar() == 0

"""Exactly once: idempotency keys, dropped responses, retries and concurrent workers."""

from __future__ import annotations

import json
from datetime import timedelta

from bridge import store
from bridge.store.models import IdempotencyRecord, utcnow
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect_quickbooks, sample_invoice, wait_for


def post(client, key, url, body, idempotency_key=None):
    """POST JSON, optionally with an Idempotency-Key."""
    headers = auth(key)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_same_idempotency_key_twice_gives_one_invoice(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    url = f"/v1/connections/{connection_id}/invoices"
    first = post(client, api_key, url, sample_invoice(), "order-77")
    again = post(client, api_key, url, sample_invoice(), "order-77")
    assert first.status_code == again.status_code == 202
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(client, api_key, url, sample_invoice(memo="changed"), "order-77")
    assert other.status_code == 409 and other.content_type == "application/problem+json"
    assert wait_for(client, api_key, first.get_json()["id"])["status"] == "succeeded"
    ops = client.get("/v1/syncs", headers=auth(api_key)).get_json()["data"]
    assert [op["id"] for op in ops] == [first.get_json()["id"]]
    assert len(sandbox.objects("invoices")) == 1


def test_idempotency_key_is_scoped_to_route_and_account(client, api_key, app, runtime):
    from tests.conftest import make_key

    connection_id = connect_quickbooks(client, api_key)
    url = f"/v1/connections/{connection_id}/invoices"
    a = post(client, api_key, url, sample_invoice(), "shared-key")
    b = post(client, api_key, f"/v1/connections/{connection_id}/customers",
             {"external_id": "c-2", "name": "Other"}, "shared-key")
    assert a.status_code == b.status_code == 202 and a.get_json()["id"] != b.get_json()["id"]
    other_account = make_key(app, "globex")
    assert post(client, other_account, "/v1/keys", {"name": "x"}, "shared-key").status_code == 201


def test_key_in_flight_gets_409_with_retry_after(app, client, api_key):
    me = client.get("/v1/me", headers=auth(api_key)).get_json()
    with app.app_context():
        db = store.session()
        db.add(IdempotencyRecord(account_id=me["account_id"], route="POST /v1/keys", key="busy",
                                 body_hash="x", created_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
        db.commit()
    response = client.post("/v1/keys", json={}, headers={**auth(api_key), "Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


def test_generic_route_replays_its_first_response(client, api_key):
    first = post(client, api_key, "/v1/keys", {"name": "ci"}, "make-key-once")
    second = post(client, api_key, "/v1/keys", {"name": "ci"}, "make-key-once")
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert len(client.get("/v1/keys", headers=auth(api_key)).get_json()["data"]) == 2  # the fixture's + one


def test_write_applied_then_response_lost_is_not_duplicated(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(faults={"drop_after_write": 2, "drop_mode": "error"})
    op = post(client, api_key, f"/v1/connections/{connection_id}/invoices", sample_invoice()).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded"
    assert done["attempts"] >= 2, done
    assert len(sandbox.objects("invoices")) == 1
    assert len([c for c in sandbox.objects("customers") if c["DisplayName"] == "Acme Ltd"]) == 1
    assert sandbox.stats()["requestid_replays"] >= 1


def test_timeout_after_the_write_is_retried_with_the_same_request_id(make_app, api_key, sandbox):
    app = make_app(LEDGER_TIMEOUT=0.5)
    client = app.test_client()
    from tests.conftest import make_key

    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    sandbox.configure(faults={"drop_after_write": 1, "drop_mode": "timeout", "drop_delay": 1.5})
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        op = post(client, key, f"/v1/connections/{connection_id}/invoices", sample_invoice()).get_json()
        done = wait_for(client, key, op["id"], timeout=30)
    finally:
        runtime.stop()
    assert done["status"] == "succeeded" and done["attempts"] >= 2
    assert len(sandbox.objects("invoices")) == 1


def test_server_errors_are_retried_until_they_pass(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(faults={"fail_next": 2})
    op = post(client, api_key, f"/v1/connections/{connection_id}/invoices", sample_invoice()).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded" and done["attempts"] >= 2
    assert [a["outcome"] for a in done["history"]][-1] == "succeeded"
    assert "retrying" in [a["outcome"] for a in done["history"]]
    assert len(sandbox.objects("invoices")) == 1


def test_retries_exhausted_make_the_operation_dead_and_replayable(make_app, sandbox):
    app = make_app(RETRY_MAX=2)
    client = app.test_client()
    from tests.conftest import make_key

    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    sandbox.configure(faults={"fail_next": 50})
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        op = post(client, key, f"/v1/connections/{connection_id}/invoices", sample_invoice()).get_json()
        dead = wait_for(client, key, op["id"])
        assert dead["status"] == "dead" and dead["attempts"] == 2
        sandbox.configure(faults={"fail_next": 0})
        retried = client.post(f"/v1/syncs/{op['id']}/retry", headers=auth(key))
        assert retried.status_code == 202
        assert wait_for(client, key, op["id"])["status"] == "succeeded"
    finally:
        runtime.stop()
    assert len(sandbox.objects("invoices")) == 1


def test_two_workers_in_two_processes_no_duplicate_and_order_kept(make_app, sandbox):
    first_app, second_app = make_app(), make_app()
    client = first_app.test_client()
    from tests.conftest import make_key

    key = make_key(first_app, "acme")
    connection_id = connect_quickbooks(client, key)
    url = f"/v1/connections/{connection_id}/invoices"
    runtimes = [EmbeddedRuntime(first_app, workers=1).start(), EmbeddedRuntime(second_app, workers=1).start()]
    try:
        last_ops = []
        for n in range(8):
            external_id = f"inv-{n}"
            for quantity in ("1", "2", "3"):
                body = sample_invoice(external_id, lines=[{"description": "x", "quantity": quantity, "unit_price": "10.00"}])
                op = post(client, key, url, body).get_json()
            last_ops.append(op["id"])
        for op_id in last_ops:
            assert wait_for(client, key, op_id, timeout=60)["status"] == "succeeded"
    finally:
        for runtime in runtimes:
            runtime.stop()
    invoices = sandbox.objects("invoices")
    assert sorted(i["DocNumber"] for i in invoices) == sorted(f"INV-{n}" for n in range(8))
    assert {i["TotalAmt"] for i in invoices} == {30}  # the last write (3 x 10.00) won everywhere
    ops = client.get("/v1/syncs?limit=200", headers=auth(key)).get_json()["data"]
    assert len(ops) == 24 and all(op["status"] == "succeeded" for op in ops)
    by_invoice: dict[str, list] = {}
    for op in reversed(ops):  # oldest first
        detail = client.get(f"/v1/syncs/{op['id']}", headers=auth(key)).get_json()
        by_invoice.setdefault(op["external_id"], []).append(detail["history"][-1]["started_at"])
    for started in by_invoice.values():
        assert started == sorted(started), "a later write ran before an earlier one"

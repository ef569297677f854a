"""The sync log a user reviews weekly: filters (error class, dates), the summary, and 422s naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for


def ids(response) -> list[str]:
    """The operation ids of a sync log page."""
    assert response.status_code == 200, response.get_json()
    return [op["id"] for op in response.get_json()["data"]]


def field_errors(response) -> dict:
    """The problem's errors by field."""
    assert response.status_code == 422, response.get_json()
    return {error["field"]: error["message"] for error in response.get_json()["errors"]}


@pytest.fixture
def failures(make_app, sandbox):
    """A QuickBooks connection with one success, a ledger rejection, a mapping failure and a dead write."""
    app = make_app(RETRY_MAX=2)
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    url = f"/v1/connections/{connection_id}/invoices"
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        def write(path, body):
            return wait_for(client, key, client.post(path, json=body, headers=auth(key)).get_json()["id"])

        ok = write(url, sample_invoice("inv-a", number="DUP-1"))
        clash = write(url, sample_invoice("inv-b", number="DUP-1"))
        orphan = write(f"/v1/connections/{connection_id}/payments", {
            "external_id": "p-9", "invoice_external_id": "never-sent", "amount": "5.00", "date": "2026-01-02"})
        sandbox.configure(faults={"fail_next": 50})
        dead = write(url, sample_invoice("inv-c", number="C-1"))
        sandbox.configure(faults={"fail_next": 0})
        yield {"app": app, "client": client, "key": key, "connection_id": connection_id, "url": url,
               "ok": ok, "clash": clash, "orphan": orphan, "dead": dead, "write": write}
    finally:
        runtime.stop()


def test_each_failure_carries_its_error_class(failures):
    assert failures["ok"]["status"] == "succeeded" and failures["ok"]["error_class"] is None
    assert (failures["clash"]["status"], failures["clash"]["error_class"]) == ("failed", "ledger_rejected")
    assert (failures["orphan"]["status"], failures["orphan"]["error_class"]) == ("failed", "mapping")
    assert (failures["dead"]["status"], failures["dead"]["error_class"]) == ("dead", "ledger_unavailable")


def test_the_log_filters_by_error_class_status_object_and_connection(failures):
    client, headers = failures["client"], auth(failures["key"])
    assert ids(client.get("/v1/syncs?error_class=mapping", headers=headers)) == [failures["orphan"]["id"]]
    assert ids(client.get("/v1/syncs?error_class=ledger_rejected", headers=headers)) == [failures["clash"]["id"]]
    assert ids(client.get("/v1/syncs?error_class=auth", headers=headers)) == []
    assert ids(client.get("/v1/syncs?status=dead&object=invoice", headers=headers)) == [failures["dead"]["id"]]
    assert ids(client.get(f"/v1/syncs?connection_id={failures['connection_id']}&object=payment",
                          headers=headers)) == [failures["orphan"]["id"]]


def test_the_log_filters_by_date_range(failures):
    client, headers = failures["client"], auth(failures["key"])
    clash_created = datetime.fromisoformat(failures["clash"]["created_at"])
    since = quote(clash_created.isoformat())
    assert ids(client.get(f"/v1/syncs?since={since}", headers=headers)) == [
        failures["dead"]["id"], failures["orphan"]["id"], failures["clash"]["id"]]
    assert ids(client.get(f"/v1/syncs?until={since}", headers=headers)) == [failures["ok"]["id"]]
    future = quote((datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert ids(client.get(f"/v1/syncs?since={future}", headers=headers)) == []


@pytest.mark.parametrize("query, field", [
    ("error_class=oops", "error_class"), ("status=lost", "status"), ("object=bill", "object"),
    ("since=yesterday", "since"), ("until=2026-13-45", "until"), ("action=delete", "action"),
])
def test_bad_filters_are_422_naming_the_field(client, api_key, query, field):
    assert field in field_errors(client.get(f"/v1/syncs?{query}", headers=auth(api_key)))


@pytest.mark.parametrize("period", ["7", "d", "0d", "-1d", "1w", "91d", "2161h", "99999999999999999999d", "7 d"])
def test_a_bad_summary_period_is_422_naming_period(client, api_key, period):
    assert "period" in field_errors(client.get(f"/v1/syncs/summary?period={quote(period)}", headers=auth(api_key)))


def test_the_summary_counts_by_status_and_error_class_and_finds_the_oldest_unresolved_failure(failures):
    client, headers = failures["client"], auth(failures["key"])
    response = client.get("/v1/syncs/summary?period=7d", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["period"] == "7d"
    assert datetime.fromisoformat(body["until"]) - datetime.fromisoformat(body["since"]) == timedelta(days=7)
    [summary] = body["connections"]
    assert summary["connection_id"] == failures["connection_id"] and summary["operations"] == 4
    assert summary["by_status"] == {"queued": 0, "running": 0, "retrying": 0, "succeeded": 1, "failed": 2, "dead": 1}
    assert {k: v for k, v in summary["by_error_class"].items() if v} == {
        "ledger_rejected": 1, "mapping": 1, "ledger_unavailable": 1}
    oldest = summary["oldest_unresolved_failure"]
    assert (oldest["id"], oldest["error_class"]) == (failures["clash"]["id"], "ledger_rejected")
    assert oldest["age_seconds"] >= 0

    # The user fixes the clashing invoice: that failure is resolved, the next oldest one shows.
    fixed = failures["write"](failures["url"], sample_invoice("inv-b", number="DUP-2"))
    assert fixed["status"] == "succeeded"
    [summary] = client.get("/v1/syncs/summary", headers=headers).get_json()["connections"]
    assert summary["oldest_unresolved_failure"]["id"] == failures["orphan"]["id"]
    assert summary["by_status"]["succeeded"] == 2


def test_the_summary_period_and_connection_narrow_it(failures, sandbox):
    client, headers = failures["client"], auth(failures["key"])
    other = connect_quickbooks(client, failures["key"])
    body = client.get(f"/v1/syncs/summary?period=24h&connection_id={other}", headers=headers).get_json()
    [summary] = body["connections"]
    assert summary["connection_id"] == other and summary["operations"] == 0
    assert summary["oldest_unresolved_failure"] is None
    missing = client.get("/v1/syncs/summary?connection_id=conn_nope", headers=headers)
    assert missing.status_code == 404
    # Operations older than the period drop out of the counts but an unresolved failure still shows.
    import sqlalchemy as sa

    from bridge import store
    from bridge.store.models import Operation

    with failures["app"].app_context():
        db = store.session()
        db.execute(sa.update(Operation).values(created_at=datetime.now(UTC) - timedelta(days=3)))
        db.commit()
    [summary] = client.get(f"/v1/syncs/summary?period=48h&connection_id={failures['connection_id']}",
                           headers=headers).get_json()["connections"]
    assert summary["operations"] == 0
    assert summary["oldest_unresolved_failure"]["id"] == failures["clash"]["id"]
    [summary] = client.get(f"/v1/syncs/summary?period=4d&connection_id={failures['connection_id']}",
                           headers=headers).get_json()["connections"]
    assert summary["operations"] == 4


def test_another_account_sees_none_of_it(failures):
    other_key = make_key(failures["app"], "globex")
    body = failures["client"].get("/v1/syncs/summary", headers=auth(other_key)).get_json()
    assert body["connections"] == []
    assert ids(failures["client"].get("/v1/syncs?error_class=mapping", headers=auth(other_key))) == []

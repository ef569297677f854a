"""Reconciliation through the API and the sandboxes: drift item by item, resync, ledger down, schedule."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.sandbox.xero import UK_TENANT_ID
from bridge.store.models import Event, ReconciliationRun, utcnow
from tests.conftest import US_REALM, auth, connect, make_key, sample_invoice, wait_for

XERO_MAPPING = {"tax_categories": {"standard": "OUTPUT2"},
                "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}
OUR_TOTAL = "260.15"  # sample_invoice: 2 x 100.00 + 1.5 x 40.10, no tax

LEDGERS = {
    # provider: (tenant in the control routes, currency, a changed line as the ledger's user would write it)
    "quickbooks": (US_REALM, "USD", {"Line": [{"Amount": "999.00", "DetailType": "SalesItemLineDetail",
                                              "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1,
                                                                      "UnitPrice": "999.00"}}]}),
    "xero": (UK_TENANT_ID, "GBP", {"LineItems": [{"Description": "Changed by the bookkeeper", "Quantity": 1,
                                                  "UnitAmount": "999.00", "AccountCode": "200", "TaxType": "NONE"}]}),
    "freshbooks": (ACCOUNT_ID, "CAD", {"lines": [{"name": "Changed by the bookkeeper", "qty": 1,
                                                  "unit_cost": {"amount": "999.00", "code": "CAD"}}]}),
}


def connect_ledger(client, key, provider: str) -> str:
    """A connection to the provider's sandbox, mapped where the ledger needs it."""
    if provider == "quickbooks":
        return connect(client, key, "quickbooks")
    if provider == "xero":
        connection_id = connect(client, key, "xero", tenant=UK_TENANT_ID)
        assert client.put(f"/v1/connections/{connection_id}/mapping", json=XERO_MAPPING,
                          headers=auth(key)).status_code == 200
        return connection_id
    return connect(client, key, "freshbooks")


def write(client, key, connection_id: str, body: dict) -> None:
    """Send an invoice (with its payments) and wait until every operation succeeded."""
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(key)).get_json()
    for operation_id in [op["id"], *(related["id"] for related in op["related"])]:
        assert wait_for(client, key, operation_id)["status"] == "succeeded"


def ledger_id(client, key, connection_id: str, external_id: str) -> str:
    """The ledger's id of an invoice we wrote."""
    return client.get(f"/v1/connections/{connection_id}/invoices/{external_id}", headers=auth(key)).get_json()["ledger_id"]


def reconcile(client, key, connection_id: str, timeout: float = 20) -> dict:
    """Run a reconciliation now and wait for its outcome."""
    answer = client.post(f"/v1/connections/{connection_id}/reconcile", headers=auth(key))
    assert answer.status_code == 202, answer.get_json()
    run_id = answer.get_json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/v1/reconciliation/runs/{run_id}", headers=auth(key)).get_json()
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def drift(client, key, connection_id: str, status: str = "open") -> dict:
    """The connection's drift items of a status, and its last run."""
    return client.get(f"/v1/reconciliation?connection_id={connection_id}&status={status}", headers=auth(key)).get_json()


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_deleted_altered_and_user_paid_invoices_drift_item_by_item_and_resync_repairs(
        provider, app, client, api_key, sandbox, runtime):
    tenant, currency, changed_lines = LEDGERS[provider]
    connection_id = connect_ledger(client, api_key, provider)
    for external_id in ("inv-1", "inv-2"):
        write(client, api_key, connection_id, sample_invoice(external_id, currency=currency))
    write(client, api_key, connection_id, sample_invoice("inv-3", currency=currency, payments=[
        {"external_id": "pay-3", "amount": "100.00", "date": "2026-01-20"}]))
    clean = reconcile(client, api_key, connection_id)
    assert (clean["status"], clean["checked"], clean["in_sync"], clean["drift"]) == ("in_sync", 4, 4, 0), clean

    sandbox.control(provider, f"{tenant}/invoice/{ledger_id(client, api_key, connection_id, 'inv-1')}", "DELETE")
    sandbox.control(provider, f"{tenant}/invoice/{ledger_id(client, api_key, connection_id, 'inv-2')}", "PATCH",
                    json=changed_lines)
    user_payment = sandbox.control(provider, f"{tenant}/payments", json={
        "invoice_id": ledger_id(client, api_key, connection_id, "inv-3"), "amount": "50.00", "date": "2026-01-25"})
    assert user_payment

    run = reconcile(client, api_key, connection_id)
    assert (run["status"], run["checked"], run["in_sync"], run["drift"], run["could_not_check"]) == \
        ("drift", 4, 2, 3, 0), run
    listing = drift(client, api_key, connection_id)
    found = {(i["object"], i["external_id"], i["kind"]): i for i in listing["data"]}
    assert set(found) == {("invoice", "inv-1", "missing"), ("invoice", "inv-2", "total_differs"),
                          ("payment", None, "unknown_payment")}
    assert Decimal(found["invoice", "inv-2", "total_differs"]["ours"]) == Decimal(OUR_TOTAL)
    assert Decimal(found["invoice", "inv-2", "total_differs"]["theirs"]) == Decimal("999.00")
    unknown = found["payment", None, "unknown_payment"]
    assert unknown["invoice_external_id"] == "inv-3" and Decimal(unknown["theirs"]) == Decimal("50.00")
    assert [r["id"] for r in listing["runs"]] == [run["id"]]
    with app.app_context():
        events = app.extensions["bridge.sessions"]().execute(sa.select(Event).where(
            Event.event == "reconciliation.drift")).scalars().all()
    assert sorted(e.data["id"] for e in events) == sorted(i["id"] for i in listing["data"])

    again = reconcile(client, api_key, connection_id)  # the same drift: the same items, no new events
    assert again["drift"] == 3 and len(drift(client, api_key, connection_id)["data"]) == 3

    refused = client.post(f"/v1/reconciliation/{unknown['id']}/resync", headers=auth(api_key))
    assert refused.status_code == 409 and "acknowledge" in refused.get_json()["detail"]
    acknowledged = client.post(f"/v1/reconciliation/{unknown['id']}/acknowledge", headers=auth(api_key))
    assert acknowledged.status_code == 200 and acknowledged.get_json()["resolution"] == "acknowledged"
    # Xero and FreshBooks keep the number of an invoice voided or deleted there: it comes back under a new one
    renumbered = {"number": "INV-1-R"} if provider != "quickbooks" else None
    for key, body in ((("invoice", "inv-1", "missing"), renumbered), (("invoice", "inv-2", "total_differs"), None)):
        answer = client.post(f"/v1/reconciliation/{found[key]['id']}/resync", headers=auth(api_key), json=body)
        assert answer.status_code == 202, answer.get_json()
        assert answer.get_json()["object"] == "invoice" and answer.get_json()["external_id"] == key[1]
        done = wait_for(client, api_key, answer.get_json()["id"])
        assert done["status"] == "succeeded", (key, done["errors"])
    for external_id in ("inv-1", "inv-2"):
        held = client.get(f"/v1/connections/{connection_id}/invoices/{external_id}", headers=auth(api_key)).get_json()
        assert Decimal(held["totals"]["total"]) == Decimal(OUR_TOTAL) and held["status"] == "open", held

    repaired = reconcile(client, api_key, connection_id)
    assert (repaired["status"], repaired["drift"], repaired["could_not_check"]) == ("in_sync", 0, 0), repaired
    assert drift(client, api_key, connection_id)["data"] == []


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_a_ledger_that_is_down_is_could_not_check_never_in_sync(provider, client, api_key, sandbox, runtime):
    _, currency, _ = LEDGERS[provider]
    connection_id = connect_ledger(client, api_key, provider)
    write(client, api_key, connection_id, sample_invoice("inv-1", currency=currency, payments=[
        {"external_id": "pay-1", "amount": "10.00", "date": "2026-01-20"}]))
    sandbox.configure(provider, faults={"error_rate": 1.0})
    try:
        run = reconcile(client, api_key, connection_id)
    finally:
        sandbox.configure(provider, faults={"error_rate": 0.0})
    assert (run["status"], run["checked"], run["in_sync"], run["could_not_check"], run["drift"]) == \
        ("could_not_check", 2, 0, 2, 0), run
    items = drift(client, api_key, connection_id, "could_not_check")["data"]
    assert {(i["object"], i["external_id"]) for i in items} == {("invoice", "inv-1"), ("payment", "pay-1")}
    assert all(i["kind"] == "could_not_check" and "could not be read" in i["detail"] for i in items)
    back = reconcile(client, api_key, connection_id)
    assert (back["status"], back["in_sync"]) == ("in_sync", 2)
    assert drift(client, api_key, connection_id, "could_not_check")["data"] == []


def test_another_accounts_drift_and_runs_are_404(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    write(client, api_key, connection_id, sample_invoice("inv-1"))
    sandbox.control("quickbooks", f"{US_REALM}/invoice/{ledger_id(client, api_key, connection_id, 'inv-1')}", "DELETE")
    run = reconcile(client, api_key, connection_id)
    (item,) = drift(client, api_key, connection_id)["data"]
    other = make_key(app, "someone-else")
    assert client.get(f"/v1/reconciliation/runs/{run['id']}", headers=auth(other)).status_code == 404
    assert client.post(f"/v1/reconciliation/{item['id']}/resync", headers=auth(other)).status_code == 404
    assert client.post(f"/v1/connections/{connection_id}/reconcile", headers=auth(other)).status_code == 404
    assert client.get("/v1/reconciliation", headers=auth(other)).get_json() == {"data": [], "next": None, "runs": []}


def test_schedule_is_validated_naming_the_field_and_can_be_switched_off(client, api_key, sandbox):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    url = f"/v1/connections/{connection_id}/reconciliation-schedule"
    assert client.get(url, headers=auth(api_key)).get_json()["every"] == "24h"
    for bad in ("5m", "0h", "32d", 6, "daily"):
        answer = client.put(url, json={"every": bad}, headers=auth(api_key))
        assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "every", (bad, answer.get_json())
    assert client.put(url, json={"every": "6h"}, headers=auth(api_key)).get_json()["every"] == "6h"
    off = client.put(url, json={"every": "off"}, headers=auth(api_key)).get_json()
    assert off["every"] == "off" and off["next_run_at"] is None


def test_two_workers_make_one_scheduled_run_per_connection_per_period(make_app, sandbox):
    from bridge.sync.reconcile_schedule import schedule_due
    from bridge.sync.worker import EmbeddedRuntime

    first, second = make_app(RECONCILE_TICK_SECONDS=0.2), make_app(RECONCILE_TICK_SECONDS=0.2)
    client = first.test_client()
    key = make_key(first, "acme")
    daily = connect_ledger(client, key, "quickbooks")
    hourly = connect_ledger(client, key, "freshbooks")
    switched_off = connect_ledger(client, key, "xero")
    client.put(f"/v1/connections/{hourly}/reconciliation-schedule", json={"every": "1h"}, headers=auth(key))
    client.put(f"/v1/connections/{switched_off}/reconciliation-schedule", json={"every": "off"}, headers=auth(key))
    runtimes = [EmbeddedRuntime(app, workers=2).start() for app in (first, second)]
    try:
        deadline = time.monotonic() + 15
        while True:
            runs = client.get("/v1/reconciliation", headers=auth(key)).get_json()["runs"]
            if len(runs) == 2 and all(run["status"] == "in_sync" for run in runs):
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.1)
        time.sleep(1.0)  # several more ticks on both processes
    finally:
        for runtime in runtimes:
            runtime.stop()
    sessions = first.extensions["bridge.sessions"]
    with sessions() as db:
        scheduled = db.execute(sa.select(ReconciliationRun.connection_id, sa.func.count()).where(
            ReconciliationRun.trigger == "schedule").group_by(ReconciliationRun.connection_id)).all()
    assert dict(scheduled) == {daily: 1, hourly: 1}
    later = utcnow() + timedelta(hours=1, minutes=1)
    with first.app_context():
        made = schedule_due(first, now=later) + schedule_due(second, now=later)
    with sessions() as db:
        connections = db.execute(sa.select(ReconciliationRun.connection_id).where(
            ReconciliationRun.id.in_(made))).scalars().all()
    # the next hour is a new period for the hourly one; the daily one only when the day turned meanwhile
    expected = {hourly} if later.date() == utcnow().date() else {hourly, daily}
    assert set(connections) == expected and len(connections) == len(expected)

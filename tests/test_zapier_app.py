"""The Zapier app, run by Zapier's own runtime (zapier-platform-core's appTester) against a live bridge.

`connector_specs/zapier/run_checks.js` validates the app with zapier-platform-schema and runs every
trigger (the REST hook's subscribe, perform, list and unsubscribe too), create and search and the auth
test. Node modules come from the npm registry through the committed lock file (`npm ci`); a missing
node or npm, or a failed install, fails this test rather than skipping it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.store.models import Event
from bridge.sync.tokens import mark_needs_reauth
from tests.conftest import UK_REALM, auth, connect_quickbooks, sample_invoice, wait_for

APP_DIR = Path(__file__).resolve().parents[1] / "connector_specs" / "zapier"
INSTALL_STAMP = APP_DIR / "node_modules" / ".installed-lock-sha256"
NPM_TIMEOUT = 300
NODE_TIMEOUT = 240
MAPPING = {"products": {"CONSULT": {"item": "1"}}, "tax_categories": {"exempt": "NON"},
           "source_of_truth": {"items": "invoicing"}}  # the product dropdown also offers the ledger's items
PAID_EVENTS = ("invoice.paid", "payment.received", "invoice.created")


@pytest.fixture
def app(make_app):
    """The bridge, allowed to deliver REST hooks to loopback (the test's receiver)."""
    return make_app(ALLOW_PRIVATE_TARGETS=True)


def install_node_modules() -> str:
    """`npm ci` when node_modules is missing or older than package-lock.json; the node binary."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to run the Zapier app (Node 20 or later)"
    lock = hashlib.sha256((APP_DIR / "package-lock.json").read_bytes()).hexdigest()
    if not INSTALL_STAMP.exists() or INSTALL_STAMP.read_text() != lock:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], check=False, cwd=APP_DIR,
                              capture_output=True, text=True, timeout=NPM_TIMEOUT)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
        INSTALL_STAMP.write_text(lock)
    return node


def operation_keys() -> list[str]:
    """Every trigger, create and search of the app, as run_checks.js names them."""
    app = json.loads((APP_DIR / "app.json").read_text())
    names = {"triggers": "trigger", "creates": "create", "searches": "search"}
    return [f"{names[kind]} {key}" for kind in names for key in app[kind]]


def wait_for_events(app, names: tuple[str, ...], timeout: float = 20) -> set[str]:
    """The events among `names` recorded before the deadline (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.extensions["bridge.sessions"]() as db:
            seen = set(db.execute(sa.select(Event.event).where(Event.event.in_(names))).scalars())
        if seen == set(names) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def test_every_zapier_operation_runs_in_zapiers_runtime_against_a_live_bridge(
        app, client, api_key, runtime, sandbox, live_server):
    node = install_node_modules()
    url = live_server(app)
    connection_id = connect_quickbooks(client, api_key)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=MAPPING,
                      headers=auth(api_key)).status_code == 200
    # The sandbox tells the bridge of ledger changes, as QuickBooks would: payments become events.
    sandbox.configure("quickbooks", webhook_target=f"{url}/webhooks/quickbooks")

    # Real events and objects for the triggers and searches: a paid invoice, an open one, a failed sync.
    line = {"description": "Consulting", "quantity": "2", "unit_price": "100.00", "product_code": "CONSULT",
            "tax_category": "exempt"}
    paid = sample_invoice("zap-paid-1", lines=[line],
                          payments=[{"external_id": "zap-pay-1", "amount": "200.00", "date": "2026-01-20"}])
    open_invoice = sample_invoice("zap-open-1", lines=[line])
    failing = sample_invoice("zap-fail-1", lines=[dict(line, tax_category="unmapped")])
    operations = []
    for invoice in (paid, open_invoice, failing):
        accepted = client.post(f"/v1/connections/{connection_id}/invoices", json=invoice, headers=auth(api_key))
        assert accepted.status_code == 202, accepted.get_json()
        operations += [accepted.get_json()["id"], *(r["id"] for r in accepted.get_json()["related"])]
    finished = {op: wait_for(client, api_key, op)["status"] for op in operations}
    assert list(finished.values()).count("failed") == 1, finished  # the unmapped tax category
    assert "sync.failed" in wait_for_events(app, ("sync.failed",))
    # Another connection whose refresh token was refused: the event the token refresh emits.
    mark_needs_reauth(app, connect_quickbooks(client, api_key, realm=UK_REALM), "invalid_grant")
    # The payment recorded in QuickBooks came back through its webhook as events.
    assert wait_for_events(app, PAID_EVENTS) == set(PAID_EVENTS)
    required = ["new_paid_invoice", "new_invoice", "payment_received", "sync_failed", "connection_needs_reauth"]

    env = {**os.environ, "BRIDGE_URL": url, "BRIDGE_API_KEY": api_key, "BRIDGE_CONNECTION_ID": connection_id,
           "BRIDGE_INVOICE_EXTERNAL_ID": "zap-open-1", "BRIDGE_INVOICE_NUMBER": "ZAP-OPEN-1",
           "BRIDGE_CUSTOMER_EXTERNAL_ID": "cus-1", "BRIDGE_CUSTOMER_EMAIL": "ap@acme.example",
           "BRIDGE_CURRENCY": "USD", "REQUIRE_EVENTS": ",".join(required)}
    done = subprocess.run([node, "run_checks.js"], check=False, cwd=APP_DIR, env=env, capture_output=True,
                          text=True, timeout=NODE_TIMEOUT)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 0, output
    lines = output.splitlines()
    for name in ["schema validateAppDefinition", "auth test", *operation_keys()]:
        assert any(line.startswith(f"ok   {name}") for line in lines), f"{name} not run:\n{output}"
    assert "FAIL" not in output
    # The mapped product, then the sandbox company's two items by their codes.
    assert "ok   trigger products (dropdown) -> 3 choice(s)" in lines

    # What the creates sent was right for the ledger too: every operation they queued succeeds.
    created = [op for line in lines if line.startswith("ok   create ")
               for op in re.findall(r"\bop_\w+", line)]
    assert len(created) >= 6, output  # five creates, the paid invoice's payment
    outcomes = [wait_for(client, api_key, op) for op in created]
    assert [(op["object"], op["status"], op["errors"]) for op in outcomes if op["status"] != "succeeded"] == []
    # The REST hook got its delivery while subscribed, and unsubscribing removed it.
    assert client.get("/v1/hooks", headers=auth(api_key)).get_json()["data"] == []


def test_run_checks_fails_on_a_trigger_sample_without_id_or_an_output_field_the_sample_lacks(tmp_path):
    node = install_node_modules()
    app = json.loads((APP_DIR / "app.json").read_text())
    del app["triggers"]["new_invoice"]["operation"]["sample"]["id"]
    app["creates"]["record_payment"]["operation"]["outputFields"].append({"key": "receipt_url", "label": "Receipt"})
    app["searches"]["find_invoice"]["operation"]["sample"]["pdf_url"] = "https://example.com/inv.pdf"
    broken = tmp_path / "app.json"
    broken.write_text(json.dumps(app))
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    done = subprocess.run([node, "run_checks.js"], check=False, cwd=APP_DIR,
                          env={**env, "ZAPIER_APP_JSON": str(broken)}, capture_output=True, text=True,
                          timeout=NODE_TIMEOUT)
    assert done.returncode != 0
    assert "FAIL spec triggers.new_invoice: trigger sample has no id" in done.stdout
    assert "FAIL spec creates.record_payment: outputFields not in the sample: receipt_url" in done.stdout
    assert "FAIL spec searches.find_invoice: sample fields without an output field: pdf_url" in done.stdout
    assert "ok   spec creates.upsert_invoice" in done.stdout

"""`bridge sync backfill`: historical invoices queued once each, resumable, invalid ones reported by field."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from bridge import cli, store
from bridge.store.models import Operation
from bridge.sync import backfill
from tests.conftest import auth, sample_invoice, wait_for
from tests.test_csv_ledger import connect_csv, download, rows_of, today

CSV_FILE = """external_id,number,customer_external_id,customer_name,issue_date,due_date,currency,description,quantity,unit_price
old-1,H-1,cus-1,Acme Ltd,2024-03-01,2024-03-31,USD,Consulting,2,100.00
old-2,H-2,cus-2,Globex,2024-03-02,,USD,Setup,1,50.50
old-1,H-1,cus-1,Acme Ltd,2024-03-01,2024-03-31,USD,Support,1.5,40.10
old-3,H-3,cus-1,Acme Ltd,2024-03-03,,USD,Broken,0,10.00
"""


def upserts(app) -> list[str]:
    """External ids of every queued invoice upsert, in order."""
    with app.app_context():
        return list(store.session().execute(sa.select(Operation.external_id).where(
            Operation.object == "invoice", Operation.action == "upsert").order_by(Operation.seq)).scalars())


def run_backfill(connection_id: str, path) -> tuple[int, str]:
    """The command's exit code and output."""
    result = CliRunner().invoke(cli.main, ["sync", "backfill", "--connection", connection_id, str(path)])
    return result.exit_code, result.output


def test_a_json_backfill_queues_each_invoice_once_and_reports_invalid_ones(app, client, api_key, runtime,
                                                                           monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    connection_id = connect_csv(client, api_key, "xero")
    invoices = [sample_invoice("hist-1"), sample_invoice("hist-2", number="H-2"),
                sample_invoice("hist-3", lines=[{"description": "x", "quantity": "1", "unit_price": "1.001.0"}]),
                sample_invoice("hist-4", payments=[{"external_id": "p", "amount": "1.00", "date": "2026-01-16"}])]
    path = tmp_path / "history.json"
    path.write_text(json.dumps(invoices))
    code, output = run_backfill(connection_id, path)
    assert code == 1, output
    assert "queued 2, skipped 0 (already queued), invalid 2" in output
    assert "hist-3: lines[0].unit_price:" in output and "hist-4: payments:" in output
    assert upserts(app) == ["hist-1", "hist-2"]

    code, output = run_backfill(connection_id, path)  # again: nothing new
    assert "queued 0, skipped 2 (already queued), invalid 2" in output
    assert upserts(app) == ["hist-1", "hist-2"]
    for op_id in _operation_ids(app):
        assert wait_for(client, api_key, op_id)["status"] == "succeeded"
    text = download(client, api_key, connection_id, f"invoices-{today()}.csv")
    assert sorted(row[10] for row in rows_of(text)[1:]) == ["H-2", "H-2", "HIST-1", "HIST-1"]


def _operation_ids(app) -> list[str]:
    """Every operation id."""
    with app.app_context():
        return list(store.session().execute(sa.select(Operation.id)).scalars())


def test_a_csv_backfill_groups_lines_and_resumes_after_an_interruption(app, client, api_key, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    connection_id = connect_csv(client, api_key, "quickbooks")
    path = tmp_path / "history.csv"
    path.write_text(CSV_FILE)
    original = backfill.queue_one
    calls = []

    def interrupted(connection, raw):
        calls.append(raw["external_id"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second invoice is being queued
        return original(connection, raw)

    monkeypatch.setattr(backfill, "queue_one", interrupted)
    code, output = run_backfill(connection_id, path)
    assert code != 0 and "queued 1, skipped 0 (already queued), invalid 0" in output
    assert upserts(app) == ["old-1"]

    monkeypatch.setattr(backfill, "queue_one", original)
    code, output = run_backfill(connection_id, path)
    assert code == 1 and "queued 1, skipped 1 (already queued), invalid 1" in output
    assert "old-3: lines[0].quantity:" in output
    assert upserts(app) == ["old-1", "old-2"]
    with app.app_context():
        [first] = store.session().execute(sa.select(Operation.payload).where(
            Operation.external_id == "old-1")).scalars().all()
    invoice = json.loads(first)
    assert [line["description"] for line in invoice["lines"]] == ["Consulting", "Support"]
    assert invoice["customer"] == {"external_id": "cus-1", "name": "Acme Ltd"}


def test_the_api_and_the_backfill_share_one_outbox(app, client, api_key, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    connection_id = connect_csv(client, api_key, "xero")
    sent = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice("hist-1"),
                       headers=auth(api_key))
    assert sent.status_code == 202
    path = tmp_path / "history.json"
    path.write_text(json.dumps([sample_invoice("hist-1"), sample_invoice("hist-2")]))
    code, output = run_backfill(connection_id, path)
    assert code == 0 and "queued 1, skipped 1 (already queued), invalid 0" in output
    assert upserts(app) == ["hist-1", "hist-2"]


def test_a_file_that_is_not_invoices_is_refused(app, client, api_key, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    connection_id = connect_csv(client, api_key, "xero")
    path = tmp_path / "history.json"
    path.write_text('{"external_id": "x"}')
    code, output = run_backfill(connection_id, path)
    assert code == 2 and "must hold a list of invoices" in output
    code, output = run_backfill("con_missing", path)
    assert code == 2 and "no usable connection" in output

"""Exports of invoices with sync status and ledger ids: CSV, XLSX, bad input, `bridge export`, the daily e-mail."""

from __future__ import annotations

import csv
import io
import socket
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from bridge import cli
from bridge.store.models import utcnow
from bridge.sync import exports, queue
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for
from tests.test_alerts import Inbox
from tests.test_csv_ledger import connect_csv, push


def csv_rows(text: str) -> list[dict]:
    """An export's CSV as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def export(client, key: str, **params):
    """GET the export."""
    return client.get("/v1/exports/invoices", query_string=params, headers=auth(key))


def two_ledgers(client, key: str) -> dict:
    """An invoice synced to QuickBooks, one refused there (duplicate number), one in a csv ledger then a failed void."""
    quickbooks = connect_quickbooks(client, key)
    books = connect_csv(client, key, "xero")
    ok = push(client, key, quickbooks, "invoices", sample_invoice("inv-1", number="SAME"))
    clash = push(client, key, quickbooks, "invoices", sample_invoice("inv-2", number="SAME"))
    push(client, key, books, "invoices", sample_invoice("inv-3", totals={"total": "1234567.89"}))
    void = client.post(f"/v1/connections/{books}/invoices/inv-3/void", headers=auth(key)).get_json()
    void = wait_for(client, key, void["id"])
    assert ok["status"] == "succeeded" and clash["status"] == "failed" and void["status"] == "failed"
    return {"quickbooks": quickbooks, "csv": books, "ok": ok, "clash": clash, "void": void}


def test_csv_export_has_each_invoice_with_its_sync_status_and_ledger_id(client, api_key, runtime, app):
    made = two_ledgers(client, api_key)
    make_key(app, "globex")
    response = export(client, api_key)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = {row["external_id"]: row for row in csv_rows(response.get_data(as_text=True))}
    assert set(rows) == {"inv-1", "inv-2", "inv-3"}
    assert rows["inv-1"] | {"updated_at": ""} == {
        "external_id": "inv-1", "number": "SAME", "customer": "Acme Ltd", "issue_date": "2026-01-15",
        "total": "260.15", "currency": "USD", "connection_id": made["quickbooks"], "provider": "quickbooks",
        "sync_status": "succeeded", "action": "upsert", "ledger_id": made["ok"]["ledger_id"], "last_error": "",
        "updated_at": "", "operation_id": made["ok"]["id"]}
    assert rows["inv-2"]["sync_status"] == "failed" and rows["inv-2"]["ledger_id"] == ""
    assert rows["inv-2"]["last_error"] == made["clash"]["errors"][0]["message"]
    assert rows["inv-3"]["sync_status"] == "failed" and rows["inv-3"]["action"] == "void"
    assert rows["inv-3"]["ledger_id"] == "INV-3" and rows["inv-3"]["total"] == "1234567.89"

    failed = csv_rows(export(client, api_key, status="failed").get_data(as_text=True))
    assert {row["external_id"] for row in failed} == {"inv-2", "inv-3"}
    only_csv = csv_rows(export(client, api_key, connection_id=made["csv"]).get_data(as_text=True))
    assert [row["external_id"] for row in only_csv] == ["inv-3"]
    assert csv_rows(export(client, api_key, until="2020-01-01").get_data(as_text=True)) == []
    assert len(csv_rows(export(client, api_key, since=utcnow().date().isoformat()).get_data(as_text=True))) == 3


def test_xlsx_export_keeps_amounts_and_statuses_exact(client, api_key, runtime):
    two_ledgers(client, api_key)
    response = export(client, api_key, format="xlsx")
    assert response.status_code == 200 and response.mimetype == exports.MIME["xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["invoices"]
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == list(exports.COLUMNS)
    by_id = {row[0]: dict(zip(header, row)) for row in rows}
    assert Decimal(str(by_id["inv-1"]["total"])) == Decimal("260.15")
    assert Decimal(str(by_id["inv-3"]["total"])) == Decimal("1234567.89")
    assert {name: row["sync_status"] for name, row in by_id.items()} == {
        "inv-1": "succeeded", "inv-2": "failed", "inv-3": "failed"}
    total_cell = next(row[4] for row in sheet.iter_rows(min_row=2) if row[0].value == "inv-1")
    assert total_cell.number_format == "0.00"


def test_a_huge_amount_goes_to_xlsx_as_exact_text():
    sheet_bytes = exports.xlsx_bytes([{column: None for column in exports.COLUMNS}
                                      | {"external_id": "big", "total": Decimal("12345678901234567.89")}])
    sheet = openpyxl.load_workbook(io.BytesIO(sheet_bytes))["invoices"]
    assert sheet["E2"].value == "12345678901234567.89"


@pytest.mark.parametrize("params, field", [
    ({"format": "pdf"}, "format"), ({"status": "lost"}, "status"), ({"since": "yesterday!"}, "since"),
    ({"until": "2026-13-40"}, "until")])
def test_bad_export_parameters_are_422_naming_the_field(client, api_key, params, field):
    response = export(client, api_key, **params)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [error["field"] for error in response.get_json()["errors"]] == [field]


def test_another_accounts_connection_is_404(client, api_key, app):
    other = make_key(app, "globex")
    connection_id = connect_csv(client, other, "xero", mapping=None)
    assert export(client, api_key, connection_id=connection_id).status_code == 404


def test_bridge_export_writes_the_file_with_a_progress_bar(client, api_key, runtime, app, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    made = two_ledgers(client, api_key)
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(cli.main, ["export", "--connection", made["quickbooks"], "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "exporting 2 invoice(s)" in result.output and f"wrote 2 invoice(s) to {target}" in result.output
    rows = csv_rows(target.read_text())
    assert {row["external_id"]: row["sync_status"] for row in rows} == {"inv-1": "succeeded", "inv-2": "failed"}
    book = tmp_path / "out.xlsx"
    result = CliRunner().invoke(cli.main, ["export", "--format", "xlsx", "--output", str(book)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(book)["invoices"].max_row == 4


@pytest.fixture
def inbox():
    """A local SMTP server on 127.0.0.1."""
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def test_the_daily_export_is_mailed_once_per_day_with_changes(make_app, inbox):
    from bridge.sync.worker import EmbeddedRuntime

    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{inbox.port}", ALERT_FROM="reports@bridge.example")
    client = app.test_client()
    key = make_key(app, "acme")
    make_key(app, "globex")  # no address: nothing mailed
    assert client.put("/v1/me/alerts", json={"email": "books@acme.example"}, headers=auth(key)).status_code == 200
    queue.connection(app).set(exports.TICK_KEY, 1, ex=600)  # this test sends on its own clock
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        books = connect_csv(client, key, "xero")
        push(client, key, books, "invoices", sample_invoice("inv-9", totals={"total": "99.10"}))
    finally:
        runtime.stop()
    tomorrow = utcnow() + timedelta(days=1)
    assert exports.send_daily_exports(app, now=tomorrow) == 1
    assert exports.send_daily_exports(app, now=tomorrow + timedelta(hours=3)) == 0
    [(to, mail)] = inbox.messages
    assert to == ["books@acme.example"] and mail["From"] == "reports@bridge.example"
    assert "(1 invoices)" in mail["Subject"]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"invoices-export-{utcnow().date().isoformat()}.csv"
    [row] = csv_rows(attachment.get_content() if isinstance(attachment.get_content(), str)
                     else attachment.get_content().decode())
    assert row["external_id"] == "inv-9" and row["total"] == "99.10" and row["sync_status"] == "succeeded"
    assert exports.send_daily_exports(app, now=tomorrow + timedelta(days=1)) == 0  # a quiet day: no e-mail
    assert len(inbox.messages) == 1

"""Support staff see and replay queued jobs with `bridge jobs list|retry`."""

from __future__ import annotations

from click.testing import CliRunner

from bridge import cli
from tests.conftest import auth, connect_quickbooks, sample_invoice, wait_for


def test_jobs_list_shows_a_failure_and_retry_replays_it(app, client, api_key, sandbox, runtime, monkeypatch):
    monkeypatch.setattr(cli, "_app", lambda **config: app)
    connection_id = connect_quickbooks(client, api_key)
    url = f"/v1/connections/{connection_id}/invoices"
    first = wait_for(client, api_key, client.post(url, json=sample_invoice("a", number="SAME"),
                                                  headers=auth(api_key)).get_json()["id"])
    assert first["status"] == "succeeded"
    clash = client.post(url, json=sample_invoice("b", number="SAME"), headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, clash["id"])["status"] == "failed"

    listed = CliRunner().invoke(cli.main, ["jobs", "list", "--status", "failed"])
    assert listed.exit_code == 0 and clash["id"] in listed.output and "Duplicate" in listed.output

    # The bookkeeper deletes the clashing invoice in QuickBooks, then support replays the failed job.
    sandbox.control("quickbooks", f"9130350000000001/invoice/{first['ledger_id']}", "DELETE")
    retried = CliRunner().invoke(cli.main, ["jobs", "retry", clash["id"]])
    assert retried.exit_code == 0 and "requeued 1 operation" in retried.output
    assert wait_for(client, api_key, clash["id"])["status"] == "succeeded"

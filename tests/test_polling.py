"""The polling fallback (bridge.events.polling): changes no webhook announced become events, once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge.events import polling
from bridge.events.inbound import common
from bridge.store.models import InboundNotice, utcnow
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import make_key
from tests.ledger_changes import TOTAL, api_requests, connect_ledger, names, pay, recorded, write_invoice


@pytest.fixture
def app(make_app):
    """The bridge with scheduled polls off: each test polls when it means to."""
    return make_app(POLL_SECONDS=0)


def set_checkpoint(app, connection_id: str, moment) -> None:
    """Move the connection's checkpoint (as if the last poll ran then)."""
    with app.extensions["bridge.sessions"]() as db:
        polling._save(db, connection_id, checkpoint=moment.isoformat(timespec="seconds"))
        db.commit()


def test_the_first_poll_only_records_its_checkpoint(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    before, started = api_requests(sandbox, "quickbooks"), utcnow()
    assert polling.poll(app, connection_id) == 0
    assert api_requests(sandbox, "quickbooks") == before  # history is not read
    row = polling.checkpoint_of(app, connection_id)
    assert row.checkpoint >= started.replace(microsecond=0).isoformat() and row.last_error is None
    assert recorded(app, connection_id) == []


@pytest.mark.parametrize("provider", ["xero", "freshbooks"])
def test_a_payment_no_webhook_announced_is_found_by_the_poll_once(provider, app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, provider)
    polling.poll(app, connection_id)
    invoice_id = write_invoice(client, api_key, connection_id, provider, "inv-1")
    payment_id = pay(sandbox, provider, invoice_id)  # Xero sends no payment webhooks at all

    polling.poll(app, connection_id)
    events = recorded(app, connection_id)
    assert sorted(names(events)) == ["customer.created", "invoice.created", "invoice.paid", "payment.received"]
    paid = next(event.data for event in events if event.event == "invoice.paid")
    assert (paid["ledger_id"], paid["external_id"], paid["status"]) == (invoice_id, "inv-1", "paid")
    received = next(event.data for event in events if event.event == "payment.received")
    assert (received["ledger_id"], received["amount"], received["invoice_external_id"]) == (payment_id, TOTAL, "inv-1")

    polling.poll(app, connection_id)  # read again inside the overlap: recognised
    assert names(recorded(app, connection_id)) == names(events)


def test_a_quickbooks_checkpoint_older_than_30_days_is_read_with_a_query(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    pay(sandbox, "quickbooks", invoice_id)

    set_checkpoint(app, connection_id, utcnow() - timedelta(days=40))
    polling.poll(app, connection_id)
    assert sandbox.stats("quickbooks")["cdc_requests"] == 0  # CDC looks back 30 days only
    assert {"invoice.paid", "payment.received"} <= set(names(recorded(app, connection_id)))

    set_checkpoint(app, connection_id, utcnow() - timedelta(days=2))
    before = names(recorded(app, connection_id))
    polling.poll(app, connection_id)
    assert sandbox.stats("quickbooks")["cdc_requests"] == 1
    assert names(recorded(app, connection_id)) == before


def test_the_checkpoint_stays_when_the_ledger_cannot_be_read(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    polling.poll(app, connection_id)
    first = polling.checkpoint_of(app, connection_id).checkpoint
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    pay(sandbox, "quickbooks", invoice_id)
    sandbox.configure("quickbooks", faults={"error_rate": 1.0})
    assert polling.poll(app, connection_id) == 0
    row = polling.checkpoint_of(app, connection_id)
    assert row.checkpoint == first and "Retryable" in row.last_error
    sandbox.configure("quickbooks", faults={"error_rate": 0.0})
    polling.poll(app, connection_id)
    assert "invoice.paid" in names(recorded(app, connection_id))
    assert polling.checkpoint_of(app, connection_id).last_error is None


def test_the_relay_polls_each_connection_every_poll_seconds(make_app, sandbox):
    app = make_app(POLL_SECONDS=0.5)
    client, key = app.test_client(), make_key(app, "acme")
    running = EmbeddedRuntime(app, workers=2).start()
    try:
        connection_id = connect_ledger(client, key, "xero")
        deadline = time.monotonic() + 15
        while polling.checkpoint_of(app, connection_id) is None:  # the first scheduled poll
            assert time.monotonic() < deadline, "no scheduled poll"
            time.sleep(0.05)
        invoice_id = write_invoice(client, key, connection_id, "xero", "inv-1")
        pay(sandbox, "xero", invoice_id)
        while "invoice.paid" not in names(recorded(app, connection_id)):
            assert time.monotonic() < deadline + 15, names(recorded(app, connection_id))
            time.sleep(0.05)
        assert names(recorded(app, connection_id)).count("payment.received") == 1
    finally:
        running.stop()


def test_polls_also_apply_webhook_notices_left_waiting(app, client, api_key, sandbox, runtime, monkeypatch):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    monkeypatch.setattr(common, "wake", lambda *args, **kwargs: True)  # a delivery whose job was lost
    with app.extensions["bridge.sessions"]() as db:
        common.record(app, db, "quickbooks", {connection_id: [
            {"object": "invoice", "ledger_id": invoice_id, "operation": "create"}]}, "lost-delivery")
    polling.poll(app, connection_id)
    assert names(recorded(app, connection_id)) == ["invoice.created"]
    with app.extensions["bridge.sessions"]() as db:
        assert db.execute(sa.select(InboundNotice.processed_at)).scalar() is not None

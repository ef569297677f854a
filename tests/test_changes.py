"""Ledger changes announced by webhooks become events exactly once (bridge.events.changes.apply_notices)."""

from __future__ import annotations

import time

import pytest

from bridge.events import changes, polling
from bridge.events.inbound import jobs
from bridge.events.inbound.common import record
from tests.conftest import US_REALM, auth
from tests.ledger_changes import TOTAL, api_requests, connect_ledger, names, pay, recorded, write_invoice


@pytest.fixture
def app(make_app):
    """The bridge with scheduled polls off: each test polls when it means to."""
    return make_app(POLL_SECONDS=0)


def notices(*items: tuple[str, str, str]) -> list[dict]:
    """Notices as the inbound-webhook job hands them over."""
    return [{"object": obj, "ledger_id": ledger_id, "operation": operation} for obj, ledger_id, operation in items]


def test_a_quickbooks_payment_is_one_invoice_paid_and_one_payment_received_however_often_announced(
        app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    payment_id = pay(sandbox, "quickbooks", invoice_id)
    announced = notices(("payment", payment_id, "create"), ("invoice", invoice_id, "update"))

    before = api_requests(sandbox, "quickbooks")
    changes.apply_notices(app, connection_id, announced)
    assert api_requests(sandbox, "quickbooks") - before == 2  # one query for the payment, one for the invoice
    events = recorded(app, connection_id)
    assert names(events) == ["invoice.created", "payment.received", "invoice.paid"]
    paid = events[2].data
    assert (paid["ledger_id"], paid["external_id"], paid["status"], paid["balance"]) == (invoice_id, "inv-1", "paid",
                                                                                           "0.00")
    assert paid["totals"]["total"] == TOTAL
    received = events[1].data
    assert (received["ledger_id"], received["amount"], received["invoice_ledger_id"],
            received["invoice_external_id"]) == (payment_id, TOTAL, invoice_id, "inv-1")

    changes.apply_notices(app, connection_id, announced)  # a replayed webhook
    changes.apply_notices(app, connection_id, notices(("invoice", invoice_id, "update")))  # another notice of it
    assert names(recorded(app, connection_id)) == names(events)


def test_a_poll_after_the_webhook_sees_the_same_payment_and_emits_nothing_new(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    polling.poll(app, connection_id)  # the checkpoint: from here on
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    changes.apply_notices(app, connection_id, notices(("invoice", invoice_id, "create")))
    payment_id = pay(sandbox, "quickbooks", invoice_id)
    changes.apply_notices(app, connection_id, notices(("payment", payment_id, "create")))
    after_webhooks = names(recorded(app, connection_id))
    assert after_webhooks == ["invoice.created", "payment.received", "invoice.updated", "invoice.paid"]

    polling.poll(app, connection_id)
    # the poll reads the invoice and payment again (nothing new) and the customer we wrote (first seen)
    assert names(recorded(app, connection_id)) == after_webhooks + ["customer.created"]
    polling.poll(app, connection_id)
    assert names(recorded(app, connection_id)) == after_webhooks + ["customer.created"]


def test_invoice_paid_again_only_after_it_was_unpaid_in_between(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    first = pay(sandbox, "quickbooks", invoice_id)
    changes.apply_notices(app, connection_id, notices(("payment", first, "create")))
    sandbox.control("quickbooks", f"{US_REALM}/payment/{first}", "DELETE")
    changes.apply_notices(app, connection_id, notices(("payment", first, "delete"), ("invoice", invoice_id, "update")))
    assert names(recorded(app, connection_id)).count("invoice.paid") == 1
    unpaid = recorded(app, connection_id)[-1]
    assert (unpaid.event, unpaid.data["status"], unpaid.data["balance"]) == ("invoice.updated", "open", TOTAL)

    second = pay(sandbox, "quickbooks", invoice_id)
    changes.apply_notices(app, connection_id, notices(("payment", second, "create")))
    changes.apply_notices(app, connection_id, notices(("payment", second, "create")))
    events = recorded(app, connection_id)
    assert names(events).count("invoice.paid") == 2 and names(events).count("payment.received") == 2
    assert names(events)[-3:] == ["payment.received", "invoice.updated", "invoice.paid"]


def test_an_invoice_deleted_in_quickbooks_is_voided_once_with_what_we_knew(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    changes.apply_notices(app, connection_id, notices(("invoice", invoice_id, "create")))
    number = recorded(app, connection_id)[0].data["number"]
    sandbox.control("quickbooks", f"{US_REALM}/invoice/{invoice_id}", "DELETE")
    for _ in range(2):
        changes.apply_notices(app, connection_id, notices(("invoice", invoice_id, "delete")))
    events = recorded(app, connection_id)
    assert names(events) == ["invoice.created", "invoice.voided"]
    assert events[1].data == {"ledger_id": invoice_id, "external_id": "inv-1", "number": number, "status": "void",
                              "deleted": True}


def test_notices_stored_while_the_reader_is_busy_are_left_to_it_and_read_in_one_batch(
        app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_ids = [write_invoice(client, api_key, connection_id, "quickbooks", f"inv-{n}") for n in (1, 2)]
    payment_ids = [pay(sandbox, "quickbooks", invoice_id) for invoice_id in invoice_ids]
    before = api_requests(sandbox, "quickbooks")
    with changes.reader(app, connection_id) as held:  # another worker applying a batch
        assert held is not None
        with app.extensions["bridge.sessions"]() as db:
            for payment_id in payment_ids:  # two webhook deliveries
                record(app, db, "quickbooks", {connection_id: notices(("payment", payment_id, "create"))},
                       f"delivery-{payment_id}")
        started = time.monotonic()
        assert [jobs.apply_pending(app, connection_id) for _ in payment_ids] == [0, 0]
        assert time.monotonic() - started < 1  # the jobs return at once: no worker sits waiting for the reader
        assert "payment.received" not in names(recorded(app, connection_id))
        jobs.apply_rows(app, connection_id, held)  # the holder reads what was stored meanwhile
    assert api_requests(sandbox, "quickbooks") - before == 2  # both payments in one query, both invoices in one
    events = names(recorded(app, connection_id))
    assert events.count("payment.received") == 2 and events.count("invoice.paid") == 2


def test_a_disconnected_connection_reads_nothing(app, client, api_key, sandbox, runtime):
    connection_id = connect_ledger(client, api_key, "quickbooks")
    invoice_id = write_invoice(client, api_key, connection_id, "quickbooks", "inv-1")
    assert client.delete(f"/v1/connections/{connection_id}", headers=auth(api_key)).status_code == 200
    before = api_requests(sandbox, "quickbooks")
    assert changes.apply_notices(app, connection_id, notices(("invoice", invoice_id, "create"))) == 0
    assert api_requests(sandbox, "quickbooks") == before and recorded(app, connection_id) == []

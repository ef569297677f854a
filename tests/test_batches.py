"""Batches: fixed membership and one key, retried whole, each member's result its own."""

from __future__ import annotations

import sqlalchemy as sa

from bridge import store
from bridge.store.models import Batch, Operation
from bridge.sync.adapters import limiter_for
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for


def queue_invoices(client, key, connection_id, numbers, tag="a"):
    """POST new invoices (no worker yet) and return their operations."""
    return [client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(key),
                        json=sample_invoice(f"inv-{tag}-{n}", number=n)).get_json() for n in numbers]


def run_until_done(app, client, key, ops, timeout=30):
    """Run two workers until every operation finished; their final documents."""
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        return [wait_for(client, key, op["id"], timeout=timeout) for op in ops]
    finally:
        runtime.stop()


def batches_of(app) -> list[Batch]:
    """Every batch recorded."""
    with app.app_context():
        return list(store.session().execute(sa.select(Batch)).scalars())


def test_one_bad_invoice_in_a_batch_fails_alone(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    first = queue_invoices(client, key, connection_id, ["TAKEN"])
    run_until_done(app, client, key, first)
    ops = queue_invoices(client, key, connection_id, ["B-1", "B-2", "TAKEN", "B-4", "B-5"], tag="b")
    done = run_until_done(app, client, key, ops)
    assert [op["status"] for op in done] == ["succeeded", "succeeded", "failed", "succeeded", "succeeded"]
    assert done[2]["errors"][0]["code"] == "6140" and done[2]["errors"][0]["field"] == "number"
    (batch,) = batches_of(app)
    assert batch.status == "done" and len(batch.members) == 5
    numbers = sorted(invoice["DocNumber"] for invoice in sandbox.objects("invoices"))
    assert numbers == ["B-1", "B-2", "B-4", "B-5", "TAKEN"]


def test_a_batch_applied_but_unanswered_is_retried_whole_without_duplicates(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    ops = queue_invoices(client, key, connection_id, [f"D-{n}" for n in range(6)])
    # Customers are found or created one by one first; then the one batch call is the write that is dropped.
    runtime = EmbeddedRuntime(app, workers=1)
    sandbox.configure(faults={"drop_after_write": 0})
    from bridge.sync.relay import relay_once

    assert relay_once(app) == 6
    (batch,) = batches_of(app)
    with app.app_context():
        from bridge.sync.execute import Run, ensure_customer, load_input
        from bridge.sync.adapters import adapter_for
        from bridge.store.models import Connection

        db = store.session()
        op = db.execute(sa.select(Operation).where(Operation.id == ops[0]["id"])).scalar_one()
        ensure_customer(Run(app, db, op, adapter_for(app, db.get(Connection, connection_id))), load_input(op)["customer"])
    sandbox.configure(faults={"drop_after_write": 1, "drop_mode": "error"})
    runtime.start()
    try:
        done = [wait_for(client, key, op["id"], timeout=30) for op in ops]
    finally:
        runtime.stop()
    assert all(op["status"] == "succeeded" for op in done), done
    assert all(op["attempts"] == 2 for op in done)
    assert sorted(i["DocNumber"] for i in sandbox.objects("invoices")) == [f"D-{n}" for n in range(6)]
    (batch,) = batches_of(app)
    assert batch.status == "done" and batch.attempts == 2 and batch.uncertain
    assert sandbox.stats()["requestid_replays"] >= 1


def test_when_the_batch_allowance_is_spent_invoices_go_one_by_one(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    with app.app_context():
        from bridge.store.models import Connection

        limiter = limiter_for(app, store.session().get(Connection, connection_id))
    limiter.windows = {"batch-minute": (40, 60.0)}  # spend only the batch window
    for _ in range(40):
        with limiter.slot("batch"):
            pass
    ops = queue_invoices(client, key, connection_id, [f"S-{n}" for n in range(4)])
    done = run_until_done(app, client, key, ops)
    assert all(op["status"] == "succeeded" for op in done)
    (batch,) = batches_of(app)
    assert batch.status == "dissolved"
    with app.app_context():
        singles = store.session().execute(sa.select(Operation.single).where(
            Operation.id.in_([op["id"] for op in ops]))).scalars().all()
    assert all(singles)
    assert sorted(i["DocNumber"] for i in sandbox.objects("invoices")) == [f"S-{n}" for n in range(4)]


def test_a_quickbooks_backlog_goes_in_whole_batches_with_single_writes_beside_them(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    ops = queue_invoices(client, key, connection_id, [f"L-{n}" for n in range(75)])
    done = run_until_done(app, client, key, ops, timeout=90)
    assert all(op["status"] == "succeeded" for op in done)
    sizes = sorted(len(batch.members) for batch in batches_of(app) if batch.status == "done")
    assert sizes[-2:] == [30, 30]  # the first two batches whole, not trickled out as invoices finish
    with app.app_context():
        alone = store.session().execute(sa.select(sa.func.count()).where(
            Operation.id.in_([op["id"] for op in ops]), Operation.batch_id.is_(None))).scalar()
    assert alone > 0  # written one by one beside the batches, in the request allowance batches leave
    numbers = [invoice["DocNumber"] for invoice in sandbox.objects("invoices")]
    assert sorted(numbers) == sorted(f"L-{n}" for n in range(75))  # each exactly once


def test_a_batch_exchange_is_stored_once_and_shown_on_every_member(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    ops = queue_invoices(client, key, connection_id, [f"E-{n}" for n in range(4)])
    run_until_done(app, client, key, ops)
    from bridge.store.models import BatchAttempt

    with app.app_context():
        (stored,) = store.session().execute(sa.select(BatchAttempt)).scalars().all()
    details = [client.get(f"/v1/syncs/{op['id']}", headers=auth(key)).get_json() for op in ops]
    for detail in details:
        exchanges = detail["history"][-1]["exchanges"]
        assert any("/batch" in exchange["request"]["url"] for exchange in exchanges)
    assert any("/batch" in exchange["request"]["url"] for exchange in stored.exchanges)


def test_a_payment_on_an_invoice_written_in_a_batch_names_the_invoices_customer(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    ops = [client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(key), json=sample_invoice(
        f"inv-p-{n}", payments=[{"external_id": f"pay-p-{n}", "amount": "10.00", "date": "2026-01-20"}])).get_json()
        for n in range(3)]
    done = run_until_done(app, client, key, [{"id": related["id"]} for op in ops for related in op["related"]])
    assert [op["status"] for op in done] == ["succeeded"] * 3, done
    assert any(len(batch.members) > 1 for batch in batches_of(app))  # the invoices did go out in a batch
    customer_ids = {invoice["CustomerRef"]["value"] for invoice in sandbox.objects("invoices")}
    assert {payment["CustomerRef"]["value"] for payment in sandbox.objects("payments")} == customer_ids

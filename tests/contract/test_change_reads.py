"""The change-reading part of the adapter contract (`read_objects`, `changes_since`), on all three ledgers
against the sandbox: batched reads, normalized objects with Decimal money and UTC times, and the changes
since a checkpoint (QBO /cdc, Xero If-Modified-Since, FreshBooks updated_min)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

CHECKPOINT_PARAMS = {"quickbooks": "/cdc?", "xero": None, "freshbooks": "search%5Bupdated_min%5D="}
"""What the changes_since request carries, per ledger (Xero: the If-Modified-Since header)."""
PAYMENT_KEYS = {"ledger_id", "external_id", "invoice_ledger_id", "invoice_ledger_ids", "amount", "currency", "date",
                "method", "reference", "status", "updated_at", "created_at"}


class Requests:
    """Counts (and keeps) the HTTP requests an adapter's session sends."""

    def __init__(self, session):
        self.sent = []
        self._send = session.send
        session.send = self._spy

    def _spy(self, request, **kwargs):
        self.sent.append(request)
        return self._send(request, **kwargs)


def paid_invoice(ledger) -> tuple[str, str, str]:
    """An open invoice written through the adapter, then paid in full by the ledger's user; (invoice, payment,
    customer) ids."""
    customer = ledger.customer()
    ref, written = ledger.open_invoice(customer, "inv-changes-1", "CH-1001")
    tenant = {"quickbooks": "US", "xero": "UK", "freshbooks": ledger.tenant_id}[ledger.name]
    answer = ledger.control(f"{tenant}/payments", json={
        "invoice_id": ref.ledger_id, "amount": str(written.object["totals"]["total"]), "date": "2026-01-20"})
    payment_id = {"quickbooks": lambda: answer["Payment"]["Id"], "xero": lambda: answer["Payments"][0]["PaymentID"],
                  "freshbooks": lambda: str(answer["payment"]["id"])}[ledger.name]()
    return ref.ledger_id, payment_id, str(customer.ledger_id)


def test_many_invoices_are_read_in_one_request(ledger):
    customer = ledger.customer()
    ids = [ledger.open_invoice(customer, f"inv-batch-{n}", f"B-{n}")[0].ledger_id for n in range(5)]
    requests = Requests(ledger.adapter.client.session)
    found = ledger.adapter.read_objects("invoice", ids + ["999999" if ledger.name != "xero" else
                                                          "00000000-0000-4000-8000-000000000000"])
    assert len(requests.sent) == 1, [r.url for r in requests.sent]
    assert [found[ledger_id]["ledger_id"] for ledger_id in ids] == ids
    assert list(found.values())[-1] is None  # not in the ledger
    invoice = found[ids[0]]
    assert invoice["status"] == "open" and isinstance(invoice["balance"], Decimal)
    assert invoice["updated_at"].tzinfo is not None


def test_a_payment_reads_back_with_its_invoice_and_amount(ledger):
    invoice_id, payment_id, _ = paid_invoice(ledger)
    payment = ledger.adapter.read_objects("payment", [payment_id])[payment_id]
    assert PAYMENT_KEYS <= set(payment), set(payment)
    assert (payment["invoice_ledger_id"], payment["status"]) == (invoice_id, "active")
    invoice = ledger.adapter.read_objects("invoice", [invoice_id])[invoice_id]
    assert payment["amount"] == invoice["totals"]["total"] and isinstance(payment["amount"], Decimal)
    assert (invoice["status"], invoice["balance"]) == ("paid", Decimal("0"))


def test_the_first_changes_since_reads_nothing_and_starts_from_now(ledger):
    now = datetime.now(timezone.utc)
    requests = Requests(ledger.adapter.client.session)
    found, checkpoint = ledger.adapter.changes_since(None, now)
    assert (found, requests.sent) == ([], [])
    assert datetime.fromisoformat(checkpoint) == now.replace(microsecond=0)


def test_changes_since_a_checkpoint_bring_the_paid_invoice_and_its_payment(ledger):
    since = datetime.now(timezone.utc) - timedelta(minutes=2)
    invoice_id, payment_id, customer_id = paid_invoice(ledger)
    requests = Requests(ledger.adapter.client.session)
    now = datetime.now(timezone.utc)
    found, checkpoint = ledger.adapter.changes_since(since.isoformat(timespec="seconds"), now)
    assert datetime.fromisoformat(checkpoint) == now.replace(microsecond=0)
    changed = {(change.object, str(change.data["ledger_id"])): change.data for change in found}
    assert changed[("invoice", invoice_id)]["status"] == "paid"
    assert changed[("payment", payment_id)]["invoice_ledger_id"] == invoice_id
    assert ("customer", customer_id) in changed
    marker = CHECKPOINT_PARAMS[ledger.name]
    if marker:
        assert any(marker in request.url for request in requests.sent), [r.url for r in requests.sent]
    else:
        assert len(requests.sent) == 4 and all("If-Modified-Since" in request.headers for request in requests.sent)


@pytest.mark.parametrize("ledger", ["quickbooks"], indirect=True)
def test_quickbooks_reads_a_checkpoint_older_than_30_days_with_queries(ledger):
    since = datetime.now(timezone.utc) - timedelta(days=40)
    invoice_id, payment_id, _ = paid_invoice(ledger)
    requests = Requests(ledger.adapter.client.session)
    found, _ = ledger.adapter.changes_since(since.isoformat(timespec="seconds"), datetime.now(timezone.utc))
    assert requests.sent and all("/query?" in request.url for request in requests.sent)
    assert not any("/cdc" in request.url for request in requests.sent)
    changed = {(change.object, str(change.data["ledger_id"])) for change in found}
    assert {("invoice", invoice_id), ("payment", payment_id)} <= changed

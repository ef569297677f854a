"""A paid invoice reaches QuickBooks Online exactly once, through OAuth, the outbox and a worker."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import auth, connect_quickbooks, sample_invoice, wait_for


def test_paid_invoice_lands_once_with_exact_amounts(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    body = sample_invoice(payments=[{"external_id": "pay-1", "amount": "260.15", "date": "2026-01-20",
                                     "reference": "CHK-1234"}])
    response = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key))
    assert response.status_code == 202
    op = response.get_json()
    assert op["status"] == "queued" and op["object"] == "invoice" and op["external_id"] == "inv-1001"
    assert [r["object"] for r in op["related"]] == ["payment"]

    invoice_op = wait_for(client, api_key, op["id"])
    payment_op = wait_for(client, api_key, op["related"][0]["id"])
    assert invoice_op["status"] == "succeeded", invoice_op
    assert payment_op["status"] == "succeeded", payment_op

    invoices = sandbox.objects("invoices")
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["DocNumber"] == "INV-1001"
    assert invoice["TotalAmt"] == Decimal("260.15") and invoice["Balance"] == Decimal("0")
    amounts = [line["Amount"] for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert amounts == [Decimal("200.00"), Decimal("60.15")]
    assert invoice_op["ledger_id"] == invoice["Id"]
    payments = sandbox.objects("payments")
    assert len(payments) == 1
    assert payments[0]["TotalAmt"] == Decimal("260.15")
    assert payments[0]["Line"][0]["LinkedTxn"][0]["TxnId"] == invoice["Id"]
    assert [c["DisplayName"] for c in sandbox.objects("customers") if c["DisplayName"] == "Acme Ltd"] == ["Acme Ltd"]

    read_back = client.get(f"/v1/connections/{connection_id}/invoices/inv-1001", headers=auth(api_key)).get_json()
    assert read_back["status"] == "paid"
    assert read_back["balance"] in ("0", "0.00")
    assert Decimal(read_back["totals"]["total"]) == Decimal("260.15")

    found = client.get(f"/v1/connections/{connection_id}/invoices?number=INV-1001", headers=auth(api_key)).get_json()
    assert [(f["external_id"], f["ledger_id"]) for f in found["data"]] == [("inv-1001", invoice["Id"])]


def test_sync_log_shows_attempts_without_secrets(app, client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    detail = wait_for(client, api_key, op["id"])
    assert detail["status"] == "succeeded"
    assert detail["history"][0]["outcome"] == "succeeded"
    exchanges = detail["history"][0]["exchanges"]
    assert any("/invoice" in exchange["request"]["url"] for exchange in exchanges)
    text = str(detail)
    from bridge import store
    from bridge.ledgers.base import Token
    from bridge.store.models import Connection

    with app.app_context():
        sealed = store.session().get(Connection, connection_id).token
        token = Token.from_dict(store.vault().open(sealed))
    assert token.access_token not in text and token.refresh_token not in text
    assert token.access_token not in sealed and token.refresh_token not in sealed  # encrypted at rest
    listed = client.get(f"/v1/syncs?connection_id={connection_id}&status=succeeded", headers=auth(api_key)).get_json()
    assert [item["id"] for item in listed["data"]] == [op["id"]]


def test_update_then_void_apply_in_order(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    url = f"/v1/connections/{connection_id}/invoices"
    first = client.post(url, json=sample_invoice(), headers=auth(api_key)).get_json()
    changed = sample_invoice(lines=[{"description": "Consulting", "quantity": "3", "unit_price": "100.00"}])
    second = client.post(url, json=changed, headers=auth(api_key)).get_json()
    void = client.post(f"{url}/inv-1001/void", headers=auth(api_key)).get_json()
    for op in (first, second, void):
        assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    invoices = sandbox.objects("invoices")
    assert len(invoices) == 1
    assert invoices[0]["status"] == "void" or invoices[0]["TotalAmt"] == 0
    read_back = client.get(f"{url}/inv-1001", headers=auth(api_key)).get_json()
    assert read_back["status"] == "void"


def test_a_ledger_rejection_fails_the_operation_with_field_errors(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    url = f"/v1/connections/{connection_id}/invoices"
    ok = client.post(url, json=sample_invoice("inv-a", number="DUP-1"), headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, ok["id"])["status"] == "succeeded"
    clash = client.post(url, json=sample_invoice("inv-b", number="DUP-1"), headers=auth(api_key)).get_json()
    failed = wait_for(client, api_key, clash["id"])
    assert failed["status"] == "failed"
    assert failed["errors"][0]["field"] == "number" and failed["errors"][0]["code"] == "6140"
    assert len(sandbox.objects("invoices")) == 1
    # The user fixes the number in the ledger's way: retry after changing nothing fails again, a new body works.
    fixed = client.post(url, json=sample_invoice("inv-b", number="DUP-2"), headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, fixed["id"])["status"] == "succeeded"
    assert sorted(i["DocNumber"] for i in sandbox.objects("invoices")) == ["DUP-1", "DUP-2"]


def test_payment_for_an_unknown_invoice_fails_clearly(client, api_key, runtime):
    connection_id = connect_quickbooks(client, api_key)
    op = client.post(f"/v1/connections/{connection_id}/payments", headers=auth(api_key), json={
        "external_id": "p-9", "invoice_external_id": "never-sent", "amount": "5.00", "date": "2026-01-02"}).get_json()
    failed = wait_for(client, api_key, op["id"])
    assert failed["status"] == "failed"
    assert failed["errors"][0]["field"] == "invoice_external_id"

"""Xero through the bridge: PKCE OAuth, tenant choice, mapping to account and tax codes, batches."""

from __future__ import annotations

from decimal import Decimal

from bridge.sandbox.xero import AU_TENANT_ID, UK_TENANT_ID
from tests.conftest import auth, connect, sample_invoice, wait_for

UK_MAPPING = {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
              "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}


def xero_objects(sandbox, kind: str, tenant: str = UK_TENANT_ID) -> list[dict]:
    """One kind of object in a sandbox organisation."""
    return sandbox.ledger("xero")["tenants"][tenant][kind]


def connect_uk(client, key) -> str:
    """Connect the UK organisation (named in advance) and map its codes."""
    connection_id = connect(client, key, "xero", tenant=UK_TENANT_ID)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=UK_MAPPING,
                      headers=auth(key)).status_code == 200
    return connection_id


def test_a_grant_covering_two_organisations_waits_for_the_users_choice(client, api_key, sandbox):
    connection_id = connect(client, api_key, "xero", expect="pending")
    connection = client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()
    assert {t["id"] for t in connection["tenants"]} == {UK_TENANT_ID, AU_TENANT_ID}
    chosen = client.post(f"/v1/connections/{connection_id}/tenant", json={"tenant_id": AU_TENANT_ID},
                         headers=auth(api_key)).get_json()
    assert chosen["status"] == "active" and chosen["country"] == "AU"


def test_paid_uk_invoice_lands_with_vat_and_its_payment(client, api_key, sandbox, runtime):
    connection_id = connect_uk(client, api_key)
    body = sample_invoice(currency="GBP", lines=[
        {"description": "Consulting", "quantity": "2", "unit_price": "100.00", "tax_category": "standard"},
        {"description": "Books", "quantity": "1", "unit_price": "20.005", "tax_category": "zero"}],
        payments=[{"external_id": "pay-1", "amount": "260.01", "date": "2026-01-20"}])
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
    invoice_op = wait_for(client, api_key, op["id"])
    assert invoice_op["status"] == "succeeded", invoice_op
    assert wait_for(client, api_key, op["related"][0]["id"])["status"] == "succeeded"
    (invoice,) = [i for i in xero_objects(sandbox, "invoices") if i["InvoiceNumber"] == "INV-1001"]
    assert invoice["Status"] == "PAID"
    assert invoice["SubTotal"] == Decimal("220.01") and invoice["TotalTax"] == Decimal("40.00")
    assert invoice["Total"] == Decimal("260.01") and invoice["AmountDue"] == Decimal("0")
    assert [line["UnitAmount"] for line in invoice["LineItems"]] == [Decimal("100.00"), Decimal("20.005")]
    assert [line["TaxType"] for line in invoice["LineItems"]] == ["OUTPUT2", "ZERORATEDOUTPUT"]
    read_back = client.get(f"/v1/connections/{connection_id}/invoices/inv-1001", headers=auth(api_key)).get_json()
    assert read_back["status"] == "paid" and Decimal(read_back["totals"]["tax"]) == Decimal("40.00")


def test_unmapped_account_fails_clearly_before_any_ledger_call(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "xero", tenant="sandbox company uk")  # named in advance
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(currency="GBP"),
                     headers=auth(api_key)).get_json()
    failed = wait_for(client, api_key, op["id"])
    assert failed["status"] == "failed"
    assert any("account" in e["field"] or "account" in e["message"].lower() for e in failed["errors"]), failed


def test_new_invoices_go_out_in_one_batch_and_a_bad_one_fails_alone(make_app, sandbox):
    from bridge.sync.worker import EmbeddedRuntime
    from tests.conftest import make_key

    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_uk(client, key)
    warm = client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(key),
                       json=sample_invoice("inv-first", number="X-TAKEN", currency="GBP")).get_json()
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        assert wait_for(client, key, warm["id"])["status"] == "succeeded"
    finally:
        runtime.stop()
    before = sandbox.stats("xero")
    numbers = [f"X-{n}" for n in range(12)] + ["X-TAKEN"]
    ops = [client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(key),
                       json=sample_invoice(f"inv-x{n}", number=number, currency="GBP")).get_json()
           for n, number in enumerate(numbers)]
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        done = [wait_for(client, key, op["id"]) for op in ops]
    finally:
        runtime.stop()
    assert [op["status"] for op in done] == ["succeeded"] * 12 + ["failed"]
    assert done[-1]["errors"][0]["field"] == "number"
    invoices = [i["InvoiceNumber"] for i in xero_objects(sandbox, "invoices")]
    assert sorted(invoices) == sorted(numbers)
    calls = sandbox.stats("xero")["api_requests"] - before["api_requests"]
    assert calls <= 3, f"{calls} calls for 13 invoices: they did not go out as one batch"

"""The ledger's computed totals against the source's `totals`: a difference of even a cent is a warning."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.ledgers.base import totals_warnings
from bridge.sandbox.xero import UK_TENANT_ID
from tests.conftest import auth, connect, make_key, sample_invoice, wait_for

LEDGERS = {
    # provider: (connect arguments, currency, mapping, unit price, tax rate %)
    "quickbooks": ({"realm": "UK"}, "GBP", {"tax_categories": {"standard": "2"}, "defaults": {"item": "1"}},
                   "10.03", "20"),
    "xero": ({"tenant": UK_TENANT_ID}, "GBP", {"tax_categories": {"standard": "OUTPUT2"},
                                               "defaults": {"income_account": "200"}}, "10.03", "20"),
    "freshbooks": ({}, "CAD", {"tax_categories": {"standard": "GST"}}, "10.10", "5"),
}
CENT = Decimal("0.01")


def invoice_rounded_once(external_id: str, currency: str, price: str, rate: str) -> dict:
    """Two equal taxed lines, with totals as an invoicing platform rounding tax once per invoice computes them."""
    subtotal = Decimal(price) * 2
    tax = (subtotal * Decimal(rate) / 100).quantize(CENT)
    line = {"description": "Consulting", "quantity": "1", "unit_price": price, "tax_category": "standard"}
    return sample_invoice(external_id, currency=currency, lines=[line, dict(line)],
                          totals={"subtotal": str(subtotal), "tax": str(tax), "total": str(subtotal + tax)})


def test_the_helper_names_each_total_and_both_values():
    source = {"subtotal": Decimal("20.06"), "tax": Decimal("4.01"), "total": Decimal("24.07")}
    ledger = {"subtotal": Decimal("20.06"), "tax": Decimal("4.02"), "total": Decimal("24.08")}
    assert totals_warnings(source, ledger) == ["totals.tax: ledger 4.02, source 4.01",
                                               "totals.total: ledger 24.08, source 24.07"]
    assert totals_warnings(source, {**source, "tax": Decimal("4.010")}) == []
    assert totals_warnings({"total": Decimal("24.07")}, ledger) == ["totals.total: ledger 24.08, source 24.07"]
    assert totals_warnings(None, ledger) == [] and totals_warnings(source, {"tax": None}) == []


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_a_one_cent_rounding_difference_is_a_warning_on_the_operation(provider, client, api_key, sandbox, runtime):
    arguments, currency, mapping, price, rate = LEDGERS[provider]
    connection_id = connect(client, api_key, provider, **arguments)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=mapping, headers=auth(api_key)).status_code == 200
    body = invoice_rounded_once("inv-round", currency, price, rate)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded", done
    ledger = client.get(f"/v1/connections/{connection_id}/invoices/inv-round", headers=auth(api_key)).get_json()
    ledger_tax, source_tax = Decimal(ledger["totals"]["tax"]), Decimal(body["totals"]["tax"])
    assert ledger_tax - source_tax == CENT  # the ledger rounded each line's tax
    assert f"totals.tax: ledger {ledger['totals']['tax']}, source {body['totals']['tax']}" in done["warnings"]
    assert any(warning.startswith("totals.total: ledger ") for warning in done["warnings"])
    assert not any(warning.startswith("totals.subtotal") for warning in done["warnings"])


def test_totals_that_agree_give_no_warning(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=LEDGERS["xero"][2],
                      headers=auth(api_key)).status_code == 200
    body = invoice_rounded_once("inv-even", "GBP", "10.00", "20")
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded" and not any(w.startswith("totals.") for w in done["warnings"]), done


def test_batch_members_carry_their_own_totals_warning(make_app, sandbox):
    from bridge.sync.worker import EmbeddedRuntime

    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect(client, key, "xero", tenant=UK_TENANT_ID)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=LEDGERS["xero"][2],
                      headers=auth(key)).status_code == 200
    url = f"/v1/connections/{connection_id}/invoices"
    odd = client.post(url, json=invoice_rounded_once("inv-odd", "GBP", "10.03", "20"), headers=auth(key)).get_json()
    even = client.post(url, json=invoice_rounded_once("inv-ok", "GBP", "10.00", "20"), headers=auth(key)).get_json()
    before = sandbox.stats("xero")["writes_by_entity"].get("Invoice", 0)
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        odd_done, even_done = wait_for(client, key, odd["id"]), wait_for(client, key, even["id"])
    finally:
        runtime.stop()
    assert odd_done["status"] == even_done["status"] == "succeeded"
    assert "totals.tax: ledger 4.02, source 4.01" in odd_done["warnings"]
    assert not any(w.startswith("totals.") for w in even_done["warnings"])
    assert sandbox.stats("xero")["writes_by_entity"].get("Invoice", 0) - before >= 1

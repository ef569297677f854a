"""Mappings checked against the ledger's reference data and region rules; unmapped lines fail before any write."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis

from bridge.sandbox.xero import AU_TENANT_ID, UK_TENANT_ID
from tests.conftest import UK_REALM, US_REALM, auth, connect, sample_invoice, wait_for


def put_mapping(client, key, connection_id: str, mapping: dict):
    """PUT the mapping; the response."""
    return client.put(f"/v1/connections/{connection_id}/mapping", json=mapping, headers=auth(key))


def refused_fields(response) -> dict[str, str]:
    """field -> message of a 422."""
    assert response.status_code == 422, response.get_json()
    return {error["field"]: error["message"] for error in response.get_json()["errors"]}


def send(client, key, connection_id: str, body: dict) -> dict:
    """POST an invoice and wait for its operation."""
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(key)).get_json()
    return wait_for(client, key, op["id"])


def xero_invoices(sandbox, tenant: str) -> list[dict]:
    """A sandbox organisation's invoices."""
    return sandbox.ledger("xero")["tenants"][tenant]["invoices"]


TAXED_LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00", "tax_category": "standard"},
               {"description": "Books", "quantity": "1", "unit_price": "20.00", "tax_category": "zero"}]


# --- references the ledger lacks -------------------------------------------------------------------------

def test_quickbooks_us_mapping_naming_what_the_company_lacks_is_refused_field_by_field(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    refused = refused_fields(put_mapping(client, api_key, connection_id, {
        "products": {"CONSULT": {"item": "999"}, "TRAVEL": {"account": "77"}},
        "tax_categories": {"standard": "2", "exempt": "NON"},
        "defaults": {"payment_account": "1", "income_account": "1"}}))
    assert set(refused) == {"products.CONSULT.item", "products.TRAVEL.account", "tax_categories.standard",
                            "defaults.payment_account"}
    assert "'999'" in refused["products.CONSULT.item"] and "'77'" in refused["products.TRAVEL.account"]
    assert "TAX or NON" in refused["tax_categories.standard"]
    assert "deposits" in refused["defaults.payment_account"]
    assert client.get(f"/v1/connections/{connection_id}/mapping", headers=auth(api_key)).get_json() == {}


def test_a_us_company_with_taxable_lines_needs_a_real_transaction_tax_code(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    missing = refused_fields(put_mapping(client, api_key, connection_id, {"tax_categories": {"standard": "TAX"}}))
    assert list(missing) == ["quickbooks.txn_tax_code"]
    pseudo = refused_fields(put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "TAX"}, "quickbooks": {"txn_tax_code": "TAX"}}))
    assert list(pseudo) == ["quickbooks.txn_tax_code"]
    unknown = refused_fields(put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "TAX"}, "quickbooks": {"txn_tax_code": "99"}}))
    assert "'99'" in unknown["quickbooks.txn_tax_code"]


def test_a_uk_quickbooks_company_takes_tax_code_ids_not_tax_and_non(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks", realm=UK_REALM)
    refused = refused_fields(put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "TAX", "zero": "3"}, "quickbooks": {"txn_tax_code": "2"}}))
    assert set(refused) == {"tax_categories.standard", "quickbooks.txn_tax_code"}
    assert "US companies" in refused["tax_categories.standard"]


def test_xero_tax_types_must_be_the_organisations_own(client, api_key, sandbox):
    uk = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    refused = refused_fields(put_mapping(client, api_key, uk, {
        "tax_categories": {"standard": "OUTPUT", "purchases": "INPUT2"},
        "defaults": {"income_account": "999", "payment_account": "200"},
        "products": {"CONSULT": {"item": "NOPE"}}, "xero": {"line_amount_types": "Sometimes"}}))
    assert set(refused) == {"tax_categories.standard", "tax_categories.purchases", "defaults.income_account",
                            "defaults.payment_account", "products.CONSULT.item", "xero.line_amount_types"}
    assert "(GB)" in refused["tax_categories.standard"] and "payments" in refused["defaults.payment_account"]
    au = connect(client, api_key, "xero", tenant=AU_TENANT_ID)
    assert list(refused_fields(put_mapping(client, api_key, au, {"tax_categories": {"standard": "OUTPUT2"}}))) == [
        "tax_categories.standard"]
    assert put_mapping(client, api_key, au, {"tax_categories": {"standard": "OUTPUT"}}).status_code == 200


def test_freshbooks_tax_names_pairs_and_payment_types_are_checked(client, api_key, sandbox):
    connection_id = connect(client, api_key, "freshbooks")
    refused = refused_fields(put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "GST+PST+HST", "harmonized": "HST", "both": "GST+PST"},
        "defaults": {"payment_account": "Savings account", "tax_code": "gst"}}))
    assert set(refused) == {"tax_categories.standard", "tax_categories.harmonized", "defaults.payment_account"}
    assert "'HST'" in refused["tax_categories.harmonized"] and "at most 2" in refused["tax_categories.standard"]
    assert put_mapping(client, api_key, connection_id, {
        "tax_categories": {"both": "GST+PST", "none": "NONE"},
        "defaults": {"payment_account": "Bank Transfer"}}).status_code == 200


def test_a_stale_cache_is_refreshed_once_and_a_good_mapping_costs_no_ledger_call(client, api_key, app, sandbox):
    from bridge.sync.reference import cache_key

    connection_id = connect(client, api_key, "quickbooks")
    store = redis.Redis.from_url(app.config["REDIS_URL"]) if app.config.get("REDIS_URL") else \
        app.extensions["bridge.redis"]
    store.set(cache_key(connection_id, "items"), b"[]")  # cached before item 2 "existed"
    assert put_mapping(client, api_key, connection_id, {"products": {"CONSULT": {"item": "2"}}}).status_code == 200
    before = sandbox.stats("quickbooks")["api_requests"]
    assert put_mapping(client, api_key, connection_id, {"products": {"CONSULT": {"item": "2"}},
                                                        "defaults": {"item": "1"}}).status_code == 200
    assert sandbox.stats("quickbooks")["api_requests"] == before


def test_a_pending_connection_cannot_check_references(client, api_key, sandbox):
    pending = connect(client, api_key, "xero", expect="pending")
    refused = put_mapping(client, api_key, pending, {"tax_categories": {"standard": "OUTPUT2"}})
    assert refused.status_code == 409 and "pending" in refused.get_json()["detail"]
    assert put_mapping(client, api_key, pending, {"customers": {"match": "create"}}).status_code == 200


# --- region-aware payloads --------------------------------------------------------------------------------

def test_quickbooks_us_lines_go_out_as_tax_and_non_with_the_transaction_code(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "quickbooks")
    assert put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "TAX", "zero": "NON"}, "quickbooks": {"txn_tax_code": "2"},
        "defaults": {"item": "1"}}).status_code == 200
    assert send(client, api_key, connection_id, sample_invoice(lines=TAXED_LINES))["status"] == "succeeded"
    (invoice,) = sandbox.objects("invoices", US_REALM)
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in invoice["Line"]
             if line.get("DetailType") == "SalesItemLineDetail"]
    assert codes == ["TAX", "NON"]
    assert invoice["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "2"
    assert Decimal(str(invoice["TxnTaxDetail"]["TotalTax"])) == Decimal("16.50")  # 8.25 % of 200.00


def test_quickbooks_uk_lines_carry_their_own_tax_codes(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "quickbooks", realm=UK_REALM)
    assert put_mapping(client, api_key, connection_id, {
        "tax_categories": {"standard": "2", "zero": "3"}, "defaults": {"item": "1"}}).status_code == 200
    body = sample_invoice(currency="GBP", lines=TAXED_LINES)
    assert send(client, api_key, connection_id, body)["status"] == "succeeded"
    (invoice,) = sandbox.objects("invoices", UK_REALM)
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in invoice["Line"]
             if line.get("DetailType") == "SalesItemLineDetail"]
    assert codes == ["2", "3"] and invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert "TxnTaxCodeRef" not in (invoice.get("TxnTaxDetail") or {})
    assert Decimal(str(invoice["TxnTaxDetail"]["TotalTax"])) == Decimal("40.00")


@pytest.mark.parametrize("tenant, mapping, codes, tax", [
    (UK_TENANT_ID, {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"}, ["OUTPUT2", "ZERORATEDOUTPUT"], "40.00"),
    (AU_TENANT_ID, {"standard": "OUTPUT", "zero": "EXEMPTOUTPUT"}, ["OUTPUT", "EXEMPTOUTPUT"], "20.00"),
])
def test_xero_lines_carry_the_organisations_tax_types(tenant, mapping, codes, tax, client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "xero", tenant=tenant)
    assert put_mapping(client, api_key, connection_id, {
        "tax_categories": mapping, "defaults": {"income_account": "200"}}).status_code == 200
    currency = "GBP" if tenant == UK_TENANT_ID else "AUD"
    assert send(client, api_key, connection_id, sample_invoice(currency=currency, lines=TAXED_LINES))["status"] == \
        "succeeded"
    inclusive = sample_invoice("inv-incl", currency=currency, lines=TAXED_LINES, amounts_include_tax=True)
    assert send(client, api_key, connection_id, inclusive)["status"] == "succeeded"
    first, second = sorted(xero_invoices(sandbox, tenant), key=lambda invoice: invoice["InvoiceNumber"])
    assert (first["InvoiceNumber"], first["LineAmountTypes"]) == ("INV-1001", "Exclusive")
    assert [line["TaxType"] for line in first["LineItems"]] == codes
    assert first["TotalTax"] == Decimal(tax)
    assert (second["InvoiceNumber"], second["LineAmountTypes"]) == ("INV-INCL", "Inclusive")


# --- unmapped lines fail before any ledger write -----------------------------------------------------------

@pytest.mark.parametrize("provider, tenant, currency, field", [
    ("quickbooks", UK_REALM, "GBP", "lines[0].tax_category"),
    ("quickbooks", None, "USD", "lines[0].tax_category"),
    ("xero", UK_TENANT_ID, "GBP", "lines[0].account_code"),
    ("freshbooks", None, "CAD", "lines[0].tax_category"),
])
def test_a_line_with_no_mapping_and_no_default_fails_before_anything_is_written(
        provider, tenant, currency, field, client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, provider, **({"realm": tenant} if provider == "quickbooks" and tenant
                                                          else {"tenant": tenant} if tenant else {}))
    body = sample_invoice(currency=currency, lines=[
        {"description": "Consulting", "quantity": "1", "unit_price": "10.00", "tax_category": "luxury"}])
    if provider == "quickbooks":  # QBO needs an item too: give one, so the tax category is what is missing
        assert put_mapping(client, api_key, connection_id, {"defaults": {"item": "1"}}).status_code == 200
    before = sandbox.stats(provider)["writes_applied"]
    failed = send(client, api_key, connection_id, body)
    assert failed["status"] == "failed", failed
    assert field in [error["field"] for error in failed["errors"]], failed["errors"]
    assert sandbox.stats(provider)["writes_applied"] == before  # not even the customer


def test_changing_the_mapping_never_rewrites_what_was_sent(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    mapping = {"tax_categories": {"standard": "OUTPUT2"}, "defaults": {"income_account": "200"}}
    assert put_mapping(client, api_key, connection_id, mapping).status_code == 200
    lines = [TAXED_LINES[0]]
    assert send(client, api_key, connection_id, sample_invoice("inv-a", currency="GBP", lines=lines))["status"] == \
        "succeeded"
    mapping["tax_categories"]["standard"] = "RROUTPUT"
    assert put_mapping(client, api_key, connection_id, mapping).status_code == 200
    assert send(client, api_key, connection_id, sample_invoice("inv-b", currency="GBP", lines=lines))["status"] == \
        "succeeded"
    taxes = {invoice["InvoiceNumber"]: invoice["LineItems"][0]["TaxType"] for invoice in xero_invoices(sandbox, UK_TENANT_ID)}
    assert taxes == {"INV-A": "OUTPUT2", "INV-B": "RROUTPUT"}

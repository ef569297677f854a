"""`?dry_run=true` on every write: the exact payload, the warnings and the ledger's rules; nothing written."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridge.sandbox.xero import AU_TENANT_ID, UK_TENANT_ID
from tests.conftest import UK_REALM, auth, connect, sample_invoice, wait_for

LEDGERS = {
    # provider: (connect arguments, currency, mapping)
    "quickbooks": ({}, "USD", {"tax_categories": {"standard": "TAX", "zero": "NON"},
                               "quickbooks": {"txn_tax_code": "2"}, "defaults": {"item": "1", "payment_account": "35"}}),
    "xero": ({"tenant": UK_TENANT_ID}, "GBP", {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
                                               "defaults": {"income_account": "200", "payment_account": "090",
                                                                            "tax_code": "NONE"}}),
    "freshbooks": ({}, "CAD", {"tax_categories": {"standard": "GST+PST", "zero": "NONE"}}),
}
LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00", "tax_category": "standard"},
         {"description": "Books", "quantity": "1", "unit_price": "20.00", "tax_category": "zero"}]


def connected(client, key, provider: str) -> tuple[str, str]:
    """A mapped connection to the provider's sandbox, and its currency."""
    arguments, currency, mapping = LEDGERS[provider]
    connection_id = connect(client, key, provider, **arguments)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=mapping, headers=auth(key)).status_code == 200
    return connection_id, currency


def post(client, key, path: str, body: dict | None, dry: bool = True, **headers):
    """POST a write (as a dry run unless told)."""
    return client.post(path + ("?dry_run=true" if dry else ""), json=body, headers={**auth(key), **headers})


def operations(client, key) -> list[dict]:
    """Every operation in the sync log."""
    return client.get("/v1/syncs?limit=200", headers=auth(key)).get_json()["data"]


def parsed(response) -> dict:
    """A JSON answer with its numbers as Decimal (exactly as written)."""
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)


def ledger_state(sandbox, provider: str) -> dict:
    """Everything the emulator holds, without its clock."""
    return {key: value for key, value in sandbox.ledger(provider).items() if key != "clock"}


def as_text(value):
    """A JSON value with every number as its exact text (the sync log keeps decimals as strings)."""
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_text(item) for item in value]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return value


def sent_bodies(client, key, operation_id: str) -> list[dict]:
    """The request bodies the operation sent to the ledger, in order."""
    detail = parsed(client.get(f"/v1/syncs/{operation_id}", headers=auth(key)))
    return [exchange["request"]["body"] for attempt in detail["history"] for exchange in attempt["exchanges"]
            if exchange["request"]["method"] in ("POST", "PUT") and exchange["request"].get("body")]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_a_dry_run_previews_the_invoice_and_writes_nothing(provider, client, api_key, sandbox):
    connection_id, currency = connected(client, api_key, provider)
    ledger_before, writes_before = ledger_state(sandbox, provider), sandbox.stats(provider)["writes_applied"]
    url = f"/v1/connections/{connection_id}/invoices"
    body = sample_invoice(currency=currency, lines=LINES, payments=[
        {"external_id": "pay-1", "amount": "10.00", "date": "2026-01-20"}])
    answer = post(client, api_key, url, body, **{"Idempotency-Key": "same-key"})
    assert answer.status_code == 200, answer.get_json()
    preview = parsed(answer)
    assert preview["dry_run"] is True and preview["provider"] == provider
    assert preview["method"] in ("POST", "PUT") and preview["path"]
    assert preview["rules"] and all(isinstance(rule, str) for rule in preview["rules"])
    assert any("has not been sent to this ledger" in warning for warning in preview["warnings"])
    assert any("1 payment(s)" in warning for warning in preview["warnings"])
    payload = preview["payload"]
    if provider == "quickbooks":
        assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in payload["Line"]] == ["TAX", "NON"]
        assert payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "2"}}
        assert payload["Line"][0]["Amount"] == Decimal("200.00")
        assert payload["CustomerRef"] == {"value": "(created first)"}
    elif provider == "xero":
        (invoice,) = payload["Invoices"]
        assert [line["TaxType"] for line in invoice["LineItems"]] == ["OUTPUT2", "ZERORATEDOUTPUT"]
        assert invoice["LineAmountTypes"] == "Exclusive" and invoice["LineItems"][0]["UnitAmount"] == Decimal("100.00")
    else:
        lines = payload["invoice"]["lines"]
        assert (lines[0]["taxName1"], lines[0]["taxName2"]) == ("GST", "PST") and "taxName1" not in lines[1]
    # nothing written: no operation, no idempotency record, nothing in the ledger
    assert operations(client, api_key) == []
    assert sandbox.stats(provider)["writes_applied"] == writes_before and ledger_state(sandbox, provider) == ledger_before
    real = post(client, api_key, url, {**body, "memo": "another body"}, dry=False, **{"Idempotency-Key": "same-key"})
    assert real.status_code == 202  # the key was never taken by the dry run


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_the_previewed_payload_is_exactly_what_the_write_sends(provider, client, api_key, sandbox, runtime):
    connection_id, currency = connected(client, api_key, provider)
    url = f"/v1/connections/{connection_id}/invoices"
    first = post(client, api_key, url, sample_invoice("inv-0", currency=currency), dry=False).get_json()
    assert wait_for(client, api_key, first["id"])["status"] == "succeeded"  # the customer is now known
    body = sample_invoice("inv-1", currency=currency, lines=LINES, customer={"external_id": "cus-1"})
    preview = parsed(post(client, api_key, url, body))
    assert not any("customer" in warning for warning in preview["warnings"])
    op = post(client, api_key, url, body, dry=False).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    assert as_text(preview["payload"]) in [as_text(sent) for sent in sent_bodies(client, api_key, op["id"])]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_dry_runs_of_payments_credit_notes_customers_and_voids(provider, client, api_key, sandbox, runtime):
    connection_id, currency = connected(client, api_key, provider)
    base = f"/v1/connections/{connection_id}"
    op = post(client, api_key, f"{base}/invoices", sample_invoice(currency=currency), dry=False).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    ledger_before = ledger_state(sandbox, provider)
    payment = post(client, api_key, f"{base}/payments", {
        "external_id": "pay-9", "invoice_external_id": "inv-1001", "amount": "5.00", "date": "2026-01-20",
        "currency": currency})
    credit = post(client, api_key, f"{base}/credit-notes", {
        "external_id": "cn-1", "number": "CN-1", "customer": {"external_id": "cus-1"}, "issue_date": "2026-01-21",
        "currency": currency, "lines": [{"description": "Refund", "quantity": "1", "unit_price": "5.00"}],
        "allocations": [{"invoice_external_id": "inv-1001", "amount": "5.00"}]})
    customer = post(client, api_key, f"{base}/customers", {"external_id": "cus-2", "name": "Globex"})
    void = post(client, api_key, f"{base}/invoices/inv-1001/void", {})
    for answer in (payment, credit, customer, void):
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["dry_run"] is True and answer.get_json()["rules"]
    assert "5.00" in json.dumps(parsed(payment)["payload"], default=str)
    assert "1 allocation(s)" in " ".join(credit.get_json()["warnings"])
    assert "Globex" in json.dumps(customer.get_json()["payload"])
    assert ledger_state(sandbox, provider) == ledger_before
    assert [o["id"] for o in operations(client, api_key)] == [op["id"]]


def test_a_dry_run_of_an_unmapped_line_is_the_422_a_write_would_fail_with(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks", realm=UK_REALM)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json={"defaults": {"item": "1"}},
                      headers=auth(api_key)).status_code == 200
    body = sample_invoice(currency="GBP", lines=[LINES[0]])
    refused = post(client, api_key, f"/v1/connections/{connection_id}/invoices", body)
    assert refused.status_code == 422
    assert [error["field"] for error in refused.get_json()["errors"]] == ["lines[0].tax_category"]
    assert operations(client, api_key) == []


def test_a_dry_run_shows_the_au_organisations_tax_types_and_inclusive_amounts(client, api_key, sandbox):
    connection_id = connect(client, api_key, "xero", tenant=AU_TENANT_ID)
    assert client.put(f"/v1/connections/{connection_id}/mapping", headers=auth(api_key), json={
        "tax_categories": {"standard": "OUTPUT", "zero": "EXEMPTOUTPUT"},
        "defaults": {"income_account": "200"}}).status_code == 200
    body = sample_invoice(currency="AUD", lines=LINES, amounts_include_tax=True)
    (invoice,) = post(client, api_key, f"/v1/connections/{connection_id}/invoices", body).get_json()["payload"]["Invoices"]
    assert invoice["LineAmountTypes"] == "Inclusive"
    assert [line["TaxType"] for line in invoice["LineItems"]] == ["OUTPUT", "EXEMPTOUTPUT"]


def test_unknown_references_and_bad_flags_are_named(client, api_key, sandbox):
    connection_id, currency = connected(client, api_key, "xero")
    base = f"/v1/connections/{connection_id}"
    void = post(client, api_key, f"{base}/invoices/never-sent/void", {})
    assert void.status_code == 422 and void.get_json()["errors"][0]["field"] == "external_id"
    bare = post(client, api_key, f"{base}/invoices", sample_invoice(currency=currency, customer={"external_id": "nobody"}))
    assert bare.status_code == 422 and bare.get_json()["errors"][0]["field"] == "customer.external_id"
    flag = client.post(f"{base}/invoices?dry_run=maybe", json=sample_invoice(currency=currency), headers=auth(api_key))
    assert flag.status_code == 422 and flag.get_json()["errors"][0]["field"] == "dry_run"
    assert operations(client, api_key) == []

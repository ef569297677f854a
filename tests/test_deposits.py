"""Automatic bank deposits: recorded payments land in the mapping's account unless they name their own."""

from __future__ import annotations

import pytest

from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.sandbox.xero import UK_TENANT_ID
from tests.conftest import US_REALM, auth, connect, sample_invoice, wait_for

XERO_BASE = {"tax_categories": {"standard": "OUTPUT2"}, "defaults": {"income_account": "200", "tax_code": "NONE"}}

LEDGERS = {
    # provider: (tenant, currency, base mapping, the mapped deposit account, another one a payment names itself)
    "quickbooks": (US_REALM, "USD", {}, "36", "35"),
    "xero": (UK_TENANT_ID, "GBP", XERO_BASE, "091", "090"),
    "freshbooks": (ACCOUNT_ID, "CAD", {}, "Bank Transfer", "Cash"),
}


def deposit_accounts(sandbox, provider: str, tenant: str) -> dict[str, str]:
    """Where each payment in the sandbox ledger landed, by the payment's amount."""
    ledger = sandbox.ledger(provider)
    if provider == "quickbooks":
        return {str(p["TotalAmt"]): p["DepositToAccountRef"]["value"]
                for p in ledger["realms"][tenant]["payments"]}
    if provider == "xero":
        return {str(p["Amount"]): p["Account"]["Code"] for p in ledger["tenants"][tenant]["payments"]}
    return {str(p["amount"]["amount"]): p["type"] for p in ledger["businesses"][tenant]["payments"]}


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_payments_land_in_the_mapped_deposit_account_unless_they_name_their_own(
        provider, client, api_key, sandbox, runtime):
    tenant, currency, base, mapped, named = LEDGERS[provider]
    connection_id = connect(client, api_key, provider, tenant=UK_TENANT_ID if provider == "xero" else None)
    mapping = {**base, "defaults": {**base.get("defaults", {}), "payment_account": mapped}}
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=mapping, headers=auth(api_key)).status_code == 200
    body = sample_invoice(currency=currency, payments=[
        # a method alone does not override the mapped account (FreshBooks would otherwise take it as the type)
        {"external_id": "pay-mapped", "amount": "10.00", "date": "2026-01-20", "method": "credit_card"},
        {"external_id": "pay-named", "amount": "20.00", "date": "2026-01-21", "deposit_account": named}])
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
    for operation_id in [op["id"], *(related["id"] for related in op["related"])]:
        done = wait_for(client, api_key, operation_id)
        assert done["status"] == "succeeded", done["errors"]
    landed = deposit_accounts(sandbox, provider, tenant)
    assert {amount.rstrip("0").rstrip("."): account for amount, account in landed.items()} == \
        {"10": mapped, "20": named}

"""mapping.source_of_truth.customers: which side wins when a customer we linked changes on ours."""

from __future__ import annotations

import pytest

from tests.conftest import auth, connect_quickbooks, sample_invoice, wait_for

CHANGED = {"external_id": "cus-1", "name": "Acme Ltd", "email": "billing@acme.example"}


def send_twice(client, key, connection_id) -> None:
    """An invoice, then another for the same customer whose e-mail changed on the invoicing side."""
    for external_id, customer in (("inv-1", None), ("inv-2", CHANGED)):
        body = sample_invoice(external_id, **({"customer": customer} if customer else {}))
        op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(key)).get_json()
        assert wait_for(client, key, op["id"], timeout=30)["status"] == "succeeded"


@pytest.mark.parametrize("owner, email", [("ledger", "ap@acme.example"), ("invoicing", "billing@acme.example")])
def test_the_source_of_truth_decides_whether_customer_changes_reach_the_ledger(client, api_key, sandbox, runtime,
                                                                              owner, email):
    connection_id = connect_quickbooks(client, api_key)
    response = client.put(f"/v1/connections/{connection_id}/mapping", headers=auth(api_key),
                          json={"source_of_truth": {"customers": owner}})
    assert response.status_code == 200
    send_twice(client, api_key, connection_id)
    (customer,) = [c for c in sandbox.objects("customers") if c["DisplayName"] == "Acme Ltd"]
    assert customer["PrimaryEmailAddr"]["Address"] == email
    assert len(sandbox.objects("invoices")) == 2

"""FreshBooks through the bridge: OAuth and business discovery, a paid invoice, no duplicate on retry."""

from __future__ import annotations

from decimal import Decimal

from bridge.sandbox.freshbooks import ACCOUNT_ID
from tests.conftest import auth, connect, sample_invoice, wait_for


def freshbooks_objects(sandbox, kind: str) -> list[dict]:
    """One kind of object in the sandbox business (deleted ones left out)."""
    return [o for o in sandbox.ledger("freshbooks")["businesses"][ACCOUNT_ID][kind] if str(o.get("vis_state", 0)) == "0"]


def test_paid_invoice_lands_in_freshbooks_sent_and_paid(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "freshbooks")
    connection = client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()
    assert connection["tenant_id"] == ACCOUNT_ID
    body = sample_invoice(currency="CAD", payments=[{"external_id": "pay-1", "amount": "260.15", "date": "2026-01-20"}])
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    assert wait_for(client, api_key, op["related"][0]["id"])["status"] == "succeeded"
    (invoice,) = freshbooks_objects(sandbox, "invoices")
    assert invoice["invoice_number"] == "INV-1001"
    assert Decimal(invoice["amount"]["amount"]) == Decimal("260.15")
    assert Decimal(invoice["outstanding"]["amount"]) == Decimal("0")
    assert invoice["sandbox"]["in_books"] is True  # marked as sent, not left a draft
    read_back = client.get(f"/v1/connections/{connection_id}/invoices/inv-1001", headers=auth(api_key)).get_json()
    assert read_back["status"] == "paid" and Decimal(read_back["totals"]["total"]) == Decimal("260.15")


def test_a_draft_stays_out_of_the_books(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "freshbooks")
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(currency="CAD", status="draft"),
                     headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    (invoice,) = freshbooks_objects(sandbox, "invoices")
    assert invoice["sandbox"]["draft"] is True and invoice["sandbox"]["in_books"] is False


def test_lost_response_does_not_duplicate_without_an_idempotency_key(client, api_key, sandbox, runtime):
    connection_id = connect(client, api_key, "freshbooks")
    sandbox.configure("freshbooks", faults={"drop_after_write": 1, "drop_mode": "error"})
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(currency="CAD"),
                     headers=auth(api_key)).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded" and done["attempts"] >= 2, done
    assert len(freshbooks_objects(sandbox, "invoices")) == 1
    assert len([c for c in freshbooks_objects(sandbox, "clients") if c["organization"] == "Acme Ltd"]) == 1


def test_a_grant_with_two_businesses_waits_for_the_choice(client, api_key, sandbox):
    sandbox.configure("freshbooks", extra_businesses=True)
    connection_id = connect(client, api_key, "freshbooks", expect="pending")
    connection = client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()
    assert len(connection["tenants"]) == 2
    chosen = client.post(f"/v1/connections/{connection_id}/tenant", json={"tenant_id": ACCOUNT_ID}, headers=auth(api_key))
    assert chosen.status_code == 200 and chosen.get_json()["status"] == "active"
    wrong = client.post(f"/v1/connections/{connection_id}/tenant", json={"tenant_id": "nope"}, headers=auth(api_key))
    assert wrong.status_code == 409


def test_tenant_named_in_advance_is_picked(client, api_key, sandbox):
    sandbox.configure("freshbooks", extra_businesses=True)
    listing = sandbox.control("freshbooks", "tenants", "GET")
    name = next(t["name"] for t in (listing if isinstance(listing, list) else listing["tenants"])
                if (t.get("account_id") or t.get("id")) == ACCOUNT_ID)
    connection_id = connect(client, api_key, "freshbooks", tenant=name.upper())
    assert client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()["tenant_id"] == ACCOUNT_ID

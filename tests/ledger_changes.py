"""Helpers of the ledger-change tests (test_changes, test_polling): connect a sandbox ledger, write an
invoice through the API, pay it as the ledger's user would, and list the events recorded."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.sandbox.xero import UK_TENANT_ID
from bridge.store.models import Event
from tests.conftest import US_REALM, auth, connect, sample_invoice, wait_for

XERO_MAPPING = {"tax_categories": {"standard": "OUTPUT2"},
                "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}
TENANTS = {"quickbooks": US_REALM, "xero": UK_TENANT_ID, "freshbooks": ACCOUNT_ID}
CURRENCIES = {"quickbooks": "USD", "xero": "GBP", "freshbooks": "CAD"}
TOTAL = "260.15"
"""sample_invoice's total: 2 x 100.00 + 1.5 x 40.10, no tax."""


def connect_ledger(client, key: str, provider: str) -> str:
    """A connection to the provider's sandbox (Xero: its UK organisation, mapped)."""
    if provider != "xero":
        return connect(client, key, provider)
    connection_id = connect(client, key, "xero", tenant=UK_TENANT_ID)
    assert client.put(f"/v1/connections/{connection_id}/mapping", json=XERO_MAPPING,
                      headers=auth(key)).status_code == 200
    return connection_id


def write_invoice(client, key: str, connection_id: str, provider: str, external_id: str) -> str:
    """Send sample_invoice through the API, wait until it is in the ledger; its ledger id."""
    op = client.post(f"/v1/connections/{connection_id}/invoices",
                     json=sample_invoice(external_id, currency=CURRENCIES[provider]), headers=auth(key)).get_json()
    assert wait_for(client, key, op["id"])["status"] == "succeeded"
    found = client.get(f"/v1/connections/{connection_id}/invoices/{external_id}", headers=auth(key)).get_json()
    return found["ledger_id"]


def pay(sandbox, provider: str, invoice_id: str, amount: str = TOTAL) -> str:
    """Record a payment in the ledger as its user would (the control route); the payment's ledger id."""
    answer = sandbox.control(provider, f"{TENANTS[provider]}/payments",
                             json={"invoice_id": invoice_id, "amount": amount, "date": "2026-01-20"})
    if provider == "quickbooks":
        return answer["Payment"]["Id"]
    if provider == "xero":
        return answer["Payments"][0]["PaymentID"]
    return str(answer["payment"]["id"])


def recorded(app, connection_id: str) -> list[Event]:
    """The connection's events, oldest first."""
    with app.extensions["bridge.sessions"]() as db:
        rows = db.execute(sa.select(Event).where(Event.connection_id == connection_id).order_by(Event.seq)).scalars()
        return [row for row in rows if not row.event.startswith("sync.")]


def names(events: list[Event]) -> list[str]:
    """The events' names, in order."""
    return [event.event for event in events]


def api_requests(sandbox, provider: str) -> int:
    """Requests the provider's emulator has answered so far."""
    return sandbox.stats(provider)["api_requests"]

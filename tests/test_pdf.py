"""An invoice's PDF, fetched from each ledger's own rendering through the sandbox emulators."""

from __future__ import annotations

import pytest

from tests.conftest import auth, connect, make_key, sample_invoice, wait_for
from tests.test_csv_ledger import connect_csv, push
from tests.test_xero_end_to_end import UK_MAPPING

LEDGERS = [("quickbooks", {}, "USD", b"Invoice INV-PDF-1"),
           ("xero", {"tenant": "sandbox company uk"}, "GBP", b"INV-PDF-1"),
           ("freshbooks", {}, "CAD", b"Invoice INV-PDF-1")]


@pytest.mark.parametrize("provider, options, currency, title", LEDGERS, ids=[ledger[0] for ledger in LEDGERS])
def test_the_pdf_comes_from_the_ledger(client, api_key, runtime, sandbox, provider, options, currency, title):
    connection_id = connect(client, api_key, provider, **options)
    if provider == "xero":
        assert client.put(f"/v1/connections/{connection_id}/mapping", json=UK_MAPPING,
                          headers=auth(api_key)).status_code == 200
    op = client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(api_key),
                     json=sample_invoice("inv-pdf-1", currency=currency)).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    response = client.get(f"/v1/connections/{connection_id}/invoices/inv-pdf-1/pdf", headers=auth(api_key))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-1.") and response.data.rstrip().endswith(b"%%EOF")
    assert title in response.data
    assert response.headers["Content-Disposition"] == 'inline; filename="invoice-inv-pdf-1.pdf"'


def test_a_deleted_invoice_has_no_pdf(client, api_key, runtime, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    op = wait_for(client, api_key, client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(api_key),
                                               json=sample_invoice("inv-gone")).get_json()["id"])
    sandbox.control("quickbooks", f"9130350000000001/invoice/{op['ledger_id']}", "DELETE")
    response = client.get(f"/v1/connections/{connection_id}/invoices/inv-gone/pdf", headers=auth(api_key))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_unknown_invoices_and_strangers_get_404(client, api_key, app):
    connection_id = connect(client, api_key, "quickbooks")
    assert client.get(f"/v1/connections/{connection_id}/invoices/never/pdf", headers=auth(api_key)).status_code == 404
    stranger = make_key(app, "globex")
    assert client.get(f"/v1/connections/{connection_id}/invoices/never/pdf", headers=auth(stranger)).status_code == 404


def test_the_csv_ledger_has_no_pdf(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "xero")
    push(client, api_key, connection_id, "invoices", sample_invoice("inv-c1"))
    response = client.get(f"/v1/connections/{connection_id}/invoices/inv-c1/pdf", headers=auth(api_key))
    assert response.status_code == 404 and "not available for this ledger" in response.get_json()["detail"]

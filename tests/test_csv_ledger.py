"""The csv ledger: active at once, writes Xero / QuickBooks import files exactly once, lists and serves them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from bridge import errors
from bridge.sync import csv_files
from tests.conftest import auth, make_key, sample_invoice, wait_for

XERO_HEADER = ("*ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,POCity,"
               "PORegion,POPostalCode,POCountry,*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,"
               "InventoryItemCode,*Description,*Quantity,*UnitAmount,Discount,*AccountCode,*TaxType,TaxAmount,"
               "TrackingName1,TrackingOption1,TrackingName2,TrackingOption2,Currency,BrandingTheme")
QUICKBOOKS_HEADER = ("InvoiceNo,Customer,InvoiceDate,DueDate,Terms,Location,Memo,Item(Product/Service),"
                     "ItemDescription,ItemQuantity,ItemRate,ItemAmount,ItemTaxCode,ItemTaxAmount,Currency,Service Date")
MAPPING = {"products": {"CONSULT": {"item": "Consulting hours", "account": "4000"}},
           "tax_categories": {"standard": "20% (VAT on Income)"},
           "defaults": {"income_account": "200", "tax_code": "No VAT"}}


def today() -> str:
    """The UTC day files are named after."""
    return datetime.now(timezone.utc).date().isoformat()


def connect_csv(client, key: str, layout: str, mapping: dict | None = MAPPING) -> str:
    """A csv connection (active at once) with a free-text mapping."""
    response = client.post("/v1/connections", json={"provider": "csv", "layout": layout}, headers=auth(key))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active" and body["authorize_url"] is None
    if mapping is not None:
        put = client.put(f"/v1/connections/{body['id']}/mapping", json=mapping, headers=auth(key))
        assert put.status_code == 200, put.get_json()
    return body["id"]


def push(client, key: str, connection_id: str, path: str, document: dict) -> dict:
    """Send a document and wait for its operation to finish."""
    response = client.post(f"/v1/connections/{connection_id}/{path}", json=document, headers=auth(key))
    assert response.status_code == 202, response.get_json()
    return wait_for(client, key, response.get_json()["id"])


def download(client, key: str, connection_id: str, name: str) -> str:
    """A file's text."""
    response = client.get(f"/v1/connections/{connection_id}/files/{name}", headers=auth(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return response.get_data(as_text=True)


def rows_of(text: str) -> list[list[str]]:
    """CSV text as rows."""
    return list(csv.reader(io.StringIO(text)))


def xero_invoice() -> dict:
    """A GBP invoice with a mapped product, a tax category, a discount and an address."""
    return sample_invoice("inv-x1", number="INV-0042", currency="GBP", due_date="2026-02-14", totals={"total": "350.15"},
                          customer={"external_id": "cus-9", "name": "Globex, Ltd", "email": "ap@globex.example",
                                    "address": {"line1": "1 High St", "city": "Leeds", "postal_code": "LS1 1AA",
                                                "country": "GB"}},
                          lines=[{"description": "Consulting", "quantity": "2", "unit_price": "100.00",
                                  "product_code": "CONSULT", "tax_category": "standard"},
                                 {"description": "Support, monthly", "quantity": "1.5", "unit_price": "40.1000",
                                  "discount_percent": "10"}])


def test_providers_list_csv_as_usable_without_oauth(client, api_key):
    providers = {p["name"]: p for p in client.get("/v1/providers", headers=auth(api_key)).get_json()["data"]}
    assert providers["csv"]["configured"] is True
    assert "import_files" in providers["csv"]["capabilities"]


def test_a_csv_connection_needs_a_known_layout(client, api_key):
    missing = client.post("/v1/connections", json={"provider": "csv"}, headers=auth(api_key))
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "layout"
    bad = client.post("/v1/connections", json={"provider": "csv", "layout": "sage"}, headers=auth(api_key))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "layout"
    other = client.post("/v1/connections", json={"provider": "quickbooks", "layout": "xero"}, headers=auth(api_key))
    assert other.status_code == 422 and other.get_json()["errors"][0]["field"] == "layout"


def test_xero_layout_writes_the_exact_template_rows(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "xero")
    op = push(client, api_key, connection_id, "invoices", xero_invoice())
    assert op["status"] == "succeeded" and op["ledger_id"] == "INV-0042"
    [listed] = client.get(f"/v1/connections/{connection_id}/files", headers=auth(api_key)).get_json()["data"]
    name = f"invoices-{today()}.csv"
    text = download(client, api_key, connection_id, name)
    assert listed["name"] == name and listed["rows"] == 2 and listed["size"] == len(text.encode())
    assert text.splitlines()[0] == XERO_HEADER and text.endswith("\r\n")
    contact = ["Globex, Ltd", "ap@globex.example", "1 High St", "", "", "", "Leeds", "", "LS1 1AA", "GB",
               "INV-0042", "inv-x1", "15/01/2026", "14/02/2026", "350.15"]
    assert rows_of(text)[1:] == [
        contact + ["Consulting hours", "Consulting", "2", "100.00", "", "4000", "20% (VAT on Income)", "", "", "", "", "",
                   "GBP", ""],
        contact + ["", "Support, monthly", "1.5", "40.1000", "10", "200", "No VAT", "", "", "", "", "", "GBP", ""],
    ]
    back = client.get(f"/v1/connections/{connection_id}/invoices/inv-x1", headers=auth(api_key)).get_json()
    assert back["number"] == "INV-0042" and back["customer"]["name"] == "Globex, Ltd"
    assert [line["amount"] for line in back["lines"]] == ["200.00", "54.14"]


def test_xero_layout_writes_credit_notes_to_their_own_file(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "xero")
    push(client, api_key, connection_id, "invoices", xero_invoice())
    credit = {"external_id": "cn-1", "number": "CN-7", "customer": {"external_id": "cus-9"},
              "issue_date": "2026-01-20", "currency": "GBP",
              "lines": [{"description": "Refund", "quantity": "1", "unit_price": "25.50"}],
              "allocations": [{"invoice_external_id": "inv-x1", "amount": "25.50"}]}
    op = push(client, api_key, connection_id, "credit-notes", credit)
    assert op["status"] == "succeeded", op
    text = download(client, api_key, connection_id, f"credit-notes-{today()}.csv")
    header, row = rows_of(text)
    assert header[10:13] == ["*CreditNoteNumber", "Reference", "*CreditNoteDate"]
    assert row[:14] == ["Globex, Ltd", "", "", "", "", "", "", "", "", "", "CN-7", "cn-1", "20/01/2026", ""]
    assert row[14:20] == ["", "Refund", "1", "25.50", "", "200"]


def test_quickbooks_layout_writes_the_exact_template_rows(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "quickbooks")
    invoice = sample_invoice("inv-q1", memo="Thanks!", lines=[
        {"description": "Consulting", "quantity": "2", "unit_price": "100.00", "product_code": "CONSULT",
         "tax_category": "standard"},
        {"description": "Support", "quantity": "3", "unit_price": "40.00", "discount_percent": "12.5"}])
    op = push(client, api_key, connection_id, "invoices", invoice)
    assert op["status"] == "succeeded", op
    assert any("folded into the rate (35.00" in warning for warning in op["warnings"]), op["warnings"]
    text = download(client, api_key, connection_id, f"invoices-{today()}.csv")
    assert rows_of(text) == [
        QUICKBOOKS_HEADER.split(","),
        ["INV-Q1", "Acme Ltd", "01/15/2026", "02/14/2026", "", "", "Thanks!", "Consulting hours", "Consulting", "2",
         "100.00", "200.00", "20% (VAT on Income)", "", "USD", ""],
        ["INV-Q1", "Acme Ltd", "01/15/2026", "02/14/2026", "", "", "Thanks!", "", "Support", "3",
         "35.00", "105.00", "No VAT", "", "USD", ""],
    ]


def test_a_retry_never_writes_rows_twice(client, api_key, runtime, monkeypatch):
    connection_id = connect_csv(client, api_key, "xero")
    original = csv_files.DatabaseImportFiles.append
    calls = []

    def append_then_lose_the_answer(self, entry):
        stored = original(self, entry)
        calls.append(entry.request_key)
        if len(calls) == 1:  # the rows are written, then the worker "times out" before recording success
            raise errors.UncertainOutcome("lost the answer")
        return stored

    monkeypatch.setattr(csv_files.DatabaseImportFiles, "append", append_then_lose_the_answer)
    op = push(client, api_key, connection_id, "invoices", xero_invoice())
    assert op["status"] == "succeeded" and op["attempts"] == 2, op
    assert len(calls) == 2 and calls[0] == calls[1]
    assert len(rows_of(download(client, api_key, connection_id, f"invoices-{today()}.csv"))) == 3  # header + 2


def test_what_the_layouts_cannot_carry_is_refused_naming_the_field(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "quickbooks")
    paid = client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(api_key), json=sample_invoice(
        payments=[{"external_id": "p-1", "amount": "10.00", "date": "2026-01-16"}]))
    assert paid.status_code == 422 and paid.get_json()["errors"][0]["field"] == "payments"
    credit = {"external_id": "cn-1", "customer": {"external_id": "cus-1", "name": "Acme Ltd"},
              "issue_date": "2026-01-20", "currency": "USD",
              "lines": [{"description": "Refund", "quantity": "1", "unit_price": "5.00"}]}
    op = push(client, api_key, connection_id, "credit-notes", credit)
    assert op["status"] == "failed" and op["errors"][0]["field"] == "external_id"
    assert "no credit note import file" in op["errors"][0]["message"]
    assert client.get(f"/v1/connections/{connection_id}/files", headers=auth(api_key)).get_json()["data"] == []


def test_files_are_only_the_connections_own(client, api_key, app, runtime):
    connection_id = connect_csv(client, api_key, "xero")
    push(client, api_key, connection_id, "invoices", xero_invoice())
    name = f"invoices-{today()}.csv"
    for bad in ("..%2F..%2Fbridge.sqlite3", "..", "bridge.sqlite3", "invoices-2020-01-01.csv", f"{name}%00"):
        response = client.get(f"/v1/connections/{connection_id}/files/{bad}", headers=auth(api_key))
        assert response.status_code in (400, 404), (bad, response.status_code)
        assert response.mimetype == "application/problem+json"
    stranger = make_key(app, "globex")
    assert client.get(f"/v1/connections/{connection_id}/files", headers=auth(stranger)).status_code == 404
    assert client.get(f"/v1/connections/{connection_id}/files/{name}", headers=auth(stranger)).status_code == 404


def test_a_dry_run_shows_the_rows_and_writes_nothing(client, api_key, runtime):
    connection_id = connect_csv(client, api_key, "xero")
    response = client.post(f"/v1/connections/{connection_id}/invoices?dry_run=true", json=xero_invoice(),
                           headers=auth(api_key))
    assert response.status_code == 200, response.get_json()
    text = response.get_data(as_text=True)
    assert f"invoices-{today()}.csv" in text and "20% (VAT on Income)" in text and "40.1000" in text
    assert client.get(f"/v1/connections/{connection_id}/files", headers=auth(api_key)).get_json()["data"] == []

"""The emulator speaks Xero's shapes: requests and answers checked against Xero's own OpenAPI files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from bridge.sandbox import jsonio

from .xero_client import API

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs" / "xero"
ACCOUNTING_SERVER = "https://api.xero.com/api.xro/2.0"
IDENTITY_SERVER = "https://api.xero.com"


def _load(name: str) -> OpenAPI:
    # Xero's files do not pass strict spec validation (e.g. `default: "false"` on booleans), so only the
    # request and response checks run.
    return OpenAPI.from_file_path(str(SPECS / name), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def accounting():
    return _load("xero_accounting.yaml")


@pytest.fixture(scope="module")
def identity():
    return _load("xero-identity.yaml")


def check(spec: OpenAPI, server: str, method: str, path: str, sent, response, query: dict | None = None,
          headers: dict | None = None):
    """Validate the request we sent and the emulator's answer against the spec."""
    body = None if sent is None else jsonio.dumps(sent)
    builder = EnvironBuilder(method=method, base_url=server, path=path, query_string=query or {},
                             headers={"xero-tenant-id": "tenant", **(headers or {})}, data=body,
                             content_type="application/json" if body is not None else None)
    request = WerkzeugOpenAPIRequest(Request(builder.get_environ()))
    if sent is not None:
        spec.validate_request(request)
    answer = Response(response.data, response.status_code, content_type="application/json")
    spec.validate_response(request, WerkzeugOpenAPIResponse(answer))


def _invoice_body(contact_id: str) -> dict:
    return {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Date": "2026-01-15",
                          "DueDate": "2026-02-14", "Reference": "ORD-1", "Status": "AUTHORISED",
                          "LineAmountTypes": "Exclusive", "InvoiceNumber": "INV-1001",
                          "LineItems": [{"Description": "Consulting", "Quantity": 2, "UnitAmount": 100,
                                         "AccountCode": "200", "TaxType": "OUTPUT2", "DiscountRate": 10},
                                        {"ItemCode": "LICENCE", "Quantity": 1}]}]}


def test_invoices_put_answer_matches_the_spec(xero, accounting):
    contact = xero.contact()
    sent = _invoice_body(contact["ContactID"])
    response = xero.request("PUT", "Invoices", sent, summarizeErrors="true")
    assert response.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "PUT", "/Invoices", sent, response, {"summarizeErrors": "true"})


def test_invoices_get_paged_and_by_id_match_the_spec(xero, accounting):
    invoice = xero.invoice()
    paged = xero.request("GET", "Invoices", page=1)
    check(accounting, ACCOUNTING_SERVER, "GET", "/Invoices", None, paged, {"page": "1"})
    one = xero.request("GET", f"Invoices/{invoice['InvoiceID']}")
    check(accounting, ACCOUNTING_SERVER, "GET", f"/Invoices/{invoice['InvoiceID']}", None, one)


def test_contacts_get_answer_matches_the_spec(xero, accounting):
    xero.contact("Acme Ltd", ContactNumber="EXT-1", EmailAddress="ap@acme.test",
                 Addresses=[{"AddressType": "STREET", "AddressLine1": "1 High St", "City": "London",
                             "PostalCode": "EC1A 1AA", "Country": "GB"}],
                 Phones=[{"PhoneType": "DEFAULT", "PhoneNumber": "555-1234"}], TaxNumber="GB999")
    response = xero.request("GET", "Contacts", page=1)
    assert response.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "GET", "/Contacts", None, response, {"page": "1"})


def test_payments_put_answer_matches_the_spec(xero, accounting):
    invoice = xero.invoice(Status="AUTHORISED")
    sent = {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
                          "Date": "2026-01-20", "Amount": 50, "Reference": "CHK-1"}]}
    response = xero.request("PUT", "Payments", sent)
    assert response.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "PUT", "/Payments", sent, response)
    listed = xero.request("GET", "Payments")
    check(accounting, ACCOUNTING_SERVER, "GET", "/Payments", None, listed)


def test_credit_notes_and_allocations_match_the_spec(xero, accounting):
    invoice = xero.invoice(Status="AUTHORISED")
    sent = {"CreditNotes": [{"Type": "ACCRECCREDIT", "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
                             "Date": "2026-01-22", "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
                             "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 10,
                                            "AccountCode": "200", "TaxType": "OUTPUT2"}]}]}
    response = xero.request("PUT", "CreditNotes", sent)
    assert response.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "PUT", "/CreditNotes", sent, response)
    credit_id = jsonio.loads(response.data)["CreditNotes"][0]["CreditNoteID"]
    allocation = {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 12,
                                   "Date": "2026-01-22"}]}
    answer = xero.request("PUT", f"CreditNotes/{credit_id}/Allocations", allocation)
    assert answer.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "PUT", f"/CreditNotes/{credit_id}/Allocations", allocation, answer)


def test_validation_error_body_matches_the_spec(xero, accounting):
    sent = {"Contacts": [{"Name": "Twin"}, {"Name": "Twin"}]}
    response = xero.request("PUT", "Contacts", sent)
    assert response.status_code == 400
    check(accounting, ACCOUNTING_SERVER, "PUT", "/Contacts", sent, response)


@pytest.mark.parametrize("path", ["Accounts", "TaxRates", "Organisation", "Items"])
def test_settings_reads_match_the_spec(xero, accounting, path):
    response = xero.request("GET", path)
    assert response.status_code == 200
    check(accounting, ACCOUNTING_SERVER, "GET", f"/{path}", None, response)


def test_connections_match_the_identity_spec(xero, identity):
    response = xero.client.get("/xero/connections",
                               headers={"Authorization": f"Bearer {xero.tokens['access_token']}"})
    assert response.status_code == 200
    # xero-identity.yaml's own example writes the times without a zone ("2019-12-07T18:46:19.5165400"), as
    # the live service does, which its `format: date-time` rejects: the emulator copies the example, so the
    # times are checked against it here and everything else against the schema.
    connections = jsonio.loads(response.data)
    for connection in connections:
        for key in ("createdDateUtc", "updatedDateUtc"):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}", connection[key])
            connection[key] += "Z"
    check(identity, IDENTITY_SERVER, "GET", "/Connections", None, Response(jsonio.dumps(connections), 200))


def test_api_prefix_is_the_spec_server_path():
    assert API.endswith("/api.xro/2.0") and ACCOUNTING_SERVER.endswith("/api.xro/2.0")

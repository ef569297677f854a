"""Every request the Xero adapter sends is valid against Xero's official Accounting OpenAPI.

The `xero` fixture already validates every Accounting API call of every test in this folder after the
test; here one tour drives every verb and checks each request explicitly, and the validator itself is
shown to catch what Xero would refuse (so a green run means something).
"""

from __future__ import annotations

import copy
import re
from datetime import date
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from bridge.ledgers.base import BatchItem, LedgerRef
from bridge.ledgers.xero import Adapter

from .conftest import API, CONTACT_ID, CREDIT_NOTE_ID, INVOICE_ID, PAYMENT_ID, UK_TENANT, fixture_text
from .spec import (SPEC_PATH, assert_valid_xero_request, patch_string_boolean_defaults, xero_openapi,
                   xero_request_errors)

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROUTES = {
    "GET /Organisation", "GET /Accounts", "GET /TaxRates", "GET /Items",
    "GET /Contacts", "PUT /Contacts", "POST /Contacts/{id}",
    "GET /Invoices", "PUT /Invoices", "POST /Invoices", "GET /Invoices/{id}", "POST /Invoices/{id}",
    "PUT /Payments", "POST /Payments/{id}",
    "PUT /CreditNotes", "POST /CreditNotes/{id}", "GET /CreditNotes/{id}", "PUT /CreditNotes/{id}/Allocations",
}
"""Every Accounting API route the adapter uses."""
INVOICE = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
           "issue_date": date(2026, 1, 15), "due_date": None, "currency": "GBP", "exchange_rate": D("1.1628"),
           "amounts_include_tax": True, "status": "open", "memo": "Thanks", "payments": [],
           "lines": [{"description": "Consulting", "quantity": D("2.5"), "unit_price": D("99.9999"),
                      "discount_percent": D("12.5"), "product_code": "CONSULT", "tax_category": "standard"},
                     {"description": "Refundable deposit", "quantity": D("1"), "unit_price": D("-10.00"),
                      "tax_category": "exempt", "account_code": "201"}]}
CUSTOMER = {"external_id": "cus_" + "x" * 70, "name": "Acme Ltd", "email": "ap@example.com", "phone": "020 555",
            "address": {"line1": "1 Example Street", "city": "London", "postal_code": "EC1A 1AA", "country": "GB"},
            "tax_number": "GB123456789", "currency": "GBP"}


def template(call) -> str:
    """`METHOD /Path` with every GUID replaced by {id}."""
    path = urlsplit(call.request.url).path.removeprefix("/api.xro/2.0")
    return f"{call.request.method} {GUID.sub('{id}', path)}"


def prepared(method: str, path: str, body=None, headers=None, drop=()) -> requests.PreparedRequest:
    """A request as the adapter would send it, with changes."""
    base = {"Authorization": "Bearer x", "xero-tenant-id": UK_TENANT, "Accept": "application/json"}
    if method in ("PUT", "POST"):
        base["Idempotency-Key"] = "op_1"
    base.update(headers or {})
    for name in drop:
        base.pop(name)
    return requests.Request(method, f"{API}/{path}", json=body, headers=base).prepare()


def test_the_vendored_spec_loads_with_only_its_boolean_defaults_patched():
    raw = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    patched = copy.deepcopy(raw)
    assert patch_string_boolean_defaults(patched) == 23
    assert patch_string_boolean_defaults(patched) == 0  # nothing left to patch
    assert raw["info"]["version"] == "16.1.0" and raw["servers"][0]["url"] == API
    assert xero_openapi() is xero_openapi()  # built (and spec-validated) once


def test_every_request_of_every_verb_is_valid_against_xeros_openapi(make_context, xero):
    adapter = Adapter(make_context())
    for method, path, fixture in [
        ("GET", "Organisation", "organisation_uk.json"), ("GET", "Accounts", "accounts.json"),
        ("GET", "TaxRates", "tax_rates_uk.json"), ("GET", "Items", "items.json"),
        ("GET", "Contacts", "contacts_get_empty.json"), ("PUT", "Contacts", "contacts_put.json"),
        ("POST", f"Contacts/{CONTACT_ID}", "contacts_put.json"),
        ("GET", "Invoices", "invoices_get_by_number.json"), ("PUT", "Invoices", "invoices_put.json"),
        ("POST", "Invoices", "invoices_put.json"),
        ("GET", f"Invoices/{INVOICE_ID}", "invoice_get_partially_paid.json"),
        ("POST", f"Invoices/{INVOICE_ID}", "invoice_voided.json"),
        ("PUT", "Payments", "payments_put.json"), ("POST", f"Payments/{PAYMENT_ID}", "payment_deleted.json"),
        ("PUT", "CreditNotes", "credit_notes_put.json"),
        ("POST", f"CreditNotes/{CREDIT_NOTE_ID}", "credit_notes_put.json"),
        ("GET", f"CreditNotes/{CREDIT_NOTE_ID}", "credit_note_get_allocated.json"),
        ("GET", f"CreditNotes/{CREDIT_NOTE_ID}", "credit_notes_put.json"),  # unallocated: it may be edited
        ("PUT", f"CreditNotes/{CREDIT_NOTE_ID}/Allocations", "allocations_put.json"),
    ]:
        xero.add(method, f"{API}/{path}", body=fixture_text(fixture))

    adapter.tenant_info()
    adapter.list_accounts()
    adapter.list_tax_rates()
    adapter.list_items()
    adapter.find_customers(email="ap@example.com", name='Acme "The Best" Ltd')
    adapter.upsert_customer(CUSTOMER, None, "op_customer")
    adapter.upsert_customer(CUSTOMER, LedgerRef(CONTACT_ID), "op_customer_2")
    adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), None, "op_invoice")
    adapter.upsert_invoice({**INVOICE, "status": "draft"}, LedgerRef(CONTACT_ID), LedgerRef(INVOICE_ID), "op_inv2")
    adapter.upsert_invoices([BatchItem("op_a", INVOICE, LedgerRef(CONTACT_ID)),
                             BatchItem("op_b", INVOICE, LedgerRef(CONTACT_ID), existing=LedgerRef(INVOICE_ID))],
                            "batch_" + "k" * 120)
    adapter.find_invoice_ids(["INV-1001", "INV,1002"])
    adapter.find_invoices(number="INV-1001", customer=LedgerRef(CONTACT_ID), limit=20)
    adapter.get_invoice(LedgerRef(INVOICE_ID))
    adapter.void_invoice(LedgerRef(INVOICE_ID), "op_void")
    payment = {"external_id": "pay_1", "amount": D("100.00"), "date": date(2026, 1, 20), "reference": "CHK-1234",
               "exchange_rate": D("1.1628")}
    adapter.record_payment(payment, LedgerRef(INVOICE_ID), LedgerRef(CONTACT_ID), None, "op_pay")
    adapter.record_payment({**payment, "deposit_account": "90000000-0000-4000-8000-000000000091"},
                           LedgerRef(INVOICE_ID), LedgerRef(CONTACT_ID), LedgerRef(PAYMENT_ID), "op_pay_2")
    credit_note = {"external_id": "cn_7", "number": "CN-7", "issue_date": date(2026, 1, 25), "currency": "GBP",
                   "lines": [{"description": "Refund", "quantity": D("1"), "unit_price": D("50.00"),
                              "tax_category": "standard", "discount_percent": D("10")}]}
    allocation = ({"amount": D("5.00"), "date": date(2026, 1, 26)}, LedgerRef("a0000000-0000-4000-8000-000000000009"))
    adapter.upsert_credit_note(credit_note, LedgerRef(CONTACT_ID), [allocation], None, "op_cn")
    adapter.upsert_credit_note(credit_note, LedgerRef(CONTACT_ID), [], LedgerRef(CREDIT_NOTE_ID), "op_cn_2")

    for call in xero.calls:
        assert_valid_xero_request(call.request)
    assert {template(call) for call in xero.calls} == ROUTES


@pytest.mark.parametrize(("request_", "problem"), [
    (prepared("GET", "Organisation", drop=["xero-tenant-id"]), "xero-tenant-id"),
    (prepared("PUT", "Invoices", {"Invoices": [{"Type": "ACCREC", "Total": 3}]}), "read-only"),
    (prepared("PUT", "Invoices", {"Invoices": [{"Type": "SALE"}]}), "is not one of"),
    (prepared("PUT", f"CreditNotes/{CREDIT_NOTE_ID}/Allocations",
              {"Allocations": [{"Invoice": {"InvoiceID": INVOICE_ID}, "Amount": 5}]}), "'Date' is a required"),
    (prepared("PUT", "Invoices", {"Invoices": [{"Contact": {"ContactID": "not-a-guid"}}]}), "uuid"),
    (prepared("GET", "Invoices/INV-1001"), "InvoiceID"),
    (prepared("PUT", "Invoices", {"Invoices": []}, drop=["Idempotency-Key"]), "without Idempotency-Key"),
    (prepared("POST", "Invoices", {"Invoices": []}, headers={"Idempotency-Key": "k" * 129}), "128"),
    (prepared("GET", "Organisation", drop=["Authorization"]), "Bearer"),
    (prepared("GET", "Nowhere"), "Path not found"),
])
def test_the_validator_catches_requests_xero_would_refuse(request_, problem):
    problems = xero_request_errors(request_)
    assert any(problem in found for found in problems), problems
    with pytest.raises(AssertionError):
        assert_valid_xero_request(request_)


def test_a_request_elsewhere_than_the_accounting_api_is_not_a_xero_request():
    request_ = requests.Request("GET", "https://api.xero.com/connections").prepare()
    assert xero_request_errors(request_) == [f"not under the spec's server {API}: https://api.xero.com/connections"]


def test_a_plain_valid_request_passes():
    assert xero_request_errors(prepared("GET", "Invoices?where=Type%3D%3D%22ACCREC%22&page=1&unitdp=4")) == []

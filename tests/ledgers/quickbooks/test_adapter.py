"""QuickBooks Online adapter verbs over a fake QBO (responses): what is sent, in which order, with which key."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bridge.errors import LedgerRejected
from bridge.ledgers import base
from bridge.ledgers.base import LedgerRef
from bridge.ledgers.quickbooks import Adapter, facts

from .conftest import COMPANY_URL, FIXTURES, REALM, fixture_text

KEY = "op_" + "a" * 37  # the longest key the sync engine hands in (40)
US_MAPPING = {"defaults": {"item": "1", "payment_account": "35"}, "tax_categories": {"standard": "TAX"},
              "quickbooks": {"txn_tax_code": "3"}}
INVOICE = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
           "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "USD",
           "amounts_include_tax": False, "status": "open", "memo": None, "payments": [],
           "lines": [{"description": "Consulting", "quantity": D("2"), "unit_price": D("100.00"),
                      "tax_category": "standard"},
                     {"description": "Travel", "quantity": D("1"), "unit_price": D("50.00")}]}


def query_of(call) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def sent(call) -> dict:
    return json.loads(call.request.body, parse_float=D)


def path_of(call) -> str:
    return urlsplit(call.request.url).path.removeprefix(f"/v3/company/{REALM}/")


@pytest.fixture
def adapter(make_context) -> Adapter:
    return Adapter(make_context(US_MAPPING))


def test_registered_under_its_name():
    module = base.load("quickbooks")
    assert module.Adapter.name == "quickbooks" and issubclass(module.Adapter, base.Ledger)
    assert issubclass(module.OAuth, base.OAuthProvider)


@responses.activate
def test_create_invoice_posts_once_with_the_operation_key_and_reads_back(adapter):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"))
    written = adapter.upsert_invoice(INVOICE, LedgerRef("58"), None, KEY)
    assert len(responses.calls) == 1
    call = responses.calls[0]
    assert query_of(call)["requestid"] == KEY and query_of(call)["minorversion"] == "75"
    body = sent(call)
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "3"}}
    assert '"Amount":200.00' in call.request.body.decode()
    assert written.ledger_id == "130" and written.extra["sync_token"] == "0"
    assert written.object["status"] == "open" and written.object["totals"]["total"] == D("266.00")


@responses.activate
def test_update_invoice_reads_the_sync_token_and_sends_a_sparse_update(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_read_partially_paid.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"))
    adapter.upsert_invoice(INVOICE, LedgerRef("58"), LedgerRef("130"), KEY)
    read, update = responses.calls
    assert read.request.method == "GET"
    body = sent(update)
    assert (body["Id"], body["SyncToken"], body["sparse"]) == ("130", "2", True)
    assert len(body["Line"]) == 2
    assert query_of(update)["requestid"] == KEY


@responses.activate
def test_stale_update_is_reread_once_and_retried_with_a_new_requestid(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_create_us.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", status=400, body=fixture_text("fault_5010_stale.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_read_partially_paid.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_read_partially_paid.json"))
    written = adapter.upsert_invoice(INVOICE, LedgerRef("58"), LedgerRef("130"), KEY)
    methods = [call.request.method for call in responses.calls]
    assert methods == ["GET", "POST", "GET", "POST"]
    assert sent(responses.calls[1])["SyncToken"] == "0" and sent(responses.calls[3])["SyncToken"] == "2"
    assert query_of(responses.calls[3])["requestid"] == KEY + "-r"
    assert len(KEY + "-r") <= facts.REQUEST_ID_MAX
    assert written.object["status"] == "partially_paid"


@responses.activate
def test_invoice_without_stored_company_facts_fetches_tenant_info_first(make_context):
    adapter = Adapter(make_context(US_MAPPING, tenant_extra={}))
    responses.add(responses.GET, f"{COMPANY_URL}/companyinfo/{REALM}", body=fixture_text("companyinfo_us.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/preferences", body=fixture_text("preferences_us.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("item_query.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"))
    adapter.upsert_invoice(INVOICE, LedgerRef("58"), None, KEY)
    assert [path_of(call) for call in responses.calls] == [f"companyinfo/{REALM}", "preferences", "query", "invoice"]
    assert sent(responses.calls[3])["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}


@responses.activate
def test_tenant_info_reads_company_preferences_and_the_default_item(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/companyinfo/{REALM}", body=fixture_text("companyinfo_uk.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/preferences", body=fixture_text("preferences_uk.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("item_query.json"))
    info = adapter.tenant_info()
    assert info == {"id": REALM, "name": "Example Trading UK Ltd", "country": "GB", "home_currency": "GBP",
                    "multi_currency": True, "uses_sales_tax": True, "automated_sales_tax": False,
                    "default_item": "1"}
    assert query_of(responses.calls[2])["query"] == "select * from Item where Name = 'Services'"


@responses.activate
def test_customer_with_an_existing_display_name_is_linked_not_created(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("customer_query.json"))
    written = adapter.upsert_customer({"external_id": "cus_9", "name": "O'Brien & Sons"}, None, KEY)
    assert len(responses.calls) == 1
    assert query_of(responses.calls[0])["query"] == "select * from Customer where DisplayName = 'O\\'Brien & Sons'"
    assert written.ledger_id == "21"
    assert written.warnings == ["Linked to the existing QuickBooks customer \"O'Brien & Sons\" (Id 21)"]


@responses.activate
def test_new_customer_is_created_with_the_operation_key(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("query_empty.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/customer", body=fixture_text("customer_create.json"))
    written = adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com"},
                                      None, KEY)
    assert [query_of(call)["query"] for call in responses.calls[:2]] == [  # mapping.customers.match's default order
        "select * from Customer where PrimaryEmailAddr = 'ap@example.com'",
        "select * from Customer where DisplayName = 'Acme Ltd'"]
    create = responses.calls[2]
    assert query_of(create)["requestid"] == KEY
    assert sent(create)["DisplayName"] == "Acme Ltd"
    assert written.ledger_id == "58" and written.object["email"] == "ap@example.com"


@responses.activate
def test_match_create_looks_for_no_customer_before_creating(adapter):
    adapter.context.mapping = {"customers": {"match": "create"}}
    responses.add(responses.POST, f"{COMPANY_URL}/customer", body=fixture_text("customer_create.json"))
    adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com"}, None, KEY)
    assert [path_of(call) for call in responses.calls] == ["customer"]


@responses.activate
def test_existing_customer_gets_a_sparse_update_without_currency_or_notes(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/customer/58", body=fixture_text("customer_create.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/customer", body=fixture_text("customer_create.json"))
    adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "currency": "USD"}, LedgerRef("58"), KEY)
    body = sent(responses.calls[1])
    assert body["sparse"] is True and body["Id"] == "58" and body["SyncToken"] == "0"
    assert "CurrencyRef" not in body and "Notes" not in body


@responses.activate
def test_duplicate_number_is_rejected_naming_number(adapter):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", status=400,
                  body=fixture_text("fault_6140_duplicate_number.json"))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_invoice(INVOICE, LedgerRef("58"), None, KEY)
    assert excinfo.value.errors[0]["field"] == "number"


@responses.activate
def test_payment_is_linked_to_the_invoice(adapter):
    responses.add(responses.POST, f"{COMPANY_URL}/payment", body=fixture_text("payment_create.json"))
    written = adapter.record_payment({"external_id": "pay_1", "invoice_external_id": "inv_1001",
                                      "amount": D("100.00"), "date": date(2026, 1, 20), "reference": "CHK-1234"},
                                     LedgerRef("130"), LedgerRef("58"), None, KEY)
    call = responses.calls[0]
    body = sent(call)
    assert body["Line"] == [{"Amount": D("100.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}]
    assert body["DepositToAccountRef"] == {"value": "35"}
    assert '"TotalAmt":100.00' in call.request.body.decode()
    assert query_of(call)["requestid"] == KEY
    assert written.ledger_id == "131" and written.object["amount"] == D("100.00")


@responses.activate
def test_credit_note_is_created_then_applied_with_a_zero_payment_per_allocation(adapter):
    responses.add(responses.POST, f"{COMPANY_URL}/creditmemo", body=fixture_text("creditmemo_create.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/payment", body=fixture_text("payment_allocation.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/creditmemo/140", body=fixture_text("creditmemo_create.json"))
    note = {"external_id": "cn_7", "number": "CN-7", "customer": {"external_id": "cus_1"},
            "issue_date": date(2026, 1, 25), "currency": "USD",
            "lines": [{"description": "Refund", "quantity": D("1"), "unit_price": D("50.00")}],
            "allocations": [{"invoice_external_id": "inv_1001", "amount": D("50.00"), "date": None}]}
    written = adapter.upsert_credit_note(note, LedgerRef("58"), [(note["allocations"][0], LedgerRef("130"))],
                                         None, KEY)
    create, apply, reread = responses.calls
    assert query_of(create)["requestid"] == KEY
    assert query_of(apply)["requestid"] == KEY + "-a0"
    body = sent(apply)
    assert body["TotalAmt"] == 0 and body["TxnDate"] == "2026-01-25"
    assert [line["LinkedTxn"][0] for line in body["Line"]] == [{"TxnId": "130", "TxnType": "Invoice"},
                                                             {"TxnId": "140", "TxnType": "CreditMemo"}]
    assert reread.request.method == "GET"
    assert written.ledger_id == "140" and written.extra["allocation_payment_ids"] == ["141"]


@responses.activate
def test_updating_a_credit_note_does_not_apply_it_twice(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/creditmemo/140", body=fixture_text("creditmemo_create.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/creditmemo", body=fixture_text("creditmemo_create.json"))
    allocated = json.loads(fixture_text("payment_allocation.json"))["Payment"]
    responses.add(responses.GET, f"{COMPANY_URL}/query", json={"QueryResponse": {"Payment": [allocated]}})
    note = {"external_id": "cn_7", "issue_date": date(2026, 1, 25), "currency": "USD",
            "lines": [{"quantity": D("1"), "unit_price": D("50.00")}]}
    written = adapter.upsert_credit_note(note, LedgerRef("58"), [({"amount": D("50.00")}, LedgerRef("130"))],
                                         LedgerRef("140"), KEY)
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "GET"]
    assert written.extra["allocation_payment_ids"] == []


@responses.activate
def test_void_posts_operation_void_with_the_current_sync_token(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_read_partially_paid.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_void.json"))
    written = adapter.void_invoice(LedgerRef("130"), KEY)
    call = responses.calls[1]
    assert query_of(call) == {"operation": "void", "requestid": KEY, "minorversion": "75"}
    assert sent(call) == {"Id": "130", "SyncToken": "2"}
    assert written.object["status"] == "void"


@responses.activate
def test_find_invoices_by_number_newest_first(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("invoice_query.json"))
    found = adapter.find_invoices(number="INV-1001", customer=LedgerRef("58"), limit=20)
    assert query_of(responses.calls[0])["query"] == (
        "select * from Invoice where DocNumber = 'INV-1001' and CustomerRef = '58' "
        "ORDERBY MetaData.CreateTime DESC MAXRESULTS 20")
    assert [invoice["ledger_id"] for invoice in found] == ["131", "130"]


@responses.activate
def test_get_invoice_reads_it_back_normalized(adapter):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_read_partially_paid.json"))
    invoice = adapter.get_invoice(LedgerRef("130"))
    assert invoice["status"] == "partially_paid" and invoice["balance"] == D("166.00")


def test_recorded_fixtures_are_scrubbed():
    for path in FIXTURES.glob("*.json"):
        text = path.read_text()
        json.loads(text)
        emails = re.findall(r"[\w.+-]+@([\w-]+\.[\w.]+)", text)
        assert all(domain == "example.com" for domain in emails), path.name
        assert not re.search(r"(?i)(access_token|refresh_token|bearer |eyJ[\w-]{10,})", text), path.name
        assert not re.search(r"\b\d{16,19}\b", text.replace("9130000000000001", "")), path.name

"""FreshBooks adapter verbs over a fake FreshBooks (responses): what is sent, in which order, and when
nothing is sent because an earlier attempt already wrote it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from bridge.errors import LedgerRejected, RetryableLedgerError, UncertainOutcome
from bridge.ledgers import base
from bridge.ledgers.base import LedgerRef
from bridge.ledgers.freshbooks import Adapter, OAuth, rules

from .conftest import ACCOUNT, ACCOUNT_URL, API, COMPANY, IDENTITY, fixture_text

KEY = "op_0123456789abcdef"
INVOICES = f"{ACCOUNT_URL}/invoices/invoices"
CLIENTS = f"{ACCOUNT_URL}/users/clients"
PAYMENTS = f"{ACCOUNT_URL}/payments/payments"
CREDITS = f"{ACCOUNT_URL}/credit_notes/credit_notes"
TAXES = f"{ACCOUNT_URL}/taxes/taxes"
INVOICE = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
           "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "CAD",
           "amounts_include_tax": False, "status": "open", "memo": "Thank you for your business.", "payments": [],
           "lines": [{"description": "Consulting, January", "product_code": "CONSULT", "quantity": D("2"),
                      "unit_price": D("100.00"), "tax_category": "standard"},
                     {"description": "Travel", "quantity": D("1"), "unit_price": D("50.00"),
                      "tax_category": "federal"}]}
PAYMENT = {"external_id": "pay_1", "invoice_external_id": "inv_1001", "amount": D("100.00"), "currency": "CAD",
           "date": date(2026, 1, 20), "method": "bank_transfer", "reference": "TRX-42"}
CUSTOMER = LedgerRef("301")


def sent(call) -> dict:
    return json.loads(call.request.body, parse_float=D)


def page_of(key: str, *objects) -> dict:
    """A one-page FreshBooks listing of `objects`."""
    return {"response": {"result": {key: list(objects), "page": 1, "pages": 1}}}


def query_of(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query)


def calls() -> list[tuple[str, str]]:
    """(method, path) of every call made, without the account prefix."""
    return [(call.request.method, urlsplit(call.request.url).path.removeprefix(f"/accounting/account/{ACCOUNT}/"))
            for call in responses.calls]


@pytest.fixture
def adapter(make_context) -> Adapter:
    return Adapter(make_context())


@pytest.fixture
def uncertain(make_context) -> Adapter:
    return Adapter(make_context(after_uncertain=True))


def test_the_package_exposes_a_ledger_named_freshbooks_that_adapts_on_429():
    assert issubclass(Adapter, base.Ledger) and issubclass(OAuth, base.OAuthProvider)
    assert Adapter.name == "freshbooks" and OAuth.NAME == "freshbooks"
    assert Adapter.RATE_LIMITS == {} and Adapter.BATCH_MAX == 0
    assert 0 < Adapter.CONCURRENT_REQUESTS <= 3
    assert callable(rules.check)


# --- invoices -----------------------------------------------------------------------------------------

@responses.activate
def test_an_open_invoice_is_created_then_marked_as_sent_in_a_put_of_its_own(adapter):
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    written = adapter.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert calls() == [("POST", "invoices/invoices"), ("PUT", "invoices/invoices/7001")]
    created = sent(responses.calls[0])["invoice"]
    assert created["customerid"] == 301 and created["invoice_number"] == "INV-1001"
    assert created["lines"][0]["unit_cost"] == {"amount": "100.00", "code": "CAD"}
    assert sent(responses.calls[1]) == {"invoice": {"action_mark_as_sent": True}}
    assert written.ledger_id == "7001" and written.object["status"] == "open"
    assert written.object["totals"] == {"subtotal": D("250.00"), "tax": D("26.50"), "total": D("276.50")}
    assert written.extra == {"status": "open", "number": "INV-1001"}


@responses.activate
def test_a_draft_invoice_stays_draft(adapter):
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    written = adapter.upsert_invoice({**INVOICE, "status": "draft"}, CUSTOMER, None, KEY)
    assert calls() == [("POST", "invoices/invoices")]
    assert written.object["status"] == "draft"


@responses.activate
def test_after_an_uncertain_outcome_the_invoice_is_looked_up_by_number_and_nothing_is_created(uncertain):
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_by_number.json"))
    written = uncertain.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert calls() == [("GET", "invoices/invoices")]
    assert ("search[invoice_number]", "INV-1001") in query_of(responses.calls[0])
    assert written.ledger_id == "7001" and written.object["status"] == "open"
    assert written.warnings == ["Adopted FreshBooks invoice 7001, written by an earlier attempt"]


@responses.activate
def test_an_adopted_draft_that_should_be_open_is_only_marked_as_sent(uncertain):
    draft = json.loads(fixture_text("invoice_create_draft.json"))["response"]["result"]["invoice"]
    responses.add(responses.GET, INVOICES, json=page_of("invoices", draft))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    written = uncertain.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert calls() == [("GET", "invoices/invoices"), ("PUT", "invoices/invoices/7001")]
    assert sent(responses.calls[1]) == {"invoice": {"action_mark_as_sent": True}}
    assert written.object["status"] == "open"


@responses.activate
def test_after_an_uncertain_outcome_with_nothing_found_the_invoice_is_created(uncertain):
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_empty.json"))
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    uncertain.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert [method for method, _ in calls()] == ["GET", "POST", "PUT"]


@responses.activate
def test_an_invoice_with_the_same_number_that_is_not_ours_is_not_adopted(uncertain):
    other = json.loads(fixture_text("invoice_search_by_number.json"))
    found = other["response"]["result"]["invoices"][0]
    found.update(notes="Typed in by hand", customerid=999)
    responses.add(responses.GET, INVOICES, json=other)
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    uncertain.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert [method for method, _ in calls()] == ["GET", "POST", "PUT"]


@responses.activate
def test_an_invoice_without_a_number_is_looked_up_by_customer_date_and_back_reference(uncertain):
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_by_number.json"))
    written = uncertain.upsert_invoice({**INVOICE, "number": None}, CUSTOMER, None, KEY)
    assert calls() == [("GET", "invoices/invoices")]
    query = query_of(responses.calls[0])
    assert ("search[customerid]", "301") in query and ("search[date_min]", "2026-01-15") in query
    assert written.ledger_id == "7001"


@responses.activate
def test_a_failure_to_mark_as_sent_after_the_create_is_uncertain_and_the_retry_adopts(make_context):
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", status=503, body="busy")
    with pytest.raises(UncertainOutcome) as excinfo:
        Adapter(make_context()).upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert "7001" in excinfo.value.detail
    responses.reset()
    draft = json.loads(fixture_text("invoice_create_draft.json"))["response"]["result"]["invoice"]
    responses.add(responses.GET, INVOICES, json=page_of("invoices", draft))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    written = Adapter(make_context(after_uncertain=True)).upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert [method for method, _ in calls()] == ["GET", "PUT"] and written.object["status"] == "open"


@responses.activate
def test_a_timeout_after_sending_the_create_is_an_uncertain_outcome(adapter):
    responses.add(responses.POST, INVOICES, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UncertainOutcome):
        adapter.upsert_invoice(INVOICE, CUSTOMER, None, KEY)


@responses.activate
def test_a_429_on_create_is_retryable_and_nothing_else_is_sent(adapter):
    responses.add(responses.POST, INVOICES, status=429, headers={"Retry-After": "30"},
                  body=fixture_text("error_rate_limited.json"))
    with pytest.raises(RetryableLedgerError) as excinfo:
        adapter.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert excinfo.value.retry_after == 30 and not isinstance(excinfo.value, UncertainOutcome)
    assert len(responses.calls) == 1


@responses.activate
def test_an_existing_invoice_gets_its_data_then_its_action_in_separate_puts(adapter):
    responses.add(responses.GET, f"{INVOICES}/7001", body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_create_draft.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    adapter.upsert_invoice(INVOICE, CUSTOMER, LedgerRef("7001"), KEY)
    update, action = (sent(call)["invoice"] for call in responses.calls if call.request.method == "PUT")
    assert "lines" in update and "action_mark_as_sent" not in update and "vis_state" not in update
    assert action == {"action_mark_as_sent": True}


@responses.activate
def test_a_sent_invoice_cannot_go_back_to_draft_and_says_so(adapter):
    responses.add(responses.GET, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_marked_sent.json"))
    written = adapter.upsert_invoice({**INVOICE, "status": "draft"}, CUSTOMER, LedgerRef("7001"), KEY)
    assert [call.request.method for call in responses.calls] == ["GET", "PUT"]
    assert written.warnings == ["FreshBooks cannot take a sent invoice back to draft; it stays open in FreshBooks"]


@responses.activate
def test_a_refused_invoice_names_our_fields(adapter):
    responses.add(responses.POST, INVOICES, status=422, body=fixture_text("error_invoice_validation.json"))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_invoice(INVOICE, CUSTOMER, None, KEY)
    assert [e["field"] for e in excinfo.value.errors] == ["issue_date", "lines[1].unit_price"]


@responses.activate
def test_void_soft_deletes_in_a_put_of_its_own_and_reads_back_void(adapter):
    responses.add(responses.PUT, f"{INVOICES}/7001", body=fixture_text("invoice_deleted.json"))
    written = adapter.void_invoice(LedgerRef("7001"), KEY)
    assert sent(responses.calls[0]) == {"invoice": {"vis_state": 1}}
    assert written.object["status"] == "void" and "FreshBooks has no void" in written.warnings[0]


@responses.activate
def test_get_and_find_invoices_ask_for_lines_and_list_newest_first(adapter):
    responses.add(responses.GET, f"{INVOICES}/7001", body=fixture_text("invoice_with_lines.json"))
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_list_two.json"))
    assert adapter.get_invoice(LedgerRef("7001"))["balance"] == D("176.50")
    found = adapter.find_invoices(customer=CUSTOMER, limit=5)
    assert [invoice["number"] for invoice in found] == ["INV-1001", "INV-0990"]
    assert [invoice["status"] for invoice in found] == ["open", "paid"]
    assert ("include[]", "lines") in query_of(responses.calls[0])
    assert ("search[customerid]", "301") in query_of(responses.calls[1])


@responses.activate
def test_find_invoice_ids_maps_numbers_to_ledger_ids(adapter):
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_by_number.json"))
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_empty.json"))
    assert adapter.find_invoice_ids(["INV-1001", "INV-404"]) == {"INV-1001": "7001"}


# --- company facts ----------------------------------------------------------------------------------

@responses.activate
def test_tenant_info_reads_identity_and_taxes_and_is_json_safe(adapter):
    responses.add(responses.GET, IDENTITY, body=fixture_text("users_me_two_businesses.json"))
    responses.add(responses.GET, TAXES, body=fixture_text("taxes.json"))
    info = adapter.tenant_info()
    assert info == {"id": ACCOUNT, "name": "Example Landscaping Ltd", "country": "CA", "home_currency": None,
                    "business_id": "900001", "business_uuid": "00000000-0000-4000-8000-000000000001",
                    "taxes": {"GST": "5", "PST": "7", "QST": "9.975"}, "compound_taxes": ["QST"]}
    json.dumps(info)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer access-one-SECRET"


@responses.activate
def test_an_invoice_without_stored_tenant_facts_fetches_them_first(make_context):
    adapter = Adapter(make_context(tenant_extra={}))
    responses.add(responses.GET, IDENTITY, body=fixture_text("users_me_one_business.json"))
    responses.add(responses.GET, TAXES, body=fixture_text("taxes.json"))
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    adapter.upsert_invoice({**INVOICE, "status": "draft"}, CUSTOMER, None, KEY)
    assert [call.request.method for call in responses.calls] == ["GET", "GET", "POST"]
    assert sent(responses.calls[2])["invoice"]["lines"][0]["taxName2"] == "PST"


@responses.activate
def test_reference_data_lists_accounts_by_business_uuid_taxes_by_name_and_items(adapter):
    responses.add(responses.GET, f"{API}/accounting/businesses/{COMPANY['business_uuid']}/ledger_accounts/accounts",
                  body=fixture_text("ledger_accounts.json"))
    responses.add(responses.GET, TAXES, body=fixture_text("taxes.json"))
    responses.add(responses.GET, f"{ACCOUNT_URL}/items/items", body=fixture_text("items.json"))
    accounts = adapter.list_accounts()
    assert [(a["code"], a["name"], a["bank"]) for a in accounts] == [("1000", "Cash", True), ("4000", "Sales", False)]
    taxes = adapter.list_tax_rates()
    assert [(t["id"], t["rate"]) for t in taxes] == [("GST", D("5")), ("PST", D("7")), ("QST", D("9.975"))]
    items = adapter.list_items()
    assert [(i["id"], i["code"], i["unit_price"], i["active"]) for i in items] == [
        ("21", "CONSULT", D("100.00"), True), ("22", "Old service", D("75.50"), False)]


# --- customers ------------------------------------------------------------------------------------------

CUSTOMER_IN = {"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com",
               "address": {"city": "Toronto", "country": "CA"}}


@responses.activate
def test_a_new_customer_is_searched_by_email_then_name_then_created(adapter):
    responses.add(responses.GET, CLIENTS, body=fixture_text("client_search_empty.json"))
    responses.add(responses.GET, CLIENTS, body=fixture_text("client_search_empty.json"))
    responses.add(responses.POST, CLIENTS, body=fixture_text("client_create.json"))
    written = adapter.upsert_customer(CUSTOMER_IN, None, KEY)
    assert ("search[email]", "ap@example.com") in query_of(responses.calls[0])
    assert ("search[organization_like]", "Acme Ltd") in query_of(responses.calls[1])
    body = sent(responses.calls[2])["client"]
    assert (body["organization"], body["p_country"], body["note"]) == ("Acme Ltd", "Canada", "Invoice Bridge: cus_1")
    assert written.ledger_id == "301" and written.warnings == []


@responses.activate
def test_match_create_searches_for_no_client_before_creating(adapter):
    adapter.context.mapping = {"customers": {"match": "create"}}
    responses.add(responses.POST, CLIENTS, body=fixture_text("client_create.json"))
    assert adapter.upsert_customer(CUSTOMER_IN, None, KEY).ledger_id == "301"
    assert len(responses.calls) == 1 and responses.calls[0].request.method == "POST"


@responses.activate
def test_a_client_with_the_same_email_is_linked_not_created(adapter):
    responses.add(responses.GET, CLIENTS, body=fixture_text("client_search_email.json"))
    written = adapter.upsert_customer(CUSTOMER_IN, None, KEY)
    assert len(responses.calls) == 1
    assert written.ledger_id == "302"
    assert written.warnings == ["Linked to the existing FreshBooks client 'Acme Holdings' (id 302)"]


@responses.activate
def test_after_an_uncertain_outcome_our_client_is_found_by_organization(make_context):
    adapter = Adapter(make_context(after_uncertain=True))
    responses.add(responses.GET, CLIENTS, body=fixture_text("client_search_empty.json"))
    ours = json.loads(fixture_text("client_create.json"))["response"]["result"]["client"]
    responses.add(responses.GET, CLIENTS, json=page_of("clients", ours))
    written = adapter.upsert_customer(CUSTOMER_IN, None, KEY)
    assert [call.request.method for call in responses.calls] == ["GET", "GET"]
    assert ("search[organization_like]", "Acme Ltd") in query_of(responses.calls[1])
    assert written.ledger_id == "301" and written.warnings == []


@responses.activate
def test_an_existing_customer_is_updated_without_touching_its_note(adapter):
    responses.add(responses.PUT, f"{CLIENTS}/301", body=fixture_text("client_create.json"))
    adapter.upsert_customer(CUSTOMER_IN, LedgerRef("301"), KEY)
    body = sent(responses.calls[0])["client"]
    assert "note" not in body and body["email"] == "ap@example.com"


@responses.activate
def test_find_customers_searches_by_email_and_organization(adapter):
    responses.add(responses.GET, CLIENTS, body=fixture_text("client_search_email.json"))
    found = adapter.find_customers(email="ap@example.com", name="Acme")
    query = query_of(responses.calls[0])
    assert ("search[email]", "ap@example.com") in query and ("search[organization_like]", "Acme") in query
    assert found[0]["name"] == "Acme Holdings" and found[0]["address"]["country"] == "CA"


# --- payments -------------------------------------------------------------------------------------------

@responses.activate
def test_a_payment_is_posted_with_its_type_and_back_reference(adapter):
    responses.add(responses.POST, PAYMENTS, body=fixture_text("payment_create.json"))
    written = adapter.record_payment(PAYMENT, LedgerRef("7001"), CUSTOMER, None, KEY)
    assert sent(responses.calls[0]) == {"payment": {
        "invoiceid": 7001, "amount": {"amount": "100.00"}, "date": "2026-01-20", "type": "Bank Transfer",
        "note": "TRX-42\n\nInvoice Bridge: pay_1"}}
    assert written.ledger_id == "8001" and written.object["amount"] == D("100.00")


@responses.activate
def test_after_an_uncertain_outcome_the_same_payment_is_found_and_not_posted_again(uncertain):
    responses.add(responses.GET, PAYMENTS, body=fixture_text("payment_search_by_invoice.json"))
    written = uncertain.record_payment(PAYMENT, LedgerRef("7001"), CUSTOMER, None, KEY)
    assert calls() == [("GET", "payments/payments")]
    assert ("search[invoiceid]", "7001") in query_of(responses.calls[0])
    assert written.ledger_id == "8001"  # not 7999: same amount and date, but not our note


@responses.activate
def test_after_an_uncertain_outcome_with_no_match_the_payment_is_posted(uncertain):
    responses.add(responses.GET, PAYMENTS, body=fixture_text("payment_search_empty.json"))
    responses.add(responses.POST, PAYMENTS, body=fixture_text("payment_create.json"))
    uncertain.record_payment(PAYMENT, LedgerRef("7001"), CUSTOMER, None, KEY)
    assert [method for method, _ in calls()] == ["GET", "POST"]


@responses.activate
def test_an_existing_payment_is_updated_in_place(adapter):
    responses.add(responses.PUT, f"{PAYMENTS}/8001", body=fixture_text("payment_create.json"))
    adapter.record_payment({**PAYMENT, "amount": D("90.00")}, LedgerRef("7001"), CUSTOMER, LedgerRef("8001"), KEY)
    assert sent(responses.calls[0]) == {"payment": {"amount": {"amount": "90.00"}, "date": "2026-01-20",
                                                    "type": "Bank Transfer", "note": "TRX-42\n\nInvoice Bridge: pay_1"}}


# --- credit notes ---------------------------------------------------------------------------------------

CREDIT_NOTE = {"external_id": "cn_1", "number": "CN-0001", "customer": {"external_id": "cus_1"},
               "issue_date": date(2026, 1, 22), "currency": "CAD", "memo": "Goodwill for the late delivery",
               "amounts_include_tax": False,
               "lines": [{"description": "Late delivery", "product_code": "Credit", "quantity": D("1"),
                          "unit_price": D("50.00"), "tax_category": "federal"}],
               "allocations": [{"invoice_external_id": "inv_1001", "amount": D("50.00"), "date": None}]}


@responses.activate
def test_a_credit_note_is_created_then_applied_as_a_credit_payment(adapter):
    responses.add(responses.POST, CREDITS, body=fixture_text("credit_note_create.json"))
    responses.add(responses.POST, PAYMENTS, body=fixture_text("payment_credit_allocation.json"))
    written = adapter.upsert_credit_note(CREDIT_NOTE, CUSTOMER, [(CREDIT_NOTE["allocations"][0], LedgerRef("7001"))],
                                         None, KEY)
    assert calls() == [("POST", "credit_notes/credit_notes"), ("POST", "payments/payments")]
    note = sent(responses.calls[0])["credit_note"]
    assert note["credit_type"] == "goodwill" and note["clientid"] == 301 and note["credit_number"] == "CN-0001"
    assert sent(responses.calls[1]) == {"payment": {
        "invoiceid": 7001, "creditid": 9001, "amount": {"amount": "50.00"}, "date": "2026-01-22", "type": "Credit",
        "note": "Invoice Bridge: cn_1"}}
    assert written.ledger_id == "9001" and written.extra == {"allocation_payment_ids": ["8101"]}
    assert written.object["totals"]["total"] == D("52.50")


@responses.activate
def test_rewriting_a_credit_note_never_applies_an_allocation_twice(adapter):
    responses.add(responses.PUT, f"{CREDITS}/9001", body=fixture_text("credit_note_create.json"))
    applied = json.loads(fixture_text("payment_credit_allocation.json"))["response"]["result"]["payment"]
    responses.add(responses.GET, PAYMENTS, json=page_of("payments", applied))
    written = adapter.upsert_credit_note(CREDIT_NOTE, CUSTOMER, [(CREDIT_NOTE["allocations"][0], LedgerRef("7001"))],
                                         LedgerRef("9001"), KEY)
    assert calls() == [("PUT", "credit_notes/credit_notes/9001"), ("GET", "payments/payments")]
    assert written.extra == {"allocation_payment_ids": []}


@responses.activate
def test_a_failed_allocation_after_the_credit_note_was_created_is_uncertain(adapter):
    responses.add(responses.POST, CREDITS, body=fixture_text("credit_note_create.json"))
    responses.add(responses.POST, PAYMENTS, status=500, body="oops")
    with pytest.raises(UncertainOutcome):
        adapter.upsert_credit_note(CREDIT_NOTE, CUSTOMER, [(CREDIT_NOTE["allocations"][0], LedgerRef("7001"))],
                                   None, KEY)


@responses.activate
def test_after_an_uncertain_outcome_our_credit_note_is_adopted(uncertain):
    found = json.loads(fixture_text("credit_note_create.json"))["response"]["result"]["credit_note"]
    responses.add(responses.GET, CREDITS, json=page_of("credit_notes", found))
    responses.add(responses.GET, PAYMENTS, body=fixture_text("payment_search_empty.json"))
    responses.add(responses.POST, PAYMENTS, body=fixture_text("payment_credit_allocation.json"))
    written = uncertain.upsert_credit_note(CREDIT_NOTE, CUSTOMER,
                                           [(CREDIT_NOTE["allocations"][0], LedgerRef("7001"))], None, KEY)
    assert calls() == [("GET", "credit_notes/credit_notes"), ("GET", "payments/payments"),
                       ("POST", "payments/payments")]
    assert written.ledger_id == "9001"

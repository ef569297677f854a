"""Xero adapter verbs over a fake Xero (responses): what is sent, in which order, with which key.

Every Accounting API request sent here is also validated against Xero's OpenAPI (the `xero` fixture).
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import date
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bridge.errors import LedgerRejected, RetryableLedgerError, UncertainOutcome
from bridge.ledgers import base
from bridge.ledgers.base import BatchItem, LedgerRef
from bridge.ledgers.xero import Adapter, facts, rules

from .conftest import (API, AU_TENANT, CONTACT_ID, CREDIT_NOTE_ID, DRAFT_ID, FIXTURES, INVOICE_ID, PAYMENT_ID,
                       UK_TENANT, fixture_text, load_fixture)

KEY = "op_" + "a" * 37  # the longest key the sync engine hands in (40)
INVOICE = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
           "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "GBP",
           "amounts_include_tax": False, "status": "open", "memo": None, "payments": [],
           "lines": [{"description": "Consulting", "quantity": D("2"), "unit_price": D("100.00"),
                      "discount_percent": D("10"), "product_code": "CONSULT", "tax_category": "standard"},
                     {"description": "Hosting", "quantity": D("3"), "unit_price": D("12.3456"),
                      "tax_category": "zero"}]}
INVOICE_2 = "a0000000-0000-4000-8000-000000000002"
INVOICE_3 = "a0000000-0000-4000-8000-000000000003"


def query_of(call) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def sent(call) -> dict:
    return json.loads(call.request.body, parse_float=D)


def route(call) -> str:
    """`METHOD /Path` of a call, without the base and the query."""
    return f"{call.request.method} {urlsplit(call.request.url).path.removeprefix('/api.xro/2.0')}"


def numbered(number: str, external_id: str) -> dict:
    return {**INVOICE, "number": number, "external_id": external_id}


@pytest.fixture
def adapter(make_context) -> Adapter:
    return Adapter(make_context())


def test_the_package_exports_the_contract():
    package = importlib.import_module("bridge.ledgers.xero")
    assert issubclass(package.Adapter, base.Ledger) and issubclass(package.OAuth, base.OAuthProvider)
    assert package.Adapter.name == "xero" and callable(package.rules.check)
    assert Adapter.RATE_LIMITS == {"minute": (60, 60.0), "day": (5000, 86400.0)}
    assert (Adapter.CONCURRENT_REQUESTS, Adapter.BATCH_MAX) == (5, 50)


@pytest.mark.skipif("xero" not in base.LEDGERS, reason="base.LEDGERS has no xero entry yet (lead's change)")
def test_registered_under_its_name():
    assert base.load("xero").Adapter is Adapter


# --- invoices --------------------------------------------------------------------------------------

def test_a_new_invoice_is_put_once_with_the_operation_key_and_read_back(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    written = adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), None, KEY)
    (call,) = xero.calls
    assert route(call) == "PUT /Invoices"
    assert query_of(call) == {"summarizeErrors": "false", "unitdp": "4"}
    assert call.request.headers["Idempotency-Key"] == KEY and call.request.headers["xero-tenant-id"] == UK_TENANT
    body = sent(call)["Invoices"][0]
    assert body["Reference"] == "Invoice Bridge: inv_1001" and body["LineItems"][0]["DiscountRate"] == D("10")
    assert '"UnitAmount":12.3456' in call.request.body.decode()
    assert written.ledger_id == INVOICE_ID and written.extra == {"number": "INV-1001", "status": "AUTHORISED"}
    assert written.object["status"] == "open" and written.object["totals"]["total"] == D("253.04")


def test_an_existing_invoice_is_posted_to_its_id_last_write_wins(adapter, xero):
    xero.add(responses.POST, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoice_get_partially_paid.json"))
    written = adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), LedgerRef(INVOICE_ID), KEY)
    (call,) = xero.calls
    assert route(call) == f"POST /Invoices/{INVOICE_ID}" and query_of(call) == {"unitdp": "4"}
    assert sent(call)["Invoices"][0]["InvoiceID"] == INVOICE_ID
    assert call.request.headers["Idempotency-Key"] == KEY
    assert written.object["status"] == "partially_paid"


def test_after_an_uncertain_attempt_our_invoice_found_by_number_is_updated_not_created(make_context, xero):
    adapter = Adapter(make_context(after_uncertain=True))
    xero.add(responses.GET, f"{API}/Invoices", body=fixture_text("invoices_get_by_number.json"))
    xero.add(responses.POST, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoices_put.json"))
    adapter.upsert_invoice(numbered("INV-2001", "inv_2001"), LedgerRef(CONTACT_ID), None, KEY)
    lookup, update = xero.calls
    assert query_of(lookup)["InvoiceNumbers"] == "INV-2001"
    assert route(update) == f"POST /Invoices/{INVOICE_ID}"


def test_after_an_uncertain_attempt_with_nothing_found_the_invoice_is_created(make_context, xero):
    adapter = Adapter(make_context(after_uncertain=True))
    xero.add(responses.GET, f"{API}/Invoices", body=fixture_text("invoices_get_empty.json"))
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), None, KEY)
    assert [route(call) for call in xero.calls] == ["GET /Invoices", "PUT /Invoices"]


def test_a_refused_invoice_names_our_fields(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", status=400, body=fixture_text("error_400_invoice_validation.json"))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), None, KEY)
    assert [error["field"] for error in excinfo.value.errors] == [
        "number", "lines[0].account_code", "lines[1].tax_category"]


def test_an_invoice_the_mapping_cannot_place_is_refused_before_any_call(make_context, xero):
    adapter = Adapter(make_context(mapping={}))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_invoice(INVOICE, LedgerRef(CONTACT_ID), None, KEY)
    assert "lines[0].account_code" in [error["field"] for error in excinfo.value.errors]
    assert len(xero.calls) == 0


# --- batches ---------------------------------------------------------------------------------------

def test_a_batch_of_three_with_one_bad_invoice_gives_two_written_and_one_error_in_order(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put_batch_partial.json"))
    items = [BatchItem(f"op_{n}", numbered(f"INV-200{n}", f"inv_200{n}"), LedgerRef(CONTACT_ID)) for n in (1, 2, 3)]
    results = adapter.upsert_invoices(items, "batch_0001")
    (call,) = xero.calls
    assert route(call) == "PUT /Invoices" and query_of(call) == {"summarizeErrors": "false", "unitdp": "4"}
    assert call.request.headers["Idempotency-Key"] == "batch_0001"
    assert [invoice["InvoiceNumber"] for invoice in sent(call)["Invoices"]] == ["INV-2001", "INV-2002", "INV-2003"]
    assert [result.key for result in results] == ["op_1", "op_2", "op_3"]
    assert results[0].written.ledger_id == INVOICE_ID and results[0].error is None
    assert results[2].written.ledger_id == INVOICE_3 and results[2].error is None
    assert results[1].written is None and isinstance(results[1].error, LedgerRejected)
    assert [error["field"] for error in results[1].error.errors] == ["number", "lines[1].account_code"]


def test_a_batch_mixing_new_and_written_invoices_puts_the_new_and_posts_the_others(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put_batch_ok.json"))
    xero.add(responses.POST, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    items = [BatchItem("op_1", numbered("INV-2001", "inv_2001"), LedgerRef(CONTACT_ID)),
             BatchItem("op_0", INVOICE, LedgerRef(CONTACT_ID), existing=LedgerRef(INVOICE_ID)),
             BatchItem("op_2", numbered("INV-2002", "inv_2002"), LedgerRef(CONTACT_ID))]
    results = adapter.upsert_invoices(items, "batch_0002")
    put, post = xero.calls
    assert route(put) == "PUT /Invoices" and put.request.headers["Idempotency-Key"] == "batch_0002"
    assert route(post) == "POST /Invoices" and post.request.headers["Idempotency-Key"] == "batch_0002-u"
    assert query_of(post) == {"summarizeErrors": "false", "unitdp": "4"}
    assert [invoice["InvoiceNumber"] for invoice in sent(put)["Invoices"]] == ["INV-2001", "INV-2002"]
    assert sent(post)["Invoices"][0]["InvoiceID"] == INVOICE_ID
    assert [result.written.ledger_id for result in results] == [INVOICE_ID, INVOICE_ID, INVOICE_2]


def test_a_batch_member_the_mapping_refuses_is_not_sent_and_the_rest_go(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put_batch_ok.json"))
    bad = {**numbered("INV-9", "inv_9"), "lines": [{"description": "x", "quantity": D("1"),
                                                      "unit_price": D("1.00001"), "tax_category": "standard"}]}
    items = [BatchItem("op_1", numbered("INV-2001", "inv_2001"), LedgerRef(CONTACT_ID)),
             BatchItem("op_bad", bad, LedgerRef(CONTACT_ID)),
             BatchItem("op_2", numbered("INV-2002", "inv_2002"), LedgerRef(CONTACT_ID))]
    results = adapter.upsert_invoices(items, "batch_0003")
    assert len(sent(xero.calls[0])["Invoices"]) == 2
    assert [result.key for result in results] == ["op_1", "op_bad", "op_2"]
    assert results[1].error.errors[0]["field"] == "lines[0].unit_price"
    assert results[0].written and results[2].written


def test_a_whole_batch_400_refuses_the_bad_member_and_hands_the_others_back_for_another_batch(adapter, xero):
    refused = load_fixture("invoices_put_batch_partial.json")["Invoices"][1]
    fine = {key: value for key, value in refused.items() if key not in ("ValidationErrors", "HasErrors",
                                                                      "StatusAttributeString")}
    xero.add(responses.PUT, f"{API}/Invoices", status=400, json={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": json.loads(json.dumps([fine, refused], default=str))})
    items = [BatchItem(f"op_{n}", numbered(f"INV-200{n}", f"inv_200{n}"), LedgerRef(CONTACT_ID)) for n in (1, 2)]
    results = adapter.upsert_invoices(items, "batch_0004")
    assert isinstance(results[0].error, RetryableLedgerError)
    assert isinstance(results[1].error, LedgerRejected)


def test_a_batch_answer_that_does_not_match_what_was_sent_is_uncertain(adapter, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    items = [BatchItem(f"op_{n}", numbered(f"INV-200{n}", f"inv_200{n}"), LedgerRef(CONTACT_ID)) for n in (1, 2)]
    with pytest.raises(UncertainOutcome):
        adapter.upsert_invoices(items, "batch_0005")


def test_a_batch_over_fifty_is_refused(adapter):
    items = [BatchItem(f"op_{n}", INVOICE, LedgerRef(CONTACT_ID)) for n in range(facts.BATCH_MAX + 1)]
    with pytest.raises(ValueError):
        adapter.upsert_invoices(items, "batch_big")


def test_find_invoice_ids_asks_by_number_and_keeps_live_sales_invoices(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices", body=fixture_text("invoices_get_by_number.json"))
    found = adapter.find_invoice_ids(["INV-2001", "INV-2002", "INV-2003"])
    assert found == {"INV-2001": INVOICE_ID, "INV-2003": INVOICE_3}  # INV-2002 is a supplier bill
    query = query_of(xero.calls[0])
    assert query["InvoiceNumbers"] == "INV-2001,INV-2002,INV-2003"
    assert query["Statuses"] == "DRAFT,SUBMITTED,AUTHORISED,PAID"


# --- void, read, find ------------------------------------------------------------------------------

def test_void_voids_an_approved_invoice(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoice_get_partially_paid.json"))
    xero.add(responses.POST, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoice_voided.json"))
    written = adapter.void_invoice(LedgerRef(INVOICE_ID), KEY)
    read, void = xero.calls
    assert sent(void) == {"Invoices": [{"InvoiceID": INVOICE_ID, "Status": "VOIDED"}]}
    assert void.request.headers["Idempotency-Key"] == KEY
    assert written.object["status"] == "void"


def test_void_deletes_a_draft(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices/{DRAFT_ID}", body=fixture_text("invoice_get_draft.json"))
    xero.add(responses.POST, f"{API}/Invoices/{DRAFT_ID}", body=fixture_text("invoice_deleted.json"))
    written = adapter.void_invoice(LedgerRef(DRAFT_ID), KEY)
    assert sent(xero.calls[1]) == {"Invoices": [{"InvoiceID": DRAFT_ID, "Status": "DELETED"}]}
    assert written.object["status"] == "void"


def test_void_of_an_invoice_already_voided_writes_nothing(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoice_voided.json"))
    assert adapter.void_invoice(LedgerRef(INVOICE_ID), KEY).object["status"] == "void"
    assert len(xero.calls) == 1


def test_get_invoice_reads_it_back_with_four_decimal_unit_amounts(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices/{INVOICE_ID}", body=fixture_text("invoice_get_partially_paid.json"))
    invoice = adapter.get_invoice(LedgerRef(INVOICE_ID))
    assert query_of(xero.calls[0]) == {"unitdp": "4"}
    assert invoice["status"] == "partially_paid" and invoice["balance"] == D("153.04")


def test_find_invoices_by_number_and_customer_newest_first(adapter, xero):
    xero.add(responses.GET, f"{API}/Invoices", body=fixture_text("invoices_get_by_number.json"))
    found = adapter.find_invoices(number="INV-2001", customer=LedgerRef(CONTACT_ID), limit=2)
    assert query_of(xero.calls[0]) == {"where": 'Type=="ACCREC"', "order": "Date DESC", "InvoiceNumbers": "INV-2001",
                                       "ContactIDs": CONTACT_ID, "unitdp": "4", "page": "1", "pageSize": "2"}
    assert len(found) == 2 and found[0]["ledger_id"] == INVOICE_ID


# --- customers -------------------------------------------------------------------------------------

def test_a_customer_already_holding_our_contact_number_is_linked_without_a_write(adapter, xero):
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_by_number.json"))
    written = adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd"}, None, KEY)
    assert query_of(xero.calls[0]) == {"where": 'ContactNumber=="cus_1"', "page": "1"}
    assert len(xero.calls) == 1 and written.ledger_id == CONTACT_ID and written.warnings == []


def test_a_customer_with_an_existing_exact_name_is_linked_with_a_warning(adapter, xero):
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_empty.json"))
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_by_name.json"))
    written = adapter.upsert_customer({"external_id": "cus_9", "name": "O'Brien & Sons"}, None, KEY)
    by_number, by_name = xero.calls
    assert query_of(by_name) == {"where": 'Name=="O\'Brien & Sons"', "page": "1"}
    assert written.ledger_id == "c0000000-0000-4000-8000-000000000002"
    assert written.warnings == ["Linked to the existing Xero contact \"O'Brien & Sons\" (matched by name)"]


def test_a_new_customer_is_put_with_its_contact_number_and_the_operation_key(adapter, xero):
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_empty.json"))
    xero.add(responses.PUT, f"{API}/Contacts", body=fixture_text("contacts_put.json"))
    written = adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com"},
                                      None, KEY)
    assert [route(call) for call in xero.calls] == ["GET /Contacts", "GET /Contacts", "GET /Contacts",
                                                    "PUT /Contacts"]
    assert [query_of(call)["where"] for call in xero.calls[:3]] == [
        'ContactNumber=="cus_1"', 'EmailAddress=="ap@example.com"', 'Name=="Acme Ltd"']
    create = xero.calls[3]
    assert create.request.headers["Idempotency-Key"] == KEY and query_of(create) == {"summarizeErrors": "false"}
    assert sent(create) == {"Contacts": [{"Name": "Acme Ltd", "ContactNumber": "cus_1",
                                          "EmailAddress": "ap@example.com"}]}
    assert written.ledger_id == CONTACT_ID and written.object["external_id"] == "cus_1"


def test_match_create_only_looks_for_our_own_contact_number(make_context, xero):
    adapter = Adapter(make_context(mapping={"customers": {"match": "create"}}))
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_empty.json"))
    xero.add(responses.PUT, f"{API}/Contacts", body=fixture_text("contacts_put.json"))
    adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com"}, None, KEY)
    assert [route(call) for call in xero.calls] == ["GET /Contacts", "PUT /Contacts"]


def test_a_linked_customer_is_updated_by_id_without_touching_its_contact_number(adapter, xero):
    xero.add(responses.POST, f"{API}/Contacts/{CONTACT_ID}", body=fixture_text("contacts_put.json"))
    adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd", "currency": "GBP"}, LedgerRef(CONTACT_ID),
                            KEY)
    (call,) = xero.calls
    assert sent(call) == {"Contacts": [{"Name": "Acme Ltd", "DefaultCurrency": "GBP"}]}
    assert call.request.headers["Idempotency-Key"] == KEY


def test_a_taken_contact_name_is_refused_naming_customer_name(make_context, xero):
    adapter = Adapter(make_context(mapping={"customers": {"match": ["external_id"]}}))
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_empty.json"))
    xero.add(responses.PUT, f"{API}/Contacts", status=400, body=fixture_text("error_400_contact_duplicate_name.json"))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_customer({"external_id": "cus_1", "name": "Acme Ltd"}, None, KEY)
    assert [error["field"] for error in excinfo.value.errors] == ["customer.name"]


def test_find_customers_by_email_and_name(adapter, xero):
    xero.add(responses.GET, f"{API}/Contacts", body=fixture_text("contacts_get_by_number.json"))
    found = adapter.find_customers(email="ap@example.com", name="Acme Ltd")
    assert query_of(xero.calls[0])["where"] == 'EmailAddress=="ap@example.com" AND Name=="Acme Ltd"'
    assert found[0]["email"] == "ap@example.com"


# --- payments --------------------------------------------------------------------------------------

PAYMENT = {"external_id": "pay_1", "invoice_external_id": "inv_1001", "amount": D("100.00"),
           "date": date(2026, 1, 20), "reference": "CHK-1234"}


def test_a_payment_is_put_on_the_invoice_into_the_default_bank_account(adapter, xero):
    xero.add(responses.PUT, f"{API}/Payments", body=fixture_text("payments_put.json"))
    written = adapter.record_payment(PAYMENT, LedgerRef(INVOICE_ID), LedgerRef(CONTACT_ID), None, KEY)
    (call,) = xero.calls
    assert route(call) == "PUT /Payments" and query_of(call) == {"summarizeErrors": "false"}
    assert call.request.headers["Idempotency-Key"] == KEY
    assert sent(call) == {"Payments": [{"Invoice": {"InvoiceID": INVOICE_ID}, "Account": {"Code": "090"},
                                        "Date": "2026-01-20", "Amount": D("100.00"), "Reference": "CHK-1234"}]}
    assert '"Amount":100.00' in call.request.body.decode()
    assert written.ledger_id == PAYMENT_ID and written.object["amount"] == D("100.00")


def test_a_changed_payment_is_deleted_then_written_anew_with_its_own_key(adapter, xero):
    xero.add(responses.POST, f"{API}/Payments/{PAYMENT_ID}", body=fixture_text("payment_deleted.json"))
    xero.add(responses.PUT, f"{API}/Payments", body=fixture_text("payments_put_replacement.json"))
    written = adapter.record_payment({**PAYMENT, "amount": D("120.00")}, LedgerRef(INVOICE_ID),
                                     LedgerRef(CONTACT_ID), LedgerRef(PAYMENT_ID), KEY)
    delete, create = xero.calls
    assert route(delete) == f"POST /Payments/{PAYMENT_ID}" and sent(delete) == {"Status": "DELETED"}
    assert delete.request.headers["Idempotency-Key"] == KEY
    assert create.request.headers["Idempotency-Key"] == KEY + "-n"
    assert written.ledger_id == "b0000000-0000-4000-8000-000000000002"
    assert written.extra == {"replaced": PAYMENT_ID}


def test_a_payment_over_the_amount_due_is_refused_naming_amount(adapter, xero):
    xero.add(responses.PUT, f"{API}/Payments", body=fixture_text("payments_put_over_amount.json"))
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.record_payment({**PAYMENT, "amount": D("9999.00")}, LedgerRef(INVOICE_ID), LedgerRef(CONTACT_ID),
                               None, KEY)
    assert [error["field"] for error in excinfo.value.errors] == ["amount"]


# --- credit notes ----------------------------------------------------------------------------------

CREDIT_NOTE = {"external_id": "cn_7", "number": "CN-7", "customer": {"external_id": "cus_1"},
               "issue_date": date(2026, 1, 25), "currency": "GBP",
               "lines": [{"description": "Refund", "quantity": D("1"), "unit_price": D("50.00"),
                          "tax_category": "standard"}],
               "allocations": [{"invoice_external_id": "inv_1001", "amount": D("50.00"), "date": None}]}


def test_a_credit_note_is_put_then_allocated_with_its_own_key_and_read_again(adapter, xero):
    xero.add(responses.PUT, f"{API}/CreditNotes", body=fixture_text("credit_notes_put.json"))
    xero.add(responses.PUT, f"{API}/CreditNotes/{CREDIT_NOTE_ID}/Allocations",
             body=fixture_text("allocations_put.json"))
    xero.add(responses.GET, f"{API}/CreditNotes/{CREDIT_NOTE_ID}", body=fixture_text("credit_note_get_allocated.json"))
    written = adapter.upsert_credit_note(CREDIT_NOTE, LedgerRef(CONTACT_ID),
                                         [(CREDIT_NOTE["allocations"][0], LedgerRef(INVOICE_ID))], None, KEY)
    create, allocate, reread = xero.calls
    assert query_of(create) == {"summarizeErrors": "false", "unitdp": "4"}
    assert create.request.headers["Idempotency-Key"] == KEY
    assert sent(create)["CreditNotes"][0]["Type"] == "ACCRECCREDIT"
    assert allocate.request.headers["Idempotency-Key"] == KEY + "-a0"
    assert sent(allocate) == {"Allocations": [{"Invoice": {"InvoiceID": INVOICE_ID}, "Amount": D("50.00"),
                                               "Date": "2026-01-25"}]}
    assert route(reread) == f"GET /CreditNotes/{CREDIT_NOTE_ID}"
    assert written.ledger_id == CREDIT_NOTE_ID
    assert written.extra == {"number": "CN-7", "allocation_ids": ["f0000000-0000-4000-8000-000000000001"]}
    assert written.object["remaining_credit"] == D("10.00")


def test_an_allocated_credit_note_is_not_edited_nor_allocated_twice(adapter, xero):
    xero.add(responses.GET, f"{API}/CreditNotes/{CREDIT_NOTE_ID}", body=fixture_text("credit_note_get_allocated.json"))
    written = adapter.upsert_credit_note(CREDIT_NOTE, LedgerRef(CONTACT_ID),
                                         [(CREDIT_NOTE["allocations"][0], LedgerRef(INVOICE_ID))],
                                         LedgerRef(CREDIT_NOTE_ID), KEY)
    (call,) = xero.calls
    assert route(call) == f"GET /CreditNotes/{CREDIT_NOTE_ID}"
    assert written.extra["allocation_ids"] == [] and "allows no edits" in written.warnings[0]


def test_an_unallocated_credit_note_is_updated_by_id(adapter, xero):
    xero.add(responses.GET, f"{API}/CreditNotes/{CREDIT_NOTE_ID}", body=fixture_text("credit_notes_put.json"))
    xero.add(responses.POST, f"{API}/CreditNotes/{CREDIT_NOTE_ID}", body=fixture_text("credit_notes_put.json"))
    written = adapter.upsert_credit_note({**CREDIT_NOTE, "allocations": []}, LedgerRef(CONTACT_ID), [],
                                         LedgerRef(CREDIT_NOTE_ID), KEY)
    read, update = xero.calls
    assert route(update) == f"POST /CreditNotes/{CREDIT_NOTE_ID}" and query_of(update) == {"unitdp": "4"}
    assert sent(update)["CreditNotes"][0]["CreditNoteID"] == CREDIT_NOTE_ID
    assert update.request.headers["Idempotency-Key"] == KEY
    assert written.warnings == []


def test_a_refused_allocation_names_its_index(adapter, xero):
    xero.add(responses.PUT, f"{API}/CreditNotes", body=fixture_text("credit_notes_put.json"))
    xero.add(responses.PUT, f"{API}/CreditNotes/{CREDIT_NOTE_ID}/Allocations", json={"Allocations": [{
        "Amount": 500.00, "Date": "/Date(1769299200000+0000)/", "Invoice": {"InvoiceID": INVOICE_ID},
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": "Payment amount exceeds the amount outstanding on this document"}]}]})
    with pytest.raises(LedgerRejected) as excinfo:
        adapter.upsert_credit_note(CREDIT_NOTE, LedgerRef(CONTACT_ID),
                                   [({"amount": D("500.00")}, LedgerRef(INVOICE_ID))], None, KEY)
    assert [error["field"] for error in excinfo.value.errors] == ["allocations[0].amount"]


# --- organisation and reference data -----------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "tenant", "country", "currency"), [
    ("organisation_uk.json", UK_TENANT, "GB", "GBP"),
    ("organisation_au.json", AU_TENANT, "AU", "AUD"),
])
def test_tenant_info_reads_the_organisation(make_context, xero, fixture, tenant, country, currency):
    xero.add(responses.GET, f"{API}/Organisation", body=fixture_text(fixture))
    info = Adapter(make_context(tenant_id=tenant)).tenant_info()
    assert (info["id"], info["country"], info["home_currency"]) == (tenant, country, currency)
    assert xero.calls[0].request.headers["xero-tenant-id"] == tenant


def test_reference_data_for_pickers(adapter, xero):
    xero.add(responses.GET, f"{API}/Accounts", body=fixture_text("accounts.json"))
    xero.add(responses.GET, f"{API}/TaxRates", body=fixture_text("tax_rates_uk.json"))
    xero.add(responses.GET, f"{API}/Items", body=fixture_text("items.json"))
    assert [account["id"] for account in adapter.list_accounts()][:1] == ["090"]
    assert [rate["id"] for rate in adapter.list_tax_rates()] == [
        "OUTPUT2", "RROUTPUT", "ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE"]  # INPUT2 is for purchases
    assert [item["id"] for item in adapter.list_items()] == ["CONSULT", "OLDKIT"]


# --- pre-queue rules -------------------------------------------------------------------------------------

def test_rules_refuse_what_xero_would_refuse_and_warn_about_what_it_drops():
    warnings, errors = rules.check("invoice", {
        **INVOICE, "number": "N" * 256, "memo": "Thanks", "status": "draft",
        "customer": {"external_id": "c" * 60, "name": "n" * 256},
        "lines": [{"quantity": D("1"), "unit_price": D("1")}],
        "payments": [{"amount": D("1"), "reference": "r"}]})
    assert [error["field"] for error in errors] == ["number", "lines[0].description", "customer.name", "payments"]
    assert len(warnings) == 2 and "ContactNumber" in warnings[0] and "memo" in warnings[1]


def test_rules_pass_a_plain_invoice_and_check_credit_note_discounts():
    assert rules.check("invoice", INVOICE) == ([], [])
    _, errors = rules.check("credit_note", {**CREDIT_NOTE, "lines": [
        {"description": "x", "quantity": D("1"), "unit_price": D("10.00"), "discount_percent": D("33.3333")}]})
    assert [error["field"] for error in errors] == ["lines[0].discount_percent"]
    assert rules.check("payment", {**PAYMENT, "reference": "r" * 256})[1][0]["field"] == "reference"
    assert rules.check("customer", {"external_id": "cus_1", "name": "Acme"}) == ([], [])


# --- fixtures ----------------------------------------------------------------------------------------

def test_recorded_fixtures_are_scrubbed():
    for path in FIXTURES.glob("*.json"):
        text = path.read_text()
        json.loads(text)
        emails = re.findall(r"[\w.+-]+@([\w-]+\.[\w.]+)", text)
        assert all(domain == "example.com" for domain in emails), path.name
        assert not re.search(r'"(access_token|refresh_token|id_token)"\s*:\s*"(?!fake-)', text), path.name
        assert not re.search(r"(?i)(bearer |eyJ[\w-]{10,}|\"APIKey\")", text), path.name
        ids = set(re.findall(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", text))
        invented = re.compile(r"^(?:[0-9a-f]{1,2}0{6,7}|([0-9a-f])\1{7})-")  # e.g. a0000000-, 11111111-
        assert all(invented.match(uuid) for uuid in ids), (path.name, sorted(ids))

"""Xero mapping: pure functions on normalized dicts and recorded Xero JSON, no HTTP."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal as D

import pytest

from bridge.errors import LedgerRejected
from bridge.ledgers.xero import facts
from bridge.ledgers.xero.client import dumps
from bridge.ledgers.xero.mapping import (
    MEMO_WARNING, account_from_xero, allocation_payload, back_reference, contact_number, contact_payload,
    credit_note_from_xero, credit_note_payload, customer_from_xero, element_errors, element_failed,
    element_warnings, error_body_errors, invoice_from_xero, invoice_payload, invoice_status, item_from_xero,
    organisation_from_xero, parse_date, parse_datetime, payment_from_xero, payment_payload, source_external_id,
    tax_rate_from_xero)

from .conftest import AU_MAPPING, AU_TENANT, CONTACT_ID, INVOICE_ID, UK_MAPPING, UK_TENANT, load_fixture

BANK_ACCOUNT_ID = "90000000-0000-4000-8000-000000000091"


def line(quantity="1", unit_price="100.00", **extra) -> dict:
    return {"description": "Work", "quantity": D(quantity), "unit_price": D(unit_price), **extra}


def invoice(*lines, **extra) -> dict:
    document = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
                "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "GBP",
                "amounts_include_tax": False, "lines": list(lines) or [line(tax_category="standard")],
                "memo": None, "status": "open"}
    document.update(extra)
    return document


def fields_of(excinfo) -> list[str]:
    return [error["field"] for error in excinfo.value.errors]


# --- contacts --------------------------------------------------------------------------------------

def test_contact_payload_maps_name_number_email_postal_address_phone_tax_number_and_currency():
    body = contact_payload({
        "external_id": "cus_1", "name": "  Acme Ltd ", "email": "ap@example.com", "phone": "020 555 0100",
        "address": {"line1": "1 Example Street", "line2": None, "city": "London", "region": None,
                    "postal_code": "EC1A 1AA", "country": "GB"},
        "tax_number": "GB123456789", "currency": "GBP"})
    assert body == {
        "Name": "Acme Ltd", "ContactNumber": "cus_1", "EmailAddress": "ap@example.com",
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "1 Example Street", "City": "London",
                       "PostalCode": "EC1A 1AA", "Country": "GB"}],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "020 555 0100"}],
        "TaxNumber": "GB123456789", "DefaultCurrency": "GBP"}


def test_an_update_payload_leaves_the_contact_number_alone():
    assert "ContactNumber" not in contact_payload({"external_id": "cus_1", "name": "Acme"}, with_number=False)


def test_an_external_id_longer_than_50_becomes_a_stable_distinct_50_character_contact_number():
    long_a, long_b = "customer-" + "a" * 60 + "-1", "customer-" + "a" * 60 + "-2"
    number_a = contact_number(long_a)
    assert len(number_a) == facts.CONTACT_NUMBER_MAX
    assert number_a == contact_number(long_a)  # stable: it can be looked up again
    assert number_a != contact_number(long_b)  # same head, different ids
    assert number_a.startswith("customer-aaaa") and number_a[-17] == "~"
    assert contact_number("x" * 50) == "x" * 50
    assert customer_from_xero({"ContactNumber": number_a})["external_id"] is None


@pytest.mark.parametrize(("customer", "field"), [
    ({"external_id": "c", "name": "  "}, "customer.name"),
    ({"external_id": "c", "name": "n" * 256}, "customer.name"),
    ({"external_id": "c", "name": "Acme", "phone": "5" * 51}, "customer.phone"),
    ({"external_id": "c", "name": "Acme", "address": {"postal_code": "9" * 51}}, "customer.address.postal_code"),
])
def test_contact_fields_xero_cannot_take_are_refused_by_name(customer, field):
    with pytest.raises(LedgerRejected) as excinfo:
        contact_payload(customer)
    assert fields_of(excinfo) == [field]


def test_contact_read_back():
    customer = customer_from_xero(load_fixture("contacts_get_by_number.json")["Contacts"][0])
    assert customer["ledger_id"] == CONTACT_ID and customer["external_id"] == "cus_1"
    assert customer["name"] == "Acme Ltd" and customer["email"] == "ap@example.com"
    assert customer["phone"] == "44 020 555-0100"
    assert customer["address"] == {"line1": "1 Example Street", "line2": None, "city": "London", "region": None,
                                   "postal_code": "EC1A 1AA", "country": "GB"}
    assert customer["balance"] == D("253.04") and isinstance(customer["balance"], D)
    assert customer["active"] is True and customer["currency"] == "GBP"


# --- invoices: header, lines, tax ----------------------------------------------------------------------

def test_uk_invoice_payload_is_an_authorised_accrec_with_a_back_reference_and_mapped_lines():
    body, warnings = invoice_payload(invoice(
        line("2", "100.00", description="Consulting", product_code="CONSULT", tax_category="standard",
             discount_percent=D("10")),
        line("3", "12.3456", description="Hosting", tax_category="zero")), CONTACT_ID, UK_MAPPING)
    assert warnings == []
    assert {key: body[key] for key in ("Type", "Contact", "Date", "DueDate", "InvoiceNumber", "Reference",
                                       "CurrencyCode", "Status", "LineAmountTypes")} == {
        "Type": "ACCREC", "Contact": {"ContactID": CONTACT_ID}, "Date": "2026-01-15", "DueDate": "2026-02-14",
        "InvoiceNumber": "INV-1001", "Reference": "Invoice Bridge: inv_1001", "CurrencyCode": "GBP",
        "Status": "AUTHORISED", "LineAmountTypes": "Exclusive"}
    assert body["LineItems"] == [
        {"Description": "Consulting", "Quantity": D("2"), "UnitAmount": D("100.00"), "DiscountRate": D("10"),
         "ItemCode": "CONSULT", "AccountCode": "200", "TaxType": "OUTPUT2"},
        {"Description": "Hosting", "Quantity": D("3"), "UnitAmount": D("12.3456"), "AccountCode": "260",
         "TaxType": "ZERORATEDOUTPUT"}]
    assert "InvoiceID" not in body


def test_decimals_reach_the_wire_exactly_including_four_decimal_unit_amounts():
    body, _ = invoice_payload(invoice(line("1.5", "0.0001", tax_category="standard", discount_percent=D("12.5")),
                                      exchange_rate=D("1.16282400")), CONTACT_ID, UK_MAPPING)
    text = dumps(body)
    assert '"Quantity":1.5' in text and '"UnitAmount":0.0001' in text and '"DiscountRate":12.5' in text
    assert '"CurrencyRate":1.16282400' in text


def test_line_discounts_are_sent_as_discount_rate_never_folded():
    body, warnings = invoice_payload(invoice(line("3", "9.99", tax_category="standard",
                                                  discount_percent=D("33.3333"))), CONTACT_ID, UK_MAPPING)
    assert body["LineItems"][0]["UnitAmount"] == D("9.99") and body["LineItems"][0]["DiscountRate"] == D("33.3333")
    assert not any("folded" in warning for warning in warnings)


def test_draft_invoice_is_a_xero_draft_and_the_due_date_defaults_to_the_issue_date():
    body, _ = invoice_payload(invoice(status="draft", due_date=None), CONTACT_ID, UK_MAPPING)
    assert body["Status"] == "DRAFT" and body["DueDate"] == "2026-01-15"


def test_an_existing_invoice_carries_its_id():
    body, _ = invoice_payload(invoice(), CONTACT_ID, UK_MAPPING, INVOICE_ID)
    assert body["InvoiceID"] == INVOICE_ID


def test_au_invoice_with_amounts_including_tax_is_inclusive_with_gst_output():
    body, _ = invoice_payload(invoice(line("1", "110.00", tax_category="standard"), currency="AUD",
                                      amounts_include_tax=True), CONTACT_ID, AU_MAPPING)
    assert body["LineAmountTypes"] == "Inclusive"
    assert body["LineItems"][0]["TaxType"] == "OUTPUT" and body["LineItems"][0]["AccountCode"] == "200"


def test_uk_tax_categories_map_to_uk_tax_types_and_unmapped_ones_fall_back_with_a_warning():
    body, warnings = invoice_payload(invoice(line(tax_category="exempt"), line(tax_category="reduced"),
                                             line()), CONTACT_ID, UK_MAPPING)
    assert [row["TaxType"] for row in body["LineItems"]] == ["EXEMPTOUTPUT", "NONE", "NONE"]
    assert warnings == ["lines[1]: tax category 'reduced' is not mapped; written with the default tax type NONE"]


def test_no_tax_mapping_sends_no_tax_types_at_all():
    mapping = {**UK_MAPPING, "tax_categories": {}, "defaults": {"income_account": "200"},
               "xero": {"line_amount_types": "NoTax"}}
    body, warnings = invoice_payload(invoice(line(tax_category="standard")), CONTACT_ID, mapping)
    assert body["LineAmountTypes"] == "NoTax" and "TaxType" not in body["LineItems"][0]
    assert warnings == ["mapping.xero.line_amount_types is NoTax: tax categories ignored"]


def test_account_code_comes_from_the_line_then_the_product_then_the_default():
    body, _ = invoice_payload(invoice(line(tax_category="standard", account_code="201"),
                                      line(tax_category="standard", product_code="CONSULT"),
                                      line(tax_category="standard", product_code="UNMAPPED")), CONTACT_ID, UK_MAPPING)
    assert [row["AccountCode"] for row in body["LineItems"]] == ["201", "200", "260"]
    assert "ItemCode" not in body["LineItems"][2]


def test_missing_account_and_tax_type_are_refused_naming_each_line():
    mapping = {"tax_categories": {"standard": "OUTPUT2"}, "products": {"CONSULT": {"account": "200"}}}
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="standard", product_code="CONSULT"), line(tax_category="zero")),
                        CONTACT_ID, mapping)
    assert fields_of(excinfo) == ["lines[1].account_code", "lines[1].tax_category"]
    assert {error["code"] for error in excinfo.value.errors} == {"mapping_missing"}


@pytest.mark.parametrize(("bad_line", "field"), [
    (line("1", "10.12345", tax_category="standard"), "lines[0].unit_price"),
    (line("1.00001", "10", tax_category="standard"), "lines[0].quantity"),
    ({"quantity": D("1"), "unit_price": D("5"), "tax_category": "standard"}, "lines[0].description"),
])
def test_lines_xero_cannot_take_are_refused(bad_line, field):
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(bad_line), CONTACT_ID, UK_MAPPING)
    assert fields_of(excinfo) == [field]


def test_memo_is_a_warning_and_a_long_external_id_gives_a_shortened_reference():
    long_id = "inv-" + "9" * 300
    body, warnings = invoice_payload(invoice(memo="Thanks!", external_id=long_id), CONTACT_ID, UK_MAPPING)
    assert warnings == [MEMO_WARNING]
    assert len(body["Reference"]) == facts.REFERENCE_MAX and body["Reference"] == back_reference(long_id)
    assert source_external_id(body["Reference"]) is None
    assert source_external_id("Invoice Bridge: inv_1001") == "inv_1001"
    assert source_external_id("Website design") is None


# --- credit notes ------------------------------------------------------------------------------------

def test_credit_note_is_an_authorised_accreccredit_and_its_discounts_are_folded_when_exact():
    body, warnings = credit_note_payload({
        "external_id": "cn_7", "number": "CN-7", "issue_date": date(2026, 1, 25), "currency": "GBP",
        "lines": [line("1", "50.00", description="Refund", tax_category="standard", discount_percent=D("10"))]},
        CONTACT_ID, UK_MAPPING, None)
    assert body["Type"] == "ACCRECCREDIT" and body["Status"] == "AUTHORISED" and body["CreditNoteNumber"] == "CN-7"
    assert body["LineItems"][0]["UnitAmount"] == D("45.00") and "DiscountRate" not in body["LineItems"][0]
    assert warnings == ["lines[0]: 10% discount folded into the unit price (Xero credit notes take no discounts)"]


def test_credit_note_discount_that_cannot_be_folded_is_refused():
    with pytest.raises(LedgerRejected) as excinfo:
        credit_note_payload({"external_id": "cn_7", "issue_date": date(2026, 1, 25),
                             "lines": [line("1", "10.00", tax_category="standard", discount_percent=D("33.3333"))]},
                            CONTACT_ID, UK_MAPPING)
    assert fields_of(excinfo) == ["lines[0].discount_percent"]


def test_credit_note_read_back_with_its_allocations():
    note = credit_note_from_xero(load_fixture("credit_note_get_allocated.json")["CreditNotes"][0])
    assert note["ledger_id"] == "d0000000-0000-4000-8000-000000000001" and note["external_id"] == "cn_7"
    assert note["remaining_credit"] == D("10.00") and note["totals"]["total"] == D("60.00")
    assert note["allocations"] == [{"ledger_id": "f0000000-0000-4000-8000-000000000001",
                                    "invoice": {"ledger_id": INVOICE_ID}, "amount": D("50.00"),
                                    "date": date(2026, 1, 25)}]


# --- read back ---------------------------------------------------------------------------------------

def test_invoice_read_back_is_exact():
    read = invoice_from_xero(load_fixture("invoices_put.json")["Invoices"][0])
    assert read["ledger_id"] == INVOICE_ID and read["number"] == "INV-1001" and read["external_id"] == "inv_1001"
    assert read["status"] == "open" and read["balance"] == D("253.04")
    assert read["totals"] == {"subtotal": D("217.04"), "tax": D("36.00"), "total": D("253.04")}
    assert all(isinstance(value, D) for value in read["totals"].values())
    assert read["issue_date"] == date(2026, 1, 15) and read["due_date"] == date(2026, 2, 14)
    assert read["customer"] == {"ledger_id": CONTACT_ID, "name": "Acme Ltd"}
    assert read["currency"] == "GBP" and read["amounts_include_tax"] is False
    assert read["lines"][0] == {"description": "Consulting", "quantity": D("2.0000"), "unit_price": D("100.0000"),
                                "discount_percent": D("10.00"), "amount": D("180.00"), "item": "CONSULT",
                                "account_code": "200", "tax_code": "OUTPUT2", "tax_amount": D("36.00")}
    assert str(read["lines"][1]["unit_price"]) == "12.3456"
    assert read["updated_at"] == datetime(2026, 1, 15, 10, 0, 1, 117000, tzinfo=timezone.utc)


def test_au_inclusive_invoice_read_back():
    read = invoice_from_xero(load_fixture("invoice_au_inclusive.json")["Invoices"][0])
    assert read["amounts_include_tax"] is True and read["currency"] == "AUD"
    assert read["totals"] == {"subtotal": D("100.00"), "tax": D("10.00"), "total": D("110.00")}


@pytest.mark.parametrize(("fixture", "status", "balance"), [
    ("invoices_put.json", "open", D("253.04")),
    ("invoice_get_partially_paid.json", "partially_paid", D("153.04")),
    ("invoice_get_paid.json", "paid", D("0.00")),
    ("invoice_get_draft.json", "draft", D("253.04")),
    ("invoice_voided.json", "void", D("0.00")),
    ("invoice_deleted.json", "void", D("0.00")),
])
def test_invoice_status_from_xero_status_and_amounts(fixture, status, balance):
    read = invoice_from_xero(load_fixture(fixture)["Invoices"][0])
    assert (read["status"], read["balance"]) == (status, balance)


def test_an_authorised_invoice_credited_in_full_is_paid():
    assert invoice_status({"Status": "AUTHORISED", "Total": D("10"), "AmountDue": D("0"),
                           "AmountCredited": D("10")}) == "paid"
    assert invoice_status({"Status": "SUBMITTED", "Total": D("10"), "AmountDue": D("10")}) == "draft"


@pytest.mark.parametrize(("raw", "expected"), [
    ("/Date(1768435200000+0000)/", date(2026, 1, 15)),
    ("/Date(1552347991000+0000)/", date(2019, 3, 11)),
    ("/Date(-86400000+0000)/", date(1969, 12, 31)),
    ("/Date(1552326816230)/", date(2019, 3, 11)),
    ("2026-01-15T00:00:00", date(2026, 1, 15)),
    (None, None),
    ("", None),
])
def test_ms_json_dates(raw, expected):
    assert parse_date(raw) == expected


def test_ms_json_timestamps_are_aware_utc():
    assert parse_datetime("/Date(1552347991000+0000)/") == datetime(2019, 3, 11, 23, 46, 31, tzinfo=timezone.utc)


# --- payments and allocations --------------------------------------------------------------------------

def test_payment_payload_pays_the_invoice_into_the_default_account():
    body = payment_payload({"external_id": "pay_1", "amount": D("100.00"), "date": date(2026, 1, 20),
                            "reference": "CHK-1234", "exchange_rate": D("1.2")}, INVOICE_ID, UK_MAPPING)
    assert body == {"Invoice": {"InvoiceID": INVOICE_ID}, "Account": {"Code": "090"}, "Date": "2026-01-20",
                    "Amount": D("100.00"), "Reference": "CHK-1234", "CurrencyRate": D("1.2")}


def test_payment_into_a_bank_account_without_code_uses_its_account_id_and_back_references_itself():
    body = payment_payload({"external_id": "pay_1", "amount": D("5"), "date": date(2026, 1, 20),
                            "deposit_account": BANK_ACCOUNT_ID}, INVOICE_ID, UK_MAPPING)
    assert body["Account"] == {"AccountID": BANK_ACCOUNT_ID}
    assert body["Reference"] == "Invoice Bridge: pay_1"


@pytest.mark.parametrize(("payment", "mapping", "field"), [
    ({"amount": D("1.001"), "date": date(2026, 1, 20)}, UK_MAPPING, "amount"),
    ({"amount": D("1.00"), "date": date(2026, 1, 20)}, {}, "deposit_account"),
])
def test_payments_xero_cannot_take_are_refused(payment, mapping, field):
    with pytest.raises(LedgerRejected) as excinfo:
        payment_payload(payment, INVOICE_ID, mapping)
    assert fields_of(excinfo) == [field]


def test_payment_read_back():
    payment = payment_from_xero(load_fixture("payments_put.json")["Payments"][0])
    assert payment == {
        "ledger_id": "b0000000-0000-4000-8000-000000000001", "external_id": None,
        "invoice": {"ledger_id": INVOICE_ID, "number": "INV-1001"}, "customer": {"ledger_id": CONTACT_ID},
        "amount": D("100.00"), "date": date(2026, 1, 20), "currency": "GBP", "exchange_rate": D("1.000000"),
        "reference": "CHK-1234", "deposit_account": "090", "status": "active", "reconciled": False}
    deleted = payment_from_xero(load_fixture("payment_deleted.json")["Payments"][0])
    assert deleted["status"] == "deleted"


def test_allocation_payload_has_every_field_xero_requires():
    assert allocation_payload(INVOICE_ID, D("50.00"), date(2026, 1, 25)) == {
        "Invoice": {"InvoiceID": INVOICE_ID}, "Amount": D("50.00"), "Date": "2026-01-25"}


# --- reference data and the organisation ---------------------------------------------------------------

def test_uk_and_au_tax_rates_are_listed_by_tax_type_with_decimal_percent_rates():
    uk = [tax_rate_from_xero(rate) for rate in load_fixture("tax_rates_uk.json")["TaxRates"]]
    au = [tax_rate_from_xero(rate) for rate in load_fixture("tax_rates_au.json")["TaxRates"]]
    assert uk[0] == {"id": "OUTPUT2", "name": "20% (VAT on Income)", "rate": D("20.0000"), "active": True,
                     "extra": {"display_rate": D("20.0000"), "report_tax_type": "OUTPUT", "sales": True}}
    assert {rate["id"]: rate["rate"] for rate in au} == {
        "OUTPUT": D("10"), "EXEMPTOUTPUT": D("0"), "INPUT": D("10"), "BASEXCLUDED": D("0")}
    assert [rate["extra"]["sales"] for rate in au] == [True, True, False, True]


def test_accounts_are_listed_by_code_with_bank_accounts_flagged():
    accounts = [account_from_xero(account) for account in load_fixture("accounts.json")["Accounts"]]
    assert [(a["id"], a["bank"], a["active"]) for a in accounts] == [
        ("090", True, True), (BANK_ACCOUNT_ID, True, True), ("200", False, True), ("400", False, False)]
    assert accounts[0]["extra"]["account_id"] == "90000000-0000-4000-8000-000000000090"
    assert accounts[2]["class"] == "REVENUE" and accounts[2]["code"] == "200"


def test_items_are_listed_by_code():
    items = [item_from_xero(item) for item in load_fixture("items.json")["Items"]]
    assert items[0] == {"id": "CONSULT", "code": "CONSULT", "name": "Consulting", "unit_price": D("100.0000"),
                        "income_account": "200", "active": True,
                        "extra": {"item_id": "1e000000-0000-4000-8000-000000000001", "tax_type": "OUTPUT2",
                                  "description": "Consulting (per hour)"}}
    assert items[1]["active"] is False and items[1]["unit_price"] is None


@pytest.mark.parametrize(("fixture", "tenant", "expected"), [
    ("organisation_uk.json", UK_TENANT, ("Example Trading UK Ltd", "GB", "GBP", "UK")),
    ("organisation_au.json", AU_TENANT, ("Example Pty Ltd", "AU", "AUD", "AU")),
])
def test_organisation_facts(fixture, tenant, expected):
    info = organisation_from_xero(tenant, load_fixture(fixture)["Organisations"][0])
    assert info["id"] == tenant
    assert (info["name"], info["country"], info["home_currency"], info["version"]) == expected
    assert info["pays_tax"] is True


# --- validation errors -> our fields --------------------------------------------------------------------

def test_a_400_validation_exception_names_number_and_the_lines_that_hold_the_bad_codes():
    errors = error_body_errors(load_fixture("error_400_invoice_validation.json"))
    assert [(error["field"], error["code"]) for error in errors] == [
        ("number", "duplicate_number"), ("lines[0].account_code", "unknown_account"),
        ("lines[1].tax_category", "unknown_tax_type")]


def test_duplicate_contact_name_points_at_customer_name():
    errors = error_body_errors(load_fixture("error_400_contact_duplicate_name.json"))
    assert [error["field"] for error in errors] == ["customer.name"]


def test_payment_over_the_amount_due_points_at_amount():
    element = load_fixture("payments_put_over_amount.json")["Payments"][0]
    assert element_failed(element)
    assert [(error["field"], error["code"]) for error in element_errors(element)] == [("amount", "over_amount_due")]


def test_refused_member_of_a_batch_is_marked_and_mapped():
    refused = load_fixture("invoices_put_batch_partial.json")["Invoices"][1]
    assert element_failed(refused)
    assert [error["field"] for error in element_errors(refused)] == ["number", "lines[1].account_code"]


@pytest.mark.parametrize(("element", "fields"), [
    ({"Type": "ACCREC", "LineItems": [{"TaxType": "GST on Income"}, {"TaxType": "OUTPUT"}],
      "ValidationErrors": [{"Message": "The TaxType code GST on Income does not exist or cannot be used for this "
                                       "type of transaction."}]}, ["lines[0].tax_category"]),
    ({"Type": "ACCREC", "LineItems": [{"AccountCode": "999"}, {"AccountCode": "999"}],
      "ValidationErrors": [{"Message": "Account code '999' is not a valid code for this document."}]},
     ["lines[0].account_code", "lines[1].account_code"]),
    ({"Type": "ACCREC", "LineItems": [{}, {"ValidationErrors": [{"Message": "Tax rate must be valid."}]}]},
     ["lines[1].tax_category"]),
    ({"Account": {"Code": "200"}, "Invoice": {}, "Amount": D("1"),
      "ValidationErrors": [{"Message": "Account must be valid."}]}, ["deposit_account"]),
    ({"Name": "Acme", "ValidationErrors": [{"Message": "Email address must be valid."}]}, ["customer.email"]),
    ({"Type": "ACCREC", "LineItems": [{}, {"ValidationErrors": [{
        "Message": "The discount rate '27.83' is invalid. Discount must not be greater than the line total."}]}]},
     ["lines[1].discount_percent"]),
    ({"Type": "ACCREC", "ValidationErrors": [{"Message": "Something Xero has not said before"}]}, [""]),
])
def test_validation_messages_map_to_our_field_paths(element, fields):
    assert [error["field"] for error in element_errors(element)] == fields


def test_warnings_of_an_accepted_element_are_kept():
    element = {"InvoiceID": INVOICE_ID, "StatusAttributeString": "WARNING", "HasErrors": False,
               "Warnings": [{"Message": "Only AUTHORISED and PAID invoices may have payments applied"}]}
    assert not element_failed(element)
    assert element_warnings(element) == ["Only AUTHORISED and PAID invoices may have payments applied"]


def test_an_error_body_without_elements_keeps_its_message():
    assert error_body_errors({"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}) == [
        {"field": "", "message": "AuthenticationUnsuccessful", "code": "Forbidden"}]
    assert error_body_errors(None) == []

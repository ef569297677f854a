"""QuickBooks Online mapping: pure functions on normalized dicts and recorded QBO JSON, no HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from bridge.errors import LedgerRejected
from bridge.ledgers.quickbooks import facts
from bridge.ledgers.quickbooks.mapping import (
    DRAFT_WARNING, allocation_payload, company_from_qbo, credit_memo_from_qbo, credit_memo_payload,
    customer_from_qbo, customer_payload, discount_errors, fault_errors, fold_discount, invoice_from_qbo,
    invoice_payload, needs_default_item, payment_from_qbo, payment_payload, round_half_up)

from .conftest import UK_COMPANY, US_COMPANY, load_fixture

US_MAPPING = {
    "products": {"CONSULT": {"item": "7"}, "TRAVEL": {"account": "80"}},
    "tax_categories": {"standard": "TAX", "exempt": "NON"},
    "defaults": {"item": "1", "payment_account": "35"},
    "quickbooks": {"txn_tax_code": "3"},
}
UK_MAPPING = {
    "tax_categories": {"standard": "20", "zero": "12"},
    "defaults": {"item": "5", "tax_code": "12"},
}


def line(quantity="1", unit_price="100.00", **extra) -> dict:
    return {"description": "Work", "quantity": D(quantity), "unit_price": D(unit_price), **extra}


def invoice(*lines, **extra) -> dict:
    base = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
            "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "USD",
            "amounts_include_tax": False, "lines": list(lines) or [line()], "memo": None, "status": "open"}
    base.update(extra)
    return base


def rejected_fields(excinfo) -> list[str]:
    return [error["field"] for error in excinfo.value.errors]


# --- customers -------------------------------------------------------------------------------------

def test_customer_payload_maps_name_contact_address_and_currency():
    body = customer_payload({
        "external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com", "phone": "555-0100",
        "address": {"line1": "1 Example Street", "line2": None, "city": "Springfield", "region": "CA",
                    "postal_code": "90001", "country": "US"},
        "currency": "USD"})
    assert body["DisplayName"] == body["CompanyName"] == "Acme Ltd"
    assert body["PrimaryEmailAddr"] == {"Address": "ap@example.com"}
    assert body["PrimaryPhone"] == {"FreeFormNumber": "555-0100"}
    assert body["BillAddr"] == {"Line1": "1 Example Street", "City": "Springfield",
                                "CountrySubDivisionCode": "CA", "PostalCode": "90001", "Country": "US"}
    assert body["CurrencyRef"] == {"value": "USD"}
    assert body["Notes"] == "Invoice Bridge: cus_1"


def test_customer_tax_number_goes_to_primary_tax_identifier_outside_the_us_only():
    customer = {"external_id": "c", "name": "Example Trading", "tax_number": "GB123456789"}
    assert customer_payload(customer, UK_COMPANY)["PrimaryTaxIdentifier"] == "GB123456789"
    assert "PrimaryTaxIdentifier" not in customer_payload(customer, US_COMPANY)


def test_customer_without_name_is_refused_naming_customer_name():
    with pytest.raises(LedgerRejected) as excinfo:
        customer_payload({"external_id": "c", "name": "  "})
    assert rejected_fields(excinfo) == ["customer.name"]


def test_customer_read_back():
    customer = customer_from_qbo(load_fixture("customer_create.json")["Customer"])
    assert customer["ledger_id"] == "58"
    assert customer["external_id"] == "cus_1"
    assert customer["name"] == "Acme Ltd"
    assert customer["email"] == "ap@example.com"
    assert customer["address"]["region"] == "CA"
    assert customer["currency"] == "USD"


# --- invoices, US tax --------------------------------------------------------------------------------

def test_us_invoice_marks_taxable_lines_tax_and_sets_the_transaction_tax_code():
    body, warnings = invoice_payload(invoice(
        line("2", "100.00", product_code="CONSULT", tax_category="standard"),
        line("1", "50.00", tax_category="exempt")), "58", US_MAPPING, US_COMPANY)
    assert body["CustomerRef"] == {"value": "58"}
    assert body["DocNumber"] == "INV-1001"
    assert body["TxnDate"] == "2026-01-15" and body["DueDate"] == "2026-02-14"
    assert body["CurrencyRef"] == {"value": "USD"} and "ExchangeRate" not in body
    assert body["PrivateNote"] == "Invoice Bridge: inv_1001"
    first, second = body["Line"]
    assert first["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert first["SalesItemLineDetail"]["ItemRef"] == {"value": "7"}
    assert second["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert second["SalesItemLineDetail"]["ItemRef"] == {"value": "1"}
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "3"}}
    assert "GlobalTaxCalculation" not in body
    assert warnings == []


def test_us_invoice_without_taxable_lines_needs_no_transaction_tax_code():
    body, _ = invoice_payload(invoice(line(tax_category="exempt")), "58",
                              {"tax_categories": {"exempt": "NON"}, "defaults": {"item": "1"}},
                              US_COMPANY)
    assert "TxnTaxDetail" not in body
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}


def test_us_line_without_category_follows_the_default_tax_code():
    mapping = {**US_MAPPING, "defaults": {"item": "1", "tax_code": "TAX"}}
    body, _ = invoice_payload(invoice(line()), "58", mapping, US_COMPANY)
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}


def test_us_taxable_invoice_without_transaction_tax_code_is_refused_naming_the_mapping():
    mapping = {"tax_categories": {"standard": "TAX"}, "defaults": {"item": "1"}}
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="standard")), "58", mapping, US_COMPANY)
    assert rejected_fields(excinfo) == ["mapping.quickbooks.txn_tax_code"]


def test_us_company_with_automated_sales_tax_needs_no_transaction_tax_code():
    company = {**US_COMPANY, "automated_sales_tax": True}
    mapping = {"tax_categories": {"standard": "TAX"}, "defaults": {"item": "1"}}
    body, _ = invoice_payload(invoice(line(tax_category="standard")), "58", mapping, company)
    assert "TxnTaxDetail" not in body


def test_us_unmapped_category_without_a_default_is_refused_naming_the_line():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="luxury")), "58", US_MAPPING, US_COMPANY)
    assert rejected_fields(excinfo) == ["lines[0].tax_category"]


def test_us_unmapped_category_takes_the_default_tax_code_with_a_warning():
    mapping = {**US_MAPPING, "defaults": {**US_MAPPING["defaults"], "tax_code": "NON"}}
    body, warnings = invoice_payload(invoice(line(tax_category="luxury")), "58", mapping, US_COMPANY)
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert warnings == ["lines[0]: tax category 'luxury' is not mapped; written with the default tax code NON"]


def test_us_tax_inclusive_amounts_are_refused():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="standard"), amounts_include_tax=True), "58", US_MAPPING,
                        US_COMPANY)
    assert rejected_fields(excinfo) == ["amounts_include_tax"]


# --- invoices, non-US tax ----------------------------------------------------------------------------

def test_uk_invoice_uses_real_tax_codes_per_line_and_tax_excluded():
    body, warnings = invoice_payload(invoice(line(tax_category="standard"), line(tax_category="zero"),
                                             currency="GBP"), "7", UK_MAPPING, UK_COMPANY)
    assert [row["SalesItemLineDetail"]["TaxCodeRef"] for row in body["Line"]] == [{"value": "20"},
                                                                                 {"value": "12"}]
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert "TxnTaxDetail" not in body
    assert warnings == []


def test_uk_tax_inclusive_invoice_sets_tax_inclusive_and_the_gross_line_amount():
    body, _ = invoice_payload(invoice(line("1", "120.00", tax_category="standard"), currency="GBP",
                                      amounts_include_tax=True), "7", UK_MAPPING, UK_COMPANY)
    assert body["GlobalTaxCalculation"] == "TaxInclusive"
    row = body["Line"][0]
    assert row["Amount"] == D("120.00")
    assert row["SalesItemLineDetail"]["TaxInclusiveAmt"] == D("120.00")


def test_uk_unmapped_category_falls_back_to_the_default_tax_code_with_a_warning():
    body, warnings = invoice_payload(invoice(line(tax_category="reduced"), currency="GBP"), "7",
                                     UK_MAPPING, UK_COMPANY)
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "12"}
    assert warnings == ["lines[0]: tax category 'reduced' is not mapped; written with the default tax code 12"]


def test_uk_line_without_any_tax_code_is_refused_naming_the_line():
    mapping = {"tax_categories": {"standard": "20"}, "defaults": {"item": "5"}}
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="standard"), line(), line(tax_category="zero"),
                                currency="GBP"), "7", mapping, UK_COMPANY)
    assert rejected_fields(excinfo) == ["lines[1].tax_category", "lines[2].tax_category"]


def test_foreign_currency_invoice_carries_the_exchange_rate():
    body, _ = invoice_payload(invoice(line(tax_category="standard"), currency="EUR",
                                      exchange_rate=D("0.85123456")), "7", UK_MAPPING, UK_COMPANY)
    assert body["CurrencyRef"] == {"value": "EUR"}
    assert body["ExchangeRate"] == D("0.85123456")


def test_foreign_currency_is_refused_when_multicurrency_is_off():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(currency="EUR"), "58", US_MAPPING, US_COMPANY)
    assert rejected_fields(excinfo) == ["currency"]


# --- lines: amounts, items, discounts ---------------------------------------------------------------

def test_line_amount_is_quantity_times_unit_price_rounded_half_up_as_decimals():
    body, _ = invoice_payload(invoice(line("3", "0.335"), line("3", "33.3333")), "58", US_MAPPING,
                              US_COMPANY)
    first, second = body["Line"]
    assert first["Amount"] == D("1.01") and str(first["Amount"]) == "1.01"
    assert second["Amount"] == D("100.00")
    detail = second["SalesItemLineDetail"]
    assert detail["Qty"] == D("3") and detail["UnitPrice"] == D("33.3333")
    for value in (first["Amount"], detail["Qty"], detail["UnitPrice"]):
        assert isinstance(value, D)
    assert round_half_up(D("2.675")) == D("2.68")
    assert round_half_up(D("-2.675")) == D("-2.68")


def test_negative_discount_line_is_written_as_a_negative_amount():
    body, _ = invoice_payload(invoice(line("1", "100.00"), line("1", "-15.50")), "58", US_MAPPING,
                              US_COMPANY)
    assert body["Line"][1]["Amount"] == D("-15.50")


def test_exact_discount_is_folded_into_the_unit_price_with_a_warning_naming_the_line():
    body, warnings = invoice_payload(invoice(line(), line(), line("3", "100.00", discount_percent=D("10"))),
                                     "58", US_MAPPING, US_COMPANY)
    row = body["Line"][2]
    assert row["SalesItemLineDetail"]["UnitPrice"] == D("90.00")
    assert row["Amount"] == D("270.00")
    assert warnings == ["lines[2]: 10% discount folded into the unit price"]


def test_inexact_discount_is_refused_naming_the_line_discount():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(), line(), line("1", "10.0001", discount_percent=D("12.345"))),
                        "58", US_MAPPING, US_COMPANY)
    assert rejected_fields(excinfo) == ["lines[2].discount_percent"]
    assert excinfo.value.errors[0]["code"] == "discount_not_exact"


def test_fold_discount_is_exact_up_to_qbo_unit_price_precision():
    assert facts.UNIT_PRICE_PLACES == 7
    assert fold_discount(D("1"), D("19.99"), D("15")) == D("16.9915")
    assert fold_discount(D("2"), D("10.0001"), D("12.5")) == D("8.7500875")  # 7 decimals: still exact
    assert fold_discount(D("1"), D("10.0001"), D("12.345")) is None  # 9 decimals
    assert fold_discount(D("1"), D("50.00"), D("0")) == D("50.00")
    assert fold_discount(D("1"), D("50.00"), D("100")) == D("0.00")
    assert discount_errors([line(), line("1", "10.0001", discount_percent=D("12.345"))])[0]["field"] == \
        "lines[1].discount_percent"


def test_unmapped_product_uses_the_default_item_with_a_warning_and_account_override_warns():
    body, warnings = invoice_payload(invoice(line(product_code="TRAVEL"), line(account_code="4000")),
                                     "58", US_MAPPING, US_COMPANY)
    assert [row["SalesItemLineDetail"]["ItemRef"] for row in body["Line"]] == [{"value": "1"}, {"value": "1"}]
    assert warnings == [
        "lines[0]: product 'TRAVEL' has no QuickBooks item mapped; written with the default item 1",
        "lines[0]: income account 80 not applied: on QuickBooks Online the income account belongs to the item",
        "lines[1]: income account 4000 not applied: on QuickBooks Online the income account belongs to the item",
    ]


def test_company_default_item_is_used_when_the_mapping_has_none_and_missing_everywhere_is_refused():
    assert needs_default_item(invoice(line()), {})
    assert not needs_default_item(invoice(line(product_code="CONSULT")), US_MAPPING)
    body, _ = invoice_payload(invoice(line()), "58", {}, US_COMPANY)
    assert body["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "1"}
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line()), "58", {}, {**US_COMPANY, "default_item": None})
    assert rejected_fields(excinfo) == ["lines[0].product_code"]


def test_draft_is_written_as_open_with_a_warning_and_memo_goes_to_customer_memo():
    body, warnings = invoice_payload(invoice(line(), status="draft", memo="Thanks!"), "58", US_MAPPING,
                                     US_COMPANY)
    assert warnings == [DRAFT_WARNING]
    assert body["CustomerMemo"] == {"value": "Thanks!"}


def test_every_problem_is_reported_at_once():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice(line(tax_category="standard"), number="N" * 22), "58",
                        {"tax_categories": {"standard": "TAX"}}, {**US_COMPANY, "default_item": None})
    assert rejected_fields(excinfo) == ["number", "lines[0].product_code", "mapping.quickbooks.txn_tax_code"]


# --- read back ---------------------------------------------------------------------------------------

def test_created_invoice_reads_back_open_with_decimal_totals():
    read = invoice_from_qbo(load_fixture("invoice_create_us.json")["Invoice"])
    assert read["ledger_id"] == "130" and read["number"] == "INV-1001"
    assert read["external_id"] == "inv_1001"
    assert read["customer"] == {"ledger_id": "58", "name": "Acme Ltd"}
    assert read["status"] == "open"
    assert read["totals"] == {"subtotal": D("250.00"), "tax": D("16.00"), "total": D("266.00")}
    assert read["balance"] == D("266.00")
    assert read["issue_date"] == date(2026, 1, 15) and read["due_date"] == date(2026, 2, 14)
    assert read["memo"] == "Thank you for your business"
    assert read["lines"][0] == {"description": "Consulting", "quantity": D("2"), "unit_price": D("100.00"),
                                "amount": D("200.00"), "item": "1", "tax_code": "TAX"}
    for value in (*read["totals"].values(), read["balance"], read["lines"][0]["unit_price"]):
        assert isinstance(value, D)


def test_status_partially_paid_paid_and_void():
    assert invoice_from_qbo(load_fixture("invoice_read_partially_paid.json")["Invoice"])["status"] == \
        "partially_paid"
    newest = load_fixture("invoice_query.json")["QueryResponse"]["Invoice"][0]
    assert invoice_from_qbo(newest)["status"] == "paid"
    voided = invoice_from_qbo(load_fixture("invoice_void.json")["Invoice"])
    assert voided["status"] == "void"
    assert voided["external_id"] == "inv_1001"  # "Voided " is prepended to our note
    assert voided["totals"]["total"] == 0 and voided["balance"] == 0


def test_tax_inclusive_invoice_reads_back_with_net_subtotal_and_tax():
    read = invoice_from_qbo(load_fixture("invoice_create_uk_inclusive.json")["Invoice"])
    assert read["amounts_include_tax"] is True
    assert read["totals"] == {"subtotal": D("100.00"), "tax": D("20.00"), "total": D("120.00")}
    assert read["currency"] == "GBP"


# --- payments and credit notes -----------------------------------------------------------------------

def test_payment_payload_links_the_invoice_and_defaults_the_deposit_account():
    body = payment_payload({"external_id": "pay_1", "amount": D("100.00"), "date": date(2026, 1, 20),
                            "reference": "CHK-1234", "method": "check", "currency": "USD"},
                           "130", "58", US_MAPPING)
    assert body == {
        "CustomerRef": {"value": "58"}, "TotalAmt": D("100.00"), "TxnDate": "2026-01-20",
        "Line": [{"Amount": D("100.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
        "PaymentRefNum": "CHK-1234", "DepositToAccountRef": {"value": "35"}, "CurrencyRef": {"value": "USD"},
        "PrivateNote": "Invoice Bridge: pay_1\nmethod: check",
    }
    own_account = payment_payload({"external_id": "p", "amount": D("1.00"), "date": date(2026, 1, 1),
                                   "deposit_account": "90"}, "130", "58", US_MAPPING)
    assert own_account["DepositToAccountRef"] == {"value": "90"}


def test_payment_reference_longer_than_qbo_allows_is_refused():
    with pytest.raises(LedgerRejected) as excinfo:
        payment_payload({"external_id": "p", "amount": D("1.00"), "date": date(2026, 1, 1),
                         "reference": "R" * 22}, "130", "58", {})
    assert rejected_fields(excinfo) == ["reference"]


def test_payment_read_back():
    read = payment_from_qbo(load_fixture("payment_create.json")["Payment"])
    assert read["ledger_id"] == "131" and read["external_id"] == "pay_1"
    assert read["amount"] == D("100.00") and read["reference"] == "CHK-1234"
    assert read["applied_to"] == [{"ledger_id": "130", "type": "Invoice", "amount": D("100.00")}]


def test_credit_memo_payload_and_allocation_payment():
    note = {"external_id": "cn_7", "number": "CN-7", "customer": {"external_id": "cus_1"},
            "issue_date": date(2026, 1, 25), "currency": "USD",
            "lines": [line("1", "50.00", tax_category="exempt")]}
    body, warnings = credit_memo_payload(note, "58", US_MAPPING, US_COMPANY)
    assert body["DocNumber"] == "CN-7" and body["Line"][0]["Amount"] == D("50.00")
    assert "DueDate" not in body and warnings == []
    allocation = allocation_payload("58", "130", "140", D("50.00"), date(2026, 1, 25), "USD")
    assert allocation["TotalAmt"] == D("0.00")
    assert allocation["Line"] == [
        {"Amount": D("50.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
        {"Amount": D("50.00"), "LinkedTxn": [{"TxnId": "140", "TxnType": "CreditMemo"}]},
    ]
    read = credit_memo_from_qbo(load_fixture("creditmemo_create.json")["CreditMemo"])
    assert read["remaining_credit"] == D("50.00") and read["totals"]["total"] == D("50.00")


# --- company and faults ------------------------------------------------------------------------------

def test_company_facts_from_companyinfo_and_preferences():
    us = company_from_qbo("9130000000000001", load_fixture("companyinfo_us.json")["CompanyInfo"],
                          load_fixture("preferences_us.json")["Preferences"])
    assert us == {"id": "9130000000000001", "name": "Example Landscaping Co", "country": "US",
                  "home_currency": "USD", "multi_currency": False, "uses_sales_tax": True,
                  "automated_sales_tax": False}
    uk = company_from_qbo("9130000000000001", load_fixture("companyinfo_uk.json")["CompanyInfo"],
                          load_fixture("preferences_uk.json")["Preferences"])
    assert (uk["country"], uk["home_currency"], uk["multi_currency"]) == ("GB", "GBP", True)
    assert company_from_qbo("1", {"Country": "UK"}, {})["country"] == "GB"


@pytest.mark.parametrize(("fixture", "fields", "code"), [
    ("fault_6140_duplicate_number.json", ["number"], "6140"),
    ("fault_6240_duplicate_name.json", ["customer.name"], "6240"),
    ("fault_5010_stale.json", [""], "5010"),
    ("fault_610_not_found.json", [""], "610"),
    ("fault_6000_business.json", [""], "6000"),
    ("fault_2020_required.json", ["lines", "number"], "2020"),
])
def test_fault_errors_name_our_fields(fixture, fields, code):
    errors = fault_errors(load_fixture(fixture))
    assert [error["field"] for error in errors] == fields
    assert errors[0]["code"] == code
    assert errors[0]["message"]


def test_fault_message_carries_message_and_detail():
    error = fault_errors(load_fixture("fault_6000_business.json"))[0]
    assert error["message"].startswith("A business validation error has occurred")
    assert "Make sure all your transactions have a GST/HST rate" in error["message"]
    assert fault_errors({"Fault": {"Error": [{"code": "2050", "element": "BillAddr.PostalCode",
                                              "Message": "too long"}]}})[0]["field"] == \
        "customer.address.postal_code"
    assert fault_errors({"Fault": {"Error": [{"code": "2010", "element": "Invoice.Weird",
                                              "Message": "bad"}]}})[0]["field"] == "Invoice.Weird"
    assert fault_errors({"not": "a fault"}) == [] and fault_errors(None) == []

"""FreshBooks <-> normalized mapping: pure functions over recorded JSON, no HTTP."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest

from bridge.errors import LedgerRejected
from bridge.ledgers.freshbooks import facts, rules
from bridge.ledgers.freshbooks.client import dumps
from bridge.ledgers.freshbooks.countries import NAMES, country_code, country_name
from bridge.ledgers.freshbooks.mapping import (
    credit_note_payload, customer_from_fb, customer_payload, error_list, fold_discount, invoice_from_fb,
    invoice_payload, invoice_status, missing_scopes, payment_from_fb, payment_payload, percent_text,
    tax_from_fb, tenants_from_identity, totals_from_fb, _lines_from_fb)
from bridge.schemas.codes import COUNTRIES

from .conftest import COMPANY, MAPPING, load_fixture

INVOICE = {"external_id": "inv_1001", "number": "INV-1001", "customer": {"external_id": "cus_1"},
           "issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14), "currency": "CAD",
           "amounts_include_tax": False, "status": "open", "memo": "Thank you for your business.", "payments": [],
           "lines": [{"description": "Consulting, January", "product_code": "CONSULT", "quantity": D("2"),
                      "unit_price": D("100.00"), "tax_category": "standard"},
                     {"description": "Travel", "quantity": D("1"), "unit_price": D("50"), "tax_category": "federal"}]}


def invoice_with(**changes) -> dict:
    return {**INVOICE, **changes}


def line(**changes) -> dict:
    return {"description": "Work", "quantity": D("1"), "unit_price": D("100.00"), **changes}


def result(name: str, key: str) -> dict:
    return load_fixture(name)["response"]["result"][key]


# --- invoices out ----------------------------------------------------------------------------------

def test_invoice_payload_has_money_as_strings_and_two_named_taxes_per_line():
    body, warnings = invoice_payload(INVOICE, "301", MAPPING, COMPANY)
    assert warnings == []
    assert body["customerid"] == 301 and body["create_date"] == "2026-01-15" and body["currency_code"] == "CAD"
    assert body["invoice_number"] == "INV-1001"
    first, second = body["lines"]
    assert first == {"type": 0, "name": "CONSULT", "qty": D("2"), "unit_cost": {"amount": "100.00", "code": "CAD"},
                     "description": "Consulting, January", "taxName1": "GST", "taxAmount1": "5",
                     "taxName2": "PST", "taxAmount2": "7"}
    assert second["unit_cost"] == {"amount": "50.00", "code": "CAD"} and second["name"] == "Travel"
    assert (second["taxName1"], second["taxAmount1"]) == ("GST", "5") and "taxName2" not in second
    raw = dumps({"invoice": body})
    assert '"amount":"100.00"' in raw and '"qty":2' in raw and '"taxAmount1":"5"' in raw


def test_due_date_becomes_due_offset_days_and_is_left_out_without_one():
    assert invoice_payload(INVOICE, "301", MAPPING, COMPANY)[0]["due_offset_days"] == 30
    assert "due_offset_days" not in invoice_payload(invoice_with(due_date=None), "301", MAPPING, COMPANY)[0]
    assert invoice_payload(invoice_with(due_date=date(2026, 1, 15)), "301", MAPPING, COMPANY)[0]["due_offset_days"] == 0


def test_notes_carry_the_memo_and_the_back_reference():
    body, _ = invoice_payload(INVOICE, "301", MAPPING, COMPANY)
    assert body["notes"] == "Thank you for your business.\n\nInvoice Bridge: inv_1001"
    assert invoice_payload(invoice_with(memo=None), "301", MAPPING, COMPANY)[0]["notes"] == "Invoice Bridge: inv_1001"


def test_a_second_compound_tax_is_marked_compounded_and_rates_keep_three_decimals():
    body, _ = invoice_payload(invoice_with(lines=[line(tax_category="quebec")]), "301", MAPPING, COMPANY)
    row = body["lines"][0]
    assert (row["taxName2"], row["taxAmount2"], row["compounded_tax"]) == ("QST", "9.975", True)
    assert percent_text(D("13.175")) == "13.175" and percent_text(D("5.000")) == "5"
    with pytest.raises(ValueError):
        percent_text(D("5.1234"))


def test_none_means_no_tax_and_an_uncategorised_line_takes_the_default():
    body, _ = invoice_payload(invoice_with(lines=[line(tax_category="zero"), line()]), "301",
                              {**MAPPING, "defaults": {"tax_code": "GST"}}, COMPANY)
    assert "taxName1" not in body["lines"][0]
    assert body["lines"][1]["taxName1"] == "GST"


def test_more_than_two_taxes_on_a_line_is_refused_naming_the_line():
    mapping = {"tax_categories": {"triple": "GST+PST+QST"}}
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(lines=[line(), line(tax_category="triple")]), "301", mapping, COMPANY)
    assert [(e["field"], e["code"]) for e in excinfo.value.errors] == [("lines[1].tax_category", "too_many_taxes")]


def test_unknown_tax_names_and_unmapped_categories_are_refused():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(lines=[line(tax_category="vat")]), "301", {"tax_categories": {"vat": "VAT"}},
                        COMPANY)
    assert excinfo.value.errors[0]["code"] == "unknown_tax"
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(lines=[line(tax_category="luxury")]), "301", MAPPING, COMPANY)
    assert excinfo.value.errors[0] == {**excinfo.value.errors[0], "field": "lines[0].tax_category",
                                       "code": "mapping_missing"}


def test_an_unmapped_category_falls_back_to_the_default_taxes_with_a_warning():
    body, warnings = invoice_payload(invoice_with(lines=[line(tax_category="luxury")]), "301",
                                     {**MAPPING, "defaults": {"tax_code": "gst"}}, COMPANY)
    assert body["lines"][0]["taxName1"] == "GST"  # names match case-insensitively, sent as FreshBooks spells them
    assert warnings == ["lines[0]: tax category 'luxury' is not mapped; written with the default taxes 'gst'"]


def test_tax_inclusive_amounts_on_taxed_lines_are_refused_once():
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(amounts_include_tax=True), "301", MAPPING, COMPANY)
    assert [e["field"] for e in excinfo.value.errors] == ["amounts_include_tax"]
    body, _ = invoice_payload(invoice_with(amounts_include_tax=True, lines=[line()]), "301", MAPPING, COMPANY)
    assert body["lines"][0]["unit_cost"]["amount"] == "100.00"


# --- discounts and precision ---------------------------------------------------------------------

def test_an_exact_discount_is_folded_into_the_unit_cost_with_a_warning():
    body, warnings = invoice_payload(invoice_with(lines=[line(quantity=D("3"), unit_price=D("19.90"),
                                                              discount_percent=D("10"))]), "301", MAPPING, COMPANY)
    assert body["lines"][0]["unit_cost"] == {"amount": "17.91", "code": "CAD"}
    assert warnings == ["lines[0]: 10% discount folded into the unit price (19.9 -> 17.91)"]


def test_a_discount_that_is_not_exact_at_two_decimals_is_refused_naming_the_line():
    assert fold_discount(D("1"), D("10.00"), D("33.3333")) is None
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(lines=[line(), line(unit_price=D("10.00"), discount_percent=D("33.3333"))]),
                        "301", MAPPING, COMPANY)
    assert [(e["field"], e["code"]) for e in excinfo.value.errors] == [("lines[1].discount_percent",
                                                                        "discount_not_exact")]


def test_a_unit_price_finer_than_two_decimals_is_refused():
    assert fold_discount(D("1"), D("10.125"), None) is None
    assert fold_discount(D("1"), D("10.1200"), None) == D("10.1200")
    with pytest.raises(LedgerRejected) as excinfo:
        invoice_payload(invoice_with(lines=[line(unit_price=D("10.125"))]), "301", MAPPING, COMPANY)
    assert excinfo.value.errors[0]["field"] == "lines[0].unit_price"


def test_rules_refuse_before_queueing_and_warn_about_folding():
    warnings, errors = rules.check("invoice", invoice_with(lines=[
        line(discount_percent=D("10")), line(unit_price=D("10.00"), discount_percent=D("33.3333"))]))
    assert [e["field"] for e in errors] == ["lines[1].discount_percent"]
    assert warnings == ["lines[0]: FreshBooks has no line discounts; the 10% discount is folded into the unit price"]
    assert rules.check("credit_note", {"lines": [line(unit_price=D("1.005"))]})[1][0]["field"] == "lines[0].unit_price"
    assert rules.check("customer", {"external_id": "c", "name": "Acme"}) == ([], [])


def test_rules_with_the_mapping_refuse_three_taxes_and_inclusive_taxed_amounts():
    mapping = {"tax_categories": {"triple": "GST+PST+QST", "standard": "GST+PST"}}
    _, errors = rules.check("invoice", invoice_with(amounts_include_tax=True, lines=[
        line(tax_category="standard"), line(tax_category="triple")]), mapping)
    assert [e["field"] for e in errors] == ["lines[1].tax_category", "amounts_include_tax"]
    assert [e["field"] for e in rules.check_mapping(mapping, {"GST": D("5")})] == [
        "tax_categories.triple", "tax_categories.standard"]
    assert rules.check_mapping({"tax_categories": {"s": "GST+PST"}, "defaults": {"tax_code": "NONE"}},
                               {"GST": D("5"), "PST": D("7")}) == []


def test_rules_warn_about_payment_methods_freshbooks_has_no_type_for():
    warnings, errors = rules.check("payment", {"amount": D("1.00"), "method": "voucher"})
    assert errors == [] and warnings == ["payment method 'voucher' has no FreshBooks payment type; recorded as 'Check'"]


# --- invoices back ---------------------------------------------------------------------------------

def test_invoice_read_back_with_two_taxes_computes_totals_and_balance():
    invoice = invoice_from_fb(result("invoice_with_lines.json", "invoice"))
    assert invoice["status"] == "partially_paid" and invoice["balance"] == D("176.50")
    assert invoice["totals"] == {"subtotal": D("250.00"), "tax": D("26.50"), "total": D("276.50")}
    assert invoice["external_id"] == "inv_1001" and invoice["memo"] == "Thank you for your business."
    assert invoice["customer"] == {"ledger_id": "301", "name": "Acme Ltd"}
    assert (invoice["issue_date"], invoice["due_date"]) == (date(2026, 1, 15), date(2026, 2, 14))
    assert invoice["lines"][0]["taxes"] == [{"name": "GST", "rate": D("5")}, {"name": "PST", "rate": D("7")}]
    assert all(isinstance(value, D) for value in invoice["totals"].values())


def test_totals_are_computed_per_line_when_freshbooks_gives_no_total():
    fb = {"lines": [{"qty": 1, "unit_cost": {"amount": "10.05"}, "taxName1": "GST", "taxAmount1": "5",
                     "taxName2": "QST", "taxAmount2": "9.975", "compounded_tax": True}]}
    totals = totals_from_fb(fb, _lines_from_fb(fb))
    # 10.05 x 5% = 0.5025 -> 0.50; (10.05 + 0.50) x 9.975% = 1.0523... -> 1.05
    assert totals == {"subtotal": D("10.05"), "tax": D("1.55"), "total": D("11.60")}


@pytest.mark.parametrize(("changes", "status"), [
    ({"status": 1, "v3_status": "draft"}, "draft"),
    ({"status": 2, "v3_status": "sent"}, "open"),
    ({"status": 3}, "open"),
    ({"status": 8, "outstanding": {"amount": "176.50"}}, "partially_paid"),
    ({"status": 4, "outstanding": {"amount": "0.00"}}, "paid"),
    ({"status": 5, "outstanding": None}, "paid"),
    ({"status": "partial", "outstanding": None}, "partially_paid"),
    ({"status": 2, "outstanding": {"amount": "0.00"}}, "paid"),
    ({"status": 2, "vis_state": 1}, "void"),
])
def test_statuses_map_to_ours(changes, status):
    fb = {**result("invoice_create_draft.json", "invoice"), **changes}
    assert invoice_status(fb) == status


def test_a_deleted_invoice_reads_back_as_void_without_lines():
    invoice = invoice_from_fb(result("invoice_deleted.json", "invoice"))
    assert invoice["status"] == "void"
    assert invoice["totals"] == {"subtotal": None, "tax": None, "total": D("276.50")}


# --- credit notes, customers, payments -------------------------------------------------------------

def test_credit_note_payload_is_a_goodwill_credit_with_lines_without_type():
    note = {"external_id": "cn_1", "number": "CN-0001", "customer": {"external_id": "cus_1"},
            "issue_date": date(2026, 1, 22), "currency": "CAD", "memo": "Goodwill",
            "lines": [line(unit_price=D("50.00"), tax_category="federal")], "allocations": []}
    body, _ = credit_note_payload(note, "301", MAPPING, COMPANY)
    assert body["clientid"] == 301 and body["credit_type"] == "goodwill" and body["credit_number"] == "CN-0001"
    assert body["notes"] == "Goodwill\n\nInvoice Bridge: cn_1"
    assert "type" not in body["lines"][0] and body["lines"][0]["unit_cost"] == {"amount": "50.00", "code": "CAD"}


def test_customer_payload_sends_the_country_as_a_name_and_reads_it_back_as_a_code():
    customer = {"external_id": "cus_1", "name": "Acme Ltd", "email": "ap@example.com", "phone": "+1 416 555 0100",
                "currency": "CAD", "tax_number": "123456789RT0001",
                "address": {"line1": "10 Example Avenue", "line2": "Suite 4", "city": "Toronto", "region": "ON",
                            "postal_code": "M5V 1A1", "country": "CA"}}
    body = customer_payload(customer)
    assert body == {"organization": "Acme Ltd", "email": "ap@example.com", "bus_phone": "+1 416 555 0100",
                    "currency_code": "CAD", "p_street": "10 Example Avenue", "p_street2": "Suite 4",
                    "p_city": "Toronto", "p_province": "ON", "p_code": "M5V 1A1", "p_country": "Canada",
                    "vat_number": "123456789RT0001", "note": "Invoice Bridge: cus_1"}
    back = customer_from_fb(result("client_create.json", "client"))
    assert back["address"] == customer["address"] and back["external_id"] == "cus_1" and back["ledger_id"] == "301"
    with pytest.raises(LedgerRejected):
        customer_payload({"external_id": "x", "name": " "})


def test_every_iso_country_has_a_freshbooks_name_and_names_read_back():
    assert set(NAMES) == set(COUNTRIES)
    assert country_name("us") == "United States" and country_name("GB") == "United Kingdom"
    assert [country_code(name) for name in ("Canada", "united states", "USA", "UK", "DE", "Atlantis", "")] == \
        ["CA", "US", "US", "GB", "DE", None, None]


@pytest.mark.parametrize(("payment", "mapping", "kind", "warned"), [
    ({"method": "bank_transfer"}, {}, "Bank Transfer", False),
    ({"method": "Credit-Card"}, {}, "Credit Card", False),
    ({"method": "cheque"}, {}, "Check", False),
    ({"method": "PayPal"}, {}, "PayPal", False),
    ({"deposit_account": "ach", "method": "cash"}, {}, "ACH", False),
    ({"method": None}, {"defaults": {"payment_account": "Cash"}}, "Cash", False),
    ({"method": "voucher"}, {}, "Check", True),
    ({"deposit_account": "1200"}, {}, "Check", True),
])
def test_payment_type_comes_from_deposit_account_method_or_default(payment, mapping, kind, warned):
    full = {"external_id": "pay_1", "amount": D("100.00"), "date": date(2026, 1, 20), **payment}
    body, warnings = payment_payload(full, "7001", mapping)
    assert body["type"] == kind and bool(warnings) is warned


def test_payment_payload_has_the_amount_as_a_string_and_the_reference_in_the_note():
    body, _ = payment_payload({"external_id": "pay_1", "amount": D("100"), "date": date(2026, 1, 20),
                               "method": "bank_transfer", "reference": "TRX-42"}, "7001", {})
    assert body == {"invoiceid": 7001, "amount": {"amount": "100.00"}, "date": "2026-01-20",
                    "type": "Bank Transfer", "note": "TRX-42\n\nInvoice Bridge: pay_1"}
    with pytest.raises(LedgerRejected) as excinfo:
        payment_payload({"external_id": "p", "amount": D("1.005"), "date": date(2026, 1, 1)}, "7001", {})
    assert excinfo.value.errors[0]["field"] == "amount"
    back = payment_from_fb(result("payment_create.json", "payment"))
    assert (back["amount"], back["reference"], back["external_id"], back["method"]) == \
        (D("100.00"), "TRX-42", "pay_1", "Bank Transfer")


# --- tenants, reference data, errors ----------------------------------------------------------------

def test_businesses_become_tenants_without_the_ones_the_user_is_only_a_client_of():
    tenants = tenants_from_identity(load_fixture("users_me_two_businesses.json")["response"])
    assert tenants == [
        {"id": "AbCd12", "name": "Example Landscaping Ltd", "business_id": "900001",
         "business_uuid": "00000000-0000-4000-8000-000000000001"},
        {"id": "EfGh34", "name": "Example Design Co", "business_id": "900002",
         "business_uuid": "00000000-0000-4000-8000-000000000002"}]


def test_a_tax_is_identified_by_its_name_with_a_decimal_percent_rate():
    taxes = [tax_from_fb(tax) for tax in load_fixture("taxes.json")["response"]["result"]["taxes"]]
    assert [(tax["id"], tax["rate"], tax["extra"]["compound"]) for tax in taxes] == [
        ("GST", D("5"), False), ("PST", D("7"), False), ("QST", D("9.975"), True)]


@pytest.mark.parametrize(("fixture", "fields", "codes"), [
    ("error_client_not_found.json", ["customer"], ["1012"]),
    ("error_invoice_validation.json", ["issue_date", "lines[1].unit_price"], ["2001", "2001"]),
    ("error_details_not_found.json", ["customer"], ["1012"]),
    ("error_unauthenticated.json", [""], ["unauthenticated"]),
])
def test_every_error_shape_maps_to_our_field_paths(fixture, fields, codes):
    errors = error_list(load_fixture(fixture))
    assert [e["field"] for e in errors] == fields and [e["code"] for e in errors] == codes
    assert all(e["message"] for e in errors)


def test_the_missing_scope_is_read_from_a_403():
    assert missing_scopes(load_fixture("error_insufficient_scope.json")) == ["user:taxes:read"]
    assert missing_scopes({"message": "forbidden"}) == []


def test_no_float_anywhere_in_read_back_amounts():
    invoice = invoice_from_fb(result("invoice_with_lines.json", "invoice"))
    text = json.dumps(invoice, default=lambda value: f"<{type(value).__name__}>")
    assert "<float>" not in text and "<Decimal>" in text


def test_facts_name_the_bridge_scope_set():
    assert "user:profile:read" in facts.SCOPES and "user:taxes:read" in facts.SCOPES
    for kind in ("clients", "invoices", "payments", "credit_notes"):
        assert {f"user:{kind}:read", f"user:{kind}:write"} <= set(facts.SCOPES)
    assert facts.PER_PAGE_MAX == 100 and facts.TAXES_PER_LINE == 2 and facts.ACCESS_TOKEN_SECONDS == 43200

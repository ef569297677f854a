"""Invoices as Xero keeps them: line maths and per-line tax to the cent in the UK and AU organisations,
discounts, unit precision, numbering, validation, partial success, updates, voids and deletes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.sandbox import jsonio


def line(amount, tax_type="OUTPUT2", quantity=1, account="200", **extra) -> dict:
    return {"Description": "Work", "Quantity": quantity, "UnitAmount": D(str(amount)), "AccountCode": account,
            "TaxType": tax_type, **extra}


def totals(invoice) -> tuple:
    return invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]


def test_uk_exclusive_tax_is_rounded_per_line_then_summed(xero):
    invoice = xero.invoice([line("10.03"), line("10.03"), line("10.03"), line("19.99", "RROUTPUT"),
                            line("5.00", "ZERORATEDOUTPUT")])
    assert [l["TaxAmount"] for l in invoice["LineItems"]] == [D("2.01"), D("2.01"), D("2.01"), D("1.00"), D("0.00")]
    assert totals(invoice) == (D("55.08"), D("7.03"), D("62.11"))  # tax on the total would be 7.02
    assert invoice["AmountDue"] == D("62.11") and invoice["LineAmountTypes"] == "Exclusive"


def test_uk_inclusive_tax_is_taken_out_of_each_line(xero):
    invoice = xero.invoice([line("120.00"), line("99.99"), line("10.50", "RROUTPUT")], LineAmountTypes="Inclusive")
    assert [l["TaxAmount"] for l in invoice["LineItems"]] == [D("20.00"), D("16.67"), D("0.50")]
    assert [l["LineAmount"] for l in invoice["LineItems"]] == [D("120.00"), D("99.99"), D("10.50")]
    assert totals(invoice) == (D("193.32"), D("37.17"), D("230.49"))


def test_uk_no_tax_lines_carry_no_tax(xero):
    invoice = xero.invoice([{"Description": "A", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"},
                            {"Description": "B", "Quantity": 1, "UnitAmount": D("50.55"), "AccountCode": "200"}],
                           LineAmountTypes="NoTax")
    assert totals(invoice) == (D("150.55"), D("0.00"), D("150.55"))
    assert {l["TaxType"] for l in invoice["LineItems"]} == {"NONE"}


def test_au_exclusive_and_inclusive_gst(xero_au):
    contact = xero_au.contact("Kangaroo Pty")
    exclusive = xero_au.invoice([line("33.33", "OUTPUT", 3), line("0.05", "OUTPUT"), line("12.00", "EXEMPTOUTPUT")],
                                contact=contact)
    assert [l["TaxAmount"] for l in exclusive["LineItems"]] == [D("10.00"), D("0.01"), D("0.00")]
    assert totals(exclusive) == (D("112.04"), D("10.01"), D("122.05"))
    assert exclusive["CurrencyCode"] == "AUD"
    inclusive = xero_au.invoice([line("110.00", "OUTPUT"), line("33.33", "OUTPUT")], contact=contact,
                                LineAmountTypes="Inclusive")
    assert totals(inclusive) == (D("130.30"), D("13.03"), D("143.33"))
    no_tax = xero_au.invoice([{"Description": "Export", "Quantity": 2, "UnitAmount": D("49.95"),
                               "AccountCode": "200"}], contact=contact, LineAmountTypes="NoTax")
    assert totals(no_tax) == (D("99.90"), D("0.00"), D("99.90"))
    assert no_tax["LineItems"][0]["TaxType"] == "BASEXCLUDED"


def test_tax_type_defaults_from_the_account(xero_au):
    invoice = xero_au.invoice([{"Description": "Default GST", "Quantity": 2, "UnitAmount": 50,
                                "AccountCode": "200"}])
    assert invoice["LineItems"][0]["TaxType"] == "OUTPUT" and invoice["TotalTax"] == D("10.00")


def test_discount_rate_and_discount_amount(xero):
    invoice = xero.invoice([line("19.99", quantity=3, DiscountRate=D("12.5")),
                            line("50", quantity=2, DiscountAmount=15)])
    first, second = invoice["LineItems"]
    assert first["LineAmount"] == D("52.47") and first["TaxAmount"] == D("10.49")
    assert first["DiscountRate"] == D("12.50")
    assert second["LineAmount"] == D("85.00") and second["DiscountAmount"] == D("15.00")
    assert invoice["IsDiscounted"] is True and invoice["TotalDiscount"] == D("22.50")
    assert totals(invoice) == (D("137.47"), D("27.49"), D("164.96"))


def test_discount_is_refused_on_bills_and_beyond_100_percent(xero):
    contact = xero.contact()
    status, body = xero.put("Invoices", {"Invoices": [
        {"Type": "ACCPAY", "Contact": {"ContactID": contact["ContactID"]},
         "LineItems": [line("10", "INPUT2", account="400", DiscountRate=10)]},
        {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
         "LineItems": [line("10", DiscountRate=101)]}]}, summarizeErrors="false")
    assert status == 200
    messages = [[e["Message"] for e in item["ValidationErrors"]] for item in body["Invoices"]]
    assert messages == [["Discounts are only supported on sales invoices (ACCREC)."],
                        ["The discount rate '101.00' is invalid."]]


def test_unit_amounts_round_to_2dp_unless_unitdp_4(xero):
    contact = xero.contact()
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                          "LineItems": [line("1.795", quantity=3)]}]}
    two = xero.put("Invoices", body)[1]["Invoices"][0]
    assert two["LineItems"][0]["UnitAmount"] == D("1.80") and two["LineItems"][0]["LineAmount"] == D("5.40")
    four = xero.put("Invoices", body, unitdp=4)[1]["Invoices"][0]
    assert four["LineItems"][0]["UnitAmount"] == D("1.7950") and four["LineItems"][0]["LineAmount"] == D("5.39")
    assert four["LineItems"][0]["Quantity"] == D("3.0000")
    read_2dp = xero.get(f"Invoices/{four['InvoiceID']}")[1]["Invoices"][0]["LineItems"][0]
    assert read_2dp["UnitAmount"] == D("1.80") and read_2dp["LineAmount"] == D("5.39")
    read_4dp = xero.get(f"Invoices/{four['InvoiceID']}", unitdp=4)[1]["Invoices"][0]["LineItems"][0]
    assert read_4dp["UnitAmount"] == D("1.7950")
    many = xero.put("Invoices", {"Invoices": [{**body["Invoices"][0], "LineItems": [line("1.23456")]}]}, unitdp=4)
    assert many[1]["Invoices"][0]["LineItems"][0]["UnitAmount"] == D("1.2346")


def test_line_amount_alone_or_mismatched(xero):
    contact = xero.contact()
    ok = xero.invoice([{"Description": "Fixed fee", "LineAmount": D("250.00"), "AccountCode": "200",
                        "TaxType": "OUTPUT2"}], contact=contact)
    assert ok["LineItems"][0]["Quantity"] == D("1.0000") and ok["Total"] == D("300.00")
    ref = {"ContactID": contact["ContactID"]}
    status, body = xero.put("Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": ref,
                                                       "LineItems": [line("20", quantity=2, LineAmount=41)]}]})
    assert status == 400
    assert body["Elements"][0]["ValidationErrors"] == [
        {"Message": "The line total 41.00 does not match the expected line total 40.00"}]


def test_invoice_numbers_are_generated_and_unique_among_sales_invoices(xero):
    contact = xero.contact()
    first, second = xero.invoice(contact=contact), xero.invoice(contact=contact)
    assert (first["InvoiceNumber"], second["InvoiceNumber"]) == ("INV-0001", "INV-0002")
    ref = {"ContactID": contact["ContactID"]}
    status, body = xero.put("Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": ref,
                                                       "InvoiceNumber": "INV-0001", "LineItems": [line("1")]}]})
    assert status == 400 and body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    element = body["Elements"][0]
    assert element["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert element["HasErrors"] is True and element["StatusAttributeString"] == "ERROR"
    bill = {"Type": "ACCPAY", "Contact": {"ContactID": contact["ContactID"]}, "InvoiceNumber": "SUP-1",
            "LineItems": [line("5", "INPUT2", account="400")]}
    assert xero.put("Invoices", {"Invoices": [bill, bill]})[0] == 200  # supplier numbers may repeat


def test_authorised_needs_an_account_on_every_line_or_an_item_with_a_sales_account(xero):
    contact = xero.contact()
    status, body = xero.put("Invoices", {"Invoices": [{"Type": "ACCREC", "Status": "AUTHORISED",
                                                       "Contact": {"ContactID": contact["ContactID"]},
                                                       "LineItems": [{"Description": "No account", "Quantity": 1,
                                                                      "UnitAmount": 10}]}]})
    assert status == 400
    assert body["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Account code must be specified for each line item on an approved document."
    draft = xero.invoice([{"Description": "No account", "Quantity": 1, "UnitAmount": 10}], contact=contact)
    assert draft["Status"] == "DRAFT"
    with_item = xero.invoice([{"ItemCode": "CONSULT", "Quantity": 2}], contact=contact, Status="AUTHORISED")
    item_line = with_item["LineItems"][0]
    assert with_item["Status"] == "AUTHORISED" and item_line["AccountCode"] == "200"
    assert item_line["UnitAmount"] == D("100.00") and item_line["Description"] == "Consulting, per hour"
    assert item_line["Item"]["Code"] == "CONSULT" and with_item["Total"] == D("240.00")


def test_unknown_codes_are_named_in_the_validation_errors(xero):
    contact = xero.contact()
    status, body = xero.put("Invoices", {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "999",
                       "TaxType": "BOGUS", "ItemCode": "NOPE"},
                      line("1", account="090"), line("1", "INPUT2")]}]})
    assert status == 400
    assert [e["Message"] for e in body["Elements"][0]["ValidationErrors"]] == [
        "Item code 'NOPE' is not valid.",
        "Account code '999' is not a valid code for this document.",
        "The TaxType code 'BOGUS' does not exist or cannot be used for this type of transaction.",
        "Account code '090' is not a valid code for this document.",
        "The TaxType code 'INPUT2' does not exist or cannot be used for this type of transaction."]


def test_currency_must_be_the_base_currency_and_contact_is_required(xero):
    contact = xero.contact()
    status, body = xero.put("Invoices", {"Invoices": [
        {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "CurrencyCode": "USD",
         "LineItems": [line("1")]},
        {"Type": "ACCREC", "LineItems": [line("1")]}]}, summarizeErrors="false")
    assert [item["ValidationErrors"][0]["Message"] for item in body["Invoices"]] == [
        "Organisation is not subscribed to currency USD", "A Contact must be specified for this type of transaction"]


def test_contact_by_name_is_found_or_created(xero):
    existing = xero.contact("Known Customer")
    by_name = xero.put("Invoices", {"Invoices": [
        {"Type": "ACCREC", "Contact": {"Name": "known customer"}, "LineItems": [line("1")]},
        {"Type": "ACCREC", "Contact": {"Name": "Brand New Ltd", "EmailAddress": "new@x.test"},
         "LineItems": [line("1")]}]})[1]["Invoices"]
    assert by_name[0]["Contact"]["ContactID"] == existing["ContactID"]
    assert by_name[1]["Contact"]["Name"] == "Brand New Ltd" and by_name[1]["Contact"]["EmailAddress"] == "new@x.test"
    assert by_name[1]["Contact"]["IsCustomer"] is True


def test_summarize_errors_false_keeps_the_good_items(xero):
    contact = xero.contact()
    good = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Reference": "good",
            "LineItems": [line("10")]}
    bad = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Reference": "bad",
           "LineItems": [line("10", account="999")]}
    status, body = xero.put("Invoices", {"Invoices": [good, bad]}, summarizeErrors="false")
    assert status == 200
    created, failed = body["Invoices"]
    assert created["HasErrors"] is False and created["StatusAttributeString"] == "OK" and created["InvoiceID"]
    assert failed["HasErrors"] is True and failed["Reference"] == "bad" and "InvoiceID" not in failed
    assert failed["ValidationErrors"] == [{"Message": "Account code '999' is not a valid code for this document."}]
    assert [i["Reference"] for i in xero.get("Invoices")[1]["Invoices"]] == ["good"]


def test_without_summarize_errors_one_bad_item_fails_the_whole_request(xero, client):
    good = {"Type": "ACCREC", "Contact": {"Name": "Created Only If All Pass"}, "LineItems": [line("10")]}
    bad = {"Type": "ACCREC", "Contact": {"Name": "Created Only If All Pass"}, "LineItems": [line("10", "BOGUS")]}
    status, body = xero.put("Invoices", {"Invoices": [good, bad]})
    assert status == 400 and body["Message"] == "A validation exception occurred"
    assert len(body["Elements"]) == 1 and body["Elements"][0]["HasErrors"] is True
    assert xero.get("Invoices")[1]["Invoices"] == [] and xero.get("Contacts")[1]["Contacts"] == []
    assert jsonio.loads(client.get("/_sandbox/xero/ledger").data)["changes"] == []
    assert xero.put("Invoices", {"Invoices": [good]})[1]["Invoices"][0]["InvoiceNumber"] == "INV-0001"


def test_post_updates_by_id_or_number_and_put_never_updates(xero):
    invoice = xero.invoice(Reference="first")
    status, body = xero.post(f"Invoices/{invoice['InvoiceID']}",
                             {"Invoices": [{"Reference": "second", "LineItems": [
                                 {**line("40"), "LineItemID": invoice["LineItems"][0]["LineItemID"]}]}]})
    updated = body["Invoices"][0]
    assert status == 200 and updated["Reference"] == "second" and updated["Total"] == D("48.00")
    assert updated["LineItems"][0]["LineItemID"] == invoice["LineItems"][0]["LineItemID"]
    by_number = xero.post("Invoices", {"Invoices": [{"InvoiceNumber": invoice["InvoiceNumber"],
                                                     "Status": "AUTHORISED"}]})[1]["Invoices"][0]
    assert by_number["InvoiceID"] == invoice["InvoiceID"] and by_number["Status"] == "AUTHORISED"
    assert by_number["UpdatedDateUTC"] >= invoice["UpdatedDateUTC"]
    assert len(xero.get("Invoices")[1]["Invoices"]) == 1
    back = xero.post(f"Invoices/{invoice['InvoiceID']}", {"Status": "DRAFT"})
    assert back[0] == 400 and back[1]["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Invoice not of valid status for modification"
    missing = xero.request("POST", "Invoices/00000000-0000-0000-0000-000000000000", {"Reference": "x"})
    assert missing.status_code == 404


def test_void_authorised_delete_draft_and_refuse_the_rest(xero):
    contact = xero.contact()
    authorised = xero.invoice(contact=contact, Status="AUTHORISED")
    voided = xero.post(f"Invoices/{authorised['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})[1]["Invoices"][0]
    assert voided["Status"] == "VOIDED" and voided["AmountDue"] == D("0.00") and voided["Total"] == D("120.00")
    again = xero.post(f"Invoices/{authorised['InvoiceID']}", {"Status": "AUTHORISED"})
    assert again[0] == 400
    draft = xero.invoice(contact=contact)
    deleted = xero.post(f"Invoices/{draft['InvoiceID']}", {"Status": "DELETED"})[1]["Invoices"][0]
    assert deleted["Status"] == "DELETED"
    other = xero.invoice(contact=contact, Status="AUTHORISED")
    refused = xero.post(f"Invoices/{other['InvoiceID']}", {"Status": "DELETED"})
    assert refused[0] == 400
    draft_void = xero.post(f"Invoices/{xero.invoice(contact=contact)['InvoiceID']}", {"Status": "VOIDED"})
    assert draft_void[0] == 400


def test_void_is_refused_once_a_payment_is_applied(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    xero.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
                                        "Amount": 10, "Date": "2026-01-20"}]})
    status, body = xero.post(f"Invoices/{invoice['InvoiceID']}", {"Status": "VOIDED"})
    assert status == 400 and body["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "This document cannot be edited as it has a payment or credit note allocated to it."
    lines = xero.post(f"Invoices/{invoice['InvoiceID']}", {"LineItems": [line("1")]})
    assert lines[0] == 400
    same = xero.post(f"Invoices/{invoice['InvoiceID']}", {"Contact": invoice["Contact"], "LineItems": [
        {"Description": "Consulting", "Quantity": 1, "UnitAmount": "100.00", "AccountCode": "200",
         "TaxType": "OUTPUT2"}]})
    assert same[0] == 200  # the same amounts sent again are not an edit
    assert same[1]["Invoices"][0]["LineItems"][0]["LineItemID"] == invoice["LineItems"][0]["LineItemID"]
    reference = xero.post(f"Invoices/{invoice['InvoiceID']}", {"Reference": "still editable"})
    assert reference[0] == 200 and reference[1]["Invoices"][0]["Reference"] == "still editable"


def test_zero_total_invoice_is_paid_when_approved(xero):
    invoice = xero.invoice([line("0")], Status="AUTHORISED")
    assert invoice["Status"] == "PAID" and invoice["AmountDue"] == D("0.00")


@pytest.mark.parametrize("bad_body", [b"not json", b"", b"[1, 2"])
def test_unreadable_body_is_400(xero, bad_body):
    status, body = xero.call("PUT", "Invoices", bad_body)
    assert status == 400 and body["Type"] == "PostDataInvalidException"


def test_single_object_body_and_default_dates(xero, client):
    contact = xero.contact()
    status, body = xero.put("Invoices", {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                                         "LineItems": [line("10")]})
    invoice = body["Invoices"][0]
    today = client.get("/_sandbox/xero/config").get_json()["clock_now"][:10]
    assert status == 200 and invoice["DateString"] == f"{today}T00:00:00"
    assert invoice["DueDateString"] > invoice["DateString"]  # the organisation's 30-day sales terms


def test_other_organisation_cannot_see_the_invoice(xero, xero_au):
    invoice = xero.invoice()
    assert xero_au.request("GET", f"Invoices/{invoice['InvoiceID']}").status_code == 404


"""Payments, credit notes and allocations: what they may touch, and the balances and statuses they move."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.sandbox.xero import AU_TENANT_ID


def pay(xero, invoice, amount, **extra):
    body = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Date": "2026-01-20",
            "Amount": D(str(amount)), **extra}
    return xero.put("Payments", {"Payments": [body]})


def reread(xero, invoice):
    return xero.get(f"Invoices/{invoice['InvoiceID']}")[1]["Invoices"][0]


def test_payment_to_a_bank_account_reduces_amount_due(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    status, body = pay(xero, invoice, "20.00", Reference="CHK-1")
    payment = body["Payments"][0]
    assert status == 200 and payment["PaymentType"] == "ACCRECPAYMENT" and payment["Status"] == "AUTHORISED"
    assert payment["Account"]["Code"] == "090" and payment["Amount"] == D("20.00")
    assert payment["Invoice"]["InvoiceID"] == invoice["InvoiceID"] and payment["Invoice"]["AmountDue"] == D("100.00")
    after = reread(xero, invoice)
    assert (after["AmountPaid"], after["AmountDue"], after["Status"]) == (D("20.00"), D("100.00"), "AUTHORISED")
    assert after["Payments"][0]["PaymentID"] == payment["PaymentID"]


def test_payment_needs_a_bank_or_payments_enabled_account(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    status, body = pay(xero, invoice, 10, Account={"Code": "200"})
    assert status == 400 and "bank accounts" in body["Elements"][0]["ValidationErrors"][0]["Message"]
    assert body["Elements"][0]["HasValidationErrors"] is True
    savings = next(a for a in xero.get("Accounts")[1]["Accounts"] if a["Code"] == "091")
    assert pay(xero, invoice, 10, Account={"AccountID": savings["AccountID"]})[0] == 200


def test_overpayment_is_refused_with_xeros_message(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    status, body = pay(xero, invoice, "120.01")
    assert status == 400
    assert body["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payment amount exceeds the amount outstanding on this document"}]


def test_paying_the_rest_makes_it_paid_and_deleting_a_payment_restores_amount_due(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    pay(xero, invoice, 20)
    status, body = xero.post("Payments", {"Invoice": {"InvoiceNumber": invoice["InvoiceNumber"]},
                                          "Account": {"Code": "090"}, "Date": "2026-01-25", "Amount": 100})
    assert status == 200
    last = body["Payments"][0]
    paid = reread(xero, invoice)
    assert paid["Status"] == "PAID" and paid["AmountDue"] == D("0.00") and paid["AmountPaid"] == D("120.00")
    assert paid["FullyPaidOnDate"] == "/Date(1769299200000+0000)/"  # 2026-01-25
    assert pay(xero, invoice, 1)[1]["Elements"][0]["ValidationErrors"][0]["Message"].startswith("Payment amount")
    deleted = xero.post(f"Payments/{last['PaymentID']}", {"Status": "DELETED"})[1]["Payments"][0]
    assert deleted["Status"] == "DELETED"
    restored = reread(xero, invoice)
    assert restored["Status"] == "AUTHORISED" and restored["AmountDue"] == D("100.00")
    assert "FullyPaidOnDate" not in restored and len(restored["Payments"]) == 1


def test_payments_cannot_be_edited_and_need_an_authorised_invoice(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    payment = pay(xero, invoice, 5)[1]["Payments"][0]
    status, body = xero.post(f"Payments/{payment['PaymentID']}", {"Amount": 6})
    assert status == 400 and "only be deleted" in body["Elements"][0]["ValidationErrors"][0]["Message"]
    wrapped = xero.post(f"Payments/{payment['PaymentID']}", {"Payments": [{"Status": "DELETED"}]})
    assert wrapped[0] == 200 and wrapped[1]["Payments"][0]["Status"] == "DELETED"
    draft = xero.invoice()
    refused = pay(xero, draft, 5)[1]["Elements"][0]["ValidationErrors"][0]["Message"]
    assert refused == "Payments can only be made against Authorised documents"


def test_payments_list_filters_by_where_and_if_modified_since(xero, client):
    invoice = xero.invoice(Status="AUTHORISED")
    pay(xero, invoice, 5, Reference="early")
    client.post("/_sandbox/xero/config", json={"clock_advance": 600})
    now = client.get("/_sandbox/xero/config").get_json()["clock_now"]
    pay(xero, invoice, 6, Reference="late")
    recent = xero.call("GET", "Payments", headers={"If-Modified-Since": now})[1]["Payments"]
    assert [p["Reference"] for p in recent] == ["late"]
    where = xero.get("Payments", where=f'Invoice.InvoiceID==guid("{invoice["InvoiceID"]}") AND Amount>5')
    assert [p["Reference"] for p in where[1]["Payments"]] == ["late"]
    paged = xero.get("Payments", page=1)[1]
    assert paged["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 2}


def credit_note(xero, contact_id, amount="50.00", status="AUTHORISED", **extra):
    body = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Date": "2026-01-22", "Status": status,
            "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": D(amount), "AccountCode": "200",
                           "TaxType": "OUTPUT2"}], **extra}
    status_code, answer = xero.put("CreditNotes", {"CreditNotes": [body]})
    assert status_code == 200, answer
    return answer["CreditNotes"][0]


def test_credit_note_allocation_reduces_both_balances(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    credit = credit_note(xero, invoice["Contact"]["ContactID"])
    assert credit["CreditNoteNumber"] == "CN-0001" and credit["RemainingCredit"] == D("60.00")
    status, body = xero.put(f"CreditNotes/{credit['CreditNoteID']}/Allocations",
                            {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": D("25.00"),
                                              "Date": "2026-01-22"}]})
    assert status == 200 and body["Allocations"][0]["Amount"] == D("25.00")
    after = reread(xero, invoice)
    assert after["AmountCredited"] == D("25.00") and after["AmountDue"] == D("95.00")
    assert after["CreditNotes"][0]["AppliedAmount"] == D("25.00")
    credit_now = xero.get(f"CreditNotes/{credit['CreditNoteID']}")[1]["CreditNotes"][0]
    assert credit_now["RemainingCredit"] == D("35.00") and credit_now["Status"] == "AUTHORISED"
    rest = xero.put(f"CreditNotes/{credit['CreditNoteID']}/Allocations",
                    {"Allocations": [{"Invoice": {"InvoiceNumber": invoice["InvoiceNumber"]}, "Amount": 35,
                                      "Date": "2026-01-23"}]})
    assert rest[0] == 200
    assert xero.get(f"CreditNotes/{credit['CreditNoteID']}")[1]["CreditNotes"][0]["Status"] == "PAID"


def test_allocation_rules(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    contact_id = invoice["Contact"]["ContactID"]
    credit = credit_note(xero, contact_id, "200.00")
    path = f"CreditNotes/{credit['CreditNoteID']}/Allocations"
    over_invoice = xero.put(path, {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 121,
                                                    "Date": "2026-01-22"}]})
    assert over_invoice[1]["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "The amount allocated exceeds the amount outstanding on the invoice"
    no_date = xero.put(path, {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 1}]})
    assert no_date[1]["Elements"][0]["ValidationErrors"][0]["Message"] == "Date must be specified"
    small = credit_note(xero, contact_id, "5.00")
    over_credit = xero.put(f"CreditNotes/{small['CreditNoteID']}/Allocations", {"Allocations": [
        {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 7, "Date": "2026-01-22"}]})
    assert over_credit[1]["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "The amount allocated exceeds the remaining credit on this credit note"
    other = xero.invoice(Status="AUTHORISED", contact_name="Someone Else")
    wrong_contact = xero.put(path, {"Allocations": [{"Invoice": {"InvoiceID": other["InvoiceID"]}, "Amount": 1,
                                                     "Date": "2026-01-22"}]})
    assert wrong_contact[0] == 400
    draft = credit_note(xero, contact_id, status="DRAFT")
    assert xero.put(f"CreditNotes/{draft['CreditNoteID']}/Allocations", {"Allocations": [
        {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 1, "Date": "2026-01-22"}]})[0] == 400


def test_deleting_an_allocation_gives_the_credit_back(xero):
    invoice = xero.invoice(Status="AUTHORISED")
    credit = credit_note(xero, invoice["Contact"]["ContactID"], "100.00")
    allocation = xero.put(f"CreditNotes/{credit['CreditNoteID']}/Allocations", {"Allocations": [
        {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 120, "Date": "2026-01-22"}]})[1]["Allocations"][0]
    assert reread(xero, invoice)["Status"] == "PAID"
    removed = xero.call("DELETE", f"CreditNotes/{credit['CreditNoteID']}/Allocations/{allocation['AllocationID']}")
    assert removed[0] == 200 and removed[1]["IsDeleted"] is True
    after = reread(xero, invoice)
    assert after["Status"] == "AUTHORISED" and after["AmountDue"] == D("120.00")


def test_credit_note_refund_payment(xero):
    contact = xero.contact()
    credit = credit_note(xero, contact["ContactID"], "10.00")
    status, body = xero.put("Payments", {"Payments": [{"CreditNote": {"CreditNoteID": credit["CreditNoteID"]},
                                                       "Account": {"Code": "090"}, "Amount": 12,
                                                       "Date": "2026-01-30"}]})
    assert status == 200 and body["Payments"][0]["PaymentType"] == "ARCREDITPAYMENT"
    refunded = xero.get(f"CreditNotes/{credit['CreditNoteID']}")[1]["CreditNotes"][0]
    assert refunded["RemainingCredit"] == D("0.00") and refunded["Status"] == "PAID"


def test_credit_notes_are_numbered_and_numbers_are_unique(xero):
    contact = xero.contact()
    first = credit_note(xero, contact["ContactID"])
    status, body = xero.put("CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact["ContactID"]},
        "CreditNoteNumber": first["CreditNoteNumber"],
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]}]})
    assert status == 400
    assert body["Elements"][0]["ValidationErrors"] == [{"Message": "Credit Note # must be unique."}]


def test_au_payment_uses_its_own_bank_account(xero_au):
    invoice = xero_au.invoice([{"Description": "GST", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200",
                                "TaxType": "OUTPUT"}], Status="AUTHORISED")
    assert invoice["Total"] == D("110.00")
    status, body = pay(xero_au, invoice, "110.00")
    assert status == 200 and body["Payments"][0]["Invoice"]["Status"] == "PAID"
    assert xero_au.tenant_id == AU_TENANT_ID

"""Tax to the cent (US TAX/NON + transaction code, UK per-line VAT) and payments against balances."""

from __future__ import annotations

from decimal import Decimal as D

from .qbo_client import sales_line


def test_us_tax_applies_transaction_code_to_taxable_lines_only(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [sales_line(D("99.99"), 1, D("99.99"), tax_code="TAX"),
                 sales_line(D("33.33"), 1, D("33.33"), tax_code="TAX"),
                 sales_line(D("50.00"), 1, D("50.00"), tax_code="NON")],
        "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}}})
    # 8.25 % of 133.32 = 10.9989 -> 11.00 (rounded once, on the total)
    detail = invoice["TxnTaxDetail"]
    assert detail["TotalTax"] == D("11.00")
    assert detail["TxnTaxCodeRef"]["value"] == "2"
    assert detail["TaxLine"][0]["TaxLineDetail"]["TaxPercent"] == D("8.25")
    assert detail["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == D("133.32")
    assert invoice["TotalAmt"] == D("194.32")


def test_us_taxable_lines_without_transaction_code_get_no_tax(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]},
                                     "Line": [sales_line(D("100.00"), 1, D("100.00"), tax_code="TAX")]})
    assert invoice["TxnTaxDetail"]["TotalTax"] == D("0.00") and invoice["TotalAmt"] == D("100.00")


def test_us_lines_refuse_real_tax_code_ids(qbo):
    customer = qbo.customer()
    status, body = qbo.post("invoice", {"CustomerRef": {"value": customer["Id"]},
                                        "Line": [sales_line(D("1.00"), tax_code="2")]})
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "2500"


def test_uk_tax_excluded_is_per_line_rounded_then_summed(qbo_uk):
    customer = qbo_uk.customer("Brit Ltd")
    invoice = qbo_uk.create("invoice", {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [sales_line(D("10.05"), 1, D("10.05"), tax_code="2"),   # 2.01
                 sales_line(D("10.05"), 1, D("10.05"), tax_code="2"),   # 2.01
                 sales_line(D("0.10"), 1, D("0.10"), tax_code="5"),     # 0.005 -> 0.01
                 sales_line(D("40.00"), 1, D("40.00"), tax_code="3"),
                 sales_line(D("15.00"), 1, D("15.00"), tax_code="4")]})
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert invoice["TxnTaxDetail"]["TotalTax"] == D("4.03")
    assert invoice["TotalAmt"] == D("79.23")
    by_rate = {line["TaxLineDetail"]["TaxRateRef"]["value"]: line["Amount"]
               for line in invoice["TxnTaxDetail"]["TaxLine"]}
    assert by_rate == {"1": D("4.02"), "4": D("0.01"), "2": D("0.00"), "3": D("0.00")}


def test_uk_tax_inclusive_totals_exact_to_the_cent(qbo_uk):
    customer = qbo_uk.customer("Brit Ltd")
    invoice = qbo_uk.create("invoice", {
        "CustomerRef": {"value": customer["Id"]}, "GlobalTaxCalculation": "TaxInclusive",
        "Line": [sales_line(D("100.00"), 1, D("100.00"), tax_code="2"),   # 16.666.. -> 16.67
                 sales_line(D("10.00"), 1, D("10.00"), tax_code="5")]})   # 0.476.. -> 0.48
    assert invoice["TxnTaxDetail"]["TotalTax"] == D("17.15")
    assert invoice["TotalAmt"] == D("110.00") and invoice["Balance"] == D("110.00")


def test_uk_not_applicable_charges_no_tax(qbo_uk):
    customer = qbo_uk.customer("Brit Ltd")
    invoice = qbo_uk.create("invoice", {"CustomerRef": {"value": customer["Id"]},
                                        "GlobalTaxCalculation": "NotApplicable",
                                        "Line": [sales_line(D("100.00"), 1, D("100.00"))]})
    assert invoice["TxnTaxDetail"]["TotalTax"] == D("0.00") and invoice["TotalAmt"] == D("100.00")


def test_uk_line_without_vat_code_is_refused(qbo_uk):
    customer = qbo_uk.customer("Brit Ltd")
    status, body = qbo_uk.post("invoice", {"CustomerRef": {"value": customer["Id"]},
                                           "Line": [sales_line(D("1.00"), 1, D("1.00"))]})
    error = body["Fault"]["Error"][0]
    assert status == 400 and error["code"] == "6000"
    assert "VAT rate" in error["Detail"]


def test_tax_codes_and_rates_are_queryable(qbo, qbo_uk):
    us_codes = {c["Id"] for c in qbo.query("select * from TaxCode")[1]["TaxCode"]}
    assert {"TAX", "NON", "2"} <= us_codes
    uk_rates = {r["Name"]: r["RateValue"] for r in qbo_uk.query("select * from TaxRate")[1]["TaxRate"]}
    assert uk_rates["20.0% S"] == D("20.0") and uk_rates["5.0% R"] == D("5.0")


def _invoice(qbo, amount="120.00"):
    customer = qbo.customer()
    invoice = qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]},
                                     "Line": [sales_line(D(amount), 1, D(amount))]})
    return customer, invoice


def test_linked_payment_reduces_balance_to_zero(qbo):
    customer, invoice = _invoice(qbo)
    partial = qbo.create("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("20.00"),
                                     "Line": [{"Amount": D("20.00"),
                                               "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert partial["UnappliedAmt"] == D("0.00")
    assert partial["DepositToAccountRef"]["value"] == "4"
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("100.00")
    qbo.create("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("150.00"),
                           "PaymentRefNum": "CHK-1", "DepositToAccountRef": {"value": "35"},
                           "Line": [{"Amount": D("100.00"),
                                     "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    paid = qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]
    assert paid["Balance"] == D("0.00") and paid["TotalAmt"] == D("120.00")
    assert len(paid["LinkedTxn"]) == 2 and paid["LinkedTxn"][0]["TxnType"] == "Payment"
    assert qbo.query("select * from Payment where TotalAmt = '150.00'")[1]["Payment"][0]["UnappliedAmt"] == D("50.00")


def test_payment_cannot_exceed_invoice_balance(qbo):
    customer, invoice = _invoice(qbo)
    status, body = qbo.post("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("500.00"),
                                        "Line": [{"Amount": D("120.01"), "LinkedTxn": [
                                            {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert status == 400 and body["Fault"]["type"] == "ValidationFault"
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("120.00")


def test_payment_requires_customer_and_total(qbo):
    assert qbo.post("payment", {"TotalAmt": D("1.00")})[1]["Fault"]["Error"][0]["code"] == "2020"
    customer = qbo.customer()
    assert qbo.post("payment", {"CustomerRef": {"value": customer["Id"]}})[1]["Fault"]["Error"][0]["code"] == "2020"


def test_credit_memo_applied_through_zero_payment(qbo):
    customer, invoice = _invoice(qbo)
    memo = qbo.create("creditmemo", {"CustomerRef": {"value": customer["Id"]},
                                     "Line": [sales_line(D("50.00"), 1, D("50.00"))]})
    assert memo["TotalAmt"] == D("50.00") and memo["RemainingCredit"] == D("50.00")
    payment = qbo.create("payment", {
        "CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("0"),
        "Line": [{"Amount": D("50.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
                 {"Amount": D("50.00"), "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]})
    assert payment["UnappliedAmt"] == 0
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("70.00")
    assert qbo.get(f"creditmemo/{memo['Id']}")[1]["CreditMemo"]["RemainingCredit"] == D("0.00")


def test_voiding_a_payment_restores_the_invoice_balance(qbo):
    customer, invoice = _invoice(qbo)
    payment = qbo.create("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("120.00"),
                                     "Line": [{"Amount": D("120.00"), "LinkedTxn": [
                                         {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert qbo.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="void")[0] == 400
    status, body = qbo.post("payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
                            operation="update", include="void")
    assert status == 200 and body["Payment"]["TotalAmt"] == 0 and body["Payment"]["PrivateNote"] == "Voided"
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("120.00")


def test_deleting_a_payment_restores_the_invoice_balance(qbo):
    customer, invoice = _invoice(qbo)
    payment = qbo.create("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("120.00"),
                                     "Line": [{"Amount": D("120.00"), "LinkedTxn": [
                                         {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    updated = qbo.create("payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True,
                                     "PaymentRefNum": "REF-9"})
    assert updated["PaymentRefNum"] == "REF-9" and updated["TotalAmt"] == D("120.00")
    status, _ = qbo.post("payment", {"Id": payment["Id"], "SyncToken": "1"}, operation="delete")
    assert status == 200
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("120.00")


def test_voiding_a_paid_invoice_unapplies_its_payment(qbo):
    customer, invoice = _invoice(qbo)
    payment = qbo.create("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": D("120.00"),
                                     "Line": [{"Amount": D("120.00"), "LinkedTxn": [
                                         {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")[0] == 200
    again = qbo.get(f"payment/{payment['Id']}")[1]["Payment"]
    assert again["UnappliedAmt"] == D("120.00") and again["Line"] == []

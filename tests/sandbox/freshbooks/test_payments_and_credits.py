"""Payments settle invoices (partial, paid, overpaid); credit notes are applied through payments."""

from __future__ import annotations

from .fb_client import line


def _result(body, key):
    return body["response"]["result"][key]


def _invoice(fb, amount="100.00", send=True, client=None):
    client = client or fb.new_client()
    invoice = fb.new_invoice(client["id"], lines=[line("Work", 1, amount)])
    if send:
        fb.send(invoice["id"])
    return client, invoice


def _get_invoice(fb, invoice_id):
    return _result(fb.get(f"invoices/invoices/{invoice_id}")[1], "invoice")


def test_payment_makes_the_invoice_partial_then_paid(fb):
    client, invoice = _invoice(fb, "180.00")
    status, body = fb.pay(invoice["id"], "80.00", note="First half")
    payment = _result(body, "payment")
    assert status == 200 and payment["id"] == payment["logid"]
    assert (payment["invoiceid"], payment["clientid"]) == (invoice["id"], client["id"])
    assert payment["amount"] == {"amount": "80.00", "code": "CAD"} and payment["overpaymentid"] is None
    partial = _get_invoice(fb, invoice["id"])
    assert (partial["status"], partial["v3_status"], partial["payment_status"]) == (8, "partial", "partial")
    assert partial["outstanding"]["amount"] == "100.00" and partial["paid"]["amount"] == "80.00"
    fb.pay(invoice["id"], "100.00", date="2026-01-25")
    paid = _get_invoice(fb, invoice["id"])
    assert (paid["status"], paid["v3_status"], paid["outstanding"]["amount"]) == (4, "paid", "0.00")
    assert paid["date_paid"] == "2026-01-25"
    listed = _result(fb.get("payments/payments", query={"search[invoiceid]": invoice["id"]})[1], "payments")
    assert [p["amount"]["amount"] for p in listed] == ["100.00", "80.00"]
    names = [c["name"] for c in fb.ledger()["changes"]]
    assert names[-2:] == ["payment.create", "invoice.update"]


def test_paying_a_draft_takes_it_out_of_draft(fb):
    _, invoice = _invoice(fb, "50.00", send=False)
    fb.pay(invoice["id"], "50.00")
    assert _get_invoice(fb, invoice["id"])["status"] == 4
    assert fb.business_ledger()["books"]["CAD"]["paid"] == "50.00"


def test_overpayment_settles_the_invoice_and_makes_a_credit(fb):
    client, invoice = _invoice(fb, "100.00")
    payment = _result(fb.pay(invoice["id"], "130.00")[1], "payment")
    assert payment["amount"]["amount"] == "100.00" and payment["overpaymentid"]
    credit = _result(fb.get(f"credit_notes/credit_notes/{payment['overpaymentid']}")[1], "credit_note")
    assert (credit["credit_type"], credit["clientid"], credit["amount"]["amount"]) == ("overpayment", client["id"],
                                                                                      "30.00")
    assert _get_invoice(fb, invoice["id"])["status"] == 4


def test_payment_checks_invoice_amount_and_type(fb):
    _, invoice = _invoice(fb)
    status, body = fb.pay(999999, "10.00")
    assert status == 422 and body["response"]["errors"][0] == {
        "errno": 1012, "field": "invoiceid", "message": "Invoice not found.", "object": "invoice", "value": "999999"}
    assert fb.pay(invoice["id"], "0.00")[0] == 422
    assert fb.pay(invoice["id"], "10.00", type="Barter")[0] == 422
    status, body = fb.post("payments/payments", {"payment": {"invoiceid": invoice["id"]}})
    assert status == 422 and body["response"]["errors"][0]["field"] == "amount"


def test_deleting_a_payment_reopens_the_invoice_and_deleting_an_invoice_deletes_its_payments(fb):
    _, invoice = _invoice(fb, "60.00")
    payment = _result(fb.pay(invoice["id"], "60.00")[1], "payment")
    status, body = fb.put(f"payments/payments/{payment['id']}", {"payment": {"vis_state": 1}})
    assert status == 200 and _result(body, "payment")["vis_state"] == 1
    assert _get_invoice(fb, invoice["id"])["status"] == 2
    again = _result(fb.pay(invoice["id"], "20.00")[1], "payment")
    assert fb.delete(f"invoices/invoices/{invoice['id']}")[0] == 200
    deleted = _result(fb.get(f"payments/payments/{again['id']}")[1], "payment")
    assert deleted["vis_state"] == 1
    assert _result(fb.get("payments/payments")[1], "payments") == []
    assert fb.business_ledger()["books"] == {}


def test_payment_amount_can_be_edited_but_not_beyond_the_balance(fb):
    _, invoice = _invoice(fb, "100.00")
    payment = _result(fb.pay(invoice["id"], "40.00")[1], "payment")
    body = fb.put(f"payments/payments/{payment['id']}", {"payment": {"amount": {"amount": "100.00"}}})[1]
    assert _result(body, "payment")["amount"]["amount"] == "100.00"
    assert _get_invoice(fb, invoice["id"])["status"] == 4
    assert fb.put(f"payments/payments/{payment['id']}", {"payment": {"amount": {"amount": "120.00"}}})[0] == 422


def test_credit_note_totals_and_application_to_an_invoice(fb):
    client, invoice = _invoice(fb, "100.00")
    credit = fb.create("credit_notes/credit_notes", "credit_note", {
        "clientid": client["id"], "create_date": "2026-01-22", "credit_type": "goodwill", "language": "en",
        "lines": [line("Credit", 1, "50.00", taxName1="GST", taxAmount1="5")]})
    assert credit["amount"] == {"amount": "52.50", "code": "CAD"} and credit["credit_number"] == "0000001"
    assert credit["paid"]["amount"] == "0.00" and "lines" not in credit
    status, body = fb.pay(invoice["id"], "30.00", creditid=credit["id"], type="Credit")
    applied = _result(body, "payment")
    assert status == 200 and (applied["from_credit"], applied["creditid"], applied["type"]) == (
        True, credit["id"], "Credit")
    assert _get_invoice(fb, invoice["id"])["outstanding"]["amount"] == "70.00"
    after = _result(fb.get(f"credit_notes/credit_notes/{credit['id']}", query={"include[]": "lines"})[1],
                    "credit_note")
    assert after["paid"]["amount"] == "30.00" and after["payment_status"] == "partial"
    assert after["lines"][0]["taxAmount1"] == "5"
    status, body = fb.pay(invoice["id"], "25.00", creditid=credit["id"])  # only 22.50 left on the credit
    assert status == 422 and body["response"]["errors"][0]["errno"] == 2004
    assert fb.pay(invoice["id"], "22.50", from_credit=True, creditid=credit["id"])[0] == 200
    listed = _result(fb.get("payments/payments", query={"search[from_credit]": "true"})[1], "payments")
    assert len(listed) == 2
    assert fb.business_ledger()["credit_notes"][0]["sandbox"]["remaining"] == "0.00"


def test_a_credit_applies_only_to_its_clients_invoices(fb):
    client, _ = _invoice(fb)
    _, other_invoice = _invoice(fb, client=fb.new_client(organization="Other"))
    credit = fb.create("credit_notes/credit_notes", "credit_note", {
        "clientid": client["id"], "lines": [line("Credit", 1, "10.00")]})
    status, body = fb.pay(other_invoice["id"], "5.00", creditid=credit["id"])
    assert status == 422 and body["response"]["errors"][0]["field"] == "creditid"
    status, body = fb.pay(other_invoice["id"], "5.00", type="Credit")
    assert status == 422 and body["response"]["errors"][0]["field"] == "creditid"


def test_credit_note_needs_a_client_and_a_known_type(fb):
    client = fb.new_client()
    status, body = fb.post("credit_notes/credit_notes", {"credit_note": {"lines": []}})
    assert status == 422 and body["response"]["errors"][0]["field"] == "clientid"
    status, body = fb.post("credit_notes/credit_notes", {"credit_note": {"clientid": client["id"],
                                                                         "credit_type": "overpayment"}})
    assert status == 422 and body["response"]["errors"][0]["field"] == "credit_type"
    prepay = fb.create("credit_notes/credit_notes", "credit_note", {"clientid": client["id"],
                                                                    "credit_type": "prepayment"})
    assert prepay["credit_type"] == "prepayment" and prepay["amount"]["amount"] == "0.00"

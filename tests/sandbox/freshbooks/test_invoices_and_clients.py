"""Clients and invoices: CRUD, drafts and sending, books, taxes, money format, paging, search, includes."""

from __future__ import annotations

from decimal import Decimal as D

from .fb_client import line


def _result(body, key):
    return body["response"]["result"][key]


def test_client_crud_merge_and_soft_delete(fb):
    client = fb.new_client(fname="Jane", lname="Doe", currency_code="CAD", p_city="Toronto", vat_number="RT0001")
    assert client["id"] == client["userid"] and client["vis_state"] == 0
    status, body = fb.put(f"users/clients/{client['id']}", {"client": {"email": "billing@acme.test"}})
    updated = _result(body, "client")
    assert status == 200 and updated["email"] == "billing@acme.test" and updated["fname"] == "Jane"
    assert fb.get(f"users/clients/{client['id']}")[1]["response"]["result"]["client"]["p_city"] == "Toronto"
    assert fb.delete(f"users/clients/{client['id']}")[0] == 405  # clients are deleted with vis_state
    assert fb.put(f"users/clients/{client['id']}", {"client": {"vis_state": 1}})[1]["response"]["result"][
        "client"]["vis_state"] == 1
    assert _result(fb.get("users/clients")[1], "total") == 0
    deleted = fb.get("users/clients", query={"search[vis_state]": 1})[1]
    assert [c["id"] for c in _result(deleted, "clients")] == [client["id"]]
    status, body = fb.put(f"users/clients/{client['id']}", {"client": {"email": "x@y.test"}})
    assert status == 404 and body["response"]["errors"][0]["errno"] == 1012  # deleted: restore first
    fb.put(f"users/clients/{client['id']}", {"client": {"vis_state": 0}})
    assert _result(fb.get("users/clients")[1], "total") == 1


def test_missing_client_answers_404_with_errno_1012(fb):
    status, body = fb.get("users/clients/424242")
    assert status == 404 and body == {"response": {"errors": [{
        "errno": 1012, "field": "userid", "message": "Client not found.", "object": "client", "value": "424242"}]}}


def test_client_search_by_email_and_organization(fb):
    acme = fb.new_client(email="AP@Acme.test")
    fb.new_client(organization="Globex", email="ar@globex.test")
    found = fb.get("users/clients", query={"search[email]": "ap@acme.test"})[1]
    assert [c["id"] for c in _result(found, "clients")] == [acme["id"]]
    like = fb.get("users/clients", query={"search[organization_like]": "glob"})[1]
    assert [c["organization"] for c in _result(like, "clients")] == ["Globex"]
    assert _result(fb.get("users/clients", query={"search[email]": "nobody@x.test"})[1], "clients") == []
    fb.get("users/clients", query={"search[no_such_filter]": "1"})
    assert fb.stats()["ignored_search_params"] == {"clients.no_such_filter": 1}


def test_a_repeated_post_creates_a_second_object(fb):
    first, second = fb.new_client(), fb.new_client()
    assert first["id"] != second["id"] and first["email"] == second["email"]
    one, two = fb.new_invoice(first["id"]), fb.new_invoice(first["id"])
    assert one["id"] != two["id"]
    assert (one["invoice_number"], two["invoice_number"]) == ("0000001", "0000002")


def test_invoice_numbers_continue_from_the_last_used_and_are_never_reused(fb):
    client = fb.new_client()
    fb.new_invoice(client["id"], invoice_number="INV-0099")
    assert fb.new_invoice(client["id"])["invoice_number"] == "INV-0100"
    deleted = fb.new_invoice(client["id"], invoice_number="INV-7")
    assert fb.delete(f"invoices/invoices/{deleted['id']}") == (200, {"response": {}})
    for number in ("INV-0099", "INV-7"):  # deleted invoices keep their number
        status, body = fb.post("invoices/invoices", {"invoice": {"customerid": client["id"],
                                                                 "create_date": "2026-01-15",
                                                                 "invoice_number": number}})
        assert status == 422 and body["response"]["errors"][0]["field"] == "invoice_number"


def test_invoice_needs_an_existing_client_and_a_create_date(fb):
    status, body = fb.post("invoices/invoices", {"invoice": {"customerid": 999999, "create_date": "2026-01-15"}})
    assert status == 422 and body == {"response": {"errors": [{
        "errno": 1012, "field": "customerid", "message": "Client not found.", "object": "client",
        "value": "999999"}]}}
    client = fb.new_client()
    status, body = fb.post("invoices/invoices", {"invoice": {"customerid": client["id"]}})
    assert status == 422 and body["response"]["errors"][0]["field"] == "create_date"
    status, body = fb.post("invoices/invoices", {"customerid": client["id"]})  # no {"invoice": ...} wrapper
    assert status == 422 and body["response"]["errors"][0]["field"] == "invoice"


def test_invoice_is_created_as_draft_and_marked_as_sent(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], due_offset_days=30)
    assert (invoice["status"], invoice["v3_status"]) == (1, "draft")
    assert invoice["due_date"] == "2026-02-14" and invoice["currency_code"] == "CAD"
    sent = fb.send(invoice["id"])
    assert (sent["status"], sent["v3_status"], sent["payment_status"]) == (2, "sent", "unpaid")
    status, body = fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {
        "action_email": True, "email_recipients": ["ap@acme.test"]}})
    assert status == 200
    names = [c["name"] for c in fb.ledger()["changes"]]
    assert names[-4:] == ["invoice.create", "invoice.update", "invoice.update", "invoice.sendByEmail"]


def test_drafts_stay_out_of_the_books(fb):
    client = fb.new_client()
    draft = fb.new_invoice(client["id"], lines=[line("Draft work", 1, "40.00")])
    sent = fb.new_invoice(client["id"], lines=[line("Sent work", 2, "50.00")])
    fb.send(sent["id"])
    business = fb.business_ledger()
    assert business["books"] == {"CAD": {"invoices": 1, "invoiced": "100.00", "paid": "0.00",
                                         "outstanding": "100.00"}}
    assert business["drafts"] == {"CAD": {"count": 1, "amount": "40.00"}}
    flags = {i["id"]: (i["sandbox"]["draft"], i["sandbox"]["in_books"]) for i in business["invoices"]}
    assert flags == {draft["id"]: (True, False), sent["id"]: (False, True)}
    balance = fb.get(f"users/clients/{client['id']}", query={"include[]": "outstanding_balance"})[1]
    assert _result(balance, "client")["outstanding_balance"] == [{"amount": {"amount": "100.00", "code": "CAD"}}]


def test_two_taxes_per_line_are_exact_to_the_cent(fb):
    client = fb.new_client()
    lines = [line("Design", 3, "19.99", taxName1="GST", taxAmount1="5", taxName2="PST", taxAmount2="7"),
             line("Hosting", D("1.5"), "10.01", taxName1="GST", taxAmount1="5"),
             line("Compound", 1, "100.00", taxName1="GST", taxAmount1="5", taxName2="QST", taxAmount2="9.975",
                  compounded_tax=True),
             line("Named only", 1, "10.00", taxName1="PST")]  # percentage taken from the PST definition
    invoice = fb.new_invoice(client["id"], lines=lines)
    # Design: 59.97 + 3.00 (2.9985) + 4.20 (4.1979); Hosting: 15.02 (15.015) + 0.75 (0.751)
    # Compound: 100.00 + 5.00 + 10.47 (9.975 % of 105.00 = 10.47375); Named only: 10.00 + 0.70
    assert invoice["amount"] == {"amount": "209.11", "code": "CAD"}
    ledger_invoice = fb.business_ledger()["invoices"][0]
    assert ledger_invoice["sandbox"]["taxes"] == {"GST": "8.75", "PST": "4.90", "QST": "10.47"}
    assert ledger_invoice["sandbox"]["subtotal"] == "184.99"
    amounts = [l["amount"]["amount"] for l in ledger_invoice["lines"]]
    assert amounts == ["59.97", "15.02", "100.00", "10.00"]


def test_money_is_a_decimal_string_and_qty_a_number_on_the_wire(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], lines=[line("A", 3, "19.99", taxName1="GST", taxAmount1="5")])
    raw = fb.client.get(fb.url(f"invoices/invoices/{invoice['id']}"), query_string={"include[]": "lines"},
                        headers=fb.headers()).get_data(as_text=True)
    assert '"amount":{"amount":"62.97","code":"CAD"}' in raw
    assert '"qty":3' in raw and '"unit_cost":{"amount":"19.99","code":"CAD"}' in raw
    assert '"taxAmount1":"5"' in raw and '"outstanding":{"amount":"62.97","code":"CAD"}' in raw


def test_lines_come_back_only_with_include_lines(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"])
    assert "lines" not in invoice
    plain = _result(fb.get(f"invoices/invoices/{invoice['id']}")[1], "invoice")
    assert "lines" not in plain
    comma = _result(fb.get(f"invoices/invoices/{invoice['id']}", query={"include": "lines"})[1], "invoice")
    assert "lines" not in comma  # only the array form include[]= works
    full = _result(fb.get(f"invoices/invoices/{invoice['id']}", query={"include[]": "lines"})[1], "invoice")
    assert [l["name"] for l in full["lines"]] == ["Consulting"] and full["lines"][0]["lineid"] == 1
    listed = _result(fb.get("invoices/invoices", query={"include[]": "lines"})[1], "invoices")
    assert listed[0]["lines"][0]["amount"]["amount"] == "100.00"


def test_put_merges_given_keys_and_lines_replace_the_whole_set(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], lines=[line("A", 1, "10.00"), line("B", 1, "20.00")])
    status, body = fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {"notes": "Thanks"}})
    assert status == 200 and _result(body, "invoice")["amount"]["amount"] == "30.00"
    body = fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {"lines": [line("C", 2, "5.00")]}},
                  query={"include[]": "lines"})[1]
    updated = _result(body, "invoice")
    assert [l["name"] for l in updated["lines"]] == ["C"] and updated["notes"] == "Thanks"
    # A vis_state key activates its own phase: the other fields are silently dropped.
    body = fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {"vis_state": 0, "notes": "Dropped"}})[1]
    assert _result(body, "invoice")["notes"] == "Thanks"


def test_paging_caps_per_page_at_100_treats_page_0_as_1_and_ends_empty(fb):
    for index in range(7):
        fb.new_client(organization=f"Client {index}")
    page = _result(fb.get("users/clients", query={"per_page": 3, "page": 2})[1], "clients")
    meta = fb.get("users/clients", query={"per_page": 3, "page": 2})[1]["response"]["result"]
    assert [c["organization"] for c in page] == ["Client 3", "Client 4", "Client 5"]
    assert (meta["page"], meta["pages"], meta["per_page"], meta["total"]) == (2, 3, 3, 7)
    assert fb.get("users/clients", query={"per_page": 500})[1]["response"]["result"]["per_page"] == 100
    assert fb.get("users/clients")[1]["response"]["result"]["per_page"] == 15
    zero = fb.get("users/clients", query={"page": 0, "per_page": 3})[1]["response"]["result"]
    assert zero["page"] == 1 and [c["organization"] for c in zero["clients"]][0] == "Client 0"
    past = fb.get("users/clients", query={"page": 9, "per_page": 3})[1]["response"]["result"]
    assert past["clients"] == [] and past["total"] == 7 and past["page"] == 9
    status, body = fb.get("users/clients", query={"page": -1})
    assert status == 400 and body["response"]["errors"][0]["message"] == "page must be a number"


def test_invoice_searches_by_number_customer_and_status(fb):
    acme, globex = fb.new_client(), fb.new_client(organization="Globex")
    first = fb.new_invoice(acme["id"], invoice_number="A-1")
    second = fb.new_invoice(globex["id"], invoice_number="A-2")
    fb.send(second["id"])
    ids = lambda q: [i["id"] for i in _result(fb.get("invoices/invoices", query=q)[1], "invoices")]  # noqa: E731
    assert ids({"search[invoice_number]": "A-1"}) == [first["id"]]
    assert ids({"search[customerid]": globex["id"]}) == [second["id"]]
    assert ids([("search[statusids][]", "1"), ("search[statusids][]", "4")]) == [first["id"]]
    assert ids({"search[v3_status]": "sent"}) == [second["id"]]
    assert ids({}) == [second["id"], first["id"]]  # newest first


def test_updated_min_has_day_granularity(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"])
    today = invoice["updated"][:10]
    ids = lambda q: [i["id"] for i in _result(fb.get("invoices/invoices", query=q)[1], "invoices")]  # noqa: E731
    assert ids({"search[updated_min]": today}) == [invoice["id"]]  # same day, any hour
    assert ids({"search[updated_max]": today}) == []  # _max is "less than" the day
    fb.config(clock_advance=3 * 86400)
    fb.refresh()
    later = fb.new_invoice(client["id"])
    assert ids({"search[updated_min]": later["updated"][:10]}) == [later["id"]]
    status, body = fb.get("invoices/invoices", query={"search[updated_min]": "yesterday"})
    assert status == 422 and body["response"]["errors"][0]["field"] == "search[updated_min]"


def test_unknown_account_and_resource_answer_404(fb):
    status, body = fb.get("/freshbooks/accounting/account/NOPE99/users/clients", absolute=True)
    assert status == 404 and body["response"]["errors"][0]["errno"] == 1012
    assert fb.get("widgets/widgets")[0] == 404


def test_renumbering_an_invoice_frees_its_old_number(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], invoice_number="R-1")
    body = fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {"invoice_number": "R-2"}})[1]
    assert _result(body, "invoice")["invoice_number"] == "R-2"
    assert fb.new_invoice(client["id"], invoice_number="R-1")["invoice_number"] == "R-1"
    assert fb.put(f"invoices/invoices/{invoice['id']}", {"invoice": {"invoice_number": "R-1"}})[0] == 422

"""Create, read, update, void and delete as QBO does them: envelopes, SyncToken, requestid, validation."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.sandbox import jsonio

from .qbo_client import sales_line


def _invoice(qbo, customer_id, **extra):
    body = {"CustomerRef": {"value": customer_id},
            "Line": [sales_line(D("200.00"), 2, D("100.00"), tax_code="NON", description="Consulting")]}
    body.update(extra)
    return body


def test_create_and_read_back_with_qbo_envelope(qbo):
    status, answer = qbo.post("customer", {"DisplayName": "Acme Ltd", "PrimaryEmailAddr": {"Address": "ap@acme.test"}})
    assert status == 200
    assert set(answer) == {"Customer", "time"}
    customer = answer["Customer"]
    assert customer["Id"].isdigit() and customer["SyncToken"] == "0"
    assert customer["MetaData"]["CreateTime"][-6:] in ("-08:00",)
    status, read = qbo.get(f"customer/{customer['Id']}", minorversion="75")
    assert status == 200 and read["Customer"]["PrimaryEmailAddr"] == {"Address": "ap@acme.test"}


def test_money_is_json_number_not_string(qbo, client):
    customer = qbo.customer()
    qbo.create("invoice", _invoice(qbo, customer["Id"]))
    raw = client.get(qbo.url("query"), query_string={"query": "select * from Invoice"},
                     headers=qbo.headers()).get_data(as_text=True)
    assert '"TotalAmt":200.00' in raw and '"Balance":200.00' in raw


def test_invoice_totals_subtotal_line_and_auto_doc_number(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", _invoice(qbo, customer["Id"]))
    assert invoice["TotalAmt"] == D("200.00") and invoice["Balance"] == D("200.00")
    assert invoice["Line"][-1] == {"Amount": D("200.00"), "DetailType": "SubTotalLineDetail",
                                   "SubTotalLineDetail": {}}
    assert invoice["DocNumber"] == "1001"
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Acme Ltd"}
    second = qbo.create("invoice", _invoice(qbo, customer["Id"]))
    assert second["DocNumber"] == "1002"


def test_requestid_replays_the_first_answer_and_creates_once(qbo, client):
    customer = qbo.customer()
    first = client.post(qbo.url("invoice"), query_string={"requestid": "op-123"},
                        data=jsonio.dumps(_invoice(qbo, customer["Id"])),
                        headers={**qbo.headers(), "Content-Type": "application/json"})
    repeat = client.post(qbo.url("invoice"), query_string={"requestid": "op-123"},
                         data=b'{"CustomerRef": {"value": "' + customer["Id"].encode() + b'"}, "Line": []}',
                         headers={**qbo.headers(), "Content-Type": "application/json"})
    assert first.status_code == repeat.status_code == 200
    assert first.data == repeat.data
    assert qbo.query("select count(*) from Invoice")[1] == {"totalCount": 1}
    assert client.get("/_sandbox/quickbooks/stats").get_json()["requestid_replays"] == 1


def test_requestid_longer_than_50_is_refused(qbo):
    status, body = qbo.post("customer", {"DisplayName": "X"}, requestid="r" * 51)
    assert status == 400 and body["Fault"]["type"] == "ValidationFault"
    assert qbo.query("select count(*) from Customer")[1] == {"totalCount": 0}


def test_stale_sync_token_is_fault_5010(qbo):
    customer = qbo.customer()
    updated = qbo.create("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "v1"})
    assert updated["SyncToken"] == "1"
    status, body = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "v2"})
    assert status == 400
    error = body["Fault"]["Error"][0]
    assert (error["code"], error["Message"], body["Fault"]["type"]) == ("5010", "Stale Object Error",
                                                                        "ValidationFault")
    assert error["Detail"].startswith("Stale Object Error : You and")


def test_sparse_update_keeps_fields_full_update_clears_them(qbo):
    customer = qbo.customer(CompanyName="Acme Holdings", Notes="keep me")
    sparse = qbo.create("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                     "PrimaryPhone": {"FreeFormNumber": "555-0100"}})
    assert sparse["CompanyName"] == "Acme Holdings" and sparse["Notes"] == "keep me"
    assert sparse["PrimaryPhone"] == {"FreeFormNumber": "555-0100"}
    full = qbo.create("customer", {"Id": customer["Id"], "SyncToken": "1", "DisplayName": "Acme Ltd"})
    assert "CompanyName" not in full and "Notes" not in full and full["SyncToken"] == "2"


def test_sparse_update_replaces_lines_whole(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", _invoice(qbo, customer["Id"], Line=[
        sales_line(D("10.00"), 1, D("10.00")), sales_line(D("20.00"), 1, D("20.00"))]))
    updated = qbo.create("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True,
                                     "Line": [sales_line(D("5.00"), 1, D("5.00"))]})
    assert [line["Amount"] for line in updated["Line"]] == [D("5.00"), D("5.00")]  # one line + subtotal
    assert updated["TotalAmt"] == D("5.00") and updated["DocNumber"] == invoice["DocNumber"]


def test_duplicate_display_name_is_6240_case_insensitive(qbo):
    qbo.customer("Acme Ltd")
    status, body = qbo.post("customer", {"DisplayName": "ACME LTD"})
    error = body["Fault"]["Error"][0]
    assert status == 400 and error["code"] == "6240" and error["Message"] == "Duplicate Name Exists Error"
    assert "ACME LTD" in error["Detail"]


def test_customer_needs_a_name(qbo):
    status, body = qbo.post("customer", {"CompanyName": "No Display"})
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "2020"
    named = qbo.create("customer", {"GivenName": "Jane", "FamilyName": "Doe"})
    assert named["DisplayName"] == "Jane Doe"


def test_duplicate_doc_number_is_6140(qbo):
    customer = qbo.customer()
    qbo.create("invoice", _invoice(qbo, customer["Id"], DocNumber="INV-1"))
    status, body = qbo.post("invoice", _invoice(qbo, customer["Id"], DocNumber="INV-1"))
    error = body["Fault"]["Error"][0]
    assert status == 400 and error["code"] == "6140" and error["Message"] == "Duplicate Document Number Error"


def test_amount_must_equal_qty_times_unit_price(qbo):
    customer = qbo.customer()
    body = _invoice(qbo, customer["Id"], Line=[sales_line(D("10.00"), 1, D("10.00")),
                                                sales_line(D("33.34"), 3, D("11.11"))])
    status, fault = qbo.post("invoice", body)
    error = fault["Fault"]["Error"][0]
    assert status == 400 and error["code"] == "6070" and error["element"] == "Line[2].Amount"
    # Half-up to cents: 3 x 3.335 = 10.005 -> 10.01
    ok = qbo.create("invoice", _invoice(qbo, customer["Id"], Line=[sales_line(D("10.01"), 3, D("3.335"))]))
    assert ok["TotalAmt"] == D("10.01")


def test_references_must_exist(qbo):
    status, body = qbo.post("invoice", {"CustomerRef": {"value": "999"}, "Line": [sales_line(D("1.00"))]})
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "2500"
    customer = qbo.customer()
    status, body = qbo.post("invoice", _invoice(qbo, customer["Id"], Line=[sales_line(D("1.00"), item="77")]))
    error = body["Fault"]["Error"][0]
    assert error["code"] == "2500" and "ItemRef" in error["element"]
    status, body = qbo.post("invoice", {"Line": [sales_line(D("1.00"))]})
    assert body["Fault"]["Error"][0]["code"] == "2020"
    status, body = qbo.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": []})
    assert body["Fault"]["Error"][0]["code"] == "6000"


def test_unknown_property_is_2010(qbo):
    status, body = qbo.post("customer", {"DisplayName": "A", "Nmae": "typo"})
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "2010"


def test_read_missing_object_is_610(qbo):
    status, body = qbo.get("invoice/424242")
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "610"


def test_void_invoice_zeroes_amounts_and_keeps_doc_number(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", _invoice(qbo, customer["Id"], DocNumber="V-1"))
    status, body = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert status == 200
    voided = body["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"]) == (D("0.00"), D("0.00"))
    assert voided["PrivateNote"] == "Voided" and voided["DocNumber"] == "V-1" and voided["SyncToken"] == "1"
    assert all(line["Amount"] == 0 for line in voided["Line"])


def test_delete_invoice_needs_sync_token_and_hides_it(qbo):
    customer = qbo.customer()
    invoice = qbo.create("invoice", _invoice(qbo, customer["Id"]))
    status, body = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "5"}, operation="delete")
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "5010"
    status, body = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert status == 200 and body["Invoice"] == {"Id": invoice["Id"], "status": "Deleted", "domain": "QBO"}
    assert qbo.get(f"invoice/{invoice['Id']}")[0] == 400
    assert qbo.query("select count(*) from Invoice")[1] == {"totalCount": 0}


def test_name_lists_cannot_be_deleted(qbo):
    customer = qbo.customer()
    status, body = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0"}, operation="delete")
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "500"


def test_items_and_accounts_are_creatable_with_unique_names(qbo):
    item = qbo.create("item", {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert item["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert qbo.post("item", {"Name": "consulting", "IncomeAccountRef": {"value": "1"}})[1][
        "Fault"]["Error"][0]["code"] == "6240"
    account = qbo.create("account", {"Name": "Consulting Income", "AccountType": "Income"})
    assert account["Classification"] == "Revenue"
    assert qbo.post("taxcode", {"Name": "New"})[0] == 400


def test_company_info_and_preferences(qbo, qbo_uk):
    status, body = qbo.get(f"companyinfo/{qbo.realm_id}")
    assert body["CompanyInfo"]["CompanyName"] == "Sandbox Company US" and body["CompanyInfo"]["Country"] == "US"
    prefs = qbo.get("preferences")[1]["Preferences"]
    assert prefs["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": False}
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    uk = qbo_uk.get(f"companyinfo/{qbo_uk.realm_id}")[1]["CompanyInfo"]
    assert (uk["CompanyName"], uk["Country"]) == ("Sandbox Company UK", "GB")
    assert qbo_uk.get("preferences")[1]["Preferences"]["CurrencyPrefs"]["HomeCurrency"] == {"value": "GBP"}


def test_minorversion_is_accepted_and_recorded(qbo, client):
    qbo.get("preferences", minorversion="75")
    assert client.get("/_sandbox/quickbooks/stats").get_json()["minorversion"] == {qbo.realm_id: "75"}


def test_customer_balance_follows_invoices(qbo):
    customer = qbo.customer()
    qbo.create("invoice", _invoice(qbo, customer["Id"]))
    assert qbo.get(f"customer/{customer['Id']}")[1]["Customer"]["Balance"] == D("200.00")

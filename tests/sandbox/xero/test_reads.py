"""Reading collections: where, IDs, InvoiceNumbers, ContactIDs, Statuses, If-Modified-Since, order,
paging with Xero's pagination object, summaryOnly, reads by id or number, and the settings endpoints."""

from __future__ import annotations

from decimal import Decimal as D

import pytest


def _line(amount="10") -> dict:
    return {"Description": "Work", "Quantity": 1, "UnitAmount": D(amount), "AccountCode": "200", "TaxType": "OUTPUT2"}


@pytest.fixture
def three(xero):
    """Two invoices for Acme (one AUTHORISED), one for Beta, plus a bill."""
    acme, beta = xero.contact("Acme Ltd"), xero.contact("Beta Ltd")
    first = xero.invoice([_line("10")], contact=acme)
    second = xero.invoice([_line("20")], contact=acme, Status="AUTHORISED", Reference="R-2")
    third = xero.invoice([_line("30")], contact=beta)
    xero.put("Invoices", {"Invoices": [{"Type": "ACCPAY", "Contact": {"ContactID": beta["ContactID"]},
                                        "LineItems": [{**_line("5"), "AccountCode": "400", "TaxType": "INPUT2"}]}]})
    return {"acme": acme, "beta": beta, "invoices": [first, second, third]}


def numbers(answer) -> list:
    return [invoice.get("InvoiceNumber") for invoice in answer[1]["Invoices"]]


def test_where_on_type_status_number_and_contact(xero, three):
    assert numbers(xero.get("Invoices", where='Type=="ACCREC"')) == ["INV-0001", "INV-0002", "INV-0003"]
    assert numbers(xero.get("Invoices", where='Status=="AUTHORISED" AND Type=="ACCREC"')) == ["INV-0002"]
    assert numbers(xero.get("Invoices", where='InvoiceNumber=="INV-0003"')) == ["INV-0003"]
    acme = three["acme"]["ContactID"]
    assert numbers(xero.get("Invoices", where=f'Contact.ContactID==guid("{acme}") && Total>=24')) == ["INV-0002"]
    assert numbers(xero.get("Invoices", where='Reference.StartsWith("r-")')) == ["INV-0002"]
    assert numbers(xero.get("Invoices", where='Date>=DateTime(2026,01,15) AND Type!="ACCPAY"')) == \
        ["INV-0001", "INV-0002", "INV-0003"]


@pytest.mark.parametrize("where,fragment", [
    ('Status=="DRAFT" OR Status=="PAID"', "OR is not supported"),
    ('Colour=="red"', "cannot filter Invoices on 'Colour'"),
    ('Status=="DRAFT" AND', "expected"),
    ('Total=="lots"', "cannot be compared"),
])
def test_unsupported_where_is_a_clear_400(xero, where, fragment):
    status, body = xero.get("Invoices", where=where)
    assert status == 400 and body["Type"] == "QueryParseException" and fragment in body["Message"]


def test_ids_numbers_contacts_and_statuses_parameters(xero, three):
    first, second, third = three["invoices"]
    assert numbers(xero.get("Invoices", IDs=f"{first['InvoiceID']},{third['InvoiceID']}")) == ["INV-0001", "INV-0003"]
    assert numbers(xero.get("Invoices", InvoiceNumbers='"INV-0002","INV-0003"')) == ["INV-0002", "INV-0003"]
    assert numbers(xero.get("Invoices", ContactIDs=three["beta"]["ContactID"], where='Type=="ACCREC"')) == ["INV-0003"]
    assert numbers(xero.get("Invoices", Statuses="AUTHORISED,PAID")) == ["INV-0002"]
    assert numbers(xero.get("Invoices", searchTerm="r-2")) == ["INV-0002"]


def test_if_modified_since_returns_what_changed_after(xero, three, client):
    client.post("/_sandbox/xero/config", json={"clock_advance": 120})
    since = client.get("/_sandbox/xero/config").get_json()["clock_now"]
    xero.post(f"Invoices/{three['invoices'][0]['InvoiceID']}", {"Reference": "touched"})
    changed = xero.call("GET", "Invoices", headers={"If-Modified-Since": since})
    assert numbers(changed) == ["INV-0001"]
    http_date = xero.call("GET", "Invoices", headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert len(http_date[1]["Invoices"]) == 4
    assert xero.call("GET", "Invoices", headers={"If-Modified-Since": "yesterday"})[0] == 400


def test_order_by_field_asc_and_desc(xero, three):
    assert numbers(xero.get("Invoices", order="Total DESC", where='Type=="ACCREC"')) == \
        ["INV-0003", "INV-0002", "INV-0001"]
    assert numbers(xero.get("Invoices", order="UpdatedDateUTC ASC", where='Type=="ACCREC"'))[0] == "INV-0001"
    assert xero.get("Invoices", order="Colour ASC")[0] == 400


def test_paging_is_100_a_page_with_lines_and_the_pagination_object(xero):
    contact = xero.contact()
    batch = [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "LineItems": [_line()]}
             for _ in range(120)]
    assert xero.put("Invoices", {"Invoices": batch})[0] == 200
    page1 = xero.get("Invoices", page=1)[1]
    assert page1["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 2, "itemCount": 120}
    assert len(page1["Invoices"]) == 100 and page1["Invoices"][0]["LineItems"][0]["LineAmount"] == D("10.00")
    page2 = xero.get("Invoices", page=2)[1]
    assert len(page2["Invoices"]) == 20 and page2["Invoices"][-1]["InvoiceNumber"] == "INV-0120"
    assert xero.get("Invoices", page=3)[1]["Invoices"] == []
    sized = xero.get("Invoices", page=2, pageSize=50)[1]
    assert sized["pagination"]["pageCount"] == 3 and sized["Invoices"][0]["InvoiceNumber"] == "INV-0051"
    unpaged = xero.get("Invoices")[1]
    assert "pagination" not in unpaged and len(unpaged["Invoices"]) == 120
    assert "LineItems" not in unpaged["Invoices"][0]


def test_summary_only_leaves_out_heavy_fields(xero, three):
    summary = xero.get("Invoices", summaryOnly="true", page=1)[1]["Invoices"][0]
    assert "LineItems" not in summary and "Payments" not in summary
    assert summary["Contact"] == {"ContactID": three["acme"]["ContactID"], "Name": "Acme Ltd"}
    assert summary["Total"] == D("12.00")


def test_read_by_id_or_number_and_404_text(xero, three):
    first = three["invoices"][0]
    by_number = xero.get("Invoices/INV-0001")[1]["Invoices"][0]
    assert by_number["InvoiceID"] == first["InvoiceID"] and by_number["LineItems"]
    missing = xero.request("GET", "Invoices/INV-9999")
    assert missing.status_code == 404 and missing.data.decode() == "The resource you're looking for cannot be found"


def test_dates_come_back_as_ms_json_with_date_strings(xero, three):
    invoice = xero.get(f"Invoices/{three['invoices'][0]['InvoiceID']}")[1]
    assert invoice["Status"] == "OK" and invoice["DateTimeUTC"].startswith("/Date(")
    body = invoice["Invoices"][0]
    assert body["Date"] == "/Date(1768435200000+0000)/" and body["DateString"] == "2026-01-15T00:00:00"
    assert body["UpdatedDateUTC"].startswith("/Date(") and body["UpdatedDateUTC"].endswith("+0000)/")
    assert body["UpdatedDateUTCString"].endswith("Z")


def test_settings_endpoints(xero, xero_au):
    accounts = xero.get("Accounts")[1]["Accounts"]
    assert {a["Code"]: a["Type"] for a in accounts} == {"090": "BANK", "091": "BANK", "200": "REVENUE",
                                                        "260": "REVENUE", "400": "EXPENSE"}
    assert [a["Code"] for a in xero.get("Accounts", where='Type=="BANK"')[1]["Accounts"]] == ["090", "091"]
    one = xero.get(f"Accounts/{accounts[0]['AccountID']}")[1]["Accounts"][0]
    assert one["Name"] == "Business Bank Account"
    rates = {r["TaxType"]: (r["Name"], r["EffectiveRate"]) for r in xero.get("TaxRates")[1]["TaxRates"]}
    assert rates["OUTPUT2"] == ("20% (VAT on Income)", D("20"))
    assert {"ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE", "RROUTPUT"} <= set(rates)
    au_rates = {r["TaxType"]: r["Name"] for r in xero_au.get("TaxRates")[1]["TaxRates"]}
    assert au_rates["OUTPUT"] == "GST on Income" and au_rates["EXEMPTOUTPUT"] == "GST Free Income"
    org = xero.get("Organisation")[1]["Organisations"][0]
    assert (org["BaseCurrency"], org["CountryCode"], org["IsDemoCompany"]) == ("GBP", "GB", False)
    assert xero_au.get("TaxRates/OUTPUT")[1]["TaxRates"][0]["EffectiveRate"] == D("10")


def test_items_create_update_read_and_unitdp(xero):
    status, body = xero.put("Items", {"Items": [{"Code": "WIDGET", "Name": "Widget", "Description": "A widget",
                                                  "SalesDetails": {"UnitPrice": D("2.3456"), "AccountCode": "200",
                                                                   "TaxType": "OUTPUT2"}}]}, unitdp=4)
    assert status == 200 and body["Items"][0]["SalesDetails"]["UnitPrice"] == D("2.3456")
    assert xero.get("Items/WIDGET")[1]["Items"][0]["SalesDetails"]["UnitPrice"] == D("2.35")
    duplicate = xero.put("Items", {"Items": [{"Code": "widget"}]})
    assert duplicate[0] == 400 and "already exists" in duplicate[1]["Elements"][0]["ValidationErrors"][0]["Message"]
    updated = xero.post("Items", {"Items": [{"Code": "WIDGET", "Name": "Widget v2"}]})[1]["Items"][0]
    assert updated["Name"] == "Widget v2" and updated["ItemID"] == body["Items"][0]["ItemID"]
    bad = xero.put("Items", {"Items": [{"Code": "X", "SalesDetails": {"AccountCode": "999"}}]})
    assert bad[0] == 400
    codes = [i["Code"] for i in xero.get("Items", where='Code.Contains("i")')[1]["Items"]]
    assert codes == ["LICENCE", "WIDGET"]

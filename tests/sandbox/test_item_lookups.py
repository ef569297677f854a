"""The QuickBooks item calls the bridge makes when the invoicing platform owns items: look-up, create, rules."""

from __future__ import annotations


def test_quickbooks_finds_items_by_name_without_case_or_by_sku_and_needs_an_income_account(qbo):
    assert qbo.post("item", {"Name": "Widget", "Type": "Service"})[1]["Fault"]["Error"][0]["code"] == "2020"
    made = qbo.create("item", {"Name": "Widget", "Type": "Service", "IncomeAccountRef": {"value": "1"},
                               "Sku": "W-1", "Description": "Blue widget"})
    status, found = qbo.query("select * from Item where Name = 'widget'")
    assert status == 200 and [item["Id"] for item in found["Item"]] == [made["Id"]]
    assert [item["Id"] for item in qbo.query("select * from Item where Sku = 'W-1'")[1]["Item"]] == [made["Id"]]
    assert "Item" not in qbo.query("select * from Item where Name = 'Gadget'")[1]
    duplicate = qbo.post("item", {"Name": "WIDGET", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert duplicate[1]["Fault"]["Error"][0]["code"] == "6240"

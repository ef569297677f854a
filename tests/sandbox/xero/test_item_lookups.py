"""The Xero item calls the bridge makes when the invoicing platform owns items: read by code, create, rules."""

from __future__ import annotations


def test_xero_reads_one_item_by_its_code_and_refuses_a_code_over_30_characters(xero):
    assert xero.put("Items", {"Items": [{"Code": "X" * 31}]})[0] == 400
    made = xero.put("Items", {"Items": [{"Code": "GADGET-2", "Name": "GADGET-2",
                                         "SalesDetails": {"AccountCode": "200"}}]})[1]["Items"][0]
    assert xero.get("Items/gadget-2")[1]["Items"][0]["ItemID"] == made["ItemID"]
    assert xero.get("Items/NOPE")[0] == 404

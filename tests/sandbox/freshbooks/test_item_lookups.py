"""The FreshBooks item calls the bridge makes when the invoicing platform owns items: search by name, create."""

from __future__ import annotations

from bridge.ledgers.freshbooks import facts

from .fb_client import FB


def test_the_bridges_scopes_create_items_which_need_a_name_and_are_searched_by_name_without_case(fb_http):
    writer = FB(fb_http).connect(scope=" ".join(facts.SCOPES))
    assert writer.post("items/items", {"item": {"description": "nameless"}})[0] == 422
    made = writer.create("items/items", "item", {"name": "WIDGET-9", "unit_cost": {"amount": "12.50", "code": "CAD"}})
    found = writer.get("items/items", query={"search[name]": "widget-9"})[1]["response"]["result"]["items"]
    assert [item["id"] for item in found] == [made["id"]]

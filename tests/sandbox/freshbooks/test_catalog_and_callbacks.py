"""Taxes, items, the chart of accounts, and webhook callbacks (registration, verification, resend)."""

from __future__ import annotations

from bridge.sandbox.freshbooks import BUSINESS_UUID

from .fb_client import FB, BRIDGE_SCOPES

FULL = BRIDGE_SCOPES + " user:billable_items:write user:taxes:write"
CALLBACKS = "/freshbooks/events/account/{}/events/callbacks"


def _result(body, key):
    return body["response"]["result"][key]


def test_seeded_taxes_are_gst_5_and_pst_7_as_percent_strings(fb):
    taxes = _result(fb.get("taxes/taxes")[1], "taxes")
    assert [(t["name"], t["amount"], t["compound"]) for t in taxes] == [("GST", "5", False), ("PST", "7", False)]
    assert taxes[0]["id"] == taxes[0]["taxid"] and taxes[0]["number"]
    status, body = fb.post("taxes/taxes", {"tax": {"name": "HST", "amount": "13"}})
    assert status == 403 and "Required: ['user:taxes:write']" in body["message"]  # the bridge only reads taxes


def test_taxes_can_be_created_and_really_deleted(fb_http):
    fb = FB(fb_http).connect(scope=FULL)
    tax = fb.create("taxes/taxes", "tax", {"name": "QST", "amount": "9.975", "number": "1234567890TQ0001"})
    assert tax["amount"] == "9.975"
    assert fb.post("taxes/taxes", {"tax": {"name": "Bad", "amount": "5.1234"}})[0] == 422
    assert fb.delete(f"taxes/taxes/{tax['id']}") == (200, {"response": {}})
    assert fb.get(f"taxes/taxes/{tax['id']}")[0] == 404
    assert [c["name"] for c in fb.ledger()["changes"]] == ["tax.create", "tax.delete"]


def test_items_are_seeded_readable_and_writable_with_their_scope(fb_http):
    reader = FB(fb_http).connect()
    items = _result(reader.get("items/items")[1], "items")
    assert [(i["name"], i["unit_cost"]) for i in items] == [
        ("Consulting", {"amount": "100.00", "code": "CAD"}), ("Support plan", {"amount": "25.00", "code": "CAD"})]
    assert items[0]["id"] == items[0]["itemid"] and items[0]["tax1"] and items[0]["tax2"]
    assert reader.post("items/items", {"item": {"name": "X"}})[0] == 403
    writer = FB(fb_http).connect(scope=FULL)
    item = writer.create("items/items", "item", {"name": "Widget", "unit_cost": {"amount": "7.5", "code": "CAD"},
                                                 "qty": 3})
    assert item["unit_cost"]["amount"] == "7.50" and item["qty"] == 3
    assert writer.put(f"items/items/{item['id']}", {"item": {"vis_state": 1}})[0] == 200
    names = [i["name"] for i in _result(writer.get("items/items", query={"search[name_like]": "widg"})[1], "items")]
    assert names == []


def test_chart_of_accounts_lists_cash_receivables_and_sales(fb):
    base = f"/freshbooks/accounting/businesses/{BUSINESS_UUID}/ledger_accounts/accounts"
    status, body = fb.get(base, absolute=True)
    assert status == 200
    accounts = {a["name"]: a for a in body["data"]}
    assert {"Cash", "Accounts Receivable", "Sales"} <= set(accounts)
    assert (accounts["Cash"]["type"], accounts["Cash"]["sub_type"]) == ("asset", "Cash & Bank")
    one = fb.get(f"{base}/{accounts['Sales']['uuid']}", absolute=True)[1]["data"]
    assert one["number"] == "4000" and one["updated_at"].endswith("Z")
    status, body = fb.get(f"{base}/00000000-0000-0000-0000-000000000000", absolute=True)
    assert status == 404 and body["errors"]["status"] == 404
    assert fb.get("/freshbooks/accounting/businesses/nope/ledger_accounts/accounts", absolute=True)[0] == 404


def test_callback_registration_verification_and_resend(fb):
    url = CALLBACKS.format(fb.account_id)
    status, body = fb.post(url, {"callback": {"event": "invoice.create", "uri": "https://bridge.test/hooks/fb"}},
                           absolute=True)
    callback = _result(body, "callback")
    assert status == 200 and callback["verified"] is False and callback["event"] == "invoice.create"
    ledger = fb.business_ledger()
    [stored] = ledger["callbacks"]
    verifier = stored["verifier"]
    assert len(verifier) == 32 and stored["verification_requests"] == 1
    [pending] = fb.ledger()["outbox"]
    assert pending["uri"] == "https://bridge.test/hooks/fb" and pending["sent"] is False
    assert pending["form"]["verifier"] == verifier and pending["form"]["object_id"] == str(callback["callbackid"])
    one = f"{url}/{callback['callbackid']}"
    status, body = fb.put(one, {"callback": {"verifier": "wrong"}}, absolute=True)
    assert status == 422 and body["errno"] == 422
    assert fb.put(one, {"callback": {"resend": True}}, absolute=True)[0] == 200
    assert len(fb.ledger()["outbox"]) == 2 and fb.business_ledger()["callbacks"][0]["verifier"] == verifier
    status, body = fb.put(one, {"callback": {"verifier": verifier}}, absolute=True)
    assert status == 200 and _result(body, "callback")["verified"] is True
    client = fb.new_client()
    fb.new_invoice(client["id"])
    changes = fb.ledger()["changes"]
    assert changes[-1]["name"] == "invoice.create" and changes[-1]["callbacks"] == [callback["callbackid"]]
    assert changes[-2]["name"] == "client.create" and changes[-2]["callbacks"] == []


def test_callback_list_search_delete_and_errors(fb):
    url = CALLBACKS.format(fb.account_id)
    for event in ("invoice", "payment.create", "client.update"):
        fb.post(url, {"callback": {"event": event, "uri": f"https://bridge.test/{event}"}}, absolute=True)
    found = _result(fb.get(url, query={"search[event]": "invoice.update"}, absolute=True)[1], "callbacks")
    assert [c["event"] for c in found] == ["invoice"]  # a parent event matches its children
    listing = fb.get(url, query={"per_page": 2}, absolute=True)[1]["response"]["result"]
    assert (len(listing["callbacks"]), listing["total"], listing["pages"]) == (2, 3, 2)
    first = listing["callbacks"][0]["callbackid"]
    response = fb.client.delete(f"{url}/{first}", headers=fb.headers())
    assert response.status_code == 204 and response.data == b""
    status, body = fb.get(f"{url}/{first}", absolute=True)
    assert status == 404 and body == {"errno": 404, "message": "Requested resource could not be found."}
    status, body = fb.post(url, {"callback": {"event": "invoice.explode", "uri": "not a url"}}, absolute=True)
    assert status == 422 and body["details"] == ["event: Value error, Unrecognized event.",
                                                 "uri: Input should be a valid URL, relative URL without a base"]
    status, body = fb.get(url, token="bad", absolute=True)
    assert status == 401 and body["errno"] == 401


def test_registering_a_callback_needs_the_events_read_scope(fb_http):
    fb = FB(fb_http).connect(scope="user:clients:read")
    url = CALLBACKS.format(fb.account_id)
    status, body = fb.post(url, {"callback": {"event": "payment.create", "uri": "https://bridge.test/p"}},
                           absolute=True)
    assert status == 403 and "Required: ['user:payments:read']" in body["message"]
    assert fb.post(url, {"callback": {"event": "client.create", "uri": "https://bridge.test/c"}},
                   absolute=True)[0] == 200

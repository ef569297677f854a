"""Control routes (/_sandbox/freshbooks/...): tenants, ledger, stats, reset, config, a user's edits."""

from __future__ import annotations

from bridge.sandbox import env_lines as sandbox_env_lines
from bridge.sandbox import jsonio
from bridge.sandbox.freshbooks import ACCOUNT_ID, BUSINESS_UUID, EXTRA_ACCOUNT_ID, env_lines

from .fb_client import FB, line, parse


def _sent_invoice(fb, amount="100.00", number="C-1"):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"], invoice_number=number, lines=[line("Work", 1, amount)])
    fb.send(invoice["id"])
    return invoice


def test_env_lines_point_the_bridge_at_the_emulator():
    lines = env_lines("http://127.0.0.1:5555")
    assert lines == [
        "BRIDGE_FRESHBOOKS_CLIENT_ID=sandbox-freshbooks-client",
        "BRIDGE_FRESHBOOKS_CLIENT_SECRET=sandbox-freshbooks-secret",
        "BRIDGE_FRESHBOOKS_AUTHORIZE_URL=http://127.0.0.1:5555/freshbooks/oauth/authorize",
        "BRIDGE_FRESHBOOKS_TOKEN_URL=http://127.0.0.1:5555/freshbooks/auth/oauth/token",
        "BRIDGE_FRESHBOOKS_REVOKE_URL=http://127.0.0.1:5555/freshbooks/auth/oauth/revoke",
        "BRIDGE_FRESHBOOKS_API_BASE_URL=http://127.0.0.1:5555/freshbooks",
        "BRIDGE_FRESHBOOKS_IDENTITY_URL=http://127.0.0.1:5555/freshbooks/auth/api/v1/users/me"]
    assert sandbox_env_lines(5555, providers=("freshbooks",)) == lines


def test_tenants_list_the_business_and_the_optional_second_one(fb_http):
    tenants = fb_http.get("/_sandbox/freshbooks/tenants").get_json()
    assert [(t["account_id"], t["base_currency"], t["business_uuid"]) for t in tenants] == [
        (ACCOUNT_ID, "CAD", BUSINESS_UUID)]
    fb_http.post("/_sandbox/freshbooks/config", json={"extra_businesses": True})
    tenants = fb_http.get("/_sandbox/freshbooks/tenants").get_json()
    assert [(t["account_id"], t["base_currency"]) for t in tenants] == [(ACCOUNT_ID, "CAD"), (EXTRA_ACCOUNT_ID, "USD")]
    fb_http.post("/_sandbox/freshbooks/config", json={"extra_businesses": False})
    assert len(fb_http.get("/_sandbox/freshbooks/tenants").get_json()) == 1


def test_ledger_shows_every_object_with_totals_status_and_changes(fb):
    invoice = _sent_invoice(fb)
    fb.pay(invoice["id"], "40.00")
    ledger = fb.ledger()
    business = ledger["businesses"][ACCOUNT_ID]
    [stored] = business["invoices"]
    assert (stored["status"], stored["outstanding"]["amount"], stored["sandbox"]["draft"]) == (8, "60.00", False)
    assert stored["lines"][0]["name"] == "Work"
    assert [t["name"] for t in business["taxes"]] == ["GST", "PST"] and len(business["items"]) == 2
    assert business["books"] == {"CAD": {"invoices": 1, "invoiced": "100.00", "paid": "40.00",
                                         "outstanding": "60.00"}}
    assert [c["name"] for c in ledger["changes"]] == ["client.create", "invoice.create", "invoice.update",
                                                      "payment.create", "invoice.update"]
    assert ledger["changes"][1]["object_id"] == invoice["id"] and ledger["changes"][1]["account_id"] == ACCOUNT_ID
    assert ledger["oauth"]["active_grants"] == 1


def test_user_payment_by_invoice_number(fb):
    invoice = _sent_invoice(fb, "75.00", "U-9")
    response = fb.client.post(f"/_sandbox/freshbooks/{ACCOUNT_ID}/payments",
                              json={"invoice_number": "U-9", "amount": "75.00", "date": "2026-02-01"})
    assert response.status_code == 201
    payment = parse(response)["payment"]
    assert payment["invoiceid"] == invoice["id"] and payment["date"] == "2026-02-01"
    assert fb.get(f"invoices/invoices/{invoice['id']}")[1]["response"]["result"]["invoice"]["status"] == 4
    assert fb.ledger()["changes"][-2]["name"] == "payment.create"
    missing = fb.client.post("/_sandbox/freshbooks/CA/payments", json={"invoice_number": "nope", "amount": 1})
    assert missing.status_code == 404
    refused = fb.client.post("/_sandbox/freshbooks/CA/payments", json={"invoice_id": invoice["id"], "amount": "-5"})
    assert refused.status_code == 422 and "response" in refused.get_json()


def test_user_patch_edits_and_sends_and_user_delete_soft_deletes(fb):
    client = fb.new_client()
    invoice = fb.new_invoice(client["id"])
    base = f"/_sandbox/freshbooks/{ACCOUNT_ID}"
    response = fb.client.patch(f"{base}/invoices/{invoice['id']}", data=jsonio.dumps(
        {"notes": "Edited by the owner", "lines": [line("Bigger job", 2, "150.00")]}),
        headers={"Content-Type": "application/json"})
    edited = parse(response)["invoice"]
    assert response.status_code == 200 and edited["amount"]["amount"] == "300.00" and edited["status"] == 1
    sent = parse(fb.client.patch(f"{base}/invoice/{invoice['id']}", json={"invoice": {"action_mark_as_sent": True}}))
    assert sent["invoice"]["status"] == 2
    assert fb.client.delete(f"{base}/clients/{client['id']}").get_json()["client"]["vis_state"] == 1
    tax = fb.business_ledger()["taxes"][1]
    assert fb.client.delete(f"{base}/taxes/{tax['id']}").get_json() == {"tax": {"id": tax["id"], "deleted": True}}
    assert [t["name"] for t in fb.business_ledger()["taxes"]] == ["GST"]
    assert fb.client.patch(f"{base}/widgets/1", json={}).status_code == 404
    assert fb.client.patch("/_sandbox/freshbooks/NOPE/invoices/1", json={}).status_code == 404
    names = [c["name"] for c in fb.ledger()["changes"]][-4:]
    assert names == ["invoice.update", "invoice.update", "client.delete", "tax.delete"]


def test_reset_goes_back_to_the_seeds_and_drops_tokens_unless_kept(fb):
    _sent_invoice(fb)
    body = fb.client.post("/_sandbox/freshbooks/reset", json={"keep_tokens": True}).get_json()
    assert body["reset"] is True and body["businesses"][0]["account_id"] == ACCOUNT_ID
    assert fb.business_ledger()["invoices"] == [] and fb.ledger()["changes"] == []
    assert fb.get("users/clients")[0] == 200
    assert fb.new_invoice(fb.new_client()["id"])["invoice_number"] == "0000001"
    fb.client.post("/_sandbox/freshbooks/reset", json={})
    assert fb.get("users/clients")[0] == 401


def test_reset_with_config_restores_the_initial_settings(fb):
    fb.config(faults={"error_rate": 0.5}, limits={"enabled": True}, retry_after=5)
    fb.client.post("/_sandbox/freshbooks/reset", json={"config": True})
    view = fb.client.get("/_sandbox/freshbooks/config").get_json()
    assert view["faults"]["error_rate"] == 0.0 and view["limits"]["enabled"] is False
    assert view["retry_after"] is None


def test_config_refuses_unknown_or_malformed_settings(fb_http):
    assert fb_http.post("/_sandbox/freshbooks/config", json={"nope": 1}).status_code == 400
    assert fb_http.post("/_sandbox/freshbooks/config", json={"limits": {"per_minute": 0}}).status_code == 400
    assert fb_http.post("/_sandbox/freshbooks/config", json={"app_scopes": ["admin"]}).status_code == 400
    view = fb_http.post("/_sandbox/freshbooks/config", json={"redirect_uris": ["https://bridge.test/cb"]}).get_json()
    assert view["redirect_uris"] == ["https://bridge.test/cb"] and "sandbox-freshbooks-secret" not in str(view)
    refused = fb_http.get("/freshbooks/oauth/authorize", query_string={
        "response_type": "code", "client_id": "sandbox-freshbooks-client", "redirect_uri": "https://evil.test/cb"})
    assert refused.status_code == 400


def test_stats_count_token_calls_requests_and_writes(fb_http):
    fb = FB(fb_http).connect()
    fb.refresh()
    client = fb.new_client()
    fb.get(f"users/clients/{client['id']}")
    fb.get("users/clients", token="bad")
    stats = fb.stats()
    assert stats["token_calls"] == {"authorization_code": 1, "refresh_token": 1}
    assert stats["api_requests"] == 3 and stats["api_requests_by_account"] == {ACCOUNT_ID: 3}
    assert stats["writes_applied"] == 1 and stats["writes_by_entity"] == {"client": 1}
    assert stats["unauthorized"] == 1
    fb.post("users/clients", {"client": {"organization": "Z", "favourite_colour": "blue"}})
    assert fb.stats()["ignored_fields"] == {"client.favourite_colour": 1}


def test_listeners_receive_each_change(fb, fb_emulator):
    seen = []
    fb_emulator.change_listeners.append(seen.append)
    client = fb.new_client()
    assert [(c["name"], c["object_id"]) for c in seen] == [("client.create", client["id"])]


def test_shared_factory_settings_meant_for_other_emulators_are_ignored():
    from bridge.sandbox import create_sandbox_app

    app = create_sandbox_app({"limits": {"enabled": True, "per_second": 5, "per_minute": 7},
                              "default_realm": "US", "webhook_target": "https://bridge.test/hooks",
                              "freshbooks": {"extra_businesses": True}}, providers=("freshbooks",))
    view = app.test_client().get("/_sandbox/freshbooks/config").get_json()
    assert view["limits"] == {"enabled": True, "per_minute": 7} and view["extra_businesses"] is True
    assert view["webhook_target"] == "https://bridge.test/hooks"

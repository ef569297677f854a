"""Control routes for Xero: ledger, stats, reset, config, tenants, and a user's payments, edits and deletes."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.sandbox import create_sandbox_app, jsonio
from bridge.sandbox.xero import AU_TENANT_ID, UK_TENANT_ID

from .xero_client import Xero


def _ledger(client) -> dict:
    return jsonio.loads(client.get("/_sandbox/xero/ledger").data)


def _line(amount="100.00") -> dict:
    return {"Description": "Work", "Quantity": 1, "UnitAmount": D(amount), "AccountCode": "200", "TaxType": "OUTPUT2"}


def test_tenants_lists_both_organisations(client):
    tenants = client.get("/_sandbox/xero/tenants").get_json()
    assert {(t["tenant_id"], t["country"], t["base_currency"]) for t in tenants} == {
        (UK_TENANT_ID, "GB", "GBP"), (AU_TENANT_ID, "AU", "AUD")}


def test_ledger_shows_objects_with_totals_status_and_changes(xero, client):
    invoice = xero.invoice([_line()], Status="AUTHORISED", InvoiceNumber="L-1")
    ledger = _ledger(client)
    uk = ledger["tenants"][UK_TENANT_ID]
    assert uk["invoices"][0]["Total"] == D("120.00") and uk["invoices"][0]["Status"] == "AUTHORISED"
    assert uk["invoices"][0]["LineItems"][0]["UnitAmount"] == D("100.0000")
    assert [a["Code"] for a in uk["accounts"]] == ["090", "091", "200", "260", "400"]
    assert [i["Code"] for i in uk["items"]] == ["CONSULT", "LICENCE"]
    assert ledger["tenants"][AU_TENANT_ID]["invoices"] == []
    changes = [(c["category"], c["operation"], c["id"]) for c in ledger["changes"]]
    assert changes == [("CONTACT", "CREATE", invoice["Contact"]["ContactID"]),
                       ("INVOICE", "CREATE", invoice["InvoiceID"])]
    assert ledger["changes"][-1]["tenant_id"] == UK_TENANT_ID
    assert ledger["changes"][-1]["resource_path"].endswith(f"/Invoices/{invoice['InvoiceID']}")


def test_emit_change_reaches_listeners_once_per_committed_change(xero, emulator):
    seen = []
    emulator.change_listeners.append(seen.append)
    invoice = xero.invoice([_line()], Status="AUTHORISED")
    xero.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
                                        "Amount": 120}]})
    assert [(c["category"], c["operation"]) for c in seen] == [("CONTACT", "CREATE"), ("INVOICE", "CREATE"),
                                                               ("INVOICE", "UPDATE")]
    xero.put("Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "Nobody"},
                                        "LineItems": [{**_line(), "AccountCode": "999"}]}]})
    assert len(seen) == 3  # a refused request reports nothing


def test_user_payment_by_invoice_number_pays_the_invoice(xero, client):
    invoice = xero.invoice([_line()], Status="AUTHORISED", InvoiceNumber="L-1")
    response = client.post(f"/_sandbox/xero/{UK_TENANT_ID}/payments",
                           json={"invoice_number": "L-1", "amount": "120.00", "date": "2026-02-01",
                                 "reference": "BACS"})
    assert response.status_code == 201
    payment = jsonio.loads(response.data)["Payments"][0]
    assert payment["Reference"] == "BACS" and payment["Date"] == "/Date(1769904000000+0000)/"
    assert xero.get(f"Invoices/{invoice['InvoiceID']}")[1]["Invoices"][0]["Status"] == "PAID"
    over = client.post("/_sandbox/xero/UK/payments", json={"invoice_id": invoice["InvoiceID"], "amount": 1})
    assert over.status_code == 400 and over.get_json()["Type"] == "ValidationException"
    assert client.post("/_sandbox/xero/UK/payments", json={"invoice_number": "NOPE", "amount": 1}).status_code == 404


def test_user_patch_edits_like_a_user_and_reports_the_change(xero, client):
    invoice = xero.invoice([_line()])
    response = client.patch(f"/_sandbox/xero/UK/invoices/{invoice['InvoiceID']}",
                            json={"Reference": "edited in Xero", "Status": "AUTHORISED"})
    assert response.status_code == 200
    edited = jsonio.loads(response.data)["Invoices"][0]
    assert edited["Reference"] == "edited in Xero" and edited["Status"] == "AUTHORISED"
    assert _ledger(client)["changes"][-1]["operation"] == "UPDATE"
    contact = client.patch(f"/_sandbox/xero/UK/contacts/{invoice['Contact']['ContactID']}",
                           json={"EmailAddress": "owner@acme.test"})
    assert jsonio.loads(contact.data)["Contacts"][0]["EmailAddress"] == "owner@acme.test"
    bad = client.patch(f"/_sandbox/xero/UK/invoices/{invoice['InvoiceID']}", json={"CurrencyCode": "USD"})
    assert bad.status_code == 400
    assert client.patch("/_sandbox/xero/UK/widgets/1", json={}).status_code == 404


def test_user_delete_deletes_drafts_voids_approved_archives_contacts_and_deletes_payments(xero, client):
    draft = xero.invoice([_line()])
    approved = xero.invoice([_line()], Status="AUTHORISED")
    paid = xero.invoice([_line()], Status="AUTHORISED")
    payment = xero.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": paid["InvoiceID"]},
                                                  "Account": {"Code": "090"}, "Amount": 120}]})[1]["Payments"][0]

    def delete(entity, object_id):
        response = client.delete(f"/_sandbox/xero/UK/{entity}/{object_id}")
        return response.status_code, jsonio.loads(response.data)

    assert delete("invoices", draft["InvoiceID"])[1]["Invoices"][0]["Status"] == "DELETED"
    assert delete("invoices", approved["InvoiceID"])[1]["Invoices"][0]["Status"] == "VOIDED"
    assert delete("invoices", paid["InvoiceID"])[0] == 400  # the payment has to go first
    assert delete("payments", payment["PaymentID"])[1]["Payments"][0]["Status"] == "DELETED"
    assert xero.get(f"Invoices/{paid['InvoiceID']}")[1]["Invoices"][0]["AmountDue"] == D("120.00")
    archived = delete("contacts", draft["Contact"]["ContactID"])[1]["Contacts"][0]
    assert archived["ContactStatus"] == "ARCHIVED"
    assert delete("items", "LICENCE")[1]["deleted"] is True
    assert xero.request("GET", "Items/LICENCE").status_code == 404


def test_stats_count_tokens_requests_writes_and_minutes(xero, client):
    xero.invoice([_line()])
    xero.get("Invoices")
    stats = client.get("/_sandbox/xero/stats").get_json()
    assert stats["token_calls"] == {"authorization_code": 1}
    assert stats["api_requests"] == 2 and stats["api_requests_by_tenant"] == {UK_TENANT_ID: 2}
    assert stats["writes_by_entity"]["Invoice"] >= 1 and stats["writes_by_entity"]["Contact"] >= 1
    assert stats["requests_per_minute"][UK_TENANT_ID] == {"current": 2, "peak": 2}


def test_reset_goes_back_to_the_seeds_and_forgets_tokens(xero, client):
    xero.invoice([_line()])
    assert client.post("/_sandbox/xero/reset", json={}).get_json()["reset"] is True
    assert xero.get("Invoices")[0] == 401
    fresh = Xero(client).connect()
    assert fresh.get("Invoices")[1]["Invoices"] == [] and _ledger(client)["changes"] == []


def test_reset_keep_tokens_and_config_reset(xero, client):
    client.post("/_sandbox/xero/config", json={"time_scale": 5, "faults": {"fail_next": 2}})
    client.post("/_sandbox/xero/reset", json={"keep_tokens": True})
    assert xero.get("Invoices")[0] == 200  # fail_next counters are cleared by a reset
    client.post("/_sandbox/xero/reset", json={"keep_tokens": True, "config": True})
    config = client.get("/_sandbox/xero/config").get_json()
    assert config["time_scale"] == 1.0 and config["limits"]["enabled"] is False  # back to the factory config


def test_config_view_and_validation(client):
    config = client.get("/_sandbox/xero/config").get_json()
    assert config["grant_tenants"] == [UK_TENANT_ID, AU_TENANT_ID] and config["refresh_grace_seconds"] == 1800
    assert config["faults"]["throttle_problem"] == "minute" and "secret" not in str(config["clients"]).lower()
    assert client.post("/_sandbox/xero/config", json={"grant_tenants": ["MARS"]}).status_code == 400
    updated = client.post("/_sandbox/xero/config", json={"webhook_target": "http://127.0.0.1:9/hooks",
                                                         "faults": {"error_rate": 0.5}}).get_json()
    assert updated["webhook_target"] == "http://127.0.0.1:9/hooks" and updated["faults"]["error_rate"] == 0.5


def test_both_emulators_run_side_by_side():
    app = create_sandbox_app({"limits": {"enabled": False}}, providers=("quickbooks", "xero"))
    client = app.test_client()
    assert client.get("/_sandbox/").get_json()["providers"] == ["quickbooks", "xero"]
    assert Xero(client).connect().get("Organisation")[0] == 200

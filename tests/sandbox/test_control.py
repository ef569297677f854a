"""Control routes: ledger, stats, reset, config, and a user's payments, edits and deletes."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.sandbox import jsonio
from bridge.sandbox.quickbooks import UK_REALM_ID, US_REALM_ID

from .qbo_client import sales_line


def _ledger(client):
    return jsonio.loads(client.get("/_sandbox/quickbooks/ledger").data)


def _invoice(qbo, amount="100.00", **extra):
    customer = qbo.customer()
    return qbo.create("invoice", {"CustomerRef": {"value": customer["Id"]}, "DocNumber": "L-1",
                                  "Line": [sales_line(D(amount), 1, D(amount))], **extra})


def test_realms_lists_the_seeded_companies(client):
    realms = client.get("/_sandbox/quickbooks/realms").get_json()
    assert {(r["realm_id"], r["country"]) for r in realms} == {(US_REALM_ID, "US"), (UK_REALM_ID, "GB")}


def test_ledger_shows_objects_totals_status_and_changes(qbo, client):
    invoice = _invoice(qbo)
    ledger = _ledger(client)
    us = ledger["realms"][US_REALM_ID]
    assert us["invoices"][0]["TotalAmt"] == D("100.00") and us["invoices"][0]["status"] == "Open"
    assert [item["Name"] for item in us["items"]] == ["Services", "Hours"]
    assert {a["Id"] for a in us["accounts"]} == {"1", "4", "35", "36"}
    assert {c["Id"] for c in us["taxcodes"]} == {"TAX", "NON", "2"}
    assert [(c["entity"], c["operation"]) for c in ledger["changes"]] == [("Customer", "Create"),
                                                                         ("Invoice", "Create")]
    assert ledger["changes"][-1]["id"] == invoice["Id"]


def test_user_payment_by_doc_number_pays_the_invoice(qbo, client):
    invoice = _invoice(qbo)
    response = client.post(f"/_sandbox/quickbooks/{US_REALM_ID}/payments",
                           json={"doc_number": "L-1", "amount": "100.00", "date": "2026-02-01", "reference": "CHK-7"})
    assert response.status_code == 201
    payment = jsonio.loads(response.data)["Payment"]
    assert payment["PaymentRefNum"] == "CHK-7" and payment["TxnDate"] == "2026-02-01"
    assert qbo.get(f"invoice/{invoice['Id']}")[1]["Invoice"]["Balance"] == D("0.00")
    assert _ledger(client)["realms"][US_REALM_ID]["invoices"][0]["status"] == "Paid"
    over = client.post(f"/_sandbox/quickbooks/{US_REALM_ID}/payments",
                       json={"invoice_id": invoice["Id"], "amount": 1})
    assert over.status_code == 400 and "Fault" in over.get_json()


def test_user_patch_bumps_sync_token_so_client_copy_goes_stale(qbo, client):
    invoice = _invoice(qbo)
    response = client.patch(f"/_sandbox/quickbooks/{US_REALM_ID}/invoice/{invoice['Id']}",
                            json={"PrivateNote": "edited by the owner",
                                  "Line": [sales_line("150.00", 1, "150.00")]})
    assert response.status_code == 200
    patched = jsonio.loads(response.data)["Invoice"]
    assert patched["SyncToken"] == "1" and patched["TotalAmt"] == D("150.00")
    status, body = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True,
                                        "PrivateNote": "from the bridge"})
    assert status == 400 and body["Fault"]["Error"][0]["code"] == "5010"
    assert _ledger(client)["changes"][-1]["operation"] == "Update"


def test_user_delete_invoice_marks_it_deleted(qbo, client):
    invoice = _invoice(qbo)
    response = client.delete(f"/_sandbox/quickbooks/{US_REALM_ID}/invoices/{invoice['Id']}")
    assert response.status_code == 200 and response.get_json()["Invoice"]["status"] == "Deleted"
    us = _ledger(client)["realms"][US_REALM_ID]
    assert us["invoices"] == [] and us["deleted"][0]["Id"] == invoice["Id"]
    assert us["deleted"][0]["status"] == "Deleted"
    assert qbo.get(f"invoice/{invoice['Id']}")[0] == 400
    assert _ledger(client)["changes"][-1]["operation"] == "Delete"


def test_user_delete_customer_makes_it_inactive(qbo, client):
    customer = qbo.customer("Old Co")
    client.delete(f"/_sandbox/quickbooks/US/customer/{customer['Id']}")
    again = qbo.get(f"customer/{customer['Id']}")[1]["Customer"]
    assert again["Active"] is False and again["DisplayName"] == "Old Co (deleted)"
    qbo.customer("Old Co")  # the name is free again


def test_reset_restores_seeds_and_clears_tokens_unless_kept(qbo, client):
    _invoice(qbo)
    client.post("/_sandbox/quickbooks/reset", json={"keep_tokens": True})
    assert qbo.query("select count(*) from Invoice")[1] == {"totalCount": 0}
    client.post("/_sandbox/quickbooks/reset")
    assert qbo.get("preferences")[0] == 401


def test_config_validates_and_stores_webhook_target(client):
    bad = client.post("/_sandbox/quickbooks/config", json={"faults": {"error_rate": 2}})
    assert bad.status_code == 400
    assert client.post("/_sandbox/quickbooks/config", json={"nonsense": 1}).status_code == 400
    config = client.post("/_sandbox/quickbooks/config",
                         json={"webhook_target": "http://127.0.0.1:9/webhooks/quickbooks"}).get_json()
    assert config["webhook_target"] == "http://127.0.0.1:9/webhooks/quickbooks"
    assert _ledger(client)["webhook_target"] == "http://127.0.0.1:9/webhooks/quickbooks"
    assert client.get("/_sandbox/nowhere/ledger").status_code == 404


def test_emit_change_calls_listeners(qbo, emulator):
    seen = []
    emulator.change_listeners.append(seen.append)
    qbo.customer("Listened")
    assert seen and seen[0]["entity"] == "Customer" and seen[0]["operation"] == "Create"

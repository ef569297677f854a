"""Notes in both systems: the ledger holds the note (QBO PrivateNote, Xero history, FreshBooks notes) and
so do we; every invoice the bridge writes names its source ("Invoice Bridge: <external_id>")."""

from __future__ import annotations

import pytest

from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.sandbox.xero import UK_TENANT_ID
from tests.conftest import auth, connect, connect_quickbooks, sample_invoice, wait_for

UK_MAPPING = {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
              "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}


def connect_ledger(client, key, provider: str) -> str:
    """A connection to the provider's sandbox, mapped where the ledger needs it."""
    if provider == "quickbooks":
        return connect_quickbooks(client, key)
    if provider == "xero":
        connection_id = connect(client, key, "xero", tenant=UK_TENANT_ID)
        assert client.put(f"/v1/connections/{connection_id}/mapping", json=UK_MAPPING,
                          headers=auth(key)).status_code == 200
        return connection_id
    return connect(client, key, "freshbooks")


CURRENCY = {"quickbooks": "USD", "xero": "GBP", "freshbooks": "CAD"}


def ledger_invoice(sandbox, provider: str, ledger_id: str) -> dict:
    """The invoice as the sandbox ledger holds it."""
    if provider == "quickbooks":
        return next(i for i in sandbox.objects("invoices") if i["Id"] == ledger_id)
    if provider == "xero":
        return next(i for i in sandbox.ledger("xero")["tenants"][UK_TENANT_ID]["invoices"] if i["InvoiceID"] == ledger_id)
    return next(i for i in sandbox.ledger("freshbooks")["businesses"][ACCOUNT_ID]["invoices"]
                if str(i.get("id") or i.get("invoiceid")) == ledger_id)


def notes_in_ledger(sandbox, provider: str, ledger_id: str) -> str:
    """Every note the ledger keeps on the invoice, as one text."""
    if provider == "quickbooks":
        return ledger_invoice(sandbox, provider, ledger_id)["PrivateNote"]
    if provider == "xero":
        records = sandbox.ledger("xero")["tenants"][UK_TENANT_ID]["history_records"]
        return "\n".join(r["Details"] for r in records if r["InvoiceID"] == ledger_id)
    return ledger_invoice(sandbox, provider, ledger_id)["notes"]


def back_reference(sandbox, provider: str, ledger_id: str) -> str:
    """The field where the ledger shows where the invoice came from."""
    invoice = ledger_invoice(sandbox, provider, ledger_id)
    return {"quickbooks": invoice.get("PrivateNote"), "xero": invoice.get("Reference"),
            "freshbooks": invoice.get("notes")}[provider]


def post_note(client, key, connection_id, external_id, text, **headers):
    """POST a note; the response."""
    return client.post(f"/v1/connections/{connection_id}/invoices/{external_id}/notes", json={"text": text},
                       headers={**auth(key), **headers})


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks"])
def test_a_note_lands_in_the_ledger_and_stays_listed_here(client, api_key, sandbox, runtime, provider):
    connection_id = connect_ledger(client, api_key, provider)
    url = f"/v1/connections/{connection_id}/invoices"
    invoice = sample_invoice("inv-n1", currency=CURRENCY[provider], memo="Thanks for your business")
    written = client.post(url, json=invoice, headers=auth(api_key)).get_json()
    # queued right behind the invoice: the note waits for it
    first = post_note(client, api_key, connection_id, "inv-n1", "Customer asked for a paper copy.")
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["action"] == "note" and first.get_json()["object"] == "invoice"
    invoice_op = wait_for(client, api_key, written["id"])
    assert invoice_op["status"] == "succeeded", invoice_op
    assert wait_for(client, api_key, first.get_json()["id"])["status"] == "succeeded"
    second = post_note(client, api_key, connection_id, "inv-n1", "Paper copy sent.", **{"Idempotency-Key": "n-2"})
    again = post_note(client, api_key, connection_id, "inv-n1", "Paper copy sent.", **{"Idempotency-Key": "n-2"})
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json()["id"] == second.get_json()["id"]
    assert wait_for(client, api_key, second.get_json()["id"])["status"] == "succeeded"

    ledger_id = invoice_op["ledger_id"]
    in_ledger = notes_in_ledger(sandbox, provider, ledger_id)
    assert "Customer asked for a paper copy." in in_ledger and in_ledger.count("Paper copy sent.") == 1
    assert in_ledger.index("Customer asked") < in_ledger.index("Paper copy sent.")

    listed = client.get(f"{url}/inv-n1/notes", headers=auth(api_key)).get_json()["data"]
    assert [(n["text"], n["status"]) for n in listed] == [
        ("Customer asked for a paper copy.", "succeeded"), ("Paper copy sent.", "succeeded")]

    # An update of the invoice keeps the notes and the back-reference, and the memo stays the user's.
    updated = client.post(url, json={**invoice, "due_date": "2026-03-01"}, headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, updated["id"])["status"] == "succeeded"
    after = notes_in_ledger(sandbox, provider, ledger_id)
    assert "Customer asked for a paper copy." in after and after.count("Paper copy sent.") == 1
    assert "Invoice Bridge: inv-n1" in back_reference(sandbox, provider, ledger_id)
    read_back = client.get(f"{url}/inv-n1", headers=auth(api_key)).get_json()
    assert read_back["external_id"] == "inv-n1"
    if provider != "xero":  # Xero invoices have no memo field
        assert read_back["memo"] == "Thanks for your business"


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks"])
def test_every_invoice_names_its_source_without_clobbering_the_memo(client, api_key, sandbox, runtime, provider):
    connection_id = connect_ledger(client, api_key, provider)
    op = client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(api_key),
                     json=sample_invoice("src-7", currency=CURRENCY[provider], memo="PO 4471")).get_json()
    done = wait_for(client, api_key, op["id"])
    assert done["status"] == "succeeded", done
    reference = back_reference(sandbox, provider, done["ledger_id"])
    assert "Invoice Bridge: src-7" in reference
    invoice = ledger_invoice(sandbox, provider, done["ledger_id"])
    if provider == "quickbooks":
        assert invoice["CustomerMemo"]["value"] == "PO 4471"
    elif provider == "freshbooks":
        assert invoice["notes"].startswith("PO 4471")


def test_a_note_on_an_invoice_never_sent_fails_naming_it(client, api_key, runtime):
    connection_id = connect_quickbooks(client, api_key)
    op = post_note(client, api_key, connection_id, "never-sent", "Hello").get_json()
    failed = wait_for(client, api_key, op["id"])
    assert failed["status"] == "failed" and failed["errors"][0]["field"] == "external_id"
    assert failed["error_class"] == "mapping"


@pytest.mark.parametrize("body, field", [
    ({"text": ""}, "text"), ({"text": "   "}, "text"), ({"text": "x" * 2001}, "text"), ({}, "text"),
    ({"text": 5}, "text"), ({"text": "ok", "extra": 1}, "extra"),
])
def test_bad_notes_are_422_naming_the_field(client, api_key, body, field):
    connection_id = connect_quickbooks(client, api_key)
    response = client.post(f"/v1/connections/{connection_id}/invoices/inv-1/notes", json=body,
                           headers=auth(api_key))
    assert response.status_code == 422, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_notes_of_another_account_are_not_found(client, api_key, app):
    from tests.conftest import make_key

    connection_id = connect_quickbooks(client, api_key)
    other = make_key(app, "globex")
    assert post_note(client, other, connection_id, "inv-1", "hi").status_code == 404
    assert client.get(f"/v1/connections/{connection_id}/invoices/inv-1/notes", headers=auth(other)).status_code == 404

"""mapping.source_of_truth.items = "invoicing": a product code the mapping lacks becomes a ledger item, once."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bridge import store
from bridge.sandbox.freshbooks import ACCOUNT_ID
from bridge.sandbox.xero import UK_TENANT_ID
from bridge.store.models import Batch
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect, make_key, sample_invoice, wait_for

CODE = "WIDGET-9"
LEDGERS = {
    # provider: (connect arguments, currency, mapping besides source_of_truth)
    "quickbooks": ({}, "USD", {"defaults": {"income_account": "1"}}),
    "xero": ({"tenant": UK_TENANT_ID}, "GBP", {"defaults": {"income_account": "200", "tax_code": "NONE"}}),
    "freshbooks": ({}, "CAD", {}),
}
ITEM_CALLS = {"quickbooks": ("POST", "/item?"), "xero": ("PUT", "/Items?"), "freshbooks": ("POST", "/items/items")}
"""How each ledger's item-creating request looks in the sync log (method, part of the URL)."""


def connected(client, key, provider: str, owner: str = "invoicing", **mapping) -> tuple[str, str]:
    """A connection to the provider's sandbox whose mapping says who owns items; and its currency."""
    arguments, currency, base = LEDGERS[provider]
    connection_id = connect(client, key, provider, **arguments)
    document = {**base, **mapping, "source_of_truth": {"items": owner}}
    response = client.put(f"/v1/connections/{connection_id}/mapping", json=document, headers=auth(key))
    assert response.status_code == 200, response.get_json()
    return connection_id, currency


def invoice(external_id: str, currency: str, code: str = CODE, **overrides) -> dict:
    """An invoice whose one line sells `code`."""
    return sample_invoice(external_id, currency=currency, lines=[
        {"description": "Blue widget", "quantity": "3", "unit_price": "12.50", "product_code": code}], **overrides)


def send(client, key, connection_id: str, body: dict) -> dict:
    """POST the invoice and wait for its operation to finish."""
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(key)).get_json()
    return wait_for(client, key, op["id"], timeout=30)


def ledger_items(sandbox, provider: str) -> list[dict]:
    """The live items of the sandbox company the tests connect to."""
    ledger = sandbox.ledger(provider)
    if provider == "quickbooks":
        return [item for item in sandbox.objects("items") if item.get("Active", True)]
    if provider == "xero":
        return ledger["tenants"][UK_TENANT_ID]["items"]
    return [item for item in ledger["businesses"][ACCOUNT_ID]["items"] if str(item.get("vis_state", 0)) == "0"]


def items_named(sandbox, provider: str, code: str = CODE) -> list[dict]:
    """The sandbox's items carrying this product code (QBO Name, Xero Code, FreshBooks name)."""
    key = {"quickbooks": "Name", "xero": "Code", "freshbooks": "name"}[provider]
    return [item for item in ledger_items(sandbox, provider) if (item.get(key) or "").casefold() == code.casefold()]


def ledger_line_item(sandbox, provider: str, number: str):
    """What the ledger's invoice `number` has on its first line for the item (id, code or name)."""
    ledger = sandbox.ledger(provider)
    if provider == "quickbooks":
        (found,) = [i for i in sandbox.objects("invoices") if i.get("DocNumber") == number]
        return found["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]
    if provider == "xero":
        (found,) = [i for i in ledger["tenants"][UK_TENANT_ID]["invoices"] if i.get("InvoiceNumber") == number]
        return found["LineItems"][0].get("ItemCode")
    (found,) = [i for i in ledger["businesses"][ACCOUNT_ID]["invoices"] if i.get("invoice_number") == number]
    return found["lines"][0]["name"]


def item_reference(provider: str, item: dict) -> str:
    """What a line names to reference `item` (QBO its Id, Xero its Code, FreshBooks its name)."""
    return {"quickbooks": item.get("Id"), "xero": item.get("Code"), "freshbooks": item.get("name")}[provider]


def exchanges(client, key, operation_id: str) -> list[dict]:
    """Every exchange the operation's attempts had with the ledger."""
    detail = json.loads(client.get(f"/v1/syncs/{operation_id}", headers=auth(key)).get_data(as_text=True),
                        parse_float=Decimal)
    return [exchange for attempt in detail["history"] for exchange in attempt["exchanges"]]


def created_item_calls(client, key, operation_id: str, provider: str) -> list[dict]:
    """The operation's requests that created an item."""
    method, path = ITEM_CALLS[provider]
    return [e for e in exchanges(client, key, operation_id)
            if e["request"]["method"] == method and path in e["request"]["url"]]


def picker_codes(client, key, connection_id: str) -> list[str]:
    """The item codes GET /items offers for mapping pickers."""
    answer = client.get(f"/v1/connections/{connection_id}/items?limit=200", headers=auth(key))
    assert answer.status_code == 200, answer.get_json()
    return [item["code"] for item in answer.get_json()["data"]]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_an_unmapped_product_code_becomes_one_ledger_item_that_the_lines_reference(
        provider, client, api_key, sandbox, runtime):
    connection_id, currency = connected(client, api_key, provider)
    assert items_named(sandbox, provider) == []
    assert CODE not in picker_codes(client, api_key, connection_id)  # the list is now cached
    first = send(client, api_key, connection_id, invoice("inv-1", currency))
    assert first["status"] == "succeeded", first
    (item,) = items_named(sandbox, provider)
    assert ledger_line_item(sandbox, provider, "INV-1") == item_reference(provider, item)
    assert any("created the item 'WIDGET-9'" in warning for warning in first["warnings"]), first["warnings"]
    (call,) = created_item_calls(client, api_key, first["id"], provider)  # in the sync log, with its answer
    assert call["response"]["status"] in (200, 201) and CODE in json.dumps(call["request"]["body"])
    if provider == "quickbooks":
        assert item["Type"] == "Service" and item["IncomeAccountRef"]["value"] == "1"
        assert item["Description"] == "Blue widget"
    elif provider == "xero":
        assert item["SalesDetails"]["AccountCode"] == "200"
    else:
        assert Decimal(item["unit_cost"]["amount"]) == Decimal("12.50") and item["description"] == "Blue widget"
    assert CODE in picker_codes(client, api_key, connection_id)  # the cached list was dropped

    second = send(client, api_key, connection_id, invoice("inv-2", currency))
    assert second["status"] == "succeeded", second
    assert len(items_named(sandbox, provider)) == 1  # reused, not created again
    assert created_item_calls(client, api_key, second["id"], provider) == []
    assert not any("WIDGET-9" in warning for warning in second["warnings"])
    assert ledger_line_item(sandbox, provider, "INV-2") == item_reference(provider, item)


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_an_item_the_ledger_already_has_is_linked_not_created(provider, client, api_key, sandbox, runtime):
    existing = {"quickbooks": "Hours", "xero": "LICENCE", "freshbooks": "Support plan"}[provider]
    connection_id, currency = connected(client, api_key, provider)
    before = len(ledger_items(sandbox, provider))
    done = send(client, api_key, connection_id, invoice("inv-1", currency, code=existing.upper()))
    assert done["status"] == "succeeded", done
    assert len(ledger_items(sandbox, provider)) == before
    (item,) = items_named(sandbox, provider, existing)
    if provider != "freshbooks":  # FreshBooks lines name their item: the name, case aside
        assert ledger_line_item(sandbox, provider, "INV-1") == item_reference(provider, item)
    assert any("uses the ledger's existing item" in warning for warning in done["warnings"]), done["warnings"]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_when_the_ledger_owns_items_an_unmapped_code_creates_nothing(provider, client, api_key, sandbox, runtime):
    connection_id, currency = connected(client, api_key, provider, owner="ledger")
    before = len(ledger_items(sandbox, provider))
    done = send(client, api_key, connection_id, invoice("inv-1", currency))
    assert done["status"] == "succeeded", done  # placed by the mapping's defaults, as before
    assert len(ledger_items(sandbox, provider)) == before and items_named(sandbox, provider) == []
    assert created_item_calls(client, api_key, done["id"], provider) == []
    if provider == "quickbooks":
        assert ledger_line_item(sandbox, provider, "INV-1") == "1"  # the company's default item, with a warning
        assert any("no QuickBooks item mapped" in warning for warning in done["warnings"])


@pytest.mark.parametrize("provider, mapping, code, message", [
    ("quickbooks", {"defaults": {}}, CODE, "income account"),  # QBO Service items need one
    ("xero", {}, "A-PRODUCT-CODE-LONGER-THAN-THIRTY", "30 characters"),
])
def test_an_item_the_ledger_could_not_take_fails_the_invoice_before_any_write(
        provider, mapping, code, message, client, api_key, sandbox, runtime):
    connection_id, currency = connected(client, api_key, provider, **mapping)
    before = sandbox.stats(provider)["writes_applied"]
    failed = send(client, api_key, connection_id, invoice("inv-1", currency, code=code))
    assert failed["status"] == "failed", failed
    (error,) = [e for e in failed["errors"] if e["field"] == "lines[0].product_code"]
    assert message in error["message"]
    assert sandbox.stats(provider)["writes_applied"] == before  # no item, no customer


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_a_dry_run_shows_the_item_it_would_create_and_creates_nothing(provider, client, api_key, sandbox):
    connection_id, currency = connected(client, api_key, provider)
    writes_before, items_before = sandbox.stats(provider)["writes_applied"], ledger_items(sandbox, provider)
    answer = client.post(f"/v1/connections/{connection_id}/invoices?dry_run=true",
                         json=invoice("inv-1", currency), headers=auth(api_key))
    assert answer.status_code == 200, answer.get_json()
    preview = answer.get_json()
    (warning,) = [w for w in preview["warnings"] if "would be created first" in w]
    assert warning.startswith("lines[0].product_code: the item 'WIDGET-9'") and ITEM_CALLS[provider][0] in warning
    if provider == "quickbooks":
        assert preview["payload"]["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "(new item WIDGET-9)"}
    elif provider == "xero":
        assert preview["payload"]["Invoices"][0]["LineItems"][0]["ItemCode"] == CODE
    assert sandbox.stats(provider)["writes_applied"] == writes_before
    assert ledger_items(sandbox, provider) == items_before
    assert client.get("/v1/syncs", headers=auth(api_key)).get_json()["data"] == []


def test_a_dry_run_of_an_item_the_ledger_could_not_take_is_the_422_naming_its_line(client, api_key, sandbox):
    connection_id, currency = connected(client, api_key, "quickbooks", defaults={})  # no income account
    answer = client.post(f"/v1/connections/{connection_id}/invoices?dry_run=true",
                         json=invoice("inv-1", currency), headers=auth(api_key))
    assert answer.status_code == 422, answer.get_json()
    (error,) = answer.get_json()["errors"]
    assert error["field"] == "lines[0].product_code" and "income account" in error["message"]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_two_workers_racing_on_the_same_new_code_create_one_item(provider, make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id, currency = connected(client, key, provider)
    sandbox.configure(provider, faults={"latency": 0.2})  # both workers look the item up before either creates it
    ops = []
    for n in (1, 2):  # no number: single writes, not one batch; each its own customer
        body = invoice(f"inv-{n}", currency, customer={"external_id": f"cus-{n}", "name": f"Customer {n}"})
        body.pop("number")
        ops.append(client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(key)).get_json())
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        done = [wait_for(client, key, op["id"], timeout=60) for op in ops]
    finally:
        runtime.stop()
    assert [op["status"] for op in done] == ["succeeded", "succeeded"], done
    assert len(items_named(sandbox, provider)) == 1
    assert sum(len(created_item_calls(client, key, op["id"], provider)) for op in done) == 1


def test_a_quickbooks_batch_references_items_created_before_it(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id, currency = connected(client, key, "quickbooks")
    codes = ["WIDGET-9", "GADGET-2", "WIDGET-9"]
    ops = [client.post(f"/v1/connections/{connection_id}/invoices", headers=auth(key),
                       json=invoice(f"inv-{n}", currency, code=code)).get_json() for n, code in enumerate(codes)]
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        done = [wait_for(client, key, op["id"], timeout=60) for op in ops]
    finally:
        runtime.stop()
    assert [op["status"] for op in done] == ["succeeded"] * 3, done
    with app.app_context():
        (batch,) = store.session().execute(sa.select(Batch)).scalars()
    assert batch.status == "done" and len(batch.members) == 3  # one batch, after the two items were made
    ids = {code: items_named(sandbox, "quickbooks", code) for code in set(codes)}
    assert all(len(found) == 1 for found in ids.values()), ids
    for n, code in enumerate(codes):
        assert ledger_line_item(sandbox, "quickbooks", f"INV-{n}") == ids[code][0]["Id"]

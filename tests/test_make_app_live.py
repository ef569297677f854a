"""The Make app's requests, rendered from its own IML files, work against a running bridge.

Make cannot be run offline, so these tests do what Make would: fill a module's form, evaluate the request
(the app's requests use only IML paths, so tests.make_app.render can evaluate them exactly), send it to
the bridge, and read the answer with the module's iterate and output directives.
"""

from __future__ import annotations

import re

import pytest

from bridge import events
from tests import hook_receiver
from tests.conftest import auth, connect_quickbooks, wait_for
from tests.make_app import (
    UNDEFINED,
    MakeApp,
    declared_names,
    form_problems,
    render,
    requests_of,
)

APP = MakeApp.load()
BRIDGE = "http://bridge.test"
"""The Bridge URL of the Make connection (requests go to the in-process test client)."""


@pytest.fixture
def app(make_app):
    """The bridge, allowed to deliver REST hooks to the loopback receiver."""
    return make_app(ALLOW_PRIVATE_TARGETS=True, HOOK_RETRY_SCALE=0.01)


@pytest.fixture
def receiver():
    """Stands in for Make's webhook URL."""
    recorder, server = hook_receiver.start()
    yield recorder
    server.shutdown()


class Make:
    """Sends the app's requests as Make would, with one connection's fields."""

    def __init__(self, client, api_key: str):
        self.client = client
        self.connection = {"baseUrl": BRIDGE, "apiKey": api_key}

    def send(self, request: dict, parameters: dict | None = None, webhook: dict | None = None,
             inherit_base: bool = True):
        """One request; modules, RPCs and webhook attach/detach inherit the base, a connection's test does not."""
        context = {"parameters": parameters or {}, "connection": self.connection, "webhook": webhook or {}}
        url = render(request["url"], context)
        headers = {}
        if inherit_base:
            if url.startswith("/"):
                url = render(APP.base["baseUrl"], context) + url
            headers.update(render(APP.base.get("headers") or {}, context))
        headers.update(render(request.get("headers") or {}, context))
        assert url.startswith(BRIDGE + "/"), url
        path = re.sub("/{2,}", "/", url[len(BRIDGE):])  # Make drops the slash doubled by a user's leading one
        body = render(request["body"], context) if "body" in request else UNDEFINED
        payload = {} if body is UNDEFINED else {"data": body} if request.get("type") == "text" else {"json": body}
        return self.client.open(path, method=render(request.get("method", "GET"), context),
                                query_string=render(request.get("qs") or {}, context), headers=headers, **payload)

    def module(self, module_id: str, parameters: dict) -> tuple[int, list]:
        """Run a module with a filled form: (status, output bundles)."""
        assert form_problems(APP.module_params(module_id), parameters) == []
        [request] = requests_of(APP.code("module", module_id, "communication"))
        answer = self.send(request, parameters)
        context = {"body": answer.get_json(), "headers": {k.lower(): v for k, v in answer.headers.items()},
                   "statusCode": answer.status_code, "parameters": parameters}
        return answer.status_code, bundles(request.get("response") or {}, context)


def bundles(response: dict, context: dict) -> list:
    """What a module outputs for an answer (body, headers, statusCode): one bundle, or one per iterated item."""
    output = response.get("output", "{{body}}")
    iterate = response.get("iterate")
    container = iterate.get("container") if isinstance(iterate, dict) else iterate
    if not container:
        return [render(output, context)]
    return [render(output, {**context, "item": item}) for item in render(container, context)]


def interface_names(module_id: str) -> set[str]:
    """The fields a module promises to output."""
    return declared_names(APP.code("module", module_id, "interface"))


def invoice_fields() -> set[str]:
    """The invoice fields the paid-invoice triggers promise."""
    invoice = next(p for p in APP.code("module", "watchPaidInvoices", "interface") if p["name"] == "invoice")
    return declared_names(invoice["spec"])


def test_the_connection_test_accepts_a_good_key_names_the_account_and_refuses_a_bad_one(client, api_key):
    communication = APP.code("connection", "bridge", "communication")
    make = Make(client, api_key)
    answer = make.send(communication, make.connection, inherit_base=False)
    assert answer.status_code == 200
    assert render(communication["response"]["metadata"]["value"], {"body": answer.get_json()}) == "acme"
    refused = make.send(communication, {**make.connection, "apiKey": "bk_wrong"}, inherit_base=False)
    assert refused.status_code == 401 and {"title", "detail"} <= set(refused.get_json())


def test_the_dropdowns_list_the_connection_and_its_ledgers_reference_data(client, api_key):
    connection_id = connect_quickbooks(client, api_key)
    make = Make(client, api_key)
    listed = {}
    for rpc_id in APP.components("rpc"):
        params = {"connection_id": connection_id} if declared_names(APP.code("rpc", rpc_id, "params")) else {}
        [request] = requests_of(APP.code("rpc", rpc_id, "communication"))
        answer = make.send(request, params)
        assert answer.status_code == 200, (rpc_id, answer.get_json())
        listed[rpc_id] = answer.get_json()["data"]
        for item in listed[rpc_id]:
            value = request["response"]["output"]["value"]
            if value == "{{item.id}}":
                assert render(value, {"item": item}), (rpc_id, item)
    assert [item["id"] for item in listed["listConnections"]] == [connection_id]
    assert any(not item["bank"] for item in listed["listIncomeAccounts"])
    assert any(item["bank"] for item in listed["listBankAccounts"])
    assert listed["listTaxRates"] and listed["listItems"]


def test_invoice_payment_search_and_both_paid_invoice_triggers_work_against_the_bridge(
        app, client, api_key, runtime, receiver):
    connection_id = connect_quickbooks(client, api_key)
    make = Make(client, api_key)

    webhook = {"url": receiver.url("/make-hook")}
    attach = APP.code("webhook", "paid-invoices", "attach")
    attached = make.send(attach, {"connection_id": connection_id}, webhook)
    assert attached.status_code == 201, attached.get_json()
    webhook.update(render(attach["response"]["data"], {"body": attached.get_json()}))
    assert webhook["externalHookId"].startswith("hook_")

    status, [operation] = make.module("createOrUpdateInvoice", {
        "connection_id": connection_id, "external_id": "mk-1001", "number": "MK-1001",
        "customer": {"external_id": "cus-mk", "name": "Make Customer Ltd", "email": "ap@make.example"},
        "issue_date": "2026-01-15", "due_date": "2026-02-14", "currency": "USD", "status": "open",
        "amounts_include_tax": False,
        "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"},
                  {"description": "Support", "quantity": "1.5", "unit_price": "40.10"}],
    })
    assert status == 202, operation
    assert set(operation) <= interface_names("createOrUpdateInvoice")
    assert set(operation) == set(APP.code("module", "createOrUpdateInvoice", "samples"))
    assert wait_for(client, api_key, operation["id"])["status"] == "succeeded"

    status, [payment] = make.module("recordPayment", {
        "connection_id": connection_id, "external_id": "mk-pay-1", "invoice_external_id": "mk-1001",
        "amount": "260.15", "date": "2026-01-20", "method": "card", "reference": "make-1"})
    assert status == 202, payment
    assert set(payment) <= interface_names("recordPayment")
    assert set(payment) == set(APP.code("module", "recordPayment", "samples"))
    assert wait_for(client, api_key, payment["id"])["status"] == "succeeded"

    status, found = make.module("findInvoices", {"connection_id": connection_id, "number": "MK-1001", "limit": 10})
    assert status == 200 and [invoice["number"] for invoice in found] == ["MK-1001"]
    assert set(found[0]) <= interface_names("findInvoices") and found[0]["status"] == "paid"
    assert found[0]["balance"] == "0.00" and found[0]["totals"]["total"] == "260.15"

    # The paid invoice as the ledger holds it, as an invoice.paid event: REST hook and trigger feed.
    invoice = client.get(f"/v1/connections/{connection_id}/invoices/mk-1001", headers=auth(api_key)).get_json()
    account_id = client.get("/v1/me", headers=auth(api_key)).get_json()["account_id"]
    event_id = events.publish(app, account_id=account_id, event="invoice.paid", data=invoice,
                              connection_id=connection_id, dedupe_key="make-live-test")
    delivery = next(received.json() for received in receiver.wait("/make-hook")
                    if received.json()["id"] == event_id)
    instant = render(APP.code("webhook", "paid-invoices", "communication")["output"], {"body": delivery})
    status, polled = make.module("watchPaidInvoicesPolling", {"connection_id": connection_id, "limit": 10})
    assert status == 200
    [polling] = [bundle for bundle in polled if bundle["event_id"] == event_id]
    assert instant == polling
    assert set(instant) == interface_names("watchPaidInvoices") == interface_names("watchPaidInvoicesPolling")
    assert set(instant["invoice"]) <= invoice_fields()
    assert instant["invoice"]["number"] == "MK-1001" and instant["invoice"]["balance"] == "0.00"

    detach = APP.code("webhook", "paid-invoices", "detach")
    assert make.send(detach, {"connection_id": connection_id}, webhook).status_code == 204
    assert client.get(f"/v1/hooks/{webhook['externalHookId']}", headers=auth(api_key)).status_code == 404
    again = make.send(detach, {"connection_id": connection_id}, webhook).status_code
    assert again == 404 and detach["response"]["valid"] == "{{statusCode == 204 || statusCode == 404}}"


def test_make_an_api_call_reaches_any_route_with_the_connections_key(client, api_key):
    make = Make(client, api_key)
    status, [bundle] = make.module("makeApiCall", {"url": "/v1/me", "method": "GET", "headers": [], "qs": []})
    assert status == 200 and bundle["statusCode"] == 200 and bundle["body"]["account_name"] == "acme"
    status, [bundle] = make.module("makeApiCall", {"url": "/v1/connections", "method": "GET",
                                                   "qs": [{"key": "limit", "value": "1"}]})
    assert bundle["statusCode"] == 200 and bundle["body"] == {"data": [], "next": None}

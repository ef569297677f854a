"""The ledger's reference data through the API: normalized lists, paging, search, cache and refresh."""

from __future__ import annotations

import pytest

from bridge.sandbox.xero import UK_TENANT_ID
from tests.conftest import auth, connect

LEDGERS = {
    # provider: (tenant to pick, account ids, tax rate ids, item ids the sandbox seeds)
    "quickbooks": (None, {"1", "4", "35", "36"}, {"TAX", "NON", "2"}, {"1", "2"}),
    "xero": (UK_TENANT_ID, {"090", "091", "200", "260", "400"},
             {"OUTPUT2", "RROUTPUT", "ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE"}, {"CONSULT", "LICENCE"}),
    "freshbooks": (None, None, {"GST", "PST"}, None),
}


def get(client, key, connection_id: str, path: str, **params):
    """GET a reference route; the response."""
    return client.get(f"/v1/connections/{connection_id}/{path}", query_string=params, headers=auth(key))


def api_requests(sandbox, provider: str) -> int:
    """Requests the provider's emulator has answered so far."""
    return sandbox.stats(provider)["api_requests"]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_each_ledger_lists_its_accounts_tax_rates_and_items_normalized(provider, client, api_key, sandbox):
    tenant, accounts, tax_rates, items = LEDGERS[provider]
    connection_id = connect(client, api_key, provider, tenant=tenant)
    listed = {path: get(client, api_key, connection_id, path, limit=200) for path in ("accounts", "tax-rates", "items")}
    assert all(response.status_code == 200 for response in listed.values()), {p: r.get_json() for p, r in listed.items()}
    ids = {path: {entry["id"] for entry in response.get_json()["data"]} for path, response in listed.items()}
    assert ids["tax-rates"] >= tax_rates
    if accounts:
        assert ids["accounts"] >= accounts
    if items:
        assert ids["items"] >= items
    for entry in listed["tax-rates"].get_json()["data"]:
        assert set(entry) >= {"id", "name", "rate", "active"} and isinstance(entry["rate"], (str, type(None)))
    assert all(set(entry) >= {"id", "name", "bank", "active"} for entry in listed["accounts"].get_json()["data"])
    assert all(listed[path].get_json()["next"] is None for path in listed)


def test_a_us_quickbooks_company_offers_tax_and_non_with_its_rates(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    rates = {entry["id"]: entry for entry in get(client, api_key, connection_id, "tax-rates").get_json()["data"]}
    assert rates["2"]["name"] == "California" and rates["2"]["rate"] == "8.25"
    banks = {entry["id"] for entry in get(client, api_key, connection_id, "accounts").get_json()["data"] if entry["bank"]}
    assert banks == {"4", "35", "36"}


def test_pages_follow_the_cursor_by_name_without_gaps_or_repeats(client, api_key, sandbox):
    connection_id = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    everything = [entry["id"] for entry in get(client, api_key, connection_id, "tax-rates").get_json()["data"]]
    seen, after, pages = [], None, 0
    while True:
        page = get(client, api_key, connection_id, "tax-rates", limit=2, **({"after": after} if after else {})).get_json()
        assert len(page["data"]) <= 2
        seen += [entry["id"] for entry in page["data"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert seen == everything and pages == 3  # five sales tax rates, two a page
    names = [entry["name"].casefold() for entry in get(client, api_key, connection_id, "tax-rates").get_json()["data"]]
    assert names == sorted(names)


def test_q_searches_names_codes_and_ids_without_case(client, api_key, sandbox):
    connection_id = connect(client, api_key, "xero", tenant=UK_TENANT_ID)
    found = get(client, api_key, connection_id, "accounts", q="bank").get_json()["data"]
    assert {entry["id"] for entry in found} == {"090"}
    assert [entry["id"] for entry in get(client, api_key, connection_id, "items", q="consult").get_json()["data"]] == ["CONSULT"]
    assert get(client, api_key, connection_id, "tax-rates", q="nothing-like-it").get_json() == {"data": [], "next": None}


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_lists_are_cached_until_refreshed(provider, client, api_key, sandbox):
    tenant = LEDGERS[provider][0]
    connection_id = connect(client, api_key, provider, tenant=tenant)
    first = get(client, api_key, connection_id, "tax-rates").get_json()
    before = api_requests(sandbox, provider)
    assert get(client, api_key, connection_id, "tax-rates", q="a").status_code == 200
    assert get(client, api_key, connection_id, "tax-rates").get_json() == first
    assert api_requests(sandbox, provider) == before  # both answered from the cache
    assert get(client, api_key, connection_id, "tax-rates", refresh="true").get_json() == first
    assert api_requests(sandbox, provider) > before


def test_a_ledger_that_is_down_is_a_503_and_nothing_is_cached(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    sandbox.configure("quickbooks", faults={"fail_next": 50})
    down = get(client, api_key, connection_id, "items")
    sandbox.configure("quickbooks", faults={"fail_next": 0})
    assert down.status_code == 503 and down.headers["Content-Type"] == "application/problem+json"
    assert down.headers.get("Retry-After")
    back = get(client, api_key, connection_id, "items")
    assert back.status_code == 200 and {entry["id"] for entry in back.get_json()["data"]} == {"1", "2"}


def test_a_paused_or_pending_connection_is_a_clear_conflict(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    assert client.post(f"/v1/connections/{connection_id}/pause", headers=auth(api_key)).status_code == 200
    paused = get(client, api_key, connection_id, "accounts")
    assert paused.status_code == 409 and "paused" in paused.get_json()["detail"]
    pending = connect(client, api_key, "xero", expect="pending")  # a grant covering two organisations
    refused = get(client, api_key, pending, "tax-rates")
    assert refused.status_code == 409 and "pending" in refused.get_json()["detail"]


def test_another_accounts_connection_is_not_found(client, api_key, app, sandbox):
    from tests.conftest import make_key

    connection_id = connect(client, api_key, "quickbooks")
    other = make_key(app, "globex")
    assert get(client, other, connection_id, "accounts").status_code == 404


def test_bad_paging_arguments_are_422_naming_the_field(client, api_key, sandbox):
    connection_id = connect(client, api_key, "quickbooks")
    for params, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"after": "not-a-cursor!"}, "after")):
        response = get(client, api_key, connection_id, "accounts", **params)
        assert response.status_code == 422, response.get_json()
        assert [error["field"] for error in response.get_json()["errors"]] == [field]


@pytest.mark.parametrize("provider", list(LEDGERS))
def test_customers_are_searched_at_the_ledger_by_email_and_name(provider, client, api_key, sandbox, runtime):
    from tests.conftest import sample_invoice, wait_for

    tenant = LEDGERS[provider][0]
    connection_id = connect(client, api_key, provider, tenant=tenant)
    if provider == "xero":
        assert client.put(f"/v1/connections/{connection_id}/mapping", headers=auth(api_key), json={
            "defaults": {"income_account": "200", "tax_code": "NONE"}}).status_code == 200
    for number, (external_id, name, email) in enumerate((("cus-1", "Acme Ltd", "ap@acme.example"),
                                                         ("cus-2", "Globex", "billing@globex.example"))):
        body = sample_invoice(f"inv-{number}", currency={"xero": "GBP", "freshbooks": "CAD"}.get(provider, "USD"),
                              customer={"external_id": external_id, "name": name, "email": email})
        op = client.post(f"/v1/connections/{connection_id}/invoices", json=body, headers=auth(api_key)).get_json()
        assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    by_email = get(client, api_key, connection_id, "customers", email="billing@globex.example").get_json()["data"]
    assert [(c["name"], c["email"]) for c in by_email] == [("Globex", "billing@globex.example")]
    assert by_email[0]["ledger_id"]
    by_name = get(client, api_key, connection_id, "customers", name="Acme Ltd").get_json()["data"]
    assert [c["name"] for c in by_name] == ["Acme Ltd"]
    everyone = [c["name"] for c in get(client, api_key, connection_id, "customers").get_json()["data"]]
    assert {"Acme Ltd", "Globex"} <= set(everyone)

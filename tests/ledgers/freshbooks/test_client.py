"""FreshBooks HTTP client and OAuth: envelopes, one 401 retry, the error tree, redaction, observing."""

from __future__ import annotations

import ast
import json
import sys
from decimal import Decimal as D
from http.client import RemoteDisconnected
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from bridge.errors import (LedgerNotFound, LedgerRejected, ReauthRequired, RetryableLedgerError,
                           UncertainOutcome)
from bridge.ledgers.base import Token
from bridge.ledgers.freshbooks import OAuth, facts
from bridge.ledgers.freshbooks.client import Client, dumps, raise_for_error, redact
from bridge.ledgers.wire import loads

from .conftest import ACCOUNT, ACCOUNT_URL, IDENTITY, SETTINGS, TOKEN, fixture_text, load_fixture

INVOICE_BODY = {"invoice": {"customerid": 301, "create_date": "2026-01-15",
                            "lines": [{"type": 0, "name": "CONSULT", "qty": D("2"),
                                       "unit_cost": {"amount": "100.00", "code": "CAD"}}]}}
INVOICES = f"{ACCOUNT_URL}/invoices/invoices"


def query_of(call) -> list[tuple[str, str]]:
    """The decoded query arguments of a recorded call, in order."""
    return parse_qsl(urlsplit(call.request.url).query)


@pytest.fixture
def client(make_context) -> Client:
    context = make_context()
    return Client(context, OAuth(context.settings))


# --- JSON --------------------------------------------------------------------------------------------

def test_money_goes_out_as_strings_and_quantities_as_exact_numbers():
    assert dumps(INVOICE_BODY) == ('{"invoice":{"customerid":301,"create_date":"2026-01-15","lines":[{"type":0,'
                                   '"name":"CONSULT","qty":2,"unit_cost":{"amount":"100.00","code":"CAD"}}]}}')
    with pytest.raises(TypeError):
        dumps({"qty": 1.5})
    parsed = loads('{"qty": 1.50, "amount": {"amount": "27.00"}}')
    assert parsed["qty"] == D("1.50") and isinstance(parsed["qty"], D)


# --- every request -----------------------------------------------------------------------------------

@responses.activate
def test_requests_go_to_the_account_path_with_a_bearer_token_and_unwrap_the_envelope(client):
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    answer = client.post("invoices/invoices", INVOICE_BODY, [("include[]", "lines")])
    assert answer["invoice"]["id"] == 7001 and answer["invoice"]["amount"] == {"amount": "276.50", "code": "CAD"}
    call = responses.calls[0]
    assert call.request.url == f"{INVOICES}?include%5B%5D=lines"
    assert call.request.headers["Authorization"] == "Bearer access-one-SECRET"
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.headers["Accept"] == "application/json"
    assert "X-API-VERSION" not in call.request.headers
    assert json.loads(call.request.body, parse_float=D) == INVOICE_BODY


@responses.activate
def test_search_filters_are_url_encoded_and_the_api_version_is_sent_when_configured(make_context):
    context = make_context()
    context.settings["api_version"] = "2023-02-20"
    client = Client(context, OAuth(context.settings))
    responses.add(responses.GET, INVOICES, body=fixture_text("invoice_search_by_number.json"))
    found = client.list("invoice", [("search[invoice_number]", "INV 1001/A")])
    assert [invoice["id"] for invoice in found] == [7001]
    call = responses.calls[0]
    assert "search%5Binvoice_number%5D=INV%201001%2FA" in call.request.url
    assert query_of(call) == [("search[invoice_number]", "INV 1001/A"), ("page", "1"), ("per_page", "100")]
    assert call.request.headers["X-API-VERSION"] == "2023-02-20"


@responses.activate
def test_listing_follows_pages_until_the_last(client):
    older, newer = json.loads(fixture_text("invoice_list_two.json"))["response"]["result"]["invoices"]
    first = {"response": {"result": {"invoices": [older], "page": 1, "pages": 2, "per_page": 1, "total": 2}}}
    second = {"response": {"result": {"invoices": [newer], "page": 2, "pages": 2, "per_page": 1, "total": 2}}}
    responses.add(responses.GET, INVOICES, json=first)
    responses.add(responses.GET, INVOICES, json=second)
    assert [invoice["id"] for invoice in client.list("invoice")] == [6990, 7001]
    assert [dict(query_of(call))["page"] for call in responses.calls] == ["1", "2"]


@responses.activate
def test_throttle_is_held_and_observe_fed_for_every_response(client, observer, throttle):
    responses.add(responses.GET, f"{INVOICES}/7001", status=401, body=fixture_text("error_unauthenticated.json"))
    responses.add(responses.GET, f"{INVOICES}/7001", body=fixture_text("invoice_with_lines.json"),
                  headers={"X-Request-Id": "req-1"})
    client.get("invoices/invoices/7001")
    assert throttle.taken == 2
    assert [status for status, _ in observer.seen] == [401, 200]
    assert observer.seen[1][1]["X-Request-Id"] == "req-1"


# --- 401 ---------------------------------------------------------------------------------------------

@responses.activate
def test_after_a_401_the_same_request_is_resent_once_with_a_refreshed_token(client, tokens):
    responses.add(responses.POST, INVOICES, status=401, body=fixture_text("error_unauthenticated.json"))
    responses.add(responses.POST, INVOICES, body=fixture_text("invoice_create_draft.json"))
    client.post("invoices/invoices", INVOICE_BODY)
    first, second = responses.calls
    assert tokens.refreshes == 1
    assert first.request.body == second.request.body
    assert first.request.headers["Authorization"] == "Bearer access-one-SECRET"
    assert second.request.headers["Authorization"] == "Bearer access-2-SECRET"


@responses.activate
def test_a_second_401_means_reauth(client, tokens):
    responses.add(responses.GET, f"{INVOICES}/7001", status=401, body=fixture_text("error_unauthenticated.json"))
    with pytest.raises(ReauthRequired):
        client.get("invoices/invoices/7001")
    assert tokens.refreshes == 1 and len(responses.calls) == 2


# --- errors and network ------------------------------------------------------------------------------

@responses.activate
def test_429_is_retryable_with_retry_after_and_observed(client, observer):
    responses.add(responses.POST, INVOICES, status=429, headers={"Retry-After": "12"},
                  body=fixture_text("error_rate_limited.json"))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.post("invoices/invoices", INVOICE_BODY)
    assert excinfo.value.retry_after == 12 and not isinstance(excinfo.value, UncertainOutcome)
    assert observer.seen[0][0] == 429 and observer.seen[0][1]["Retry-After"] == "12"


def test_429_without_retry_after_waits_the_default_backoff():
    with pytest.raises(RetryableLedgerError) as excinfo:
        raise_for_error(429, None, {})
    assert excinfo.value.retry_after == facts.RATE_LIMIT_WAIT_SECONDS


@responses.activate
def test_5xx_is_retryable(client):
    responses.add(responses.GET, f"{INVOICES}/7001", status=502, body="<html>bad gateway</html>")
    with pytest.raises(RetryableLedgerError):
        client.get("invoices/invoices/7001")


@responses.activate
def test_read_timeout_after_sending_a_write_is_an_uncertain_outcome(client):
    responses.add(responses.POST, INVOICES, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UncertainOutcome):
        client.post("invoices/invoices", INVOICE_BODY)


@responses.activate
def test_connection_dropped_after_sending_a_write_is_an_uncertain_outcome(client):
    dropped = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response")))
    responses.add(responses.PUT, f"{INVOICES}/7001", body=dropped)
    with pytest.raises(UncertainOutcome):
        client.put("invoices/invoices/7001", {"invoice": {"action_mark_as_sent": True}})


@responses.activate
def test_failing_to_connect_or_a_read_timing_out_is_retryable_not_uncertain(client):
    responses.add(responses.POST, INVOICES, body=requests.exceptions.ConnectTimeout("connect"))
    responses.add(responses.GET, f"{INVOICES}/7001", body=requests.exceptions.ReadTimeout("read"))
    for call in (lambda: client.post("invoices/invoices", INVOICE_BODY), lambda: client.get("invoices/invoices/7001")):
        with pytest.raises(RetryableLedgerError) as excinfo:
            call()
        assert not isinstance(excinfo.value, UncertainOutcome)


@pytest.mark.parametrize(("status", "fixture", "error", "fields"), [
    (404, "error_client_not_found.json", LedgerNotFound, ["customer"]),
    (404, "error_details_not_found.json", LedgerNotFound, ["customer"]),
    (422, "error_invoice_validation.json", LedgerRejected, ["issue_date", "lines[1].unit_price"]),
    (400, "error_client_not_found.json", LedgerRejected, ["customer"]),
])
def test_error_bodies_map_to_the_error_tree_with_our_field_names(status, fixture, error, fields):
    with pytest.raises(error) as excinfo:
        raise_for_error(status, load_fixture(fixture), {})
    assert type(excinfo.value) is error
    assert [item["field"] for item in excinfo.value.errors] == fields


def test_a_403_for_a_missing_scope_says_which_scope():
    with pytest.raises(LedgerRejected) as excinfo:
        raise_for_error(403, load_fixture("error_insufficient_scope.json"), {})
    assert "user:taxes:read" in excinfo.value.detail
    assert excinfo.value.errors[0]["code"] == "insufficient_scope"
    with pytest.raises(LedgerRejected):
        raise_for_error(403, {"message": "Forbidden"}, {})
    assert raise_for_error(200, load_fixture("invoice_create_draft.json"), {}) is None


# --- the sync log ------------------------------------------------------------------------------------

@responses.activate
def test_exchanges_are_recorded_without_any_token(client, recorder):
    responses.add(responses.POST, f"{ACCOUNT_URL}/users/clients", status=401,
                  body=fixture_text("error_unauthenticated.json"))
    answer = json.loads(fixture_text("client_create.json"))
    answer["response"]["result"]["client"]["direct_link_token"] = "link-SECRET"
    responses.add(responses.POST, f"{ACCOUNT_URL}/users/clients", json=answer, headers={"X-Request-Id": "req-9"})
    client.post("users/clients", {"client": {"organization": "Acme Ltd", "email": "ap@example.com"}})
    assert len(recorder.exchanges) == 2
    request, response = recorder.exchanges[1]
    assert request["method"] == "POST" and request["url"] == f"{ACCOUNT_URL}/users/clients"
    assert request["body"] == {"client": {"organization": "Acme Ltd", "email": "ap@example.com"}}
    assert "Authorization" not in request["headers"]
    assert response["status"] == 200 and response["headers"]["X-Request-Id"] == "req-9"
    assert response["body"]["response"]["result"]["client"]["id"] == 301
    assert response["body"]["response"]["result"]["client"]["currency_code"] == "CAD"
    text = json.dumps(recorder.exchanges, default=str)
    assert "SECRET" not in text and "Bearer" not in text and SETTINGS["client_secret"] not in text


def test_redaction_keeps_currency_codes_and_hides_tokens():
    assert redact({"unit_cost": {"amount": "1.00", "code": "CAD"}, "refresh_token": "r", "statement_token": "s"}) == \
        {"unit_cost": {"amount": "1.00", "code": "CAD"}, "refresh_token": "[redacted]", "statement_token": "[redacted]"}


@responses.activate
def test_a_network_failure_is_recorded_without_a_response(client, recorder):
    responses.add(responses.POST, INVOICES, body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(UncertainOutcome):
        client.post("invoices/invoices", INVOICE_BODY)
    assert recorder.exchanges[0][1] is None


def test_refused_connection_is_retryable_not_uncertain(make_context):
    context = make_context()
    context.settings["api_base_url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    client = Client(context, OAuth(context.settings))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.post("invoices/invoices", INVOICE_BODY)
    assert not isinstance(excinfo.value, UncertainOutcome)


# --- OAuth -------------------------------------------------------------------------------------------

def test_authorization_url_asks_for_the_bridge_scopes_without_pkce():
    url = OAuth(SETTINGS).authorization_url("https://bridge.example.com/v1/oauth/freshbooks/callback", "st4te",
                                            "a-verifier")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == facts.AUTHORIZE_URL
    args = dict(parse_qsl(parts.query))
    assert args == {"response_type": "code", "client_id": "test-client-id", "state": "st4te",
                    "scope": " ".join(facts.SCOPES),
                    "redirect_uri": "https://bridge.example.com/v1/oauth/freshbooks/callback"}
    assert OAuth.PKCE is False


@responses.activate
def test_exchange_posts_json_and_lists_the_businesses_as_tenants(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_000_000.0)
    responses.add(responses.POST, TOKEN, json={"access_token": "new-access", "refresh_token": "new-refresh",
                                               "token_type": "Bearer", "expires_in": 43200,
                                               "scope": " ".join(facts.SCOPES), "created_at": 999_999})
    responses.add(responses.GET, IDENTITY, body=fixture_text("users_me_two_businesses.json"))
    token, tenant = OAuth(SETTINGS).exchange("the-code", "https://bridge.example.com/cb", {"code": "the-code"})
    assert tenant == {"tenant_id": None, "tenants": [
        {"id": "AbCd12", "name": "Example Landscaping Ltd", "business_id": "900001",
         "business_uuid": "00000000-0000-4000-8000-000000000001"},
        {"id": "EfGh34", "name": "Example Design Co", "business_id": "900002",
         "business_uuid": "00000000-0000-4000-8000-000000000002"}]}
    assert (token.access_token, token.refresh_token, token.expires_at) == ("new-access", "new-refresh", 1_043_200.0)
    exchange, identity = responses.calls
    assert exchange.request.headers["Content-Type"] == "application/json"
    assert json.loads(exchange.request.body) == {
        "grant_type": "authorization_code", "client_id": "test-client-id",
        "client_secret": "test-client-secret-value", "code": "the-code",
        "redirect_uri": "https://bridge.example.com/cb"}
    assert identity.request.headers["Authorization"] == "Bearer new-access"


@responses.activate
def test_a_user_with_one_business_gets_it_picked():
    responses.add(responses.POST, TOKEN, json={"access_token": "a", "refresh_token": "r", "expires_in": 43200})
    responses.add(responses.GET, "http://127.0.0.1:9/freshbooks/me", body=fixture_text("users_me_one_business.json"))
    oauth = OAuth({**SETTINGS, "identity_url": "http://127.0.0.1:9/freshbooks/me"})
    _, tenant = oauth.exchange("c", "https://bridge.example.com/cb", {"code": "c"})
    assert tenant["tenant_id"] == ACCOUNT and [t["id"] for t in tenant["tenants"]] == [ACCOUNT]


@responses.activate
def test_refresh_is_single_use_the_new_pair_is_kept_and_the_redirect_uri_resent():
    responses.add(responses.POST, TOKEN, json={"access_token": "a2", "refresh_token": "r2", "token_type": "Bearer",
                                               "expires_in": 43200})
    old = Token("a1", "r1", expires_at=0, extra={"redirect_uri": "https://bridge.example.com/cb"})
    token = OAuth(SETTINGS).refresh(old)
    assert (token.access_token, token.refresh_token) == ("a2", "r2")
    assert token.extra["redirect_uri"] == "https://bridge.example.com/cb"
    assert json.loads(responses.calls[0].request.body) == {
        "grant_type": "refresh_token", "client_id": "test-client-id", "client_secret": "test-client-secret-value",
        "refresh_token": "r1", "redirect_uri": "https://bridge.example.com/cb"}
    responses.replace(responses.POST, TOKEN, json={"access_token": "a3", "refresh_token": "r3", "expires_in": 43200})
    again = OAuth(SETTINGS).refresh(token)
    assert json.loads(responses.calls[1].request.body)["refresh_token"] == "r2"  # never the spent r1
    assert again.refresh_token == "r3"


@responses.activate
def test_invalid_grant_means_reauth():
    responses.add(responses.POST, TOKEN, status=400, body=fixture_text("token_invalid_grant.json"))
    with pytest.raises(ReauthRequired):
        OAuth(SETTINGS).refresh(Token("a1", "r1-already-used", expires_at=0))
    with pytest.raises(ReauthRequired):
        OAuth(SETTINGS).exchange("stale-code", "https://bridge.example.com/cb", {})


@responses.activate
def test_token_endpoint_outage_is_retryable_and_other_refusals_are_rejected():
    responses.add(responses.POST, TOKEN, status=503, body="unavailable")
    responses.add(responses.POST, TOKEN, body=requests.exceptions.ConnectionError("down"))
    responses.add(responses.POST, TOKEN, status=401, json={"error": "invalid_client"})
    for _ in range(2):
        with pytest.raises(RetryableLedgerError):
            OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))
    with pytest.raises(LedgerRejected):
        OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))


def test_refresh_without_a_refresh_token_means_reauth():
    with pytest.raises(ReauthRequired):
        OAuth(SETTINGS).refresh(Token("a1", None, expires_at=0))


@responses.activate
def test_revoke_posts_the_refresh_token_with_the_client_credentials_as_json():
    responses.add(responses.POST, facts.REVOKE_URL, status=200, json={})
    OAuth(SETTINGS).revoke(Token("a1", "r1", expires_at=0))
    assert json.loads(responses.calls[0].request.body) == {
        "client_id": "test-client-id", "client_secret": "test-client-secret-value", "token": "r1"}


def test_the_package_imports_only_what_ledgers_may_import():
    allowed = {"bridge.ledgers.base", "bridge.ledgers.wire", "bridge.errors", "bridge.ledgers.freshbooks", "requests", "authlib"}
    package_dir = Path(__file__).resolve().parents[3] / "bridge" / "ledgers" / "freshbooks"
    paths = sorted(package_dir.glob("*.py"))
    assert {path.name for path in paths} >= {"__init__.py", "adapter.py", "client.py", "facts.py", "mapping.py",
                                            "oauth.py", "rules.py"}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or any(
                    name == ok or name.startswith(ok + ".") for ok in allowed), (path.name, name)

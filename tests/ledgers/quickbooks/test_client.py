"""QuickBooks Online HTTP client and OAuth: requestid, minorversion, 401 retry, faults, redaction."""

from __future__ import annotations

import ast
import base64
import json
import sys
from decimal import Decimal as D
from http.client import RemoteDisconnected
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from bridge.errors import (LedgerNotFound, LedgerRejected, ReauthRequired, RetryableLedgerError, StaleObject,
                           UncertainOutcome)
from bridge.ledgers.base import Token
from bridge.ledgers.quickbooks import OAuth, facts
from bridge.ledgers.quickbooks.client import Client, dumps, raise_for_fault
from bridge.ledgers.wire import loads

from .conftest import COMPANY_URL, REALM, SETTINGS, fixture_text, load_fixture

INVOICE_BODY = {"CustomerRef": {"value": "58"},
                "Line": [{"DetailType": "SalesItemLineDetail", "Amount": D("200.00"),
                          "SalesItemLineDetail": {"Qty": D("2"), "UnitPrice": D("100.00")}}],
                "ExchangeRate": D("1.23456789")}
KEY = "op_0123456789abcdef0123456789abcdef"


def query_of(call) -> dict:
    """The query arguments of a recorded call, one value each."""
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


@pytest.fixture
def client(make_context) -> Client:
    context = make_context()
    return Client(context, OAuth(context.settings))


# --- JSON --------------------------------------------------------------------------------------------

def test_decimals_are_written_as_exact_json_number_literals():
    assert dumps({"Amount": D("200.00"), "Qty": D("2"), "Big": D("1E+2"), "Neg": D("-0.50")}) == \
        '{"Amount":200.00,"Qty":2,"Big":100,"Neg":-0.50}'
    assert dumps(["a\"b", True, None, 3]) == '["a\\"b",true,null,3]'
    with pytest.raises(TypeError):
        dumps({"Amount": 200.0})
    with pytest.raises(ValueError):
        dumps(D("NaN"))


def test_responses_are_parsed_with_decimals_never_floats():
    parsed = loads('{"TotalAmt": 266.10, "Qty": 2}')
    assert parsed["TotalAmt"] == D("266.10") and isinstance(parsed["TotalAmt"], D)
    assert str(parsed["TotalAmt"]) == "266.10"


# --- every request -----------------------------------------------------------------------------------

@responses.activate
def test_write_carries_requestid_minorversion_bearer_token_and_exact_amounts(client, tokens):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"))
    answer = client.post("invoice", INVOICE_BODY, KEY)
    assert answer["Invoice"]["TotalAmt"] == D("266.00")
    call = responses.calls[0]
    assert query_of(call) == {"requestid": KEY, "minorversion": "75"}
    assert call.request.headers["Authorization"] == "Bearer access-one-SECRET"
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.headers["Content-Type"] == "application/json"
    raw = call.request.body.decode()
    assert '"Amount":200.00' in raw and '"UnitPrice":100.00' in raw and '"Qty":2' in raw
    assert '"ExchangeRate":1.23456789' in raw
    assert json.loads(raw, parse_float=D) == INVOICE_BODY


@responses.activate
def test_reads_carry_minorversion_and_no_requestid(client):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=fixture_text("invoice_create_us.json"))
    responses.add(responses.GET, f"{COMPANY_URL}/query", body=fixture_text("invoice_query.json"))
    client.get("invoice/130")
    found = client.query("select * from Invoice where DocNumber = 'O\\'Brien 1'")
    assert len(found["Invoice"]) == 2
    assert query_of(responses.calls[0]) == {"minorversion": "75"}
    assert query_of(responses.calls[1]) == {"query": "select * from Invoice where DocNumber = 'O\\'Brien 1'",
                                            "minorversion": "75"}
    assert "%20" in responses.calls[1].request.url and "+" not in responses.calls[1].request.url


def test_requestid_longer_than_qbo_allows_is_refused_before_sending(client):
    with pytest.raises(ValueError):
        client.post("invoice", INVOICE_BODY, "k" * (facts.REQUEST_ID_MAX + 1))


# --- 401 ---------------------------------------------------------------------------------------------

@responses.activate
def test_after_a_401_the_same_request_is_resent_once_with_the_same_requestid_and_a_new_token(client, tokens):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", status=401, body=fixture_text("fault_3200_auth.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"))
    client.post("invoice", INVOICE_BODY, KEY)
    first, second = responses.calls
    assert tokens.refreshes == 1
    assert query_of(first)["requestid"] == query_of(second)["requestid"] == KEY
    assert first.request.body == second.request.body
    assert first.request.headers["Authorization"] == "Bearer access-one-SECRET"
    assert second.request.headers["Authorization"] == "Bearer access-2-SECRET"


@responses.activate
def test_a_second_401_means_reauth(client, tokens):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", status=401, body=fixture_text("fault_3200_auth.json"))
    with pytest.raises(ReauthRequired):
        client.get("invoice/130")
    assert tokens.refreshes == 1 and len(responses.calls) == 2


# --- faults and network ------------------------------------------------------------------------------

@responses.activate
def test_429_is_retryable_with_retry_after(client):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", status=429, headers={"Retry-After": "7"},
                  body=fixture_text("fault_429_throttled.json"))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.post("invoice", INVOICE_BODY, KEY)
    assert excinfo.value.retry_after == 7
    assert not isinstance(excinfo.value, UncertainOutcome)


def test_429_without_retry_after_waits_qbo_s_sixty_seconds():
    with pytest.raises(RetryableLedgerError) as excinfo:
        raise_for_fault(429, "Too Many Requests", {})
    assert excinfo.value.retry_after == 60


@responses.activate
def test_5xx_is_retryable(client):
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", status=503, body="<html>busy</html>")
    with pytest.raises(RetryableLedgerError):
        client.get("invoice/130")


@responses.activate
def test_read_timeout_after_sending_a_write_is_an_uncertain_outcome(client):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UncertainOutcome):
        client.post("invoice", INVOICE_BODY, KEY)


@responses.activate
def test_connection_dropped_after_sending_a_write_is_an_uncertain_outcome(client):
    dropped = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response")))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=dropped)
    with pytest.raises(UncertainOutcome):
        client.post("invoice", INVOICE_BODY, KEY)


@responses.activate
def test_failure_to_connect_is_retryable_but_not_uncertain(client):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=requests.exceptions.ConnectTimeout("connect"))
    responses.add(responses.GET, f"{COMPANY_URL}/invoice/130", body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.post("invoice", INVOICE_BODY, KEY)
    assert not isinstance(excinfo.value, UncertainOutcome)
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.get("invoice/130")  # a read is never uncertain: nothing was changed
    assert not isinstance(excinfo.value, UncertainOutcome)


@pytest.mark.parametrize(("status", "fixture", "error", "fields"), [
    (400, "fault_6140_duplicate_number.json", LedgerRejected, ["number"]),
    (400, "fault_6240_duplicate_name.json", LedgerRejected, ["customer.name"]),
    (400, "fault_5010_stale.json", StaleObject, [""]),
    (400, "fault_610_not_found.json", LedgerNotFound, [""]),
    (400, "fault_2020_required.json", LedgerRejected, ["lines", "number"]),
    (400, "fault_6000_business.json", LedgerRejected, [""]),
])
def test_faults_map_to_the_error_tree_with_our_field_names(status, fixture, error, fields):
    with pytest.raises(error) as excinfo:
        raise_for_fault(status, load_fixture(fixture), {})
    assert type(excinfo.value) is error
    assert [item["field"] for item in excinfo.value.errors] == fields


def test_403_is_rejected_and_success_passes():
    body = {"Fault": {"Error": [{"Message": "message=ApplicationAuthorizationFailed; errorCode=003100; "
                                            "statusCode=403", "code": "3100"}], "type": "AuthorizationFault"}}
    with pytest.raises(LedgerRejected):
        raise_for_fault(403, body, {})
    assert raise_for_fault(200, load_fixture("invoice_create_us.json"), {}) is None


# --- the sync log ------------------------------------------------------------------------------------

@responses.activate
def test_exchanges_are_recorded_without_any_token(client, recorder):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", status=401, body=fixture_text("fault_3200_auth.json"))
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=fixture_text("invoice_create_us.json"),
                  headers={"intuit_tid": "1-abc"})
    client.post("invoice", INVOICE_BODY, KEY)
    assert len(recorder.exchanges) == 2
    request, response = recorder.exchanges[1]
    assert request["method"] == "POST"
    assert request["url"].startswith(f"{COMPANY_URL}/invoice?") and f"requestid={KEY}" in request["url"]
    assert request["body"]["Line"][0]["Amount"] == D("200.00")
    assert "Authorization" not in request["headers"]
    assert response["status"] == 200 and response["body"]["Invoice"]["Id"] == "130"
    assert response["headers"]["intuit_tid"] == "1-abc"
    text = json.dumps(recorder.exchanges, default=str)
    assert "SECRET" not in text and "Bearer" not in text and SETTINGS["client_secret"] not in text


@responses.activate
def test_a_network_failure_is_recorded_without_a_response(client, recorder):
    responses.add(responses.POST, f"{COMPANY_URL}/invoice", body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(UncertainOutcome):
        client.post("invoice", INVOICE_BODY, KEY)
    assert recorder.exchanges[0][1] is None


# --- OAuth -------------------------------------------------------------------------------------------

def basic_auth(call) -> str:
    """The client credentials of a Basic Authorization header."""
    scheme, _, value = call.request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


def form(call) -> dict:
    """A form-encoded request body, one value per key."""
    body = call.request.body
    body = body.decode() if isinstance(body, bytes) else body
    return {key: values[0] for key, values in parse_qs(body).items()}


def test_authorization_url_asks_for_the_accounting_scope():
    url = OAuth(SETTINGS).authorization_url("https://bridge.example.com/v1/oauth/quickbooks/callback", "st4te")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == facts.AUTHORIZE_URL
    args = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert args == {"response_type": "code", "client_id": "test-client-id", "state": "st4te",
                    "scope": "com.intuit.quickbooks.accounting",
                    "redirect_uri": "https://bridge.example.com/v1/oauth/quickbooks/callback"}


def test_configured_urls_override_the_real_ones():
    oauth = OAuth({**SETTINGS, "authorize_url": "http://127.0.0.1:9/quickbooks/authorize"})
    assert oauth.authorization_url("http://127.0.0.1/cb", "s").startswith("http://127.0.0.1:9/quickbooks/authorize?")
    assert oauth.url("api_base") == facts.API_BASE_URL


@responses.activate
def test_exchange_uses_basic_auth_and_returns_the_realm_as_tenant(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_000_000.0)
    responses.add(responses.POST, facts.TOKEN_URL, json={
        "token_type": "bearer", "access_token": "new-access", "refresh_token": "new-refresh",
        "expires_in": 3600, "x_refresh_token_expires_in": 8726400})
    token, tenant = OAuth(SETTINGS).exchange("the-code", "https://bridge.example.com/cb",
                                             {"code": "the-code", "state": "s", "realmId": REALM})
    assert tenant == {"tenant_id": REALM}
    assert (token.access_token, token.refresh_token) == ("new-access", "new-refresh")
    assert token.expires_at == 1_003_600.0 and token.refresh_expires_at == 1_000_000.0 + 8726400
    call = responses.calls[0]
    assert basic_auth(call) == "test-client-id:test-client-secret-value"
    assert form(call) == {"grant_type": "authorization_code", "code": "the-code",
                          "redirect_uri": "https://bridge.example.com/cb"}


@responses.activate
def test_refresh_keeps_the_rotated_refresh_token():
    responses.add(responses.POST, facts.TOKEN_URL, json={
        "token_type": "bearer", "access_token": "a2", "refresh_token": "r2", "expires_in": 3600,
        "x_refresh_token_expires_in": 8726400})
    token = OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0, refresh_expires_at=5.0))
    assert (token.access_token, token.refresh_token) == ("a2", "r2")
    assert token.refresh_expires_at > 5.0
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": "r1"}
    assert basic_auth(responses.calls[0]) == "test-client-id:test-client-secret-value"


@responses.activate
def test_refresh_answer_without_a_refresh_token_keeps_the_old_one():
    responses.add(responses.POST, facts.TOKEN_URL, json={"token_type": "bearer", "access_token": "a2",
                                                         "expires_in": 3600})
    token = OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0, refresh_expires_at=5.0))
    assert (token.refresh_token, token.refresh_expires_at) == ("r1", 5.0)


@responses.activate
def test_invalid_grant_on_refresh_means_reauth():
    responses.add(responses.POST, facts.TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ReauthRequired):
        OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))


@responses.activate
def test_token_endpoint_outage_is_retryable():
    responses.add(responses.POST, facts.TOKEN_URL, status=503, body="unavailable")
    responses.add(responses.POST, facts.TOKEN_URL, body=requests.exceptions.ConnectionError("down"))
    for _ in range(2):
        with pytest.raises(RetryableLedgerError):
            OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))


@responses.activate
def test_revoke_posts_the_refresh_token_as_json_with_basic_auth():
    responses.add(responses.POST, facts.REVOKE_URL, status=200)
    OAuth(SETTINGS).revoke(Token("a1", "r1", expires_at=0))
    call = responses.calls[0]
    assert json.loads(call.request.body) == {"token": "r1"}
    assert basic_auth(call) == "test-client-id:test-client-secret-value"


def test_exchange_without_realm_is_refused():
    with pytest.raises(LedgerRejected):
        OAuth(SETTINGS).exchange("code", "https://bridge.example.com/cb", {"code": "code"})


def test_refused_connection_is_retryable_not_uncertain(make_context):
    context = make_context()
    context.settings["api_base_url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    client = Client(context, OAuth(context.settings))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.post("invoice", INVOICE_BODY, KEY)
    assert not isinstance(excinfo.value, UncertainOutcome)


def test_the_package_imports_only_what_ledgers_may_import():
    package_dir = Path(OAuth.__module__.replace(".", "/")).parent
    allowed = {"bridge.ledgers.base", "bridge.ledgers.wire", "bridge.errors", "bridge.ledgers.quickbooks", "requests", "authlib"}
    paths = sorted((Path(__file__).resolve().parents[3] / package_dir).glob("*.py"))
    assert {path.name for path in paths} >= {"__init__.py", "adapter.py", "client.py", "facts.py", "mapping.py",
                                            "oauth.py"}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or any(
                    name == ok or name.startswith(ok + ".") for ok in allowed), (path.name, name)

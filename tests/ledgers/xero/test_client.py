"""Xero HTTP client and OAuth: tenant header, Idempotency-Key, 401 retry, rate limits, errors, redaction."""

from __future__ import annotations

import ast
import base64
import hashlib
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

from bridge.errors import (LedgerNotFound, LedgerRateLimited, LedgerRejected, ReauthRequired, RetryableLedgerError,
                           UncertainOutcome)
from bridge.ledgers.base import Token
from bridge.ledgers.xero import OAuth, facts
from bridge.ledgers.xero.client import Client, dumps, raise_for_status
from bridge.ledgers.wire import loads

from .conftest import API, AU_TENANT, SETTINGS, UK_TENANT, fixture_text, load_fixture

INVOICE_BODY = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": "c0000000-0000-4000-8000-000000000001"},
                              "LineItems": [{"Description": "Work", "Quantity": D("2"), "UnitAmount": D("12.3456"),
                                             "AccountCode": "200", "TaxType": "OUTPUT2"}],
                              "CurrencyRate": D("1.16282400")}]}
KEY = "op_0123456789abcdef0123456789abcdef"
WRITE = {"summarizeErrors": False, "unitdp": 4}
REDIRECT = "https://bridge.example.com/v1/oauth/xero/callback"


def query_of(call) -> dict:
    """The query arguments of a recorded call, one value each."""
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def limited(name: str) -> dict:
    """A recorded 429 (status, headers, body) as `responses` keyword arguments."""
    recorded = load_fixture(name)
    return {"status": recorded["status"], "headers": recorded["headers"], "json": recorded["body"]}


@pytest.fixture
def client(make_context) -> Client:
    context = make_context()
    return Client(context, OAuth(context.settings))


# --- JSON --------------------------------------------------------------------------------------------

def test_decimals_are_written_as_exact_json_number_literals():
    assert dumps({"Amount": D("200.00"), "Qty": D("2"), "Big": D("1E+2"), "Neg": D("-0.50"), "Flag": False}) == \
        '{"Amount":200.00,"Qty":2,"Big":100,"Neg":-0.50,"Flag":false}'
    with pytest.raises(TypeError):
        dumps({"Amount": 200.0})
    with pytest.raises(ValueError):
        dumps(D("Infinity"))


def test_responses_are_parsed_with_decimals_never_floats():
    parsed = loads(fixture_text("invoices_put.json"))
    invoice = parsed["Invoices"][0]
    assert invoice["Total"] == D("253.04") and isinstance(invoice["Total"], D)
    assert str(invoice["LineItems"][1]["UnitAmount"]) == "12.3456"


# --- every request -----------------------------------------------------------------------------------

def test_a_write_carries_the_tenant_the_key_the_token_and_exact_amounts(client, xero):
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    answer = client.put("Invoices", INVOICE_BODY, KEY, params=WRITE)
    assert answer["Invoices"][0]["InvoiceID"] == "a0000000-0000-4000-8000-000000000001"
    call = xero.calls[0]
    headers = call.request.headers
    assert headers["xero-tenant-id"] == UK_TENANT
    assert headers["Idempotency-Key"] == KEY
    assert headers["Authorization"] == "Bearer access-one-SECRET"
    assert headers["Accept"] == "application/json" and headers["Content-Type"] == "application/json"
    assert query_of(call) == {"summarizeErrors": "false", "unitdp": "4"}
    raw = call.request.body.decode()
    assert '"UnitAmount":12.3456' in raw and '"Quantity":2' in raw and '"CurrencyRate":1.16282400' in raw
    assert json.loads(raw, parse_float=D) == INVOICE_BODY


def test_reads_carry_the_tenant_but_no_idempotency_key(client, xero):
    xero.add(responses.GET, f"{API}/Invoices", body=fixture_text("invoices_get_by_number.json"))
    client.get("Invoices", params={"InvoiceNumbers": ["INV-1", "INV-2"], "page": 1})
    call = xero.calls[0]
    assert call.request.headers["xero-tenant-id"] == UK_TENANT
    assert "Idempotency-Key" not in call.request.headers
    assert query_of(call) == {"InvoiceNumbers": "INV-1,INV-2", "page": "1"}


def test_the_tenant_header_follows_the_connection(make_context, xero):
    context = make_context(tenant_id=AU_TENANT)
    xero.add(responses.GET, f"{API}/Organisation", body=fixture_text("organisation_au.json"))
    Client(context, OAuth(context.settings)).get("Organisation")
    assert xero.calls[0].request.headers["xero-tenant-id"] == AU_TENANT


def test_writes_without_a_key_or_with_a_key_over_128_characters_are_refused_before_sending(client):
    with pytest.raises(ValueError):
        client.request("PUT", "Invoices", body=INVOICE_BODY)
    with pytest.raises(ValueError):
        client.put("Invoices", INVOICE_BODY, "k" * (facts.IDEMPOTENCY_KEY_MAX + 1))
    client_key = "k" * facts.IDEMPOTENCY_KEY_MAX  # the limit itself is fine (nothing sent here)
    assert len(client_key) == 128


def test_the_throttle_is_held_around_every_request_including_the_resend(client, xero, throttle):
    xero.add(responses.POST, f"{API}/Invoices", status=401, body=fixture_text("error_401.json"))
    xero.add(responses.POST, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    client.post("Invoices", INVOICE_BODY, KEY, params=WRITE)
    assert throttle.entered == 2 and not throttle.held


# --- 401 ---------------------------------------------------------------------------------------------

def test_after_a_401_the_same_request_is_resent_once_with_the_same_key_and_a_new_token(client, xero, tokens):
    xero.add(responses.PUT, f"{API}/Invoices", status=401, body=fixture_text("error_401.json"))
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"))
    client.put("Invoices", INVOICE_BODY, KEY, params=WRITE)
    first, second = xero.calls
    assert tokens.refreshes == 1
    assert first.request.headers["Idempotency-Key"] == second.request.headers["Idempotency-Key"] == KEY
    assert first.request.url == second.request.url and first.request.body == second.request.body
    assert first.request.headers["xero-tenant-id"] == second.request.headers["xero-tenant-id"] == UK_TENANT
    assert first.request.headers["Authorization"] == "Bearer access-one-SECRET"
    assert second.request.headers["Authorization"] == "Bearer access-2-SECRET"


def test_a_second_401_means_reauth(client, xero, tokens):
    xero.add(responses.GET, f"{API}/Organisation", status=401, body=fixture_text("error_401.json"))
    with pytest.raises(ReauthRequired):
        client.get("Organisation")
    assert tokens.refreshes == 1 and len(xero.calls) == 2


# --- rate limits ---------------------------------------------------------------------------------------

def test_a_minute_429_is_retryable_after_retry_after_and_says_minute(client, xero):
    xero.add(responses.PUT, f"{API}/Invoices", **limited("rate_limit_429_minute.json"))
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.put("Invoices", INVOICE_BODY, KEY, params=WRITE)
    error = excinfo.value
    assert isinstance(error, LedgerRateLimited) and not isinstance(error, UncertainOutcome)
    assert error.retry_after == 37
    assert error.problem == "minute"
    assert "minute" in str(error)


def test_a_day_429_is_distinguishable_from_a_minute_one(client, xero):
    xero.add(responses.GET, f"{API}/Invoices", **limited("rate_limit_429_day.json"))
    with pytest.raises(LedgerRateLimited) as excinfo:
        client.get("Invoices")
    assert excinfo.value.problem == "day"
    assert excinfo.value.retry_after == 27473 and "day" in str(excinfo.value)


def test_a_429_without_headers_waits_a_minute():
    with pytest.raises(LedgerRateLimited) as excinfo:
        raise_for_status(429, None, {})
    assert excinfo.value.retry_after == 60 and excinfo.value.problem is None


def test_observe_gets_every_response_with_its_rate_limit_headers(client, xero, observer):
    xero.add(responses.GET, f"{API}/Organisation", body=fixture_text("organisation_uk.json"),
             headers={"X-MinLimit-Remaining": "57", "X-DayLimit-Remaining": "4990", "X-AppMinLimit-Remaining": "9999"})
    xero.add(responses.GET, f"{API}/Invoices", **limited("rate_limit_429_day.json"))
    client.get("Organisation")
    with pytest.raises(LedgerRateLimited):
        client.get("Invoices")
    (ok_status, ok_headers), (limited_status, limited_headers) = observer.seen
    assert ok_status == 200 and ok_headers["X-MinLimit-Remaining"] == "57"
    assert ok_headers["X-DayLimit-Remaining"] == "4990"
    assert limited_status == 429 and limited_headers["X-Rate-Limit-Problem"] == "day"
    assert limited_headers["Retry-After"] == "27473"


# --- errors and the network ------------------------------------------------------------------------------

@responses.activate
def test_5xx_is_retryable(client):
    responses.add(responses.GET, f"{API}/Organisation", status=503, body="<html>busy</html>")
    with pytest.raises(RetryableLedgerError) as excinfo:
        client.get("Organisation")
    assert not isinstance(excinfo.value, (UncertainOutcome, LedgerRateLimited))


@responses.activate
def test_a_read_timeout_after_sending_a_write_is_an_uncertain_outcome(client):
    responses.add(responses.PUT, f"{API}/Invoices", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UncertainOutcome):
        client.put("Invoices", INVOICE_BODY, KEY, params=WRITE)


@responses.activate
def test_a_connection_dropped_after_sending_a_write_is_an_uncertain_outcome(client):
    dropped = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response")))
    responses.add(responses.POST, f"{API}/Invoices", body=dropped)
    with pytest.raises(UncertainOutcome):
        client.post("Invoices", INVOICE_BODY, KEY, params=WRITE)


@responses.activate
def test_failing_to_connect_is_retryable_and_a_read_is_never_uncertain(client):
    responses.add(responses.PUT, f"{API}/Invoices", body=requests.exceptions.ConnectTimeout("connect"))
    responses.add(responses.GET, f"{API}/Invoices", body=requests.exceptions.ReadTimeout("read"))
    for call in (lambda: client.put("Invoices", INVOICE_BODY, KEY), lambda: client.get("Invoices")):
        with pytest.raises(RetryableLedgerError) as excinfo:
            call()
        assert not isinstance(excinfo.value, UncertainOutcome)


def test_a_refused_connection_is_retryable_not_uncertain(make_context):
    context = make_context(api_base_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(RetryableLedgerError) as excinfo:
        Client(context, OAuth(context.settings)).put("Invoices", INVOICE_BODY, KEY)
    assert not isinstance(excinfo.value, UncertainOutcome)


def test_a_validation_exception_is_rejected_with_our_field_names():
    with pytest.raises(LedgerRejected) as excinfo:
        raise_for_status(400, load_fixture("error_400_invoice_validation.json"), {})
    error = excinfo.value
    assert type(error) is LedgerRejected
    assert [item["field"] for item in error.errors] == ["number", "lines[0].account_code", "lines[1].tax_category"]
    assert "Invoice # must be unique." in error.detail
    assert len(error.elements) == 1


@pytest.mark.parametrize(("status", "body", "error"), [
    (403, "error_403.json", LedgerRejected),
    (404, None, LedgerNotFound),
    (401, "error_401.json", ReauthRequired),
    (400, "error_400_contact_duplicate_name.json", LedgerRejected),
])
def test_statuses_map_to_the_error_tree(status, body, error):
    with pytest.raises(error) as excinfo:
        raise_for_status(status, load_fixture(body) if body else {"text": "The resource you're looking for cannot "
                                                                            "be found"}, {})
    assert type(excinfo.value) is error


def test_success_passes():
    assert raise_for_status(200, load_fixture("invoices_put.json"), {}) is None


# --- the sync log ------------------------------------------------------------------------------------

def test_exchanges_are_recorded_without_any_token(client, xero, recorder):
    xero.add(responses.PUT, f"{API}/Invoices", status=401, body=fixture_text("error_401.json"))
    xero.add(responses.PUT, f"{API}/Invoices", body=fixture_text("invoices_put.json"),
             headers={"Xero-Correlation-Id": "5a000000-0000-4000-8000-000000000001", "X-MinLimit-Remaining": "58"})
    client.put("Invoices", INVOICE_BODY, KEY, params=WRITE)
    assert len(recorder.exchanges) == 2
    request, response = recorder.exchanges[1]
    assert request["method"] == "PUT" and request["url"] == f"{API}/Invoices?summarizeErrors=false&unitdp=4"
    assert request["headers"]["xero-tenant-id"] == UK_TENANT and request["headers"]["Idempotency-Key"] == KEY
    assert "Authorization" not in request["headers"]
    assert request["body"]["Invoices"][0]["LineItems"][0]["UnitAmount"] == D("12.3456")
    assert response["status"] == 200 and response["headers"]["X-MinLimit-Remaining"] == "58"
    assert response["headers"]["Xero-Correlation-Id"] == "5a000000-0000-4000-8000-000000000001"
    assert response["body"]["Invoices"][0]["Total"] == D("253.04")
    text = json.dumps(recorder.exchanges, default=str)
    assert "SECRET" not in text and "Bearer" not in text and SETTINGS["client_secret"] not in text


@responses.activate
def test_a_network_failure_is_recorded_without_a_response(client, recorder):
    responses.add(responses.PUT, f"{API}/Invoices", body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(UncertainOutcome):
        client.put("Invoices", INVOICE_BODY, KEY)
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


def fake_jwt(**claims) -> str:
    """An unsigned JWT-shaped access token carrying `claims` (never a real token)."""
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part(claims)}.fake-signature"


def token_answer(**override) -> dict:
    """The recorded token answer, with overrides."""
    return {**json.loads(fixture_text("token.json")), **override}


def test_authorization_url_asks_for_the_granular_scopes_with_state_and_an_s256_challenge():
    verifier = "v" * 64
    url = OAuth(SETTINGS).authorization_url(REDIRECT, "st4te", verifier)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == facts.AUTHORIZE_URL
    args = {key: values[0] for key, values in parse_qs(parts.query).items()}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert args == {"response_type": "code", "client_id": "test-client-id", "state": "st4te",
                    "redirect_uri": REDIRECT, "code_challenge": challenge, "code_challenge_method": "S256",
                    "scope": "offline_access accounting.invoices accounting.payments accounting.contacts "
                             "accounting.settings"}
    assert OAuth.PKCE is True


def test_configured_urls_override_the_real_ones():
    oauth = OAuth({**SETTINGS, "authorize_url": "http://127.0.0.1:9/xero/authorize",
                   "connections_url": "http://127.0.0.1:9/xero/connections"})
    assert oauth.authorization_url("http://127.0.0.1/cb", "s").startswith("http://127.0.0.1:9/xero/authorize?")
    assert oauth.url("connections") == "http://127.0.0.1:9/xero/connections"
    assert oauth.url("api_base") == facts.API_BASE_URL and oauth.url("token") == facts.TOKEN_URL


@responses.activate
def test_exchange_sends_the_verifier_with_basic_auth_and_lists_both_tenants(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_000_000.0)
    responses.add(responses.POST, facts.TOKEN_URL, json=token_answer())
    responses.add(responses.GET, facts.CONNECTIONS_URL, body=fixture_text("connections.json"))
    token, tenant = OAuth(SETTINGS).exchange("the-code", REDIRECT, {"code": "the-code", "state": "s"}, "verifier-1")
    assert tenant == {"tenant_id": None, "tenants": [{"id": UK_TENANT, "name": "Example Trading UK Ltd"},
                                                     {"id": AU_TENANT, "name": "Example Pty Ltd"}]}
    assert (token.access_token, token.refresh_token) == ("fake-access-token", "fake-refresh-token-rotated")
    assert token.expires_at == 1_001_800.0
    assert token.refresh_expires_at == 1_000_000.0 + facts.REFRESH_TOKEN_SECONDS
    assert token.extra["scope"].startswith("offline_access accounting.invoices")
    exchange, connections = responses.calls
    assert basic_auth(exchange) == "test-client-id:test-client-secret-value"
    assert form(exchange) == {"grant_type": "authorization_code", "code": "the-code", "redirect_uri": REDIRECT,
                              "code_verifier": "verifier-1"}
    assert connections.request.headers["Authorization"] == "Bearer fake-access-token"


@responses.activate
def test_a_single_organisation_is_picked_automatically():
    responses.add(responses.POST, facts.TOKEN_URL, json=token_answer())
    responses.add(responses.GET, facts.CONNECTIONS_URL, json=json.loads(fixture_text("connections.json"))[:1])
    _, tenant = OAuth(SETTINGS).exchange("code", REDIRECT, {}, "verifier")
    assert tenant == {"tenant_id": UK_TENANT, "tenants": [{"id": UK_TENANT, "name": "Example Trading UK Ltd"}]}


@responses.activate
def test_the_tenants_of_this_consent_are_preferred_by_auth_event_and_practices_dropped():
    event = "e0000000-0000-4000-8000-0000000000e1"
    responses.add(responses.POST, facts.TOKEN_URL,
                  json=token_answer(access_token=fake_jwt(authentication_event_id=event)))
    responses.add(responses.GET, facts.CONNECTIONS_URL, body=fixture_text("connections_mixed.json"))
    token, tenant = OAuth(SETTINGS).exchange("code", REDIRECT, {}, "verifier")
    assert [found["id"] for found in tenant["tenants"]] == [UK_TENANT, AU_TENANT]
    assert tenant["tenant_id"] is None and token.extra["auth_event_id"] == event


@responses.activate
def test_without_an_auth_event_every_connected_organisation_is_offered():
    responses.add(responses.POST, facts.TOKEN_URL, json=token_answer())
    responses.add(responses.GET, facts.CONNECTIONS_URL, body=fixture_text("connections_mixed.json"))
    _, tenant = OAuth(SETTINGS).exchange("code", REDIRECT, {}, "verifier")
    assert [found["name"] for found in tenant["tenants"]] == [
        "Old Demo Company (NZ)", "Example Trading UK Ltd", "Example Pty Ltd"]


@responses.activate
def test_a_failing_connections_call_is_mapped():
    responses.add(responses.POST, facts.TOKEN_URL, json=token_answer())
    responses.add(responses.GET, facts.CONNECTIONS_URL, status=503)
    with pytest.raises(RetryableLedgerError):
        OAuth(SETTINGS).exchange("code", REDIRECT, {}, "verifier")
    responses.replace(responses.GET, facts.CONNECTIONS_URL, status=403, body=fixture_text("error_403.json"))
    with pytest.raises(LedgerRejected):
        OAuth(SETTINGS).exchange("code", REDIRECT, {}, "verifier")


@responses.activate
def test_refresh_always_keeps_the_rotated_refresh_token(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 2_000_000.0)
    responses.add(responses.POST, facts.TOKEN_URL, json=token_answer())
    old = Token("a1", "r1", expires_at=0, refresh_expires_at=5.0, extra={"scope": "offline_access"})
    token = OAuth(SETTINGS).refresh(old)
    assert (token.access_token, token.refresh_token) == ("fake-access-token", "fake-refresh-token-rotated")
    assert token.refresh_expires_at == 2_000_000.0 + facts.REFRESH_TOKEN_SECONDS
    assert token.extra["refresh_token_issued_at"] == 2_000_000.0
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": "r1"}
    assert basic_auth(responses.calls[0]) == "test-client-id:test-client-secret-value"


@responses.activate
def test_invalid_grant_on_refresh_means_reauth():
    responses.add(responses.POST, facts.TOKEN_URL, status=400, body=fixture_text("token_invalid_grant.json"))
    with pytest.raises(ReauthRequired):
        OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))


@responses.activate
def test_token_endpoint_outage_is_retryable():
    responses.add(responses.POST, facts.TOKEN_URL, status=503, body="unavailable")
    responses.add(responses.POST, facts.TOKEN_URL, status=500, json={"error": "server_error"})
    responses.add(responses.POST, facts.TOKEN_URL, body=requests.exceptions.ConnectionError("down"))
    for _ in range(3):
        with pytest.raises(RetryableLedgerError) as excinfo:
            OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))
        assert not isinstance(excinfo.value, ReauthRequired)


@responses.activate
def test_a_refresh_whose_answer_is_lost_is_retryable_within_the_grace_period():
    responses.add(responses.POST, facts.TOKEN_URL, body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(UncertainOutcome) as excinfo:
        OAuth(SETTINGS).refresh(Token("a1", "r1", expires_at=0))
    assert isinstance(excinfo.value, RetryableLedgerError) and "30 more minutes" in str(excinfo.value)


@responses.activate
def test_revoke_posts_the_refresh_token_as_a_form_with_basic_auth():
    responses.add(responses.POST, facts.REVOKE_URL, status=200)
    OAuth(SETTINGS).revoke(Token("a1", "r1", expires_at=0))
    call = responses.calls[0]
    assert form(call) == {"token": "r1"}
    assert basic_auth(call) == "test-client-id:test-client-secret-value"


@responses.activate
def test_revoking_a_token_xero_no_longer_knows_is_done_and_an_outage_retryable():
    responses.add(responses.POST, facts.REVOKE_URL, status=400, json={"error": "invalid_grant"})
    OAuth(SETTINGS).revoke(Token("a1", "r1", expires_at=0))
    responses.replace(responses.POST, facts.REVOKE_URL, status=502)
    with pytest.raises(RetryableLedgerError):
        OAuth(SETTINGS).revoke(Token("a1", "r1", expires_at=0))


def test_the_package_imports_only_what_ledgers_may_import():
    package_dir = Path(__file__).resolve().parents[3] / "bridge" / "ledgers" / "xero"
    allowed = {"bridge.ledgers.base", "bridge.ledgers.wire", "bridge.errors", "bridge.ledgers.xero", "requests", "authlib"}
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

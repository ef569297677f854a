"""What every Accounting call goes through: tenant header, scopes, the 3.5 MB cap, Idempotency-Key,
Xero's limits with their headers, and the injected faults."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bridge.sandbox import SandboxServer, create_sandbox_app, jsonio
from bridge.sandbox.xero import AU_TENANT_ID, CLIENT_ID, UK_TENANT_ID

from .xero_client import API, REDIRECT_URI, SCOPE, TOKEN_PATH, Xero, basic


def _invoice(contact_id: str, number: str = "INV-9001") -> dict:
    return {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "InvoiceNumber": number,
                          "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": 10,
                                         "AccountCode": "200"}]}]}


# Tenant and scopes

def test_missing_or_unknown_tenant_header_is_403_authentication_unsuccessful(xero):
    missing = xero.call("GET", "Invoices", headers={"xero-tenant-id": ""})
    assert missing[0] == 403 and missing[1]["Title"] == "Forbidden"
    assert missing[1]["Detail"] == "AuthenticationUnsuccessful"
    unknown = xero.call("GET", "Invoices", headers={"xero-tenant-id": "00000000-0000-0000-0000-000000000000"})
    assert unknown[0] == 403 and unknown[1]["Detail"] == "AuthenticationUnsuccessful"


def test_each_tenant_sees_only_its_own_objects(xero, xero_au):
    xero.contact("Only In UK")
    assert [c["Name"] for c in xero.get("Contacts")[1]["Contacts"]] == ["Only In UK"]
    assert xero_au.get("Contacts")[1]["Contacts"] == []
    assert xero_au.get("Organisation")[1]["Organisations"][0]["BaseCurrency"] == "AUD"


def test_token_without_payments_scope_cannot_put_payments(client):
    xero = Xero(client).connect(scope="offline_access accounting.invoices accounting.contacts")
    invoice = xero.invoice(Status="AUTHORISED")
    status, body = xero.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]},
                                                       "Account": {"Code": "090"}, "Amount": 1}]})
    assert status == 403 and body["Detail"] == "AuthorizationUnsuccessful" and body["Status"] == 403
    assert xero.get("Accounts")[0] == 403  # accounting.settings not granted either


def test_read_scopes_allow_reads_only_and_legacy_transactions_covers_payments(client):
    reader = Xero(client).connect(scope="accounting.invoices.read accounting.contacts.read")
    assert reader.get("Invoices")[0] == 200
    assert reader.put("Invoices", {"Invoices": []})[0] == 403
    legacy = Xero(client).connect(scope="accounting.transactions accounting.contacts")
    invoice = legacy.invoice(Status="AUTHORISED")
    status, _ = legacy.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]},
                                                      "Account": {"Code": "090"}, "Amount": 1}]})
    assert status == 200


# Body cap and Idempotency-Key

def test_body_over_3_5_mb_is_413(xero):
    padding = "x" * 3_500_001
    status, body = xero.put("Contacts", {"Contacts": [{"Name": "Big", "Website": padding}]})
    assert status == 413 and body["Status"] == 413
    assert xero.get("Contacts")[1]["Contacts"] == []


def test_idempotency_key_replays_the_first_answer_and_creates_once(xero, client):
    contact = xero.contact()
    key = {"Idempotency-Key": "batch-7f3a"}
    first = xero.request("PUT", "Invoices", _invoice(contact["ContactID"]), headers=key)
    again = xero.request("PUT", "Invoices", _invoice(contact["ContactID"]), headers=key)
    assert first.status_code == again.status_code == 200
    assert jsonio.loads(first.data) == jsonio.loads(again.data)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(xero.get("Invoices")[1]["Invoices"]) == 1
    assert client.get("/_sandbox/xero/stats").get_json()["idempotency_replays"] == 1


def test_idempotency_key_rules(xero):
    contact = xero.contact()
    too_long = xero.call("PUT", "Invoices", _invoice(contact["ContactID"]), headers={"Idempotency-Key": "k" * 129})
    assert too_long[0] == 400 and "128" in too_long[1]["Detail"]
    longest = {"Idempotency-Key": "k" * 128}
    assert xero.call("PUT", "Invoices", _invoice(contact["ContactID"]), headers=longest)[0] == 200
    other = xero.call("PUT", "Invoices", _invoice(contact["ContactID"], "INV-9002"),
                      headers={"Idempotency-Key": "k" * 128})
    assert other[0] == 400 and "different request" in other[1]["Detail"]
    # A refused request is not remembered: the corrected request may reuse its key.
    bad = _invoice(contact["ContactID"], "INV-9003")
    bad["Invoices"][0]["LineItems"][0]["AccountCode"] = "999"
    assert xero.call("PUT", "Invoices", bad, headers={"Idempotency-Key": "retry-me"})[0] == 400
    assert xero.call("PUT", "Invoices", _invoice(contact["ContactID"], "INV-9003"),
                     headers={"Idempotency-Key": "retry-me"})[0] == 200


def test_idempotency_keys_are_per_tenant(xero, xero_au):
    uk = xero.contact("Same Key Ltd")
    au = xero_au.contact("Same Key Pty")
    key = {"Idempotency-Key": "shared"}
    assert xero.call("PUT", "Invoices", _invoice(uk["ContactID"]), headers=key)[0] == 200
    body = _invoice(au["ContactID"])
    body["Invoices"][0]["LineItems"][0]["TaxType"] = "OUTPUT"
    assert xero_au.call("PUT", "Invoices", body, headers=key)[0] == 200
    assert len(xero_au.get("Invoices")[1]["Invoices"]) == 1


# Limits

@pytest.fixture
def limited(client):
    """Xero's default limits on."""
    client.post("/_sandbox/xero/config", json={"limits": {"enabled": True}})
    return Xero(client).connect()


def test_sixty_calls_a_minute_then_429_with_headers_and_scaled_retry_after(limited, client):
    client.post("/_sandbox/xero/config", json={"time_scale": 10})  # a sandbox minute is 6 real seconds
    remaining = []
    for _ in range(60):
        response = limited.request("GET", "Organisation")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-MinLimit-Remaining"]))
        assert response.headers["X-DayLimit-Remaining"] and response.headers["X-AppMinLimit-Remaining"]
    assert remaining[0] == 59 and remaining[-1] == 0
    over = limited.request("GET", "Organisation")
    assert over.status_code == 429
    assert over.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(over.headers["Retry-After"]) <= 6
    assert over.headers["X-MinLimit-Remaining"] == "0" and int(over.headers["X-DayLimit-Remaining"]) == 4940
    assert over.get_json()["Status"] == 429
    stats = client.get("/_sandbox/xero/stats").get_json()
    assert stats["throttled"] == {"minute": 1}
    assert stats["requests_per_minute"][UK_TENANT_ID]["peak"] == 60
    client.post("/_sandbox/xero/config", json={"clock_advance": 61})
    assert limited.request("GET", "Organisation").status_code == 200


def test_minute_limit_is_per_tenant_and_retry_after_uses_the_real_clock(limited, client):
    client.post("/_sandbox/xero/config", json={"limits": {"per_minute": 2}, "time_scale": 0.5})
    au = Xero(client, AU_TENANT_ID)
    au.tokens = limited.tokens
    assert [limited.get("Organisation")[0] for _ in range(3)] == [200, 200, 429]
    assert au.get("Organisation")[0] == 200
    response = limited.request("GET", "Organisation")
    assert 115 <= int(response.headers["Retry-After"]) <= 120  # ~60 sandbox seconds at half speed


def test_day_limit_says_day(limited, client):
    client.post("/_sandbox/xero/config", json={"limits": {"per_day": 3}})
    assert [limited.get("Organisation")[0] for _ in range(3)] == [200, 200, 200]
    response = limited.request("GET", "Organisation")
    assert response.status_code == 429 and response.headers["X-Rate-Limit-Problem"] == "day"
    assert response.headers["X-DayLimit-Remaining"] == "0"
    client.post("/_sandbox/xero/config", json={"clock_advance": 1200})  # a new minute, the same day
    assert limited.request("GET", "Organisation").headers["X-Rate-Limit-Problem"] == "day"


def test_app_minute_limit_spans_tenants(limited, client):
    client.post("/_sandbox/xero/config", json={"limits": {"app_per_minute": 3}})
    au = Xero(client, AU_TENANT_ID)
    au.tokens = limited.tokens
    assert [limited.get("Organisation")[0], au.get("Organisation")[0], limited.get("Organisation")[0]] == [200] * 3
    response = au.request("GET", "Organisation")
    assert response.status_code == 429 and response.headers["X-Rate-Limit-Problem"] == "appminute"


def _token_over_http(base: str) -> str:
    session = requests.Session()
    consent = session.get(f"{base}/xero/identity/connect/authorize", allow_redirects=False, params={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": SCOPE,
        "state": "s"})
    code = requests.utils.urlparse(consent.headers["Location"]).query.split("code=")[1].split("&")[0]
    tokens = session.post(f"{base}{TOKEN_PATH}", headers={"Authorization": basic()},
                          data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    return tokens.json()["access_token"]


def test_five_calls_in_flight_per_tenant_over_real_http():
    app = create_sandbox_app({"faults": {"latency": 0.8}}, providers=("xero",))
    server = SandboxServer(app, "127.0.0.1", 0).start()
    try:
        token = _token_over_http(server.url)
        answers = []

        def call():
            response = requests.get(f"{server.url}{API}/Organisation", timeout=10,
                                    headers={"Authorization": f"Bearer {token}", "xero-tenant-id": UK_TENANT_ID})
            answers.append((response.status_code, response.headers.get("X-Rate-Limit-Problem")))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [status for status, _ in answers].count(200) == 5
        assert sorted(problem for status, problem in answers if status == 429) == ["concurrent"] * 3
        assert requests.get(f"{server.url}/_sandbox/xero/stats").json()["throttled"] == {"concurrent": 3}
    finally:
        server.shutdown()


# Faults

def test_error_rate_answers_500_before_anything_is_written(xero, client):
    client.post("/_sandbox/xero/config", json={"faults": {"error_rate": 1.0}})
    status, body = xero.put("Contacts", {"Contacts": [{"Name": "Never"}]})
    assert status == 500 and body["Status"] == 500
    client.post("/_sandbox/xero/config", json={"faults": {"error_rate": 0}})
    assert xero.get("Contacts")[1]["Contacts"] == []


def test_fail_next_throttle_next_and_unauthorized_next_in_front_door_order(xero, client):
    client.post("/_sandbox/xero/config", json={"faults": {"fail_next": 1, "throttle_next": 1,
                                                          "unauthorized_next": 1}})
    assert xero.get("Organisation")[0] == 401
    throttled = xero.request("GET", "Organisation")
    assert throttled.status_code == 429 and throttled.headers["X-Rate-Limit-Problem"] == "minute"
    assert throttled.headers["Retry-After"] == "60"
    assert xero.get("Organisation")[0] == 500
    assert xero.get("Organisation")[0] == 200
    stats = client.get("/_sandbox/xero/stats").get_json()
    assert stats["unauthorized"] == 1 and stats["throttled"] == {"minute": 1}
    assert stats["faults_injected"] == {"unauthorized": 1, "throttle_minute": 1, "server_error": 1}


def test_throttle_next_with_day_problem(xero, client):
    client.post("/_sandbox/xero/config", json={"faults": {"throttle_next": 1, "throttle_problem": "day"},
                                               "time_scale": 3600})
    response = xero.request("GET", "Organisation")
    assert response.status_code == 429 and response.headers["X-Rate-Limit-Problem"] == "day"
    assert response.headers["Retry-After"] == "24"  # a sandbox day at 3600x
    assert client.post("/_sandbox/xero/config", json={"faults": {"throttle_problem": "hour"}}).status_code == 400


def test_dropped_write_in_error_mode_was_applied_and_the_key_replays_it(xero, client):
    contact = xero.contact()
    client.post("/_sandbox/xero/config", json={"faults": {"drop_after_write": 1, "drop_mode": "error"}})
    key = {"Idempotency-Key": "lost-answer"}
    lost = xero.request("PUT", "Invoices", _invoice(contact["ContactID"]), headers=key)
    assert lost.status_code == 504 and lost.content_type.startswith("text/html")
    retry = xero.request("PUT", "Invoices", _invoice(contact["ContactID"]), headers=key)
    assert retry.status_code == 200 and jsonio.loads(retry.data)["Invoices"][0]["InvoiceNumber"] == "INV-9001"
    assert len(xero.get("Invoices")[1]["Invoices"]) == 1


def test_dropped_write_in_timeout_mode_answers_late(xero, client):
    client.post("/_sandbox/xero/config", json={"faults": {"drop_after_write": 1, "drop_mode": "timeout",
                                                          "drop_delay": 0.3}})
    started = time.monotonic()
    assert xero.put("Contacts", {"Contacts": [{"Name": "Slow"}]})[0] == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    xero.put("Contacts", {"Contacts": [{"Name": "Fast"}]})
    assert time.monotonic() - started < 0.3


def test_unknown_fault_or_setting_is_refused(client):
    assert client.post("/_sandbox/xero/config", json={"faults": {"explode": 1}}).status_code == 400
    assert client.post("/_sandbox/xero/config", json={"limits": {"per_second": 3}}).status_code == 400
    assert client.post("/_sandbox/xero/config", json={"colour": "red"}).status_code == 400


def test_factory_config_ignores_settings_meant_for_other_emulators():
    app = create_sandbox_app({"limits": {"per_second": 5, "per_minute": 7}, "default_realm": "UK"},
                             providers=("xero",))
    assert app.extensions["sandbox"]["providers"]["xero"].limiter.settings["per_minute"] == 7
    assert AU_TENANT_ID in {t["tenant_id"] for t in app.test_client().get("/_sandbox/xero/tenants").get_json()}

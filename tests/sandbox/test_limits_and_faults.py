"""Throttles (10/s, 500/min, batch/min, concurrency) and injected faults, as a client meets them."""

from __future__ import annotations

import threading
import time
from decimal import Decimal as D

import pytest
import requests

from bridge.sandbox import create_sandbox_app, jsonio, serve
from bridge.sandbox.quickbooks import US_REALM_ID

from .qbo_client import QBO, REDIRECT_URI, basic, sales_line

THROTTLE_BODY_ERROR = {"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                       "Detail": "The request limit was reached.", "code": "3001"}


@pytest.fixture
def limited():
    """A sandbox with QBO's default limits on."""
    app = create_sandbox_app()
    return QBO(app.test_client(), US_REALM_ID).connect()


def test_eleventh_request_in_a_second_gets_429_with_documented_body(limited):
    # A slow clock keeps all requests inside one sandbox second however slow the machine is.
    limited.client.post("/_sandbox/quickbooks/config", json={"time_scale": 0.01})
    statuses = [limited.get("preferences")[0] for _ in range(10)]
    assert statuses == [200] * 10
    response = limited.client.get(limited.url("preferences"), headers=limited.headers())
    assert response.status_code == 429
    body = response.get_json()
    assert body["Fault"] == {"Error": [THROTTLE_BODY_ERROR], "type": "SERVICE"} and body["time"]
    assert response.headers["Retry-After"] == str(60 * 100)  # 60 sandbox seconds at 0.01x
    stats = limited.client.get("/_sandbox/quickbooks/stats").get_json()
    assert stats["throttled"] == {"per_second": 1}


def test_retry_after_is_60_scaled_by_time_scale(limited):
    limited.client.post("/_sandbox/quickbooks/config", json={"faults": {"throttle_next": 2}})
    assert limited.client.get(limited.url("preferences"), headers=limited.headers()).headers["Retry-After"] == "60"
    limited.client.post("/_sandbox/quickbooks/config", json={"time_scale": 7})
    assert limited.client.get(limited.url("preferences"), headers=limited.headers()).headers["Retry-After"] == "9"


def test_per_minute_limit_and_window_reopening(limited):
    limited.client.post("/_sandbox/quickbooks/config", json={"limits": {"per_minute": 3, "per_second": 100}})
    assert [limited.get("preferences")[0] for _ in range(4)] == [200, 200, 200, 429]
    limited.client.post("/_sandbox/quickbooks/config", json={"clock_advance": 61})
    assert limited.get("preferences")[0] == 200
    assert limited.client.get("/_sandbox/quickbooks/stats").get_json()["throttled"] == {"per_minute": 1}


def test_batch_calls_per_minute(limited):
    limited.client.post("/_sandbox/quickbooks/config", json={"limits": {"batch_per_minute": 2}})
    body = jsonio.dumps({"BatchItemRequest": [{"bId": "q", "Query": "select count(*) from Item"}]})
    statuses = [limited.client.post(limited.url("batch"), data=body, headers={
        **limited.headers(), "Content-Type": "application/json"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert limited.get("preferences")[0] == 200  # ordinary requests still pass


def test_limits_can_be_switched_off(limited):
    limited.client.post("/_sandbox/quickbooks/config", json={"limits": {"enabled": False}, "time_scale": 0.01})
    assert all(limited.get("preferences")[0] == 200 for _ in range(15))


def _connect_over_http(base: str) -> str:
    session = requests.Session()
    consent = session.get(f"{base}/quickbooks/connect/oauth2", allow_redirects=False, params={
        "client_id": "sandbox-quickbooks-client", "redirect_uri": REDIRECT_URI, "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting", "state": "s"})
    code = requests.utils.urlparse(consent.headers["Location"]).query.split("code=")[1].split("&")[0]
    tokens = session.post(f"{base}/quickbooks/oauth2/v1/tokens/bearer", headers={"Authorization": basic()},
                          data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    return tokens.json()["access_token"]


def test_concurrency_limit_over_real_http():
    server = serve(config={"limits": {"concurrent": 2, "per_second": 100}, "faults": {"latency": 0.3}})
    try:
        token = _connect_over_http(server.url)
        statuses = []

        def call():
            response = requests.get(f"{server.url}/quickbooks/v3/company/{US_REALM_ID}/preferences",
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                    timeout=10)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses.count(200) >= 2 and statuses.count(429) >= 1
        stats = requests.get(f"{server.url}/_sandbox/quickbooks/stats").json()
        assert stats["throttled"].get("concurrent", 0) == statuses.count(429)
    finally:
        server.shutdown()


def test_error_rate_answers_500_before_executing(qbo, client):
    client.post("/_sandbox/quickbooks/config", json={"faults": {"error_rate": 1.0}})
    status, body = qbo.post("customer", {"DisplayName": "Never"})
    assert status == 500 and body["Fault"]["type"] == "SystemFault" and body["Fault"]["Error"][0]["code"] == "10000"
    client.post("/_sandbox/quickbooks/config", json={"faults": {"error_rate": 0}})
    assert qbo.query("select count(*) from Customer")[1] == {"totalCount": 0}


def test_fail_next_throttle_next_unauthorized_next(qbo, client):
    client.post("/_sandbox/quickbooks/config",
                json={"faults": {"fail_next": 1, "throttle_next": 1, "unauthorized_next": 1}})
    # Order at the front door: auth, then throttles, then server errors.
    assert qbo.get("preferences")[0] == 401
    assert qbo.get("preferences")[0] == 429
    assert qbo.get("preferences")[0] == 500
    assert qbo.get("preferences")[0] == 200
    stats = client.get("/_sandbox/quickbooks/stats").get_json()
    assert stats["throttled"] == {"forced": 1} and stats["unauthorized"] == 1


def test_dropped_write_in_error_mode_is_applied_and_replayable(qbo, client):
    customer = qbo.customer()
    client.post("/_sandbox/quickbooks/config", json={"faults": {"drop_after_write": 1, "drop_mode": "error"}})
    body = jsonio.dumps({"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(D("9.00"))]})
    headers = {**qbo.headers(), "Content-Type": "application/json"}
    lost = client.post(qbo.url("invoice"), data=body, query_string={"requestid": "r-1"}, headers=headers)
    assert lost.status_code == 504 and lost.content_type.startswith("text/html")
    retry = client.post(qbo.url("invoice"), data=body, query_string={"requestid": "r-1"}, headers=headers)
    assert retry.status_code == 200 and retry.get_json()["Invoice"]["TotalAmt"] == 9
    assert qbo.query("select count(*) from Invoice")[1] == {"totalCount": 1}


def test_dropped_write_in_timeout_mode_answers_late(qbo, client):
    client.post("/_sandbox/quickbooks/config",
                json={"faults": {"drop_after_write": 1, "drop_mode": "timeout", "drop_delay": 0.3}})
    started = time.monotonic()
    status, _ = qbo.post("customer", {"DisplayName": "Slow"})
    assert status == 200 and time.monotonic() - started >= 0.3
    started = time.monotonic()
    qbo.post("customer", {"DisplayName": "Fast"})
    assert time.monotonic() - started < 0.3

"""The hidden per-account limit and the injected faults (same vocabulary as the QuickBooks emulator)."""

from __future__ import annotations

import pytest
import requests

from bridge.sandbox import SandboxServer, create_sandbox_app
from bridge.sandbox.freshbooks import ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, EXTRA_ACCOUNT_ID

from .fb_client import FB, REDIRECT_URI


def test_hidden_limit_is_off_by_default(fb):
    assert all(fb.get("users/clients")[0] == 200 for _ in range(70))
    assert fb.stats()["throttled_total"] == 0


def test_hidden_limit_answers_429_without_retry_after_then_reopens(fb):
    fb.config(limits={"enabled": True, "per_minute": 3})
    assert [fb.get("users/clients")[0] for _ in range(3)] == [200, 200, 200]
    response = fb.client.get(fb.url("users/clients"), headers=fb.headers())
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.get_json() == {"message": "Too Many Requests"}
    fb.config(clock_advance=61)
    assert fb.get("users/clients")[0] == 200
    assert fb.stats()["throttled"] == {"per_minute": 1}


def test_retry_after_is_sent_only_when_configured_and_follows_time_scale(fb):
    fb.config(retry_after=30, time_scale=2, faults={"throttle_next": 1})
    response = fb.client.get(fb.url("users/clients"), headers=fb.headers())
    assert response.status_code == 429 and response.headers["Retry-After"] == "15"
    assert fb.stats()["throttled"] == {"forced": 1}


def test_the_limit_counts_each_account_apart(fb):
    fb.config(extra_businesses=True, limits={"enabled": True, "per_minute": 2})
    us = FB(fb.client, EXTRA_ACCOUNT_ID)
    us.tokens = fb.tokens
    assert [fb.get("users/clients")[0] for _ in range(3)] == [200, 200, 429]
    assert [us.get("users/clients")[0] for _ in range(2)] == [200, 200]


def test_fail_next_and_error_rate_answer_500(fb):
    fb.config(faults={"fail_next": 1})
    status, body = fb.get("users/clients")
    assert status == 500 and body["response"]["errors"][0]["errno"] == 5000
    assert fb.get("users/clients")[0] == 200
    fb.config(faults={"error_rate": 1.0})
    assert fb.post("users/clients", {"client": {"organization": "X"}})[0] == 500
    fb.config(faults={"error_rate": 0.0})
    assert fb.business_ledger()["clients"] == []  # a 500 before the handler changed nothing
    assert fb.stats()["faults_injected"] == {"server_error": 2}


def test_unauthorized_next_answers_one_401(fb):
    fb.config(faults={"unauthorized_next": 1})
    status, body = fb.get("users/clients")
    assert status == 401 and body["error"] == "invalid_token"
    assert fb.get("users/clients")[0] == 200


def test_drop_after_write_in_error_mode_applies_the_write_then_answers_504(fb):
    fb.config(faults={"drop_after_write": 1, "drop_mode": "error"})
    response = fb.client.post(fb.url("users/clients"), json={"client": {"organization": "Ghost"}},
                              headers=fb.headers())
    assert response.status_code == 504 and b"Gateway Time-out" in response.data
    assert [c["organization"] for c in fb.business_ledger()["clients"]] == ["Ghost"]
    assert fb.get("users/clients")[0] == 200  # reads are never dropped, and the fault was one-shot
    assert fb.stats()["faults_injected"] == {"dropped_error": 1}


def test_invalid_grant_fault_refuses_every_refresh(fb):
    fb.config(faults={"invalid_grant": True})
    response = fb.refresh()
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    fb.config(faults={"invalid_grant": False})
    assert fb.refresh().status_code == 200


@pytest.fixture
def live():
    server = SandboxServer(create_sandbox_app({}, providers=("freshbooks",)), "127.0.0.1", 0).start()
    yield server
    server.shutdown()


def _connect(base: str) -> str:
    session = requests.Session()
    consent = session.get(f"{base}/freshbooks/oauth/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s"})
    code = requests.utils.urlparse(consent.headers["Location"]).query.split("code=")[1].split("&")[0]
    tokens = session.post(f"{base}/freshbooks/auth/oauth/token", json={
        "grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code,
        "redirect_uri": REDIRECT_URI})
    return tokens.json()["access_token"]


def test_drop_after_write_in_timeout_mode_over_real_http(live):
    token = _connect(live.url)
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(f"{live.url}/_sandbox/freshbooks/config",
                  json={"faults": {"drop_after_write": 1, "drop_mode": "timeout", "drop_delay": 0.6}})
    clients = f"{live.url}/freshbooks/accounting/account/{ACCOUNT_ID}"
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{clients}/users/clients", json={"client": {"organization": "Slow"}}, headers=headers,
                      timeout=0.2)
    found = requests.get(f"{clients}/users/clients", params={"search[organization_like]": "slow"}, headers=headers)
    assert found.status_code == 200 and found.json()["response"]["result"]["total"] == 1  # the write happened

"""Token refresh: once across every worker, rotated tokens persisted, invalid_grant -> needs_reauth."""

from __future__ import annotations

import threading
import time

import pytest

from bridge import store
from bridge.ledgers.base import Token
from bridge.store.models import Connection
from bridge.sync.adapters import oauth_for
from bridge.sync.tokens import ConnectionTokens, save_token
from tests.conftest import auth, connect, connect_quickbooks, sample_invoice, wait_for


def stored_token(app, connection_id: str) -> Token:
    """The token as sealed in the database."""
    with app.app_context():
        sealed = store.session().get(Connection, connection_id).token
        return Token.from_dict(store.vault().open(sealed))


def expire(app, connection_id: str) -> Token:
    """Make the stored access token look expired (the ledger still knows it)."""
    token = stored_token(app, connection_id)
    token.expires_at = time.time() - 10
    save_token(app, connection_id, token)
    return token


@pytest.mark.parametrize("provider, tenant", [("quickbooks", None), ("xero", "Sandbox Company UK"),
                                              ("freshbooks", None)])
def test_ten_threads_with_an_expired_token_refresh_exactly_once(app, client, api_key, sandbox, provider, tenant):
    """QBO rotates, Xero rotates on every refresh, FreshBooks refresh tokens are single-use: one refresh each."""
    connection_id = connect(client, api_key, provider, tenant=tenant)
    before = stored_token(app, connection_id)
    expire(app, connection_id)
    refreshes_before = sandbox.stats(provider)["token_calls"].get("refresh_token", 0)
    results, barrier = [], threading.Barrier(10)

    def worker():
        tokens = ConnectionTokens(app, connection_id, oauth_for(app, provider))
        barrier.wait()
        results.append(tokens.current())

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 10
    assert sandbox.stats(provider)["token_calls"]["refresh_token"] - refreshes_before == 1
    assert len({token.access_token for token in results}) == 1
    after = stored_token(app, connection_id)
    assert after.access_token == results[0].access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # the rotated refresh token was persisted
    assert after.expires_at > time.time() + 1000


def test_a_401_refreshes_and_resends_the_same_write(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(faults={"unauthorized_next": 1})
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    assert len(sandbox.objects("invoices")) == 1


def test_invalid_grant_marks_the_connection_needs_reauth_and_keeps_the_work(app, client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    expire(app, connection_id)
    sandbox.configure(faults={"invalid_grant": True})
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    deadline = time.monotonic() + 15
    while client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()["status"] != "needs_reauth":
        assert time.monotonic() < deadline, "connection never became needs_reauth"
        time.sleep(0.05)
    time.sleep(0.3)
    detail = client.get(f"/v1/syncs/{op['id']}", headers=auth(api_key)).get_json()
    assert detail["status"] == "queued"
    assert detail["waiting_for"] == "connection needs reauthorization"
    assert sandbox.objects("invoices") == []


def test_reauthorizing_resumes_the_held_work(app, client, api_key, sandbox, runtime):
    import requests

    connection_id = connect_quickbooks(client, api_key)
    expire(app, connection_id)
    sandbox.configure(faults={"invalid_grant": True})
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    deadline = time.monotonic() + 15
    while client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()["status"] != "needs_reauth":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sandbox.configure(faults={"invalid_grant": False})
    again = client.post(f"/v1/connections/{connection_id}/reauthorize", headers=auth(api_key))
    assert again.status_code == 200
    approval = requests.get(again.get_json()["authorize_url"], allow_redirects=False, timeout=10)
    finished = client.get(approval.headers["Location"].removeprefix("http://127.0.0.1:5999"))
    assert finished.status_code == 302
    assert client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()["status"] == "active"
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
    assert len(sandbox.objects("invoices")) == 1

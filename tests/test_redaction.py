"""No secret is ever stored: after real flows on all three ledgers (OAuth connect, token refresh, writes),
every token, client secret and the API key are searched for in every stored text and in the logs."""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from bridge import store
from bridge.ledgers.base import Token
from bridge.store.models import Attempt, BatchAttempt, Connection, Event, Note, Operation
from bridge.sync.redaction import REDACTED, scrub
from bridge.sync.tokens import save_token
from tests.conftest import auth, sample_invoice, wait_for
from tests.test_notes import CURRENCY, connect_ledger

STORED = (Attempt, BatchAttempt, Operation, Event, Note)


def stored_token(app, connection_id: str) -> Token:
    """The connection's token, opened with the app's vault."""
    with app.app_context():
        return Token.from_dict(store.vault().open(store.session().get(Connection, connection_id).token))


def expire(app, connection_id: str) -> Token:
    """Make the stored access token look expired, so the next write refreshes it."""
    token = stored_token(app, connection_id)
    token.expires_at = time.time() - 10
    save_token(app, connection_id, token)
    return token


def every_stored_text(app) -> str:
    """Every row of the tables that keep exchanges, operations and events, as text."""
    with app.app_context():
        db = store.session()
        return "\n".join(repr(tuple(row)) for model in STORED for row in db.execute(sa.select(model.__table__)).all())


def test_no_token_key_or_secret_is_stored_or_logged(app, client, api_key, sandbox, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {"api key": api_key}
    secrets.update({name: value for name, value in sandbox.settings().items() if name.endswith("CLIENT_SECRET")})
    for provider in ("quickbooks", "xero", "freshbooks"):
        connection_id = connect_ledger(client, api_key, provider)
        first = expire(app, connection_id)  # the next write refreshes the token first
        secrets[f"{provider} first access token"] = first.access_token
        secrets[f"{provider} first refresh token"] = first.refresh_token
        url = f"/v1/connections/{connection_id}/invoices"
        body = sample_invoice(f"{provider}-1", currency=CURRENCY[provider],
                              payments=[{"external_id": f"{provider}-pay", "amount": "10.00", "date": "2026-01-20"}])
        op = client.post(url, json=body, headers=auth(api_key)).get_json()
        assert wait_for(client, api_key, op["id"])["status"] == "succeeded"
        assert wait_for(client, api_key, op["related"][0]["id"])["status"] == "succeeded"
        note = client.post(f"{url}/{provider}-1/notes", json={"text": "checked"}, headers=auth(api_key)).get_json()
        assert wait_for(client, api_key, note["id"])["status"] == "succeeded"
        # batches store their exchanges once: send several invoices together where the ledger batches
        ops = [client.post(url, json=sample_invoice(f"{provider}-b{n}", currency=CURRENCY[provider]),
                           headers=auth(api_key)).get_json() for n in range(3)]
        assert all(wait_for(client, api_key, o["id"])["status"] == "succeeded" for o in ops)
        fresh = stored_token(app, connection_id)
        assert fresh.access_token != first.access_token, "the flow must have refreshed the token"
        secrets[f"{provider} fresh access token"] = fresh.access_token
        secrets[f"{provider} fresh refresh token"] = fresh.refresh_token

    stored = every_stored_text(app)
    # the search is meaningful: every ledger's exchanges (requests and responses) are stored
    assert all(f"/{provider}/" in stored for provider in ("quickbooks", "xero", "freshbooks"))
    assert "'request':" in stored and "'response':" in stored
    logged = caplog.text
    for name, value in secrets.items():
        assert value and len(value) >= 8, name
        assert value not in stored, f"{name} found in a stored row"
        assert value not in logged, f"{name} found in the log output"


@pytest.mark.parametrize("raw, expected", [
    ({"headers": {"Authorization": "Bearer abc.def", "Cookie": "s=1"}},
     {"headers": {"Authorization": REDACTED, "Cookie": REDACTED}}),
    ({"body": {"access_token": "a", "refresh_token": "r", "x_refresh_token_expires_in": 8726400,
               "token_type": "bearer", "client_secret": "s", "code_verifier": "v"}},
     {"body": {"access_token": REDACTED, "refresh_token": REDACTED, "x_refresh_token_expires_in": 8726400,
               "token_type": "bearer", "client_secret": REDACTED, "code_verifier": REDACTED}}),
    ({"url": "https://l.example/cb?code=XYZ&state=s&access_token=T"},
     {"url": f"https://l.example/cb?code={REDACTED}&state=s&access_token={REDACTED}"}),
    ({"text": "401: token Bearer eyJhbGciOi.x.y was refused"}, {"text": f"401: token Bearer {REDACTED} was refused"}),
    ({"body": {"Fault": {"Error": [{"code": "6140", "Message": "Duplicate"}]}}},
     {"body": {"Fault": {"Error": [{"code": "6140", "Message": "Duplicate"}]}}}),
])
def test_scrub_removes_secrets_and_keeps_error_codes(raw, expected):
    assert scrub(raw) == expected

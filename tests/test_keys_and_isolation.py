"""API keys, `/v1/me`, and isolation between accounts on every route."""

from __future__ import annotations

import re

from click.testing import CliRunner

from bridge.store.models import ApiKey
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for


def test_me_names_the_account(client, api_key):
    me = client.get("/v1/me", headers=auth(api_key)).get_json()
    assert me["account_name"] == "acme"
    assert me["account_id"].startswith("acc_")


def test_new_key_works_and_revoked_key_stops(client, api_key):
    created = client.post("/v1/keys", json={"name": "zapier"}, headers=auth(api_key))
    assert created.status_code == 201
    new = created.get_json()
    assert new["key"].startswith("ib_") and new["prefix"] == new["key"][:10]
    assert client.get("/v1/me", headers=auth(new["key"])).status_code == 200
    listed = client.get("/v1/keys", headers=auth(api_key)).get_json()["data"]
    assert "key" not in listed[0] and {k["id"] for k in listed} >= {new["id"]}
    assert client.delete(f"/v1/keys/{new['id']}", headers=auth(api_key)).status_code == 204
    assert client.get("/v1/me", headers=auth(new["key"])).status_code == 401
    assert client.delete(f"/v1/keys/{new['id']}", headers=auth(api_key)).status_code == 404


def test_only_the_hash_is_stored(app, client, api_key):
    from bridge import store

    with app.app_context():
        rows = store.session().query(ApiKey).all()
        assert all(api_key not in (row.key_hash, row.prefix) for row in rows)
        assert all(re.fullmatch(r"[0-9a-f]{64}", row.key_hash) for row in rows)


def test_cli_prints_the_key_alone_on_the_last_line(app, make_app, database_url, redis_url, sandbox, tmp_path, monkeypatch):
    from bridge import cli

    monkeypatch.setattr(cli, "_app", lambda **config: app)
    monkeypatch.setattr(cli, "upgrade_database", lambda app: None)
    result = CliRunner().invoke(cli.main, ["keys", "create", "--account", "globex"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"ib_[A-Za-z0-9_-]{40,}", key)
    me = app.test_client().get("/v1/me", headers=auth(key)).get_json()
    assert me["account_name"] == "globex"


def test_other_accounts_objects_are_404_everywhere(app, client, api_key, runtime):
    connection_id = connect_quickbooks(client, api_key)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    wait_for(client, api_key, op["id"])
    own_key = client.get("/v1/me", headers=auth(api_key)).get_json()["key_id"]
    intruder = make_key(app, "intruder")
    headers = auth(intruder)
    base = f"/v1/connections/{connection_id}"
    for method, path in [
        ("get", base), ("delete", base), ("post", base + "/pause"), ("post", base + "/resume"),
        ("get", base + "/mapping"), ("put", base + "/mapping"), ("post", base + "/invoices"),
        ("get", base + "/invoices"), ("get", base + "/invoices/inv-1001"), ("post", base + "/invoices/inv-1001/void"),
        ("post", base + "/payments"), ("post", base + "/credit-notes"), ("post", base + "/customers"),
        ("post", base + "/tenant"), ("get", f"/v1/syncs/{op['id']}"), ("post", f"/v1/syncs/{op['id']}/retry"),
        ("delete", f"/v1/keys/{own_key}"),
    ]:
        kwargs = {"json": sample_invoice()} if method in ("post", "put") else {}
        response = getattr(client, method)(path, headers=headers, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code, response.get_data(as_text=True))
    assert client.get("/v1/syncs", headers=headers).get_json()["data"] == []
    assert client.get("/v1/connections", headers=headers).get_json()["data"] == []
    # The owner still sees everything.
    assert client.get(base, headers=auth(api_key)).status_code == 200

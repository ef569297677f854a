"""Xero's identity service as a client meets it: consent, PKCE, rotating refresh with grace, revocation,
/connections, and the 401s an expired or unknown token gets."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bridge.sandbox.xero import AU_TENANT_ID, CLIENT_ID, CLIENT_SECRET, UK_TENANT_ID

from .xero_client import REDIRECT_URI, SCOPE, TOKEN_PATH, Xero, basic, jwt_claims, pkce_pair

CONNECTIONS = "/xero/connections"


def _redirect_params(response) -> dict:
    assert response.status_code == 302, response.data
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def _connections(client, token: str, **params):
    return client.get(CONNECTIONS, query_string=params, headers={"Authorization": f"Bearer {token}"})


def test_authorize_redirects_with_code_scope_and_state(client):
    params = Xero(client).authorize(state="xyz")
    assert params["state"] == "xyz" and params["code"] and params["scope"] == SCOPE


def test_code_exchange_gives_xero_token_shape_and_a_decodable_access_token(client):
    xero = Xero(client)
    response = xero.token(grant_type="authorization_code", code=xero.authorize()["code"], redirect_uri=REDIRECT_URI)
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert body["refresh_token"] and body["id_token"] and body["scope"] == SCOPE
    claims = jwt_claims(body["access_token"])
    assert claims["exp"] - claims["nbf"] == 1800
    assert claims["authentication_event_id"] and claims["xero_userid"] and claims["client_id"] == CLIENT_ID
    assert set(claims["scope"]) == set(SCOPE.split())


def test_code_is_single_use_needs_its_redirect_uri_and_expires_after_five_minutes(client):
    xero = Xero(client)
    code = xero.authorize()["code"]
    assert xero.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).status_code == 200
    again = xero.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400 and again.get_json() == {"error": "invalid_grant"}
    wrong = xero.token(grant_type="authorization_code", code=xero.authorize()["code"],
                       redirect_uri="https://elsewhere.test/cb")
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    late_code = xero.authorize()["code"]
    client.post("/_sandbox/xero/config", json={"clock_advance": 301})
    late = xero.token(grant_type="authorization_code", code=late_code, redirect_uri=REDIRECT_URI)
    assert late.get_json()["error"] == "invalid_grant"


def test_client_auth_in_the_form_works_and_a_wrong_secret_is_invalid_client(client):
    xero = Xero(client)
    ok = xero.token(auth="", grant_type="authorization_code", code=xero.authorize()["code"],
                    redirect_uri=REDIRECT_URI, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert ok.status_code == 200
    bad = xero.token(auth=basic(secret="wrong"), grant_type="refresh_token",
                     refresh_token=ok.get_json()["refresh_token"])
    assert bad.status_code == 400 and bad.get_json() == {"error": "invalid_client"}
    unknown = xero.token(grant_type="password")
    assert unknown.get_json() == {"error": "unsupported_grant_type"}


def test_pkce_code_needs_the_matching_verifier_and_no_secret(client):
    xero = Xero(client)
    verifier, challenge = pkce_pair()
    code = xero.authorize(challenge=challenge)["code"]
    wrong = xero.token(auth="", grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                       client_id=CLIENT_ID, code_verifier="x" * 64)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    code = xero.authorize(challenge=challenge)["code"]
    ok = xero.token(auth="", grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                    client_id=CLIENT_ID, code_verifier=verifier)
    assert ok.status_code == 200
    refreshed = xero.token(auth="", grant_type="refresh_token", client_id=CLIENT_ID,
                           refresh_token=ok.get_json()["refresh_token"])
    assert refreshed.status_code == 200  # a PKCE (public) client refreshes without a secret
    plain = client.get("/xero/identity/connect/authorize", query_string={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": SCOPE,
        "state": "s", "code_challenge": "abc", "code_challenge_method": "plain"})
    assert _redirect_params(plain)["error"] == "invalid_request"


def test_confidential_code_without_client_secret_is_refused(client):
    xero = Xero(client)
    response = xero.token(auth="", grant_type="authorization_code", code=xero.authorize()["code"],
                          redirect_uri=REDIRECT_URI, client_id=CLIENT_ID)
    assert response.status_code == 400 and response.get_json() == {"error": "invalid_client"}


def test_unknown_client_and_bad_scope_come_back_as_redirect_errors(client):
    base = {"redirect_uri": REDIRECT_URI, "response_type": "code", "state": "s"}
    unknown = client.get("/xero/identity/connect/authorize",
                         query_string={**base, "client_id": "NOBODY", "scope": SCOPE})
    assert _redirect_params(unknown)["error"] == "unauthorized_client"
    bad = client.get("/xero/identity/connect/authorize",
                     query_string={**base, "client_id": CLIENT_ID, "scope": "offline_access accounting.everything"})
    params = _redirect_params(bad)
    assert params["error"] == "invalid_scope" and params["state"] == "s"
    no_redirect = client.get("/xero/identity/connect/authorize", query_string={"client_id": CLIENT_ID})
    assert no_redirect.status_code == 400


def test_legacy_scopes_are_accepted_and_no_offline_access_means_no_refresh_token(client):
    xero = Xero(client).connect(scope="accounting.transactions accounting.contacts.read")
    assert "refresh_token" not in xero.tokens and "id_token" not in xero.tokens
    assert xero.get("Invoices")[0] == 200


def test_connections_list_both_organisations_of_the_grant(xero):
    response = _connections(xero.client, xero.tokens["access_token"])
    connections = response.get_json()
    assert {c["tenantId"] for c in connections} == {UK_TENANT_ID, AU_TENANT_ID}
    assert {c["tenantName"] for c in connections} == {"Sandbox Company UK", "Sandbox Company AU"}
    event = jwt_claims(xero.tokens["access_token"])["authentication_event_id"]
    assert all(c["authEventId"] == event and c["tenantType"] == "ORGANISATION" and c["id"] for c in connections)
    assert len(_connections(xero.client, xero.tokens["access_token"], authEventId=event).get_json()) == 2
    assert _connections(xero.client, "nope").status_code == 401


def test_grant_tenants_narrows_a_new_consent(client):
    client.post("/_sandbox/xero/config", json={"grant_tenants": ["AU"]})
    xero = Xero(client, AU_TENANT_ID).connect()
    assert [c["tenantId"] for c in _connections(client, xero.tokens["access_token"]).get_json()] == [AU_TENANT_ID]
    assert xero.get("Organisation")[0] == 200
    uk = xero.call("GET", "Organisation", headers={"xero-tenant-id": UK_TENANT_ID})
    assert uk[0] == 403 and uk[1]["Detail"] == "AuthenticationUnsuccessful"


def test_deleting_a_connection_disconnects_that_organisation(xero):
    token = xero.tokens["access_token"]
    uk = next(c for c in _connections(xero.client, token).get_json() if c["tenantId"] == UK_TENANT_ID)
    deleted = xero.client.delete(f"{CONNECTIONS}/{uk['id']}", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 204
    assert xero.get("Organisation")[0] == 403
    again = xero.client.delete(f"{CONNECTIONS}/{uk['id']}", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 404


def test_refresh_rotates_and_the_old_token_replays_the_same_pair_within_grace(xero, client):
    old = xero.tokens["refresh_token"]
    first = xero.token(grant_type="refresh_token", refresh_token=old).get_json()
    assert first["refresh_token"] != old and first["access_token"] != xero.tokens["access_token"]
    client.post("/_sandbox/xero/config", json={"clock_advance": 600})
    retry = xero.token(grant_type="refresh_token", refresh_token=old).get_json()
    assert retry["refresh_token"] == first["refresh_token"] and retry["access_token"] == first["access_token"]
    assert retry["expires_in"] <= 1200
    client.post("/_sandbox/xero/config", json={"clock_advance": 1201})  # 30 min 1 s after the first use
    late = xero.token(grant_type="refresh_token", refresh_token=old)
    assert late.status_code == 400 and late.get_json() == {"error": "invalid_grant"}
    latest = xero.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert latest.status_code == 200 and latest.get_json()["refresh_token"] != first["refresh_token"]
    stats = client.get("/_sandbox/xero/stats").get_json()
    assert stats["token_calls"] == {"authorization_code": 1, "refresh_token": 4}
    assert stats["token_errors"] == {"invalid_grant": 1}


def test_grace_period_follows_clock_offset_setting(xero, client):
    old = xero.tokens["refresh_token"]
    xero.token(grant_type="refresh_token", refresh_token=old)
    client.post("/_sandbox/xero/config", json={"clock_offset": 1799})
    assert xero.token(grant_type="refresh_token", refresh_token=old).status_code == 200
    client.post("/_sandbox/xero/config", json={"clock_offset": 1800})
    assert xero.token(grant_type="refresh_token", refresh_token=old).status_code == 400


def test_unused_refresh_token_expires_after_60_days(xero, client):
    client.post("/_sandbox/xero/config", json={"clock_advance": 60 * 86400 + 1})
    response = xero.token(grant_type="refresh_token", refresh_token=xero.tokens["refresh_token"])
    assert response.get_json() == {"error": "invalid_grant"}


def test_expired_access_token_gets_xeros_401(xero, client):
    client.post("/_sandbox/xero/config", json={"clock_advance": 1801})
    response = xero.request("GET", "Invoices")
    body = response.get_json()
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["Title"] == "Unauthorized" and body["Status"] == 401
    assert body["Detail"].startswith("TokenExpired: token expired at ") and body["Instance"]
    unknown = xero.call("GET", "Invoices", headers={"Authorization": "Bearer not-a-token"})
    assert unknown[0] == 401 and unknown[1]["Detail"] == "AuthenticationUnsuccessful"


def test_revocation_ends_the_grant_and_disconnects_its_organisations(xero, client):
    response = client.post("/xero/identity/connect/revocation", data={"token": xero.tokens["refresh_token"]},
                           headers={"Authorization": basic()})
    assert response.status_code == 200
    assert xero.token(grant_type="refresh_token",
                      refresh_token=xero.tokens["refresh_token"]).get_json() == {"error": "invalid_grant"}
    assert xero.get("Organisation")[0] == 401
    fresh = Xero(client).connect(scope="accounting.settings")
    assert _connections(client, fresh.tokens["access_token"]).status_code == 200


def test_invalid_grant_fault_refuses_every_refresh(xero, client):
    client.post("/_sandbox/xero/config", json={"faults": {"invalid_grant": True}})
    response = xero.token(grant_type="refresh_token", refresh_token=xero.tokens["refresh_token"])
    assert response.status_code == 400 and response.get_json() == {"error": "invalid_grant"}
    client.post("/_sandbox/xero/config", json={"faults": {"invalid_grant": False}})
    assert xero.token(grant_type="refresh_token", refresh_token=xero.tokens["refresh_token"]).status_code == 200


def test_token_path_constant_matches_env_lines():
    from bridge.sandbox.xero import env_lines

    lines = env_lines("http://127.0.0.1:9")
    assert f"BRIDGE_XERO_TOKEN_URL=http://127.0.0.1:9{TOKEN_PATH}" in lines
    assert "BRIDGE_XERO_CONNECTIONS_URL=http://127.0.0.1:9/xero/connections" in lines
    assert any(line.startswith("BRIDGE_XERO_WEBHOOK_KEY=") for line in lines) and len(lines) == 8

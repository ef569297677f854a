"""Intuit OAuth as a QBO client sees it: consent redirect, code exchange, rotating refresh, revoke, 401s."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bridge.sandbox.quickbooks import UK_REALM_ID, US_REALM_ID

from .qbo_client import QBO, REDIRECT_URI, SCOPE, basic


def _redirect_params(response):
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_authorize_redirects_with_code_state_and_realm(client):
    params = QBO(client, US_REALM_ID).authorize(state="xyz")
    assert params["state"] == "xyz"
    assert params["realmId"] == US_REALM_ID
    assert params["code"]


def test_authorize_realm_extension_and_default_realm_config(client):
    assert QBO(client, UK_REALM_ID).authorize(realm="UK")["realmId"] == UK_REALM_ID
    client.post("/_sandbox/quickbooks/config", json={"default_realm": UK_REALM_ID})
    assert QBO(client, UK_REALM_ID).authorize()["realmId"] == UK_REALM_ID


def test_authorize_refuses_bad_client_and_scope_by_redirect(client):
    base = {"redirect_uri": REDIRECT_URI, "response_type": "code", "state": "s"}
    bad_client = client.get("/quickbooks/connect/oauth2",
                            query_string={**base, "client_id": "nobody", "scope": SCOPE})
    assert _redirect_params(bad_client) == {"error": "invalid_client", "state": "s"}
    bad_scope = client.get("/quickbooks/connect/oauth2", query_string={
        **base, "client_id": "sandbox-quickbooks-client", "scope": "com.intuit.quickbooks.payment"})
    assert _redirect_params(bad_scope) == {"error": "invalid_scope", "state": "s"}
    no_redirect = client.get("/quickbooks/connect/oauth2",
                             query_string={"client_id": "sandbox-quickbooks-client", "scope": SCOPE})
    assert no_redirect.status_code == 400


def test_code_exchange_gives_intuit_token_shape_and_code_is_single_use(client):
    qbo = QBO(client, US_REALM_ID)
    code = qbo.authorize()["code"]
    first = qbo.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    body = first.get_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert body["access_token"] and body["refresh_token"]
    again = qbo.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400 and again.get_json() == {"error": "invalid_grant"}


def test_code_needs_same_redirect_uri_and_expires_after_five_minutes(client):
    qbo = QBO(client, US_REALM_ID)
    wrong = qbo.token(grant_type="authorization_code", code=qbo.authorize()["code"],
                      redirect_uri="https://elsewhere.test/cb")
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    code = qbo.authorize()["code"]
    client.post("/_sandbox/quickbooks/config", json={"clock_advance": 301})
    late = qbo.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_bad_client_auth_is_401_invalid_client(client):
    response = client.post("/quickbooks/oauth2/v1/tokens/bearer",
                           data={"grant_type": "refresh_token", "refresh_token": "x"},
                           headers={"Authorization": basic(secret="wrong")})
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid_client"}


def test_refresh_rotates_and_old_token_lives_through_grace_only(qbo, client):
    first_refresh = qbo.tokens["refresh_token"]
    one = qbo.token(grant_type="refresh_token", refresh_token=first_refresh).get_json()
    two = qbo.token(grant_type="refresh_token", refresh_token=one["refresh_token"]).get_json()
    assert len({first_refresh, one["refresh_token"], two["refresh_token"]}) == 3
    assert one["access_token"] != two["access_token"]
    # The replaced token still works during the grace period...
    client.post("/_sandbox/quickbooks/config", json={"clock_offset": 86000})
    assert qbo.token(grant_type="refresh_token", refresh_token=first_refresh).status_code == 200
    # ...and not after it (86400 sandbox seconds after it was first replaced).
    client.post("/_sandbox/quickbooks/config", json={"clock_offset": 86401})
    dead = qbo.token(grant_type="refresh_token", refresh_token=first_refresh)
    assert dead.status_code == 400 and dead.get_json() == {"error": "invalid_grant"}
    latest = qbo.token(grant_type="refresh_token", refresh_token=two["refresh_token"])
    assert latest.status_code == 200
    stats = client.get("/_sandbox/quickbooks/stats").get_json()
    assert stats["token_calls"]["refresh_token"] == 5
    assert stats["token_calls"]["authorization_code"] == 1


def test_refresh_grace_is_configurable(qbo, client):
    client.post("/_sandbox/quickbooks/config", json={"refresh_grace_seconds": 10})
    old = qbo.tokens["refresh_token"]
    assert qbo.token(grant_type="refresh_token", refresh_token=old).status_code == 200
    client.post("/_sandbox/quickbooks/config", json={"clock_advance": 11})
    assert qbo.token(grant_type="refresh_token", refresh_token=old).status_code == 400


def test_unknown_refresh_token_is_invalid_grant(qbo):
    response = qbo.token(grant_type="refresh_token", refresh_token="AB11-not-issued")
    assert response.status_code == 400 and response.get_json() == {"error": "invalid_grant"}


def test_expired_access_token_gets_qbo_401_body(qbo, client):
    assert qbo.get("companyinfo/" + US_REALM_ID)[0] == 200
    client.post("/_sandbox/quickbooks/config", json={"clock_offset": 3601})
    status, body = qbo.get("companyinfo/" + US_REALM_ID)
    assert status == 401
    error = body["Fault"]["Error"][0]
    assert body["Fault"]["type"] == "AUTHENTICATION"
    assert error["Message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["code"] == "3200"
    assert error["Detail"].startswith("Token expired")
    assert body["time"]


def test_token_is_bound_to_its_realm(qbo, client):
    other = QBO(client, UK_REALM_ID)
    status, body = other.get("preferences", token=qbo.tokens["access_token"])
    assert status == 401 and body["Fault"]["Error"][0]["code"] == "3200"


def test_missing_bearer_is_401(client):
    response = client.get(f"/quickbooks/v3/company/{US_REALM_ID}/preferences")
    assert response.status_code == 401
    assert response.get_json()["Fault"]["type"] == "AUTHENTICATION"


def test_revoke_kills_access_and_refresh_tokens(qbo, client):
    response = client.post("/quickbooks/v2/oauth2/tokens/revoke", json={"token": qbo.tokens["refresh_token"]},
                           headers={"Authorization": basic()})
    assert response.status_code == 200
    assert qbo.get("preferences")[0] == 401
    refreshed = qbo.token(grant_type="refresh_token", refresh_token=qbo.tokens["refresh_token"])
    assert refreshed.get_json() == {"error": "invalid_grant"}


def test_invalid_grant_fault_refuses_every_refresh(qbo, client):
    client.post("/_sandbox/quickbooks/config", json={"faults": {"invalid_grant": True}})
    response = qbo.token(grant_type="refresh_token", refresh_token=qbo.tokens["refresh_token"])
    assert response.status_code == 400 and response.get_json() == {"error": "invalid_grant"}

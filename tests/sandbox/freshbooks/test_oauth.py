"""FreshBooks OAuth: code flow, single-use refresh tokens, expiry, revoke, scopes, users/me."""

from __future__ import annotations

from bridge.sandbox.freshbooks import ACCOUNT_ID, BUSINESS_ID, BUSINESS_UUID, CLIENT_ID, EXTRA_ACCOUNT_ID

from .fb_client import FB, REDIRECT_URI, parse

INVALID_GRANT = {"error": "invalid_grant",
                 "error_description": "The provided authorization grant is invalid, expired, revoked, does not "
                                      "match the redirection URI used in the authorization request, or was "
                                      "issued to another client."}


def test_code_flow_redirects_with_code_and_state_then_issues_a_bearer_pair(fb_http):
    fb = FB(fb_http)
    params = fb.authorize(state="xyz")
    assert params["state"] == "xyz" and params["code"]
    response = fb.token(grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT_URI)
    tokens = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in", "scope", "created_at"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 43200
    assert isinstance(tokens["created_at"], int)
    assert tokens["scope"].split()[0] == "user:profile:read" and "user:invoices:write" in tokens["scope"]


def test_code_is_single_use_and_lives_five_minutes(fb_http):
    fb = FB(fb_http)
    code = fb.authorize()["code"]
    assert fb.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).status_code == 200
    again = fb.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400 and again.get_json() == INVALID_GRANT
    late = fb.authorize()["code"]
    fb.config(clock_advance=301)
    assert fb.token(grant_type="authorization_code", code=late, redirect_uri=REDIRECT_URI).status_code == 400


def test_token_endpoint_also_takes_form_bodies(fb_http):
    code = FB(fb_http).authorize()["code"]
    response = fb_http.post("/freshbooks/auth/oauth/token", data={
        "grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": "sandbox-freshbooks-secret",
        "code": code, "redirect_uri": REDIRECT_URI})
    assert response.status_code == 200 and response.get_json()["token_type"] == "Bearer"


def test_refresh_token_is_single_use_and_kills_every_earlier_token(fb):
    first = dict(fb.tokens)
    assert fb.refresh().status_code == 200
    second = dict(fb.tokens)
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    reused = fb.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.get_json() == INVALID_GRANT
    status, body = fb.get("users/clients", token=first["access_token"])
    assert status == 401 and body == {"error": "invalid_token", "error_description": "The access token was revoked"}
    assert fb.get("users/clients")[0] == 200
    assert fb.refresh().status_code == 200  # the newest refresh token still works, once
    assert fb.get("users/clients", token=second["access_token"])[0] == 401


def test_expired_unknown_and_missing_tokens_answer_401(fb):
    assert fb.get("users/clients", token="not-a-token")[1] == {"error": "invalid_token",
                                                               "error_description": "The access token is invalid"}
    response = fb.client.get(fb.url("users/clients"))
    assert response.status_code == 401 and parse(response) == {
        "error": "unauthenticated", "error_description": "This action requires authentication to continue."}
    fb.config(clock_advance=12 * 3600 - 5)
    assert fb.get("users/clients")[0] == 200
    fb.config(clock_advance=10)
    status, body = fb.get("users/clients")
    assert status == 401 and body["error_description"] == "The access token expired"
    assert fb.refresh().status_code == 200 and fb.get("users/clients")[0] == 200  # refresh tokens never expire


def test_users_me_lists_the_business_and_its_account_id(fb):
    status, body = fb.get("/freshbooks/auth/api/v1/users/me", absolute=True)
    assert status == 200
    me = body["response"]
    assert me["email"] and me["first_name"]
    [membership] = me["business_memberships"]
    business = membership["business"]
    assert membership["role"] == "owner"
    assert (business["account_id"], business["id"], business["business_uuid"], business["base_currency"]) == (
        ACCOUNT_ID, BUSINESS_ID, BUSINESS_UUID, "CAD")


def test_extra_business_is_listed_and_covered_by_the_same_token(fb):
    fb.config(extra_businesses=True)
    me = fb.get("/freshbooks/auth/api/v1/users/me", absolute=True)[1]["response"]
    currencies = {m["business"]["account_id"]: m["business"]["base_currency"] for m in me["business_memberships"]}
    assert currencies == {ACCOUNT_ID: "CAD", EXTRA_ACCOUNT_ID: "USD"}
    us = FB(fb.client, EXTRA_ACCOUNT_ID)
    us.tokens = fb.tokens
    client = us.new_client(organization="US Buyer", email="buyer@us.test")
    assert client["currency_code"] == "USD" and client["accounting_systemid"] == EXTRA_ACCOUNT_ID
    assert us.get("taxes/taxes")[1]["response"]["result"]["taxes"] == []
    assert fb.get("users/clients")[1]["response"]["result"]["total"] == 0  # businesses are separate


def test_a_call_without_its_scope_answers_403_naming_the_scopes(fb_http):
    fb = FB(fb_http).connect(scope="user:clients:read")
    assert fb.tokens["scope"] == "user:profile:read user:clients:read"
    assert fb.get("users/clients")[0] == 200
    status, body = fb.post("users/clients", {"client": {"organization": "X"}})
    assert status == 403 and body["message"].startswith("insufficient_scope: ")
    assert "Provided: ['user:profile:read user:clients:read']" in body["message"]
    assert body["message"].endswith("Required: ['user:clients:write'].")
    status, body = fb.get("invoices/invoices")
    assert status == 403 and "Required: ['user:invoices:read']" in body["message"]
    assert fb.stats()["forbidden"] == {"user:clients:write": 1, "user:invoices:read": 1}


def test_revoke_ends_the_grant(fb):
    response = fb.client.post("/freshbooks/auth/oauth/revoke", json={
        "client_id": CLIENT_ID, "client_secret": "sandbox-freshbooks-secret", "token": fb.tokens["refresh_token"]})
    assert response.status_code == 200
    assert fb.get("users/clients")[0] == 401
    assert fb.refresh().get_json()["error"] == "invalid_grant"


def test_bad_client_secret_unknown_scope_and_grant_type(fb_http):
    fb = FB(fb_http)
    code = fb.authorize()["code"]
    wrong = fb.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, client_secret="nope")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    assert fb.token(grant_type="password").get_json()["error"] == "unsupported_grant_type"
    assert fb.authorize(scope="user:nonsense:read")["error"] == "invalid_scope"
    assert fb.authorize(scope="user:expenses:read")["error"] == "invalid_scope"  # not registered for the app

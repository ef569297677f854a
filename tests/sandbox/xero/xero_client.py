"""A small Xero client over Flask's test client, used by the Xero sandbox tests."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

from bridge.sandbox import jsonio
from bridge.sandbox.xero import CLIENT_ID, CLIENT_SECRET, UK_TENANT_ID

REDIRECT_URI = "https://bridge.test/v1/oauth/xero/callback"
SCOPE = "openid profile email offline_access accounting.invoices accounting.payments accounting.contacts " \
        "accounting.settings"
API = "/xero/api.xro/2.0"
TOKEN_PATH = "/xero/identity/connect/token"


def basic(client_id=CLIENT_ID, secret=CLIENT_SECRET) -> str:
    """An HTTP Basic header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce_pair(verifier: str = "v" * 64) -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, unverified."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def parse(response):
    """JSON (with Decimal numbers) or text."""
    if response.content_type.startswith("application/json"):
        return jsonio.loads(response.data) if response.data else None
    return response.data.decode()


class Xero:
    """A minimal Xero client (JSON in and out with Decimal money)."""

    def __init__(self, client, tenant_id: str = UK_TENANT_ID):
        self.client = client
        self.tenant_id = tenant_id
        self.tokens = None

    def authorize(self, scope: str = SCOPE, state: str = "s1", challenge: str | None = None, **extra) -> dict:
        """Run the consent redirect; returns the redirect's query parameters."""
        params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": scope,
                  "state": state, **extra}
        if challenge:
            params.update({"code_challenge": challenge, "code_challenge_method": "S256"})
        response = self.client.get("/xero/identity/connect/authorize", query_string=params)
        assert response.status_code == 302, response.data
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    def token(self, auth: str | None = None, **form):
        """POST to the token endpoint (Basic client auth unless auth="" is given)."""
        headers = {} if auth == "" else {"Authorization": auth or basic()}
        return self.client.post(TOKEN_PATH, data=form, headers=headers)

    def connect(self, scope: str = SCOPE):
        """Authorize and exchange the code; keeps the tokens."""
        code = self.authorize(scope=scope)["code"]
        response = self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
        assert response.status_code == 200, response.data
        self.tokens = response.get_json()
        return self

    def headers(self, token: str | None = None, tenant: str | None = "default", **extra) -> dict:
        headers = {"Authorization": f"Bearer {token or self.tokens['access_token']}", "Accept": "application/json"}
        if tenant is not None:
            headers["xero-tenant-id"] = self.tenant_id if tenant == "default" else tenant
        headers.update(extra)
        return headers

    def request(self, method: str, path: str, body=None, headers: dict | None = None, **params):
        """Any call; returns the Flask response."""
        data = None if body is None else (body if isinstance(body, (bytes, str)) else jsonio.dumps(body))
        all_headers = {**self.headers(), **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        return self.client.open(f"{API}/{path}", method=method, data=data, query_string=params,
                                headers=all_headers)

    def call(self, method: str, path: str, body=None, headers: dict | None = None, **params):
        """Any call; returns (status, parsed body)."""
        response = self.request(method, path, body, headers, **params)
        return response.status_code, parse(response)

    def get(self, path: str, **params):
        return self.call("GET", path, **params)

    def put(self, path: str, body, **params):
        return self.call("PUT", path, body, **params)

    def post(self, path: str, body, **params):
        return self.call("POST", path, body, **params)

    def contact(self, name: str = "Acme Ltd", **fields) -> dict:
        """Create a contact and return it."""
        status, body = self.put("Contacts", {"Contacts": [{"Name": name, **fields}]})
        assert status == 200, body
        return body["Contacts"][0]

    def invoice(self, lines=None, contact=None, **fields) -> dict:
        """Create an invoice and return it (for a contact given, else the one named contact_name)."""
        name = fields.pop("contact_name", "Acme Ltd")
        ref = {"ContactID": contact["ContactID"]} if contact is not None else {"Name": name}
        body = {"Type": "ACCREC", "Contact": ref, "Date": "2026-01-15",
                "DueDate": "2026-02-14",
                "LineItems": lines or [{"Description": "Consulting", "Quantity": 1, "UnitAmount": "100.00",
                                        "AccountCode": "200", "TaxType": "OUTPUT2"}], **fields}
        status, answer = self.put("Invoices", {"Invoices": [body]})
        assert status == 200, answer
        return answer["Invoices"][0]

"""A small QBO client over Flask's test client, used by the sandbox tests."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from bridge.sandbox import QUICKBOOKS_CLIENT_ID, QUICKBOOKS_CLIENT_SECRET, jsonio

REDIRECT_URI = "https://bridge.test/v1/oauth/quickbooks/callback"
SCOPE = "com.intuit.quickbooks.accounting"


def basic(client_id=QUICKBOOKS_CLIENT_ID, secret=QUICKBOOKS_CLIENT_SECRET) -> str:
    """An HTTP Basic header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class QBO:
    """A minimal QBO client over Flask's test client (JSON in and out with Decimal money)."""

    def __init__(self, client, realm_id: str):
        self.client = client
        self.realm_id = realm_id
        self.tokens = None

    def authorize(self, state="s1", realm=None):
        """Run the consent redirect; returns the redirect's query parameters."""
        params = {"client_id": QUICKBOOKS_CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
                  "scope": SCOPE, "state": state}
        if realm:
            params["realm"] = realm
        response = self.client.get("/quickbooks/connect/oauth2", query_string=params)
        assert response.status_code == 302, response.data
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    def token(self, **form):
        """POST to the token endpoint with Basic client auth."""
        return self.client.post("/quickbooks/oauth2/v1/tokens/bearer", data=form,
                                headers={"Authorization": basic()})

    def connect(self):
        """Authorize and exchange the code; keeps the tokens."""
        params = self.authorize(realm=self.realm_id)
        response = self.token(grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT_URI)
        assert response.status_code == 200, response.data
        self.tokens = response.get_json()
        return self

    def headers(self, token=None):
        return {"Authorization": f"Bearer {token or self.tokens['access_token']}", "Accept": "application/json"}

    def url(self, path: str) -> str:
        return f"/quickbooks/v3/company/{self.realm_id}/{path}"

    def post(self, path: str, body, token=None, **params):
        """POST JSON; returns (status, parsed body with Decimals)."""
        response = self.client.post(self.url(path), data=jsonio.dumps(body), query_string=params,
                                    headers={**self.headers(token), "Content-Type": "application/json"})
        return response.status_code, _parse(response)

    def get(self, path: str, token=None, **params):
        """GET; returns (status, parsed body)."""
        response = self.client.get(self.url(path), query_string=params, headers=self.headers(token))
        return response.status_code, _parse(response)

    def query(self, text: str):
        """Run a select; returns (status, QueryResponse or the fault body)."""
        status, body = self.get("query", query=text)
        return status, body.get("QueryResponse", body)

    def create(self, entity_path: str, body: dict) -> dict:
        """Create and return the object (asserting success)."""
        status, answer = self.post(entity_path, body)
        assert status == 200, answer
        return next(value for key, value in answer.items() if key != "time")

    def customer(self, name="Acme Ltd", **extra) -> dict:
        return self.create("customer", {"DisplayName": name, **extra})


def _parse(response):
    if response.content_type.startswith("application/json"):
        return jsonio.loads(response.data)
    return response.data.decode()


def sales_line(amount, qty=None, unit_price=None, item="1", tax_code=None, description=None):
    """A SalesItemLineDetail line."""
    detail = {"ItemRef": {"value": item}}
    if qty is not None:
        detail["Qty"] = qty
    if unit_price is not None:
        detail["UnitPrice"] = unit_price
    if tax_code is not None:
        detail["TaxCodeRef"] = {"value": tax_code}
    line = {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}
    if description:
        line["Description"] = description
    return line

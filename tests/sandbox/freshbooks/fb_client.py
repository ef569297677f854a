"""A small FreshBooks client over Flask's test client, used by the FreshBooks sandbox tests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bridge.sandbox import jsonio
from bridge.sandbox.freshbooks import ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET

REDIRECT_URI = "https://bridge.test/v1/oauth/freshbooks/callback"
BRIDGE_SCOPES = ("user:profile:read user:clients:read user:clients:write user:invoices:read "
                 "user:invoices:write user:payments:read user:payments:write user:credit_notes:read "
                 "user:credit_notes:write user:billable_items:read user:taxes:read")


def parse(response):
    """A response body as JSON with Decimals (None when empty)."""
    return jsonio.loads(response.data) if response.data.strip() else None


class FB:
    """A minimal FreshBooks client (JSON in and out with exact numbers)."""

    def __init__(self, client, account_id: str = ACCOUNT_ID):
        self.client = client
        self.account_id = account_id
        self.tokens = None

    def authorize(self, scope: str | None = BRIDGE_SCOPES, state: str = "s1") -> dict:
        """Run the consent redirect; the redirect's query parameters."""
        params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": state}
        if scope is not None:
            params["scope"] = scope
        response = self.client.get("/freshbooks/oauth/authorize", query_string=params)
        assert response.status_code == 302, response.data
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    def token(self, **fields):
        """POST JSON to the token endpoint (client credentials in the body)."""
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
        return self.client.post("/freshbooks/auth/oauth/token", data=jsonio.dumps(body),
                                headers={"Content-Type": "application/json"})

    def connect(self, scope: str | None = BRIDGE_SCOPES) -> "FB":
        """Authorize and exchange the code; keeps the tokens."""
        code = self.authorize(scope)["code"]
        response = self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
        assert response.status_code == 200, response.data
        self.tokens = response.get_json()
        return self

    def refresh(self):
        """Use the refresh token; keeps the new pair on success."""
        response = self.token(grant_type="refresh_token", refresh_token=self.tokens["refresh_token"],
                              redirect_uri=REDIRECT_URI)
        if response.status_code == 200:
            self.tokens = response.get_json()
        return response

    def headers(self, token=None) -> dict:
        return {"Authorization": f"Bearer {token or self.tokens['access_token']}", "Content-Type": "application/json"}

    def url(self, path: str) -> str:
        return f"/freshbooks/accounting/account/{self.account_id}/{path}"

    def request(self, method: str, path: str, body=None, token=None, query=None, absolute=False):
        """Any call; returns (status, parsed body)."""
        url = path if absolute else self.url(path)
        response = self.client.open(url, method=method, query_string=query,
                                    data=jsonio.dumps(body) if body is not None else None,
                                    headers=self.headers(token))
        return response.status_code, parse(response)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path, body, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create(self, path: str, single: str, fields: dict) -> dict:
        """Create and return the object (asserting success)."""
        status, body = self.post(path, {single: fields})
        assert status == 200, body
        return body["response"]["result"][single]

    def new_client(self, **fields) -> dict:
        return self.create("users/clients", "client", {"organization": "Acme Ltd", "email": "ap@acme.test",
                                                       **fields})

    def new_invoice(self, customerid: int, lines=None, **fields) -> dict:
        lines = lines if lines is not None else [line("Consulting", 1, "100.00")]
        return self.create("invoices/invoices", "invoice", {"customerid": customerid, "create_date": "2026-01-15",
                                                            "lines": lines, **fields})

    def send(self, invoice_id: int) -> dict:
        status, body = self.put(f"invoices/invoices/{invoice_id}", {"invoice": {"action_mark_as_sent": True}})
        assert status == 200, body
        return body["response"]["result"]["invoice"]

    def pay(self, invoice_id: int, amount: str, **fields):
        return self.post("payments/payments", {"payment": {"invoiceid": invoice_id, "amount": {"amount": amount},
                                                           "date": "2026-01-20", "type": "Check", **fields}})

    def ledger(self) -> dict:
        return parse(self.client.get("/_sandbox/freshbooks/ledger"))

    def business_ledger(self) -> dict:
        return self.ledger()["businesses"][self.account_id]

    def config(self, **settings):
        response = self.client.post("/_sandbox/freshbooks/config", data=jsonio.dumps(settings),
                                    headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.data
        return response.get_json()

    def stats(self) -> dict:
        return self.client.get("/_sandbox/freshbooks/stats").get_json()


def line(name: str, qty, cost: str, code: str = "CAD", **taxes) -> dict:
    """An invoice line."""
    return {"type": 0, "name": name, "qty": qty, "unit_cost": {"amount": cost, "code": code}, **taxes}

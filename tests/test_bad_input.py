"""Bad input gets a problem document naming the field; never a 500."""

from __future__ import annotations

import json

import pytest

from tests.conftest import auth, connect_quickbooks, sample_invoice

PROBLEM = "application/problem+json"


@pytest.fixture
def connection_id(client, api_key):
    """A connected QuickBooks company."""
    return connect_quickbooks(client, api_key)


def post_invoice(client, key, connection_id, body, **kwargs):
    """POST an invoice body (a dict is sent as JSON)."""
    if isinstance(body, dict):
        kwargs.setdefault("data", json.dumps(body))
        kwargs.setdefault("content_type", "application/json")
    else:
        kwargs.setdefault("data", body)
    return client.post(f"/v1/connections/{connection_id}/invoices", headers={**auth(key), **kwargs.pop("headers", {})},
                       **kwargs)


def fields_of(response) -> dict:
    """The problem's errors by field."""
    assert response.content_type == PROBLEM, response.get_data(as_text=True)
    return {error["field"]: error["message"] for error in response.get_json().get("errors", [])}


def test_not_json_is_400(client, api_key, connection_id):
    response = post_invoice(client, api_key, connection_id, b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["type"].endswith("/bad-request")
    assert "not valid JSON" in response.get_json()["detail"]


def test_wrong_content_type_is_400(client, api_key, connection_id):
    response = post_invoice(client, api_key, connection_id, b"external_id=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.content_type == PROBLEM


def test_json_array_is_422_on_body(client, api_key, connection_id):
    response = post_invoice(client, api_key, connection_id, b"[1, 2]", content_type="application/json")
    assert response.status_code == 422
    assert "body" in fields_of(response)


@pytest.mark.parametrize("change, field, words", [
    ({"lines": [{"quantity": "abc", "unit_price": "1"}]}, "lines[0].quantity", "decimal"),
    ({"lines": [{"quantity": "-1", "unit_price": "1"}]}, "lines[0].quantity", "greater than 0"),
    ({"lines": [{"quantity": "1", "unit_price": "NaN"}]}, "lines[0].unit_price", "NaN"),
    ({"lines": [{"quantity": "Infinity", "unit_price": "1"}]}, "lines[0].quantity", "NaN and Infinity"),
    ({"lines": [{"quantity": "1", "unit_price": "1.00001"}]}, "lines[0].unit_price", "4 decimal"),
    ({"currency": "XYZ"}, "currency", "ISO 4217"),
    ({"currency": 12}, "currency", ""),
    ({"customer": None}, "customer", ""),
    ({"lines": []}, "lines", "Between 1 and 1000"),
    ({"issue_date": "2026-13-45"}, "issue_date", "date"),
    ({"due_date": "2026-01-01"}, "due_date", "before issue_date"),
    ({"customer": {"external_id": "c", "email": "x@example.com"}}, "customer.name", "Required"),
    ({"customer": {"external_id": "c", "name": "C", "address": {"country": "ZZ"}}}, "customer.address.country", "3166"),
    ({"lines": [{"quantity": "1", "unit_price": "-5"}]}, "lines", "negative"),
    ({"status": "paid"}, "status", "Must be one of"),
    ({"surprise": 1}, "surprise", "Unknown field"),
    ({"payments": [{"external_id": "p", "amount": "0", "date": "2026-01-02"}]}, "payments[0].amount", "greater than 0"),
])
def test_invalid_fields_are_422_naming_the_field(client, api_key, connection_id, change, field, words):
    body = sample_invoice()
    body.update(change)
    response = post_invoice(client, api_key, connection_id, body)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = fields_of(response)
    assert field in errors, errors
    assert words in errors[field]


def test_missing_customer_is_422(client, api_key, connection_id):
    body = sample_invoice()
    del body["customer"]
    response = post_invoice(client, api_key, connection_id, body)
    assert response.status_code == 422
    assert fields_of(response)["customer"] == "Missing data for required field."


def test_json_number_nan_literal_is_422(client, api_key, connection_id):
    raw = json.dumps(sample_invoice()).replace('"unit_price": "100.00"', '"unit_price": NaN')
    response = post_invoice(client, api_key, connection_id, raw.encode(), content_type="application/json")
    assert response.status_code == 422
    assert "lines[0].unit_price" in fields_of(response)


def test_1000_lines_accepted_1001_refused(client, api_key, connection_id):
    line = {"description": "x", "quantity": "1", "unit_price": "1.00"}
    assert post_invoice(client, api_key, connection_id, sample_invoice(lines=[line] * 1000)).status_code == 202
    response = post_invoice(client, api_key, connection_id, sample_invoice("inv-big", lines=[line] * 1001))
    assert response.status_code == 422
    assert "lines" in fields_of(response)


def test_body_over_1mb_is_413(client, api_key, connection_id):
    body = sample_invoice(memo="x" * (1024 * 1024))
    response = post_invoice(client, api_key, connection_id, body)
    assert response.status_code == 413
    assert response.content_type == PROBLEM


def test_missing_and_wrong_keys_are_401(client, connection_id):
    assert client.get("/v1/me").status_code == 401
    response = client.get("/v1/me", headers={"Authorization": "Bearer ib_wrong"})
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_unknown_route_and_method_are_problems(client, api_key):
    assert client.get("/v1/nothing", headers=auth(api_key)).content_type == PROBLEM
    response = client.delete("/v1/me", headers=auth(api_key))
    assert response.status_code == 405
    assert response.content_type == PROBLEM


def test_bad_query_parameters_are_422(client, api_key):
    response = client.get("/v1/syncs?limit=0", headers=auth(api_key))
    assert response.status_code == 422
    assert "limit" in fields_of(response)
    response = client.get("/v1/syncs?status=lost", headers=auth(api_key))
    assert response.status_code == 422
    assert "status" in fields_of(response)


def test_nul_characters_are_refused_not_stored(client, api_key, connection_id):
    response = post_invoice(client, api_key, connection_id, sample_invoice(memo="a\x00b"))
    assert response.status_code == 422
    assert "memo" in fields_of(response)
    response = client.get(f"/v1/connections/{connection_id}/invoices/a%00b", headers=auth(api_key))
    assert response.status_code == 400

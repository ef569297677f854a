"""openapi.yaml is generated from the code, valid, and documents money as decimal strings."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from bridge.cli import openapi_yaml

ROOT = Path(__file__).resolve().parents[1]
MONEY_FIELDS = {"amount", "unit_price", "quantity", "subtotal", "tax", "total", "balance", "exchange_rate",
                "discount_percent"}


def test_committed_openapi_matches_the_code(app):
    committed = (ROOT / "openapi.yaml").read_text()
    assert openapi_yaml(app) == committed, "openapi.yaml is stale: run `bridge openapi`"


def test_openapi_is_a_valid_document():
    validate(yaml.safe_load((ROOT / "openapi.yaml").read_text()))


def test_every_operation_has_a_unique_operation_id():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    ids = [op["operationId"] for path in spec["paths"].values() for method, op in path.items()
           if method in {"get", "post", "put", "delete", "patch"}]
    assert len(ids) == len(set(ids)) and all(ids)


def test_money_is_a_decimal_string_never_a_number():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    seen = 0
    for name, schema in spec["components"]["schemas"].items():
        for prop, definition in (schema.get("properties") or {}).items():
            if prop in MONEY_FIELDS:
                seen += 1
                assert definition["type"] == "string", (name, prop, definition)
                assert definition["pattern"].startswith("^-?\\d"), (name, prop)
    assert seen >= 10


def test_errors_are_documented_as_problem_documents():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default) == ["application/problem+json"]
    invoice_post = spec["paths"]["/v1/connections/{connection_id}/invoices"]["post"]
    assert {"401", "404", "409", "413", "422"} <= set(invoice_post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in invoice_post["parameters"])


def test_swagger_ui_is_served_offline(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").get_json()["info"]["title"] == "Invoice Bridge"

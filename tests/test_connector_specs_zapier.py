"""The Zapier app asks the bridge only for what openapi.yaml has (issue 5, Build item 8); no node needed.

Every request in connector_specs/zapier/app.json (shorthand requests, and the `z.request` calls of its
function sources) is read: its method and path must be an operation of openapi.yaml, its query
parameters parameters of that operation, and its body keys (nested objects, line items given as Zapier
`children`) properties of the operation's request body, with the body's required properties all sent
from required input fields, and fixed values (event names, status choices) inside the documented enums.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "connector_specs" / "zapier" / "app.json"
SPEC = ROOT / "openapi.yaml"
BASE = "{{bundle.authData.base_url}}"
BASE_JS = "${bundle.authData.base_url}"
CURLY = re.compile(r"\{\{\s*bundle\.[^{}]+\}\}")
ONE_INPUT = re.compile(r"^\{\{\s*bundle\.inputData\.(\w+)\s*\}\}$")
JS_VALUE = re.compile(r"\$\{\s*bundle\.[\w.]+\s*\}")
JS_CONST = re.compile(r"const\s+(\w+)\s*=\s*`([^`]*)`")
JS_REQUEST = re.compile(r"z\.request\(\{\s*(?:method:\s*'(\w+)',\s*)?url:\s*`([^`]*)`"
                        r"\s*(?:,\s*params:\s*\{([^}]*)\})?\s*,?\s*\}\)")


def load_app() -> dict:
    """The Zapier app definition."""
    return json.loads(APP.read_text())


def load_spec() -> dict:
    """The committed OpenAPI document."""
    return yaml.safe_load(SPEC.read_text())


# --- reading the requests out of the app -----------------------------------------------------------

def requests_in(app: dict) -> list[dict]:
    """Every request the app makes: {where, method, path, params, body, fields}."""
    found: list[dict] = []

    def walk(node, where: str, fields: list):
        if isinstance(node, dict):
            fields = node.get("inputFields", fields) if isinstance(node.get("inputFields"), list) else fields
            if isinstance(node.get("url"), str) and node["url"].startswith(BASE):
                found.append({"where": where, "method": node.get("method", "GET").upper(),
                              "path": CURLY.sub("{}", node["url"].removeprefix(BASE)),
                              "params": sorted(node.get("params") or {}), "body": node.get("body"),
                              "fields": fields})
            if isinstance(node.get("source"), str):
                found.extend(dict(request, where=where, fields=fields) for request in source_requests(node["source"]))
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else key, fields)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]", fields)

    walk(app, "", [])
    return found


def source_requests(source: str) -> list[dict]:
    """The z.request calls of a function source (template literals, `const x = \\`...\\`` expanded)."""
    constants = dict(JS_CONST.findall(source))
    requests = []
    for method, url, params in JS_REQUEST.findall(source):
        for _ in range(3):
            url = re.sub(r"\$\{(\w+)\}", lambda m: constants.get(m.group(1), m.group(0)), url)
        assert url.startswith(BASE_JS), f"a request that does not go to the bridge: {url}"
        names = sorted(re.findall(r"(\w+)\s*:", params or ""))
        requests.append({"method": (method or "GET").upper(), "path": JS_VALUE.sub("{}", url.removeprefix(BASE_JS)),
                         "params": names, "body": None})
    assert len(requests) == source.count("z.request("), f"a z.request call this check cannot read: {source}"
    return requests


# --- checking them against openapi.yaml ----------------------------------------------------------

def resolve(spec: dict, schema: dict | None) -> dict:
    """Follow $ref and merge the alternatives of anyOf/oneOf/allOf into one object schema."""
    schema = schema or {}
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    parts = [resolve(spec, part) for key in ("anyOf", "oneOf", "allOf") for part in schema.get(key, [])]
    if not parts:
        return schema
    merged = {key: value for key, value in schema.items() if key not in ("anyOf", "oneOf", "allOf")}
    for part in parts:
        merged.setdefault("properties", {}).update(part.get("properties") or {})
        merged["required"] = sorted(set(merged.get("required", [])) | set(part.get("required", [])))
        for key in ("items", "enum", "type"):
            if key in part:
                merged.setdefault(key, part[key])
    return merged


def find_operation(spec: dict, method: str, path: str):
    """The openapi path template and operation a request path matches (the most literal match wins)."""
    segments = path.split("?")[0].strip("/").split("/")
    best = None
    for template, item in spec["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(segments):
            continue
        literal = 0
        for part, segment in zip(parts, segments):
            if part.startswith("{"):
                continue
            if part != segment:
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, template, item)
    if best is None or method.lower() not in best[2]:
        return None, None, None
    return best[1], best[2], best[2][method.lower()]


def parameters(spec: dict, item: dict, operation: dict) -> dict:
    """The operation's parameters (with the path's), by (in, name)."""
    found = {}
    for parameter in (item.get("parameters") or []) + (operation.get("parameters") or []):
        parameter = resolve(spec, parameter)
        found[(parameter["in"], parameter["name"])] = parameter
    return found


def check_request(spec: dict, request: dict) -> list[str]:
    """What the request uses that openapi.yaml does not have."""
    where, method, path = request["where"], request["method"], request["path"]
    template, item, operation = find_operation(spec, method, path)
    if operation is None:
        return [f"{where}: {method} {path} is not in openapi.yaml"]
    problems = []
    params = parameters(spec, item, operation)
    for part, segment in zip(template.strip("/").split("/"), path.strip("/").split("/")):
        if part.startswith("{") and segment != "{}":  # a fixed value in a templated segment: in its enum
            enum = (params.get(("path", part[1:-1])) or {}).get("schema", {}).get("enum")
            if enum and segment not in enum:
                problems.append(f"{where}: {segment!r} is not a documented {part} of {template}")
    for name in request["params"]:
        if ("query", name) not in params:
            problems.append(f"{where}: query parameter {name!r} is not a parameter of {method} {template}")
    if request["body"] is not None:
        content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
        if content is None:
            return problems + [f"{where}: {method} {template} takes no JSON body"]
        problems += check_body(spec, request["body"], resolve(spec, content["schema"]), f"{where} body",
                               {field["key"]: field for field in request["fields"]})
    return problems


def check_body(spec: dict, body: dict, schema: dict, where: str, fields: dict, always: bool = True) -> list[str]:
    """Body keys against the schema's properties, recursively (line items through their input fields).

    `always`: the object is always sent (the body, or a required property of one always sent), so each of
    its required properties must come from a required input field.
    """
    problems = []
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    for key, value in body.items():
        if key not in properties:
            problems.append(f"{where}: {key!r} is not a property ({', '.join(sorted(properties))})")
            continue
        prop = resolve(spec, properties[key])
        problems += check_value(spec, value, prop, f"{where}.{key}", fields, always and key in required)
    for key in required:
        if key not in body:
            problems.append(f"{where}: the required property {key!r} is never sent")
        elif always and isinstance(body[key], str) and (match := ONE_INPUT.match(body[key])):
            field = fields.get(match.group(1))
            if field is not None and not field.get("required"):
                problems.append(f"{where}.{key} is required but the input field {field['key']!r} is optional")
    return problems


def check_value(spec: dict, value, prop: dict, where: str, fields: dict, always: bool) -> list[str]:
    """One body value against its property schema."""
    if isinstance(value, dict):
        return check_body(spec, value, prop, where, fields, always)
    if isinstance(value, list):
        items = resolve(spec, prop.get("items"))
        return [problem for index, element in enumerate(value)
                for problem in check_value(spec, element, items, f"{where}[{index}]", fields, always)]
    if not isinstance(value, str):
        return []
    match = ONE_INPUT.match(value)
    if match is None:
        if not CURLY.search(value) and prop.get("enum") and value not in prop["enum"]:
            return [f"{where}: {value!r} is not one of {prop['enum']}"]
        return []
    field = fields.get(match.group(1))
    if field is None:
        return [f"{where}: no input field {match.group(1)!r}"]
    if field.get("children"):  # line items: each child is a property of the array's items
        items = resolve(spec, prop.get("items"))
        children = {child["key"]: f"{{{{bundle.inputData.{child['key']}}}}}" for child in field["children"]}
        child_fields = {child["key"]: child for child in field["children"]}
        return check_body(spec, children, items, f"{where}[]", child_fields, always)
    choices = field.get("choices")
    if isinstance(choices, list) and prop.get("enum"):
        values = [choice["value"] if isinstance(choice, dict) else choice for choice in choices]
        return [f"{where}: choice {v!r} is not one of {prop['enum']}" for v in values if v not in prop["enum"]]
    return []


def problems(app: dict, spec: dict) -> list[str]:
    """Everything in the app that openapi.yaml does not back."""
    return [problem for request in requests_in(app) for problem in check_request(spec, request)]


# --- tests ------------------------------------------------------------------------------------------

def test_every_request_of_the_zapier_app_is_an_operation_of_openapi_yaml():
    assert problems(load_app(), load_spec()) == []


def test_the_check_reads_a_request_from_every_operation_and_the_auth_test():
    app = load_app()
    where = {request["where"] for request in requests_in(app)}
    for kind in ("triggers", "creates", "searches"):
        for key in app[kind]:
            assert any(w.startswith(f"{kind}.{key}.operation") for w in where), f"{kind}.{key}: no request read"
    assert "authentication.test" in where
    hook = "triggers.new_paid_invoice.operation"
    assert {f"{hook}.performSubscribe", f"{hook}.performUnsubscribe", f"{hook}.performList"} <= where
    bodies = [request for request in requests_in(app) if request["body"]]
    assert len(bodies) >= 6  # five creates and the hook subscription


def rename_property(schema: str, old: str, new: str):
    """A mutation: a property of a component schema renamed."""
    def mutate(spec):
        properties = spec["components"]["schemas"][schema]["properties"]
        properties[new] = properties.pop(old)
        required = spec["components"]["schemas"][schema].get("required")
        if required and old in required:
            required[required.index(old)] = new
    return mutate


def rename_query_parameter(path: str, method: str, old: str, new: str):
    """A mutation: a query parameter renamed."""
    def mutate(spec):
        for parameter in spec["paths"][path][method]["parameters"]:
            if parameter.get("name") == old:
                parameter["name"] = new
    return mutate


def rename_path(old: str, new: str):
    """A mutation: a route moved."""
    def mutate(spec):
        spec["paths"][new] = spec["paths"].pop(old)
    return mutate


def drop_event(event: str):
    """A mutation: an event no longer documented."""
    def mutate(spec):
        for schema in spec["components"]["schemas"].values():
            enum = (schema.get("properties") or {}).get("event", {}).get("enum")
            if enum and event in enum:
                enum.remove(event)
        for item in spec["paths"].values():
            for parameter in item.get("parameters") or []:
                if event in (parameter.get("schema") or {}).get("enum", []):
                    parameter["schema"]["enum"].remove(event)
    return mutate


def make_required(schema: str, name: str):
    """A mutation: the API starts requiring a property the app does not send."""
    def mutate(spec):
        target = spec["components"]["schemas"][schema]
        target["properties"][name] = {"type": "string"}
        target.setdefault("required", []).append(name)
    return mutate


@pytest.mark.parametrize("mutate, expected", [
    (rename_property("Payment", "amount", "total"), "creates.record_payment.operation.perform body: 'amount'"),
    (rename_property("InvoicePayment", "date", "paid_on"),
     "sync_paid_invoice.operation.perform body.payments[0]: 'date'"),
    (rename_property("Line", "unit_price", "price"), "body.lines[]: 'unit_price' is not a property"),
    (rename_property("Customer", "email", "email_address"), "body.customer: 'email' is not a property"),
    (rename_property("Address", "postal_code", "zip"), "body.address: 'postal_code'"),
    (rename_property("HookCreate", "target_url", "url"), "performSubscribe body: 'target_url'"),
    (rename_query_parameter("/v1/connections/{connection_id}/invoices", "get", "number", "invoice_number"),
     "query parameter 'number'"),
    (rename_query_parameter("/v1/connections/{connection_id}/customers", "get", "email", "mail"),
     "query parameter 'email'"),
    (rename_path("/v1/hooks", "/v1/subscriptions"), "POST /v1/hooks is not in openapi.yaml"),
    (rename_path("/v1/connections/{connection_id}/mapping", "/v1/connections/{connection_id}/map"),
     "GET /v1/connections/{}/mapping is not in openapi.yaml"),
    (drop_event("invoice.paid"), "'invoice.paid'"),
    (make_required("Payment", "payer"), "the required property 'payer' is never sent"),
], ids=["payment-amount", "invoice-payment-date", "line-unit-price", "customer-email", "address-postal-code",
        "hook-target-url", "find-invoice-number", "find-customer-email", "hooks-route", "mapping-route",
        "event-name", "new-required-field"])
def test_a_renamed_route_or_field_fails_the_check(mutate, expected):
    spec = copy.deepcopy(load_spec())
    mutate(spec)
    found = problems(load_app(), spec)
    assert any(expected in problem for problem in found), found


def test_an_optional_input_feeding_a_required_property_fails_the_check():
    app = load_app()
    fields = app["creates"]["record_payment"]["operation"]["inputFields"]
    next(field for field in fields if field["key"] == "amount")["required"] = False
    assert any("amount is required but the input field 'amount' is optional" in p for p in problems(app, load_spec()))


def test_a_status_choice_the_api_does_not_take_fails_the_check():
    app = load_app()
    status = next(f for f in app["creates"]["upsert_invoice"]["operation"]["inputFields"] if f["key"] == "status")
    status["choices"].append({"value": "paid", "label": "Paid", "sample": "paid"})
    assert any("choice 'paid' is not one of" in p for p in problems(app, load_spec()))

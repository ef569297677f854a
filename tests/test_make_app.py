"""The Make app (connector_specs/make) follows Make's own schemas, holds together, and stays in step with
openapi.yaml: every route, parameter, body field and response field it uses is documented there."""

from __future__ import annotations

import copy

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from tests.make_app import (
    APP_DIR,
    ROOT,
    SCHEMA_DIR,
    MakeApp,
    Spec,
    app_files_on_disk,
    file_listing_problems,
    instant_trigger_problems,
    missing_codes,
    openapi_mismatches,
    polling_trigger_problems,
    requests_of,
    schema_errors,
    undeclared_parameters,
    unknown_components,
    unknown_rpcs,
    webhook_data_problems,
)

APP = MakeApp.load()
OPENAPI = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def test_the_vendor_schemas_are_there():
    assert {"api.json", "parameters.json", "base.json", "epoch.json", "makecomapp.schema.json",
            "sources.json"} <= {path.name for path in SCHEMA_DIR.glob("*.json")}, SCHEMA_DIR


@pytest.mark.parametrize("path", sorted(APP.files))
def test_every_file_conforms_to_makes_schema_for_it(path):
    assert schema_errors(path, APP.files[path]) == []


BREAKAGES = {
    "an unknown directive in a request": (
        "modules/findInvoices/findInvoices.communication.iml.json", lambda c: c.update(sort="newest")),
    "a trigger order Make does not know": (
        "modules/watchPaidInvoicesPolling/watchPaidInvoicesPolling.communication.iml.json",
        lambda c: c["response"]["trigger"].update(order="newest-first")),
    "a POST without a body": (
        "webhooks/paid-invoices/paid-invoices.attach.iml.json", lambda c: c.pop("body")),
    "a parameter without a type": (
        "modules/recordPayment/recordPayment.mappable-params.iml.json", lambda c: c[1].pop("type")),
    "an epoch without a label": (
        "modules/watchPaidInvoicesPolling/watchPaidInvoicesPolling.epoch.iml.json",
        lambda c: c["response"]["output"].pop("label")),
    "a base with a module-only directive": ("general/base.iml.json", lambda c: c["response"].update(trigger={})),
    "a manifest without origins": ("makecomapp.json", lambda c: c.pop("origins")),
    "a module type Make does not know": (
        "makecomapp.json", lambda c: c["components"]["module"]["findInvoices"].update(moduleType="finder")),
    "a group without modules": ("modules/groups.json", lambda c: c[0].pop("modules")),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_copy_fails_its_schema(breakage):
    path, breaks = BREAKAGES[breakage]
    broken = APP.copy()
    breaks(broken.files[path])
    assert schema_errors(path, broken.files[path]) != []


def test_a_file_no_make_schema_covers_is_an_error():
    assert schema_errors("modules/findInvoices/findInvoices.notes.json", {}) != []


def test_every_parameter_the_app_reads_is_declared():
    assert undeclared_parameters(APP) == []
    assert webhook_data_problems(APP) == []


def test_reading_an_undeclared_parameter_is_caught():
    broken = APP.copy()
    params = broken.files["modules/findInvoices/findInvoices.mappable-params.iml.json"]
    params[:] = [param for param in params if param["name"] != "number"]
    assert undeclared_parameters(broken) == ["module findInvoices communication: parameters.number is not declared"]

    broken = APP.copy()
    broken.files["general/base.iml.json"]["headers"]["Authorization"] = "Bearer {{connection.token}}"
    assert undeclared_parameters(broken) == ["base: connection.token is no connection field"]

    broken = APP.copy()
    broken.files["webhooks/paid-invoices/paid-invoices.attach.iml.json"]["response"]["data"] = {"hookId": "{{body.id}}"}
    assert webhook_data_problems(broken) == [("webhook paid-invoices detach: webhook.externalHookId is not stored "
                                             "by attach")]


def test_every_instant_trigger_names_an_existing_webhook():
    assert instant_trigger_problems(APP) == []
    broken = APP.copy()
    broken.manifest["components"]["module"]["watchPaidInvoices"]["webhook"] = "paid-invoice"
    assert instant_trigger_problems(broken) == ["module watchPaidInvoices: webhook 'paid-invoice' does not exist"]


def test_polling_triggers_say_how_to_tell_new_items_and_where_to_start():
    assert polling_trigger_problems(APP) == []
    communication = APP.code("module", "watchPaidInvoicesPolling", "communication")
    assert communication["response"]["trigger"] == {
        "id": "{{item.id}}", "date": "{{item.occurred_at}}", "type": "date", "order": "desc"}
    broken = APP.copy()
    broken.code("module", "watchPaidInvoicesPolling", "communication")["response"]["trigger"].pop("date")
    del broken.manifest["components"]["module"]["watchPaidInvoicesPolling"]["codeFiles"]["epoch"]
    assert polling_trigger_problems(broken) == [
        "module watchPaidInvoicesPolling: response.trigger.date is missing",
        "module watchPaidInvoicesPolling: an epoch with output label and date is missing"]


def test_every_component_has_the_codes_its_type_needs():
    assert missing_codes(APP) == []
    broken = APP.copy()
    del broken.manifest["components"]["module"]["recordPayment"]["codeFiles"]["interface"]
    broken.manifest["components"]["module"]["findInvoices"]["codeFiles"]["epoch"] = "modules/x.epoch.iml.json"
    assert missing_codes(broken) == ["module recordPayment: the interface code is missing",
                                     "module findInvoices: a search has no epoch code"]


def test_every_rpc_and_connection_referenced_exists_and_every_module_is_grouped():
    assert unknown_rpcs(APP) == []
    assert unknown_components(APP) == []
    broken = APP.copy()
    broken.files["modules/recordPayment/recordPayment.mappable-params.iml.json"][-1]["options"] = "rpc://listBanks"
    broken.manifest["components"]["rpc"]["listItems"]["connection"] = "quickbooks"
    broken.files["modules/groups.json"][2]["modules"].append("makeAnApiCall")
    assert unknown_rpcs(broken) == [("modules/recordPayment/recordPayment.mappable-params.iml.json: "
                                    "rpc://listBanks does not exist")]
    assert unknown_components(broken) == ["rpc listItems: connection 'quickbooks' does not exist",
                                          "groups: module 'makeAnApiCall' does not exist"]


def test_the_files_makecomapp_lists_are_the_files_there_are():
    assert file_listing_problems(APP, app_files_on_disk()) == []
    on_disk = app_files_on_disk() | {"modules/findInvoices/findInvoices.scope.iml.json"}
    on_disk -= {"rpcs/listItems/listItems.params.iml.json"}
    assert file_listing_problems(APP, on_disk) == [
        "rpcs/listItems/listItems.params.iml.json: listed in makecomapp.json but missing",
        "modules/findInvoices/findInvoices.scope.iml.json: not listed in makecomapp.json"]


def test_the_api_key_is_sent_as_a_bearer_token_and_kept_out_of_logs():
    base = APP.base
    connection = APP.code("connection", "bridge", "communication")
    assert base["baseUrl"] == "{{connection.baseUrl}}/v1"
    assert base["headers"] == {"Authorization": "Bearer {{connection.apiKey}}"}
    assert connection["headers"] == {"Authorization": "Bearer {{parameters.apiKey}}"}
    for block in (base, connection):
        assert "request.headers.authorization" in block["log"]["sanitize"]
    params = {param["name"]: param for param in APP.code("connection", "bridge", "params")}
    assert params["apiKey"]["type"] == "password" and params["apiKey"]["required"]


def test_errors_show_the_problem_documents_title_detail_and_fields():
    error = APP.base["response"]["error"]
    for block in [error] + [value for key, value in error.items() if key.isdigit()]:
        assert "{{ifempty(body.title" in block["message"] and "body.detail" in block["message"]
        assert "map(body.errors, 'field')" in block["message"] and "map(body.errors, 'message')" in block["message"]
    assert error["401"]["type"] == "InvalidAccessTokenError" and error["422"]["type"] == "DataError"
    assert error["429"]["type"] == "RateLimitError" and error["503"]["type"] == "ConnectionError"


def test_only_the_universal_module_takes_its_path_from_the_user_and_it_stays_on_the_bridge():
    for module_id, meta in APP.components("module").items():
        for request in requests_of(APP.code("module", module_id, "communication")):
            takes_path = "parameters.url" in str(request.get("url"))
            assert takes_path == (meta["moduleType"] == "universal"), module_id
    universal = APP.code("module", "makeApiCall", "communication")
    assert universal["url"] == "{{connection.baseUrl}}/{{parameters.url}}"


def test_the_app_uses_only_routes_and_fields_openapi_documents():
    problems, checked = openapi_mismatches(APP, OPENAPI)
    assert problems == []
    called = {(method, template.replace(template[template.find("{"):template.find("}") + 1], "{}"))
              if "{" in template else (method, template) for method, template in checked}
    assert {("GET", "/v1/me"), ("GET", "/v1/connections"), ("POST", "/v1/hooks"), ("GET", "/v1/triggers/{}"),
            ("POST", "/v1/connections/{}/invoices"), ("GET", "/v1/connections/{}/invoices"),
            ("POST", "/v1/connections/{}/payments"), ("GET", "/v1/connections/{}/accounts"),
            ("GET", "/v1/connections/{}/tax-rates"), ("GET", "/v1/connections/{}/items")} <= called
    assert any(method == "DELETE" and template.startswith("/v1/hooks/") for method, template in checked)


def _rename_property(schema_name, old, new):
    def rename(document):
        properties = document["components"]["schemas"][schema_name]["properties"]
        properties[new] = properties.pop(old)
        required = document["components"]["schemas"][schema_name].get("required")
        if required and old in required:
            required[required.index(old)] = new
    return rename


def _drop_query_parameter(path, method, name):
    def drop(document):
        operation = document["paths"][path][method]
        operation["parameters"] = [p for p in operation["parameters"] if p.get("name") != name]
    return drop


def _rename_path(old, new):
    def rename(document):
        document["paths"][new] = document["paths"].pop(old)
    return rename


def _event_schema(document):
    """The Event schema, found through the trigger feed's answer (whatever it is named)."""
    spec = Spec(document)
    feed = next(item["get"] for path, item in document["paths"].items() if path.startswith("/v1/triggers/"))
    items = spec.resolve(spec.resolve(spec.response_schema(feed))["properties"]["data"])["items"]
    return items["$ref"].rsplit("/", 1)[-1]


SPEC_CHANGES = {
    "a payment field renamed": (_rename_property("Payment", "invoice_external_id", "invoice_id"),
                                "invoice_external_id: not a property"),
    "a line field renamed": (_rename_property("Line", "unit_price", "price"), "lines.unit_price"),
    "an invoice search parameter dropped": (
        _drop_query_parameter("/v1/connections/{connection_id}/invoices", "get", "number"),
        "query parameter number"),
    "a reference list renamed": (_rename_path("/v1/connections/{connection_id}/tax-rates",
                                              "/v1/connections/{connection_id}/tax-codes"), "tax-rates"),
    "a returned invoice field renamed": (_rename_property("LedgerInvoice", "balance", "amount_due"),
                                         "interface"),
    "an operation field added": (lambda d: d["components"]["schemas"]["Operation"]["properties"].update(
        batch_id={"type": "string"}), "interface lacks batch_id"),
    "an account field renamed": (_rename_property("Account", "bank", "is_bank"), "item.bank"),
    "the problem document's detail renamed": (_rename_property("Problem", "detail", "message"), "body.detail"),
    "the event time renamed": (lambda d: _rename_property(_event_schema(d), "occurred_at", "created_at")(d),
                               "occurred_at"),
    "the hooks route renamed": (_rename_path("/v1/hooks", "/v1/subscriptions"), "/v1/hooks"),
}


@pytest.mark.parametrize("change", sorted(SPEC_CHANGES))
def test_a_changed_openapi_breaks_the_in_step_check(change):
    mutate, expected = SPEC_CHANGES[change]
    document = copy.deepcopy(OPENAPI)
    mutate(document)
    problems, _ = openapi_mismatches(APP, document)
    assert problems and any(expected in problem for problem in problems), problems


def _null_in_nullable_enums(node):
    """OpenAPI 3.0: `nullable: true` admits null, also beside an `enum` that does not list it."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)
    return node


def _validate(document: dict, schema: dict, instance) -> list[str]:
    """Why an instance does not fit an openapi.yaml schema (empty when it does)."""
    root = _null_in_nullable_enums(copy.deepcopy({**document, **schema}))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in OAS30Validator(root).iter_errors(instance)]


def test_samples_are_what_the_bridge_answers():
    spec = Spec(OPENAPI)
    schemas = OPENAPI["components"]["schemas"]
    operation = spec.document["paths"]["/v1/connections/{connection_id}/invoices"]
    assert _validate(OPENAPI, spec.response_schema(operation["post"]),
                     APP.code("module", "createOrUpdateInvoice", "samples")) == []
    payments = spec.document["paths"]["/v1/connections/{connection_id}/payments"]["post"]
    assert _validate(OPENAPI, spec.response_schema(payments), APP.code("module", "recordPayment", "samples")) == []
    assert _validate(OPENAPI, {"$ref": "#/components/schemas/LedgerInvoice"},
                     APP.code("module", "findInvoices", "samples")) == []
    me = spec.response_schema(spec.document["paths"]["/v1/me"]["get"])
    assert _validate(OPENAPI, me, APP.code("module", "makeApiCall", "samples")["body"]) == []
    assert "Operation" in schemas and "LedgerInvoice" in schemas


@pytest.mark.parametrize("module_id", ["watchPaidInvoices", "watchPaidInvoicesPolling"])
def test_paid_invoice_samples_are_an_event_carrying_the_invoice_as_the_ledger_holds_it(module_id):
    sample = APP.code("module", module_id, "samples")
    event = {"id": sample["event_id"], "event": sample["event"], "occurred_at": sample["occurred_at"],
             "connection_id": sample["connection_id"], "data": sample["invoice"]}
    assert _validate(OPENAPI, {"$ref": f"#/components/schemas/{_event_schema(OPENAPI)}"}, event) == []
    assert _validate(OPENAPI, {"$ref": "#/components/schemas/LedgerInvoice"}, sample["invoice"]) == []
    assert sample["event"] == "invoice.paid"


def test_both_paid_invoice_triggers_give_the_same_bundle():
    instant = APP.code("webhook", "paid-invoices", "communication")["output"]
    polling = APP.code("module", "watchPaidInvoicesPolling", "communication")["response"]["output"]
    assert {key: value.replace("body.", "item.") for key, value in instant.items()} == polling
    assert APP.code("module", "watchPaidInvoices", "interface") == \
        APP.code("module", "watchPaidInvoicesPolling", "interface")
    attach = APP.code("webhook", "paid-invoices", "attach")
    assert attach["body"]["event"] == "invoice.paid" and attach["body"]["target_url"] == "{{webhook.url}}"
    assert "invoice.paid" in APP.code("module", "watchPaidInvoicesPolling", "communication")["url"]


def test_the_app_directory_is_the_one_checked():
    assert (APP_DIR / "makecomapp.json").is_file() and (APP_DIR / "README.md").is_file()

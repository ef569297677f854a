"""Reading and checking the Make custom app in connector_specs/make (its Apps SDK local layout).

`MakeApp` holds makecomapp.json and every code file as parsed JSON, by path; tests build one from disk
and mutate copies of it. Each check returns a list of problems (empty when all is well), so a test can
prove a check fails on a broken copy. Make has no offline runner: the vendor's JSON Schemas
(integromat/vscode-apps-sdk, MIT; ../shared/vendor-specs/make/ or MAKE_APP_SCHEMAS) check each file's
shape, and these checks cover what schemas cannot: references between components, the codes each
module type needs, and that every route, parameter, body field and response field the app uses is in
openapi.yaml.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import referencing
from jsonschema import Draft7Validator
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "connector_specs" / "make"
SCHEMA_DIR = Path(os.environ.get("MAKE_APP_SCHEMAS") or ROOT.parent / "shared" / "vendor-specs" / "make")

SCHEMA_FOR = (
    ("makecomapp.json", "makecomapp.schema.json"),
    ("base.iml.json", "base.json"),
    ("groups.json", "groups.json"),
    ("common.json", "common.json"),
    ("*.common.json", "common.json"),
    ("*.communication.iml.json", "api.json"),
    ("*.attach.iml.json", "api.json"),
    ("*.detach.iml.json", "api.json"),
    ("*.params.iml.json", "parameters.json"),
    ("*.static-params.iml.json", "parameters.json"),
    ("*.mappable-params.iml.json", "parameters.json"),
    ("*.interface.iml.json", "parameters.json"),
    ("*.epoch.iml.json", "epoch.json"),
    ("*.samples.iml.json", "samples.json"),
)
"""File name pattern -> vendor schema, as the Make Apps SDK extension associates them (first match wins)."""

REQUIRED_CODES = {
    "connection": {"communication", "params"},
    "webhook": {"communication", "params", "attach", "detach"},
    "rpc": {"communication", "params"},
    "trigger": {"communication", "staticParams", "interface", "samples", "epoch"},
    "instant_trigger": {"staticParams", "interface", "samples"},
    "action": {"communication", "mappableParams", "interface", "samples"},
    "search": {"communication", "mappableParams", "interface", "samples"},
    "universal": {"communication", "mappableParams", "interface", "samples"},
}
"""The code files each component (or module type) cannot work without."""

ONLY_FOR = {"epoch": {"trigger"}}
"""Codes that make sense for some module types only."""

IML = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
REFERENCE = re.compile(r"(?<![\w.`])(parameters|connection|webhook|body|item)((?:\.[A-Za-z_]\w*)*)")
METHODS = {"get", "post", "put", "patch", "delete"}


# ------------------------------------------------------------------------------------------- the app


class MakeApp:
    """makecomapp.json and its code files, parsed, by path relative to the app directory."""

    def __init__(self, files: dict[str, object]):
        self.files = files

    @classmethod
    def load(cls, directory: Path = APP_DIR) -> MakeApp:
        """Every JSON file of the app directory (makecomapp.json included)."""
        return cls({path.relative_to(directory).as_posix(): json.loads(path.read_text())
                    for path in sorted(directory.rglob("*.json"))})

    def copy(self) -> MakeApp:
        """A deep copy to break on purpose."""
        return MakeApp(copy.deepcopy(self.files))

    @property
    def manifest(self) -> dict:
        """makecomapp.json."""
        return self.files["makecomapp.json"]

    def components(self, kind: str) -> dict[str, dict]:
        """Component id -> metadata, for one kind (module, rpc, webhook, connection, function)."""
        return self.manifest["components"].get(kind) or {}

    def code(self, kind: str, component_id: str, code: str):
        """One code file's content, or None when the component has no such code."""
        path = (self.components(kind)[component_id].get("codeFiles") or {}).get(code)
        return self.files.get(path) if path else None

    @property
    def base(self) -> dict:
        """general/base.iml.json (or wherever makecomapp.json says it is)."""
        return self.files[self.manifest["generalCodeFiles"]["base"]]

    def module_params(self, module_id: str) -> list:
        """A module's static and mappable parameters together."""
        return (self.code("module", module_id, "staticParams") or []) + \
            (self.code("module", module_id, "mappableParams") or [])

    def path_of(self, kind: str, component_id: str, code: str) -> str:
        """The relative path of one code file."""
        return self.components(kind)[component_id]["codeFiles"][code]


def requests_of(communication) -> list[dict]:
    """A communication as a list of requests (Make allows one request or an array)."""
    if not communication:
        return []
    return communication if isinstance(communication, list) else [communication]


def iml_expressions(value) -> list[str]:
    """Every `{{...}}` expression in a JSON value, keys included."""
    found = []
    if isinstance(value, str):
        found += IML.findall(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += iml_expressions(key) + iml_expressions(item)
    elif isinstance(value, list):
        for item in value:
            found += iml_expressions(item)
    return found


def references(value, variable: str) -> set[tuple[str, ...]]:
    """Dotted paths read from one IML variable (`parameters`, `body`, ...), e.g. {("data", "number")}."""
    paths = set()
    for expression in iml_expressions(value):
        for name, path in REFERENCE.findall(QUOTED.sub("''", expression)):
            if name == variable:
                paths.add(tuple(part for part in path.split(".") if part))
    return paths


def exact_reference(value) -> tuple[str, tuple[str, ...]] | None:
    """("parameters", ("lines",)) for a value that is exactly `{{parameters.lines}}`, else None."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}", value)
    if not match:
        return None
    return match.group(1), tuple(part for part in match.group(2).split(".") if part)


def declared_names(params) -> set[str]:
    """Top-level parameter names of a params/interface file."""
    return {param["name"] for param in params or [] if isinstance(param, dict) and "name" in param}


def find_param(params, name: str) -> dict | None:
    """The top-level parameter of that name."""
    return next((param for param in params or [] if isinstance(param, dict) and param.get("name") == name), None)


def walk_params(params):
    """Every parameter, nested ones (spec, nested, options.nested, rpc forms) included."""
    for param in params or []:
        if not isinstance(param, dict):
            continue
        yield param
        spec = param.get("spec")
        yield from walk_params(spec if isinstance(spec, list) else [spec] if isinstance(spec, dict) else [])
        for nested in (param.get("nested"), (param.get("options") if isinstance(param.get("options"), dict)
                                             else {}).get("nested")):
            if isinstance(nested, list):
                yield from walk_params(nested)
            elif isinstance(nested, dict) and isinstance(nested.get("store"), list):
                yield from walk_params(nested["store"])


def rpc_references(value) -> set[str]:
    """RPC names referenced as `rpc://name` anywhere in a value."""
    found = set()
    if isinstance(value, str) and value.startswith("rpc://"):
        found.add(value[len("rpc://"):].split("?", 1)[0])
    elif isinstance(value, dict):
        for item in value.values():
            found |= rpc_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= rpc_references(item)
    return found


# ------------------------------------------------------------------------------------------- schemas


def schema_name_for(path: str) -> str | None:
    """The vendor schema a file is validated against, by its name."""
    name = path.rsplit("/", 1)[-1]
    return next((schema for pattern, schema in SCHEMA_FOR if fnmatch.fnmatch(name, pattern)), None)


@lru_cache(maxsize=1)
def vendor_registry() -> referencing.Registry:
    """All vendor schemas keyed by file name (their relative $refs use it), plus the JSON Schema metaschemas."""
    return METASCHEMAS.with_resources(
        (path.name, DRAFT7.create_resource(json.loads(path.read_text()))) for path in SCHEMA_DIR.glob("*.json"))


def schema_errors(path: str, document) -> list[str]:
    """Why a file breaks its vendor schema (empty when it conforms)."""
    name = schema_name_for(path)
    if name is None:
        return [f"{path}: no Make schema covers this file name"]
    validator = Draft7Validator(vendor_registry().contents(name), registry=vendor_registry())
    return [f"{path}: {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(document)]


# ------------------------------------------------------------------------------------------- semantic checks


def contexts(app: MakeApp):
    """(where, request-bearing code, the parameters it may read) for every communication-like code."""
    for connection_id in app.components("connection"):
        params = app.code("connection", connection_id, "params")
        yield f"connection {connection_id}", app.code("connection", connection_id, "communication"), params
    for webhook_id in app.components("webhook"):
        params = app.code("webhook", webhook_id, "params")
        for code in ("communication", "attach", "detach"):
            yield f"webhook {webhook_id} {code}", app.code("webhook", webhook_id, code), params
    for rpc_id in app.components("rpc"):
        yield f"rpc {rpc_id}", app.code("rpc", rpc_id, "communication"), app.code("rpc", rpc_id, "params")
    for module_id in app.components("module"):
        params = app.module_params(module_id)
        for code in ("communication", "epoch"):
            yield f"module {module_id} {code}", app.code("module", module_id, code), params


def undeclared_parameters(app: MakeApp) -> list[str]:
    """`{{parameters.x}}` read where no parameter x is declared; `{{connection.x}}` of no connection field."""
    problems = []
    for where, code, params in contexts(app):
        declared = declared_names(params)
        for path in sorted(references(code, "parameters")):
            if path and path[0] not in declared:
                problems.append(f"{where}: parameters.{path[0]} is not declared")
    connection_fields = set().union(*(declared_names(app.code("connection", cid, "params"))
                                      for cid in app.components("connection"))) | {"accessToken"}
    for where, code in [("base", app.base)] + [(where, code) for where, code, _ in contexts(app)]:
        for path in sorted(references(code, "connection")):
            if path and path[0] not in connection_fields:
                problems.append(f"{where}: connection.{path[0]} is no connection field")
    return problems


def webhook_data_problems(app: MakeApp) -> list[str]:
    """`{{webhook.x}}` read in a detach that the attach never stored (webhook.url is Make's own)."""
    problems = []
    for webhook_id in app.components("webhook"):
        attach = app.code("webhook", webhook_id, "attach") or {}
        stored = {"url"} | set((attach.get("response") or {}).get("data") or {})
        for code in ("communication", "detach"):
            for path in sorted(references(app.code("webhook", webhook_id, code), "webhook")):
                if path and path[0] not in stored:
                    problems.append(f"webhook {webhook_id} {code}: webhook.{path[0]} is not stored by attach")
    return problems


def instant_trigger_problems(app: MakeApp) -> list[str]:
    """Every instant trigger names a webhook that exists; only instant triggers name one."""
    problems = []
    webhooks = app.components("webhook")
    for module_id, meta in app.components("module").items():
        webhook = meta.get("webhook")
        if meta.get("moduleType") == "instant_trigger":
            if not webhook:
                problems.append(f"module {module_id}: an instant trigger names no webhook")
            elif webhook not in webhooks:
                problems.append(f"module {module_id}: webhook {webhook!r} does not exist")
        elif webhook:
            problems.append(f"module {module_id}: only instant triggers have a webhook")
    return problems


def polling_trigger_problems(app: MakeApp) -> list[str]:
    """Polling triggers iterate a list and say how to tell new items: trigger id, date, type, order; an epoch."""
    problems = []
    for module_id, meta in app.components("module").items():
        if meta.get("moduleType") != "trigger":
            continue
        for request in requests_of(app.code("module", module_id, "communication")):
            response = request.get("response") or {}
            trigger = response.get("trigger") or {}
            for key in ("id", "date", "type", "order"):
                if not trigger.get(key):
                    problems.append(f"module {module_id}: response.trigger.{key} is missing")
            if not response.get("iterate"):
                problems.append(f"module {module_id}: response.iterate is missing")
        epoch = app.code("module", module_id, "epoch")
        output = ((epoch or {}).get("response") or {}).get("output") or {}
        if not epoch or not output.get("label") or not output.get("date"):
            problems.append(f"module {module_id}: an epoch with output label and date is missing")
    return problems


def missing_codes(app: MakeApp) -> list[str]:
    """Codes a component needs for its kind or module type, and codes it should not have."""
    problems = []
    for kind in ("connection", "webhook", "rpc", "module"):
        for component_id, meta in app.components(kind).items():
            need = REQUIRED_CODES[meta.get("moduleType") if kind == "module" else kind]
            have = {code for code, path in (meta.get("codeFiles") or {}).items() if path}
            for code in sorted(need - have):
                problems.append(f"{kind} {component_id}: the {code} code is missing")
            for code in sorted(have):
                if kind == "module" and code in ONLY_FOR and meta.get("moduleType") not in ONLY_FOR[code]:
                    problems.append(f"{kind} {component_id}: a {meta.get('moduleType')} has no {code} code")
    return problems


def unknown_rpcs(app: MakeApp) -> list[str]:
    """`rpc://name` references to RPCs that do not exist."""
    rpcs = set(app.components("rpc"))
    problems = []
    for path, content in sorted(app.files.items()):
        for name in sorted(rpc_references(content) - rpcs):
            problems.append(f"{path}: rpc://{name} does not exist")
    return problems


def unknown_components(app: MakeApp) -> list[str]:
    """References to connections that do not exist, and groups naming unknown or no modules."""
    problems = []
    connections = set(app.components("connection"))
    for kind in ("webhook", "module", "rpc"):
        for component_id, meta in app.components(kind).items():
            if meta.get("connection") and meta["connection"] not in connections:
                problems.append(f"{kind} {component_id}: connection {meta['connection']!r} does not exist")
            if kind != "module" and not meta.get("connection"):
                problems.append(f"{kind} {component_id}: no connection (it calls the bridge)")
    groups = app.files.get(app.manifest["generalCodeFiles"].get("groups") or "", [])
    grouped = [module for group in groups for module in group["modules"]]
    modules = set(app.components("module"))
    for module in sorted(set(grouped) - modules):
        problems.append(f"groups: module {module!r} does not exist")
    for module in sorted(modules - set(grouped)):
        problems.append(f"groups: module {module!r} is in no group")
    if len(grouped) != len(set(grouped)):
        problems.append("groups: a module is listed twice")
    return problems


def listed_files(app: MakeApp) -> set[str]:
    """Every path makecomapp.json names (general codes and component codes)."""
    paths = {path for path in app.manifest["generalCodeFiles"].values() if path}
    for kind in app.manifest["components"]:
        for meta in app.components(kind).values():
            paths |= {path for path in ((meta or {}).get("codeFiles") or {}).values() if path}
    return paths


def file_listing_problems(app: MakeApp, on_disk: set[str]) -> list[str]:
    """Files makecomapp.json names that are missing, and app files it does not name."""
    listed = listed_files(app)
    problems = [f"{path}: listed in makecomapp.json but missing" for path in sorted(listed - on_disk)]
    problems += [f"{path}: not listed in makecomapp.json" for path in sorted(on_disk - listed - {"makecomapp.json"})]
    return problems


def app_files_on_disk(directory: Path = APP_DIR) -> set[str]:
    """The app's files (secrets and dot files left out)."""
    return {path.relative_to(directory).as_posix() for path in directory.rglob("*")
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(directory).parts)}


# ------------------------------------------------------------------------------------------- openapi


class Spec:
    """openapi.yaml as a dict, with $ref and composition resolved on demand."""

    def __init__(self, document: dict):
        self.document = document

    def resolve(self, schema: dict | None) -> dict:
        """The schema behind $refs, with anyOf/oneOf/allOf branches' properties merged."""
        schema = schema or {}
        while "$ref" in schema:
            node = self.document
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        branches = [self.resolve(branch) for key in ("allOf", "anyOf", "oneOf") for branch in schema.get(key, [])]
        if not branches:
            return schema
        merged = {key: value for key, value in schema.items() if key not in ("allOf", "anyOf", "oneOf")}
        merged.setdefault("properties", {})
        merged["properties"] = dict(merged["properties"])
        for branch in branches:
            merged["properties"].update(branch.get("properties") or {})
            merged.setdefault("type", branch.get("type"))
            if branch.get("items") and "items" not in merged:
                merged["items"] = branch["items"]
            if "required" in branch and branch.get("properties"):
                merged["required"] = sorted(set(merged.get("required", [])) | set(branch["required"]))
            if branch.get("additionalProperties") not in (None, False):
                merged["additionalProperties"] = branch["additionalProperties"]
        return merged

    def free_form(self, schema: dict) -> bool:
        """An object whose keys the spec does not list (nothing below it can be checked)."""
        schema = self.resolve(schema)
        return not schema.get("properties") and schema.get("type") in (None, "object") and not schema.get("items")

    def child(self, schema: dict, name: str) -> dict | None:
        """A property's schema, or None when the object has no such property."""
        schema = self.resolve(schema)
        if self.free_form(schema):
            return {}
        return (schema.get("properties") or {}).get(name)

    def match(self, path: str) -> tuple[str, dict] | None:
        """(template, path item) for a concrete path whose IML segments stand for path parameters."""
        segments = path.strip("/").split("/")
        for template, item in self.document["paths"].items():
            parts = template.strip("/").split("/")
            if len(parts) != len(segments):
                continue
            if all(self._segment_matches(part, segment, item) for part, segment in zip(parts, segments)):
                return template, item
        return None

    def _segment_matches(self, part: str, segment: str, item: dict) -> bool:
        if part.startswith("{") and part.endswith("}"):
            if "{{" in segment:
                return True
            schema = self.resolve(next((p.get("schema") for p in self.parameters(item, None, "path")
                                        if p["name"] == part[1:-1]), {}))
            return not schema.get("enum") or segment in schema["enum"]
        return "{{" not in segment and part == segment

    def parameters(self, item: dict, operation: dict | None, location: str) -> list[dict]:
        """The path item's and the operation's parameters in one place (query, path, header)."""
        params = [self.resolve(p) for p in item.get("parameters") or []]
        params += [self.resolve(p) for p in (operation or {}).get("parameters") or []]
        return [p for p in params if p.get("in") == location]

    def request_schema(self, operation: dict) -> dict | None:
        """The JSON request body schema of an operation."""
        content = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
        return content.get("schema")

    def response_schema(self, operation: dict) -> dict | None:
        """The JSON schema of the operation's success answer (None for an empty 204).

        202 first: a write's 200 is its dry run, which the app never asks for.
        """
        for status in ("202", "201", "200"):
            response = self.resolve((operation.get("responses") or {}).get(status))
            schema = ((response.get("content") or {}).get("application/json") or {}).get("schema")
            if schema:
                return schema
        return None

    def problem_schema(self) -> dict:
        """The problem document every error answers with."""
        response = self.resolve(self.document["components"]["responses"]["DEFAULT_ERROR"])
        return next(iter(response["content"].values()))["schema"]


def literal(value) -> bool:
    """A value with no IML in it."""
    return not iml_expressions(value)


def check_path(spec: Spec, schema: dict, path: tuple[str, ...], where: str, name: str) -> list[str]:
    """A dotted path read from a response must exist in its schema."""
    node = schema
    for depth, part in enumerate(path):
        node = spec.child(node, part)
        if node is None:
            return [f"{where}: {name}.{'.'.join(path[:depth + 1])} is not in openapi.yaml"]
        if node == {}:
            return []
        resolved = spec.resolve(node)
        if resolved.get("type") == "array" and depth < len(path) - 1:
            node = resolved.get("items") or {}
    return []


def check_spec_against_schema(spec: Spec, params: list, schema: dict, where: str) -> list[str]:
    """A collection/array parameter's fields are the schema's properties; its required ones are required."""
    resolved = spec.resolve(schema)
    if resolved.get("type") == "array":
        resolved = spec.resolve(resolved.get("items"))
    if spec.free_form(resolved):
        return []
    problems = []
    properties = resolved.get("properties") or {}
    for param in params:
        if not isinstance(param, dict) or "name" not in param:
            continue
        if param["name"] not in properties:
            problems.append(f"{where}.{param['name']}: not a property in openapi.yaml")
        elif isinstance(param.get("spec"), list):
            problems += check_spec_against_schema(spec, param["spec"], properties[param["name"]],
                                                  f"{where}.{param['name']}")
    for name in resolved.get("required") or []:
        param = find_param(params, name)
        if not param or not param.get("required"):
            problems.append(f"{where}.{name}: openapi.yaml requires it; the parameter is missing or optional")
    return problems


def check_body(spec: Spec, body, schema: dict, params: list, where: str) -> list[str]:
    """Body keys are request properties; required ones are sent; literals and mapped collections fit."""
    from openapi_schema_validator import OAS30Validator

    resolved = spec.resolve(schema)
    if not isinstance(body, dict):
        reference = exact_reference(body)
        if reference and reference[0] == "parameters" and len(reference[1]) == 1:
            param = find_param(params, reference[1][0])
            if param and isinstance(param.get("spec"), list):
                return check_spec_against_schema(spec, param["spec"], schema, where)
        if literal(body):
            root = {**spec.document, **spec.resolve(schema)}
            return [f"{where}: {error.message}" for error in OAS30Validator(root).iter_errors(body)]
        return []
    problems = []
    properties = resolved.get("properties") or {}
    for key, value in body.items():
        if key not in properties:
            if not spec.free_form(resolved):
                problems.append(f"{where}.{key}: not a property in openapi.yaml")
            continue
        problems += check_body(spec, value, properties[key], params, f"{where}.{key}")
    for name in resolved.get("required") or []:
        if name not in body:
            problems.append(f"{where}.{name}: required by openapi.yaml but not sent")
        else:
            reference = exact_reference(body[name])
            param = find_param(params, reference[1][0]) if reference and reference[0] == "parameters" else None
            if reference and reference[0] == "parameters" and not (param or {}).get("required"):
                problems.append(f"{where}.{name}: required by openapi.yaml; parameter {reference[1][0]} is optional")
    return problems


def bridge_path(url: str, base_url: str, where: str) -> tuple[str | None, list[str]]:
    """The path under the bridge's root for a request URL (relative ones are joined to the base)."""
    roots = ("{{connection.baseUrl}}", "{{parameters.baseUrl}}")
    if url.startswith("/"):
        url = base_url.rstrip("/") + url
    root = next((root for root in roots if url.startswith(root)), None)
    if root is None:
        return None, [f"{where}: {url} is not under the Bridge URL"]
    return url[len(root):], []


def requests_to_check(app: MakeApp):
    """(where, request, parameters, inherited request) for every request the app makes to the bridge."""
    for where, code, params in contexts(app):
        if " communication" in where and where.startswith("webhook"):
            continue  # how Make reads an incoming delivery, not a request
        if where.endswith(" epoch"):
            continue  # checked with its trigger (it inherits the trigger's request)
        for request in requests_of(code):
            if "url" not in request and not request.get("response"):
                continue  # an instant trigger's empty communication
            yield where, request, params


def operation_for(spec: Spec, app: MakeApp, where: str, request: dict) -> tuple[tuple | None, list[str]]:
    """((method, template, path item, operation), problems) for one request, or None when user-supplied."""
    path, problems = bridge_path(request.get("url", ""), app.base.get("baseUrl", ""), where)
    if path is None:
        return None, problems
    if path == "/{{parameters.url}}":
        return None, [] if where.startswith("module ") and app.components("module")[where.split()[1]].get(
            "moduleType") == "universal" else [f"{where}: only the universal module may take its path from the user"]
    method = str(request.get("method", "GET")).lower()
    found = spec.match(path.split("?", 1)[0])
    if not found:
        return None, [f"{where}: {path} is not a path in openapi.yaml"]
    template, item = found
    if method not in item:
        return None, [f"{where}: {method.upper()} {template} is not in openapi.yaml"]
    return (method, template, item, item[method]), []


def response_problems(spec: Spec, response: dict, schema: dict | None, where: str) -> list[str]:
    """Paths read from `body` and `item` (the iterated element) in a response block exist in the schema."""
    problems = []
    reads = {key: value for key, value in response.items() if key != "error"}
    if schema is None:
        return [f"{where}: reads body.{'.'.join(path)} of an empty answer"
                for path in sorted(references(reads, "body"))]
    for path in sorted(references(reads, "body")):
        problems += check_path(spec, schema, path, where, "body")
    iterate = response.get("iterate")
    container = iterate.get("container") if isinstance(iterate, dict) else iterate
    container_ref = exact_reference(container) if container else None
    item_schema = None
    if container_ref and container_ref[0] == "body":
        node = schema
        for part in container_ref[1]:
            node = spec.child(node, part) or {}
        item_schema = spec.resolve(node).get("items")
    if references(reads, "item"):
        if item_schema is None:
            problems.append(f"{where}: reads item.* without iterating a documented list")
        else:
            for path in sorted(references(reads, "item")):
                problems += check_path(spec, item_schema, path, where, "item")
    return problems


def interface_problems(spec: Spec, interface: list, output, schema: dict | None, item_schema: dict | None,
                       where: str) -> list[str]:
    """A module shows the fields it outputs: all of them, and only those."""
    if output is None:
        return []
    names = declared_names(interface)
    reference = exact_reference(output)
    if reference and reference[1] == () and reference[0] in ("body", "item"):
        source = spec.resolve(schema if reference[0] == "body" else item_schema)
        expected = set(source.get("properties") or {})
        problems = [f"{where}: interface lacks {name}, which the bridge returns" for name in sorted(expected - names)]
        problems += [f"{where}: interface shows {name}, which the bridge does not return"
                     for name in sorted(names - expected)]
        return problems
    if isinstance(output, dict):
        expected = set(output)
        problems = [f"{where}: interface lacks {name}, which the output sets" for name in sorted(expected - names)]
        problems += [f"{where}: interface shows {name}, which the output does not set"
                     for name in sorted(names - expected)]
        return problems
    return []


def openapi_mismatches(app: MakeApp, document: dict) -> tuple[list[str], set[tuple[str, str]]]:
    """What the app uses that openapi.yaml does not document, and the (METHOD, path) pairs it was checked on."""
    spec = Spec(document)
    problems, checked = [], set()
    trigger_feed = {}
    for where, request, params in requests_to_check(app):
        found, found_problems = operation_for(spec, app, where, request)
        problems += found_problems
        if not found:
            continue
        method, template, item, operation = found
        checked.add((method.upper(), template))
        query = {p["name"]: p for p in spec.parameters(item, operation, "query")}
        pagination = request.get("pagination") or {}
        for key, value in {**(request.get("qs") or {}), **(pagination.get("qs") or {})}.items():
            if key not in query:
                problems.append(f"{where}: query parameter {key} is not in openapi.yaml")
            elif literal(value):
                from openapi_schema_validator import OAS30Validator

                root = {**document, **spec.resolve(query[key].get("schema"))}
                problems += [f"{where}: {key}={value!r}: {error.message}"
                             for error in OAS30Validator(root).iter_errors(value)]
        if "body" in request:
            schema = spec.request_schema(operation)
            if schema is None:
                problems.append(f"{where}: sends a body; openapi.yaml documents none")
            else:
                problems += check_body(spec, request["body"], schema, params, f"{where}: body")
        elif spec.request_schema(operation) and (operation.get("requestBody") or {}).get("required"):
            problems.append(f"{where}: openapi.yaml requires a body; none is sent")
        answer = spec.response_schema(operation)
        response = request.get("response") or {}
        problems += response_problems(spec, response, answer, where)
        error = response.get("error")
        if error:
            problems += [problem for path in sorted(references(error, "body"))
                         for problem in check_path(spec, spec.problem_schema(), path, where, "error body")]
        if where.startswith("module "):
            module_id = where.split()[1]
            item_schema = _item_schema(spec, response, answer)
            problems += interface_problems(spec, app.code("module", module_id, "interface"), response.get("output"),
                                           answer, item_schema, where)
            epoch = app.code("module", module_id, "epoch")
            if epoch:
                for key in (epoch.get("qs") or {}):
                    if key not in query:
                        problems.append(f"module {module_id} epoch: query parameter {key} is not in openapi.yaml")
                problems += response_problems(spec, epoch.get("response") or {}, answer, f"module {module_id} epoch")
        if template.startswith("/v1/triggers/"):
            trigger_feed = {"answer": answer, "response": {"iterate": "{{body.data}}"}}
    problems += _base_error_problems(spec, app)
    problems += _incoming_webhook_problems(spec, app, trigger_feed)
    return problems, checked


def _item_schema(spec: Spec, response: dict, answer: dict | None) -> dict | None:
    iterate = response.get("iterate")
    container = exact_reference(iterate.get("container") if isinstance(iterate, dict) else iterate)
    if not container or container[0] != "body" or answer is None:
        return None
    node = answer
    for part in container[1]:
        node = spec.child(node, part) or {}
    return spec.resolve(node).get("items")


def _base_error_problems(spec: Spec, app: MakeApp) -> list[str]:
    error = (app.base.get("response") or {}).get("error")
    return [problem for path in sorted(references(error, "body"))
            for problem in check_path(spec, spec.problem_schema(), path, "base error", "body")]


def _incoming_webhook_problems(spec: Spec, app: MakeApp, trigger_feed: dict) -> list[str]:
    """A hook delivery is one Event, the element of the trigger feed: what the webhook reads must be in it."""
    problems = []
    event_schema = _item_schema(spec, trigger_feed.get("response") or {}, trigger_feed.get("answer"))
    for webhook_id in app.components("webhook"):
        communication = app.code("webhook", webhook_id, "communication")
        if event_schema is None:
            problems.append(f"webhook {webhook_id}: no trigger feed documents the Event it receives")
            continue
        for path in sorted(references(communication, "body")):
            problems += check_path(spec, event_schema, path, f"webhook {webhook_id} communication", "body")
    return problems


# ------------------------------------------------------------------------------------------- running requests

UNDEFINED = object()
"""What an IML path gives when nothing is there: Make leaves such keys out of qs, headers and bodies."""

PATH_EXPRESSION = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")
SPREAD = re.compile(r"\{\{toCollection\(parameters\.(\w+), 'key', 'value'\)\}\}")


def lookup(context: dict, dotted: str):
    """The value at a dotted path of the IML context, or UNDEFINED."""
    node = context
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return UNDEFINED
        node = node[part]
    return node


def render(value, context: dict):
    """Evaluate the IML the app's requests use (paths, text with paths, `{{...}}` key/value spreads).

    Anything else raises, so a request that needs more of IML than this cannot pass unnoticed.
    """
    if isinstance(value, str):
        reference = PATH_EXPRESSION.fullmatch(value)
        if reference:
            return lookup(context, reference.group(1))
        if not IML.search(value):
            return value

        def substitute(match):
            found = lookup(context, match.group(1))
            return "" if found is UNDEFINED or found is None else str(found)

        rendered = PATH_EXPRESSION.sub(substitute, value)
        if IML.search(rendered):
            raise ValueError(f"IML outside the subset these tests evaluate: {value}")
        return rendered
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "{{...}}":
                spread = SPREAD.fullmatch(item)
                if not spread:
                    raise ValueError(f"IML outside the subset these tests evaluate: {item}")
                pairs = lookup(context, f"parameters.{spread.group(1)}")
                out.update({pair["key"]: pair["value"] for pair in ([] if pairs is UNDEFINED else pairs or [])})
                continue
            rendered = render(item, context)
            if rendered is not UNDEFINED:
                out[render(key, context)] = rendered
        return out
    if isinstance(value, list):
        return [item for item in (render(entry, context) for entry in value) if item is not UNDEFINED]
    return value


def form_problems(params: list, values: dict, where: str = "") -> list[str]:
    """Values a Make form would refuse: required fields left out, text not matching its pattern."""
    problems = []
    for param in params or []:
        name, value = param["name"], values.get(param["name"], UNDEFINED)
        here = f"{where}{name}"
        if value is UNDEFINED:
            if param.get("required"):
                problems.append(f"{here}: required")
            continue
        pattern = (param.get("validate") or {}).get("pattern") if isinstance(param.get("validate"), dict) else None
        if pattern and not re.fullmatch(pattern, str(value)):
            problems.append(f"{here}: {value!r} does not match {pattern}")
        if param.get("type") == "collection" and isinstance(param.get("spec"), list):
            problems += form_problems(param["spec"], value, f"{here}.")
        if param.get("type") == "array" and isinstance(param.get("spec"), list):
            for index, entry in enumerate(value):
                problems += form_problems(param["spec"], entry, f"{here}[{index}].")
    return problems

"""Xero's official Accounting OpenAPI (xero_accounting.yaml v16.1.0) as a request validator for tests.

`assert_valid_xero_request(prepared)` validates one `requests.PreparedRequest` (what `responses`
records as `calls[i].request`) with openapi-core: path and method, path/query/header parameters
(xero-tenant-id is required by the spec), and the JSON body against the schema, read-only
properties included. It also checks what the spec states only in prose: a Bearer token, and an
Idempotency-Key of at most 128 characters on every PUT and POST.

The spec is Xero's official one at ../shared/vendor-specs/xero/ (MIT, XeroAPI/Xero-OpenAPI @ e952d0bd);
XERO_OPENAPI_SPEC points elsewhere. One quirk is patched before use, narrowly: 23 boolean schemas
declare `default: 'false'` (a string), which openapi-spec-validator rejects ("'false' is not of type
'boolean'"); those defaults become real booleans. Nothing else in the spec is changed, and the
patched spec still passes openapi-spec-validator in full.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import requests
import yaml
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

SPEC_PATH = Path(os.environ.get("XERO_OPENAPI_SPEC") or
                 Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs" / "xero" / "xero_accounting.yaml")
SERVER = "https://api.xero.com/api.xro/2.0"
"""The spec's only server: point the adapter's api_base_url here (responses intercepts it)."""
IDEMPOTENCY_KEY_MAX = 128
"""Stated in the spec's description of the Idempotency-Key parameter, not as a schema maxLength."""


def patch_string_boolean_defaults(node) -> int:
    """Turn `default: 'true'/'false'` of boolean schemas into booleans, in place; how many were fixed."""
    fixed = 0
    if isinstance(node, dict):
        if node.get("type") == "boolean" and node.get("default") in ("true", "false"):
            node["default"] = node["default"] == "true"
            fixed += 1
        for value in node.values():
            fixed += patch_string_boolean_defaults(value)
    elif isinstance(node, list):
        for value in node:
            fixed += patch_string_boolean_defaults(value)
    return fixed


@lru_cache(maxsize=1)
def load_spec_dict() -> dict:
    """The spec as a dict, with the boolean-default quirk patched."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    patch_string_boolean_defaults(spec)
    return spec


@lru_cache(maxsize=1)
def xero_openapi() -> OpenAPI:
    """The validated spec, built once per test session (a few seconds: the file is 900 KB)."""
    return OpenAPI(SchemaPath.from_dict(load_spec_dict()))


def is_accounting_request(request: requests.PreparedRequest) -> bool:
    """True for a call to the Accounting API (not the identity endpoints: token, connections)."""
    return (request.url or "").startswith(SERVER + "/")


def xero_request_errors(request: requests.PreparedRequest) -> list[str]:
    """Why `request` is not a valid Xero Accounting API request (empty when it is)."""
    problems = []
    if not is_accounting_request(request):
        return [f"not under the spec's server {SERVER}: {request.url}"]
    if not (request.headers.get("Authorization") or "").startswith("Bearer "):
        problems.append("no Bearer Authorization header")
    if request.method in ("PUT", "POST"):
        key = request.headers.get("Idempotency-Key")
        if not key:
            problems.append("a write without Idempotency-Key")
        elif len(key) > IDEMPOTENCY_KEY_MAX:
            problems.append(f"Idempotency-Key longer than {IDEMPOTENCY_KEY_MAX} characters")
    with warnings.catch_warnings():
        # openapi-core checks no oauth2 scheme ("Unsupported scheme type"): the Bearer check above does
        warnings.filterwarnings("ignore", message="Unsupported scheme type")
        try:
            xero_openapi().validate_request(RequestsOpenAPIRequest(request))
        except Exception as exc:  # openapi-core raises one of many validation error classes
            detail = "; ".join(str(error) for error in getattr(exc, "schema_errors", []) or [])
            cause = exc.__cause__
            because = f" caused by {type(cause).__name__}: {cause}" if cause and str(cause) not in str(exc) else ""
            problems.append(f"{type(exc).__name__}: {exc}" + (f" ({detail})" if detail else "") + because)
    return problems


def assert_valid_xero_request(request: requests.PreparedRequest) -> None:
    """Fail (AssertionError) unless `request` is valid against Xero's Accounting OpenAPI."""
    problems = xero_request_errors(request)
    assert not problems, f"{request.method} {request.url} is not a valid Xero request: " + "; ".join(problems)


def assert_valid_xero_calls(calls) -> int:
    """Validate every Accounting API request among `responses` calls; how many were checked."""
    checked = 0
    for call in calls:
        if is_accounting_request(call.request):
            assert_valid_xero_request(call.request)
            checked += 1
    return checked

"""The REST API: one package per resource (routes.py + schemas.py), registered in order."""

from __future__ import annotations

import http
from importlib import import_module
from pathlib import Path

import flask_swagger_ui
from flask import send_from_directory
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from bridge import __version__
from bridge.api import auth, common, problems, webhooks
from bridge.schemas.money import DecimalString

MODULES = ("health", "keys", "providers", "connections", "reference", "oauth", "writes", "syncs", "notes", "alerts", "reconciliation", "files", "exports", "triggers", "hooks")
"""Resource packages, in the order they appear in openapi.yaml."""

SWAGGER_ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"

API_DESCRIPTION = """\
One normalized REST API to push invoices, customers, payments and credit notes into QuickBooks
Online, Xero and FreshBooks exactly once. Authenticate with `Authorization: Bearer <api key>`.
Money is a decimal string ("1234.50"). Errors are RFC 9457 problem documents
(`application/problem+json`). Every POST accepts an `Idempotency-Key` (24 hours)."""


class BridgeApi(Api):
    """flask-smorest's Api with problem documents instead of its own error body."""

    ERROR_SCHEMA = problems.ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        """Errors go through bridge.api.problems, not smorest's handler."""
        problems.init_app(self._app)

    def _register_responses(self):
        """Error responses documented as application/problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem document", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_app(app) -> None:
    """Register the API, its security scheme, docs assets and every resource."""
    app.config.update({
        "API_TITLE": "Invoice Bridge", "API_VERSION": __version__, "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/", "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs", "OPENAPI_SWAGGER_UI_URL": "/vendor/swagger-ui/",
    })
    api = BridgeApi(app, spec_kwargs={
        "info": {"description": API_DESCRIPTION},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.spec.components.schemas.pop("PaginationMetadata", None)  # smorest's; our lists use {data, next}
    api.register_field(DecimalString, "string", None)
    app.before_request(common.reject_nul_in_url)
    auth.init_app(app)
    for name in MODULES:
        api.register_blueprint(import_module(f"bridge.api.{name}.routes").blp)
    app.extensions["bridge.api"] = api
    webhooks.init_app(app)  # POST /webhooks/<provider>: a plain blueprint, not part of openapi.yaml

    @app.get("/vendor/swagger-ui/<path:filename>")
    def swagger_assets(filename):
        """Swagger UI's files, served locally (no CDN)."""
        return send_from_directory(SWAGGER_ASSETS, filename)

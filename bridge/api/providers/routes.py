"""The ledgers this bridge supports."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from bridge import settings
from bridge.api.docs import errors_doc
from bridge.ledgers import base

blp = Blueprint("providers", __name__, url_prefix="/v1/providers", description="Supported ledgers")


class ProviderSchema(Schema):
    """A ledger and what the bridge can do with it."""

    name = fields.String(required=True)
    configured = fields.Boolean(required=True, metadata={
        "description": "usable on this bridge: its client id is set (always true for csv, which needs no OAuth)"})
    capabilities = fields.List(fields.String(), required=True)


class ProviderListSchema(Schema):
    """Supported ledgers."""

    data = fields.List(fields.Nested(ProviderSchema), required=True)
    next = fields.String(allow_none=True, required=True)


@blp.route("")
class Providers(MethodView):
    """Supported ledgers."""

    @blp.doc(operationId="listProviders")
    @blp.response(200, ProviderListSchema)
    @errors_doc(blp, 401)
    def get(self):
        """List supported ledgers"""
        data = []
        for name in sorted(base.LEDGERS):
            package = base.load(name)
            data.append({"name": name,
                         "configured": (not getattr(package, "NEEDS_OAUTH", True)
                                        or bool(settings.provider_settings(current_app.config, name).get("client_id"))),
                         "capabilities": list(package.Adapter.capabilities)})
        return {"data": data, "next": None}

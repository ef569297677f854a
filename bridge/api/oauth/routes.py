"""The OAuth2 redirect target and the hosted "connected" page (no API key: the browser calls them)."""

from __future__ import annotations

from flask import current_app, redirect, render_template_string, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from bridge import errors, store
from bridge.api.docs import errors_doc
from bridge.ledgers.base import LEDGERS
from bridge.store.models import Connection
from bridge.sync import connections as service

blp = Blueprint("oauth", __name__, url_prefix="", description="OAuth2 redirects and hosted pages")

CONNECTED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invoice Bridge</title>
<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;color:#222}
.ok{color:#176b2c}.bad{color:#a11}</style></head><body>
{% if connection.status == "active" %}<h1 class="ok">Connected</h1>
<p>{{ connection.provider|title }} company <b>{{ connection.tenant_name or connection.tenant_id }}</b> is connected
to Invoice Bridge (connection <code>{{ connection.id }}</code>). You can close this window.</p>
{% elif connection.status == "pending" and connection.tenants %}<h1>Choose an organisation</h1>
<p>This grant covers several organisations; pick one through the API.</p>
{% else %}<h1 class="bad">Not connected</h1><p>{{ connection.last_error or "The connection was not completed." }}</p>{% endif %}
</body></html>"""


class CallbackArgsSchema(Schema):
    """What the ledger sends back to the redirect URI."""

    class Meta:
        unknown = "include"

    code = fields.String()
    state = fields.String()
    realmId = fields.String()
    error = fields.String()
    error_description = fields.String()


@blp.route("/v1/oauth/<provider>/callback")
class Callback(MethodView):
    """The redirect URI registered with each ledger."""

    @blp.doc(operationId="oauthCallback", security=[], parameters=[
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in ("code", "state", "realmId", "error", "error_description")])
    @blp.response(302, description="On to return_url or the hosted page")
    @errors_doc(blp, 404)
    def get(self, provider):
        """Finish connecting a ledger

        Checks the state, trades the code for tokens (stored encrypted), discovers the tenant, then
        sends the browser to `return_url` or the hosted "connected" page.
        """
        if provider not in LEDGERS:
            raise errors.NotFound("Unknown provider.")
        app = current_app._get_current_object()
        connection = service.finish(app, provider, request.args.to_dict())
        return redirect(service.finish_redirect(app, connection), code=302)


@blp.route("/connected/<connection_id>")
class Connected(MethodView):
    """The hosted page shown after connecting."""

    @blp.doc(operationId="connectedPage", security=[])
    @blp.response(200, description="An HTML page", content_type="text/html")
    @errors_doc(blp, 404)
    def get(self, connection_id):
        """The "connected" page"""
        connection = store.session().get(Connection, connection_id)
        if connection is None:
            raise errors.NotFound("No such connection.")
        return current_app.response_class(render_template_string(CONNECTED_PAGE, connection=connection),
                                          mimetype="text/html")

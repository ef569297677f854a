"""Connections to ledgers: start the OAuth grant, list, pause, resume, disconnect, mapping."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors, store
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.connections.schemas import (
    ConnectionCreateSchema, ConnectionListSchema, ConnectionSchema, ConnectionStartedSchema, MappingSchema,
    ReauthorizeSchema, TenantChoiceSchema,
)
from bridge.api.docs import errors_doc, json_body, post_doc
from bridge.api.idempotency import idempotent
from bridge.store.models import Connection
from bridge.sync import connections as service
from bridge.sync.mapping import check as check_mapping
from bridge.sync.reads import owned_connection

blp = Blueprint("connections", __name__, url_prefix="/v1/connections", description="Connections to ledgers")


def shaped(connection: Connection) -> dict:
    """The API view of a connection."""
    return {"id": connection.id, "provider": connection.provider, "status": connection.status,
            "tenant_id": connection.tenant_id, "tenant_name": connection.tenant_name,
            "tenants": connection.tenants, "country": (connection.tenant_extra or {}).get("country"),
            "limited_until": connection.limited_until, "last_error": connection.last_error,
            "created_at": connection.created_at, "updated_at": connection.updated_at}


@blp.route("")
class Connections(MethodView):
    """The account's connections."""

    @idempotent
    @blp.doc(**post_doc("createConnection", ConnectionCreateSchema))
    @blp.response(201, ConnectionStartedSchema)
    @errors_doc(blp, 400, 401, 409, 422, 503)
    def post(self):
        """Connect a ledger

        Returns a pending connection and the `authorize_url` where the user grants access;
        the ledger sends the browser back to the bridge, then on to `return_url`.
        The `csv` ledger (with its `layout`) needs no grant: it is `active` at once, with no `authorize_url`.
        """
        data = common.load_body(ConnectionCreateSchema())
        connection, url = service.start(current_app._get_current_object(), principal().account_id,
                                        data["provider"], data.get("tenant"), data.get("return_url"),
                                        data.get("layout"))
        return {**shaped(connection), "authorize_url": url}

    @blp.doc(operationId="listConnections")
    @blp.arguments(common.PageArgsSchema, location="query")
    @blp.response(200, ConnectionListSchema)
    @errors_doc(blp, 401, 422)
    def get(self, args):
        """List connections"""
        query = sa.select(Connection).where(Connection.account_id == principal().account_id)
        if args["after"]:
            query = query.where(Connection.created_at < sa.func.coalesce(
                sa.select(Connection.created_at).where(Connection.id == common.decode_cursor(args["after"])).scalar_subquery(),
                Connection.created_at))
        rows = store.session().execute(query.order_by(Connection.created_at.desc(), Connection.id.desc())
                                       .limit(args["limit"] + 1)).scalars().all()
        result = common.page([shaped(row) for row in rows], args["limit"], lambda item: item["id"])
        return result


@blp.route("/<connection_id>")
class ConnectionById(MethodView):
    """One connection."""

    @blp.doc(operationId="getConnection")
    @blp.response(200, ConnectionSchema)
    @errors_doc(blp, 401, 404)
    def get(self, connection_id):
        """Get a connection"""
        return shaped(owned_connection(principal().account_id, connection_id))

    @blp.doc(operationId="deleteConnection")
    @blp.response(200, ConnectionSchema)
    @errors_doc(blp, 401, 404)
    def delete(self, connection_id):
        """Disconnect a ledger

        Revokes the grant at the ledger; queued operations stay, unsent.
        """
        connection = owned_connection(principal().account_id, connection_id)
        service.disconnect(current_app._get_current_object(), connection)
        return shaped(connection)


def _state_route(path: str, paused: bool, operation_id: str, summary: str):
    """POST /pause or /resume."""

    def post(self, connection_id):
        connection = owned_connection(principal().account_id, connection_id)
        service.set_paused(connection, paused)
        if not paused:
            from bridge.sync import queue
            queue.wake_relay()
        return shaped(connection)

    post.__doc__ = summary
    post = idempotent(blp.doc(**post_doc(operation_id))(blp.response(200, ConnectionSchema)(
        errors_doc(blp, 401, 404, 409)(post))))
    blp.route(path)(type(operation_id.title(), (MethodView,), {"post": post, "__doc__": summary}))


_state_route("/<connection_id>/pause", True, "pauseConnection", "Pause sending to the ledger")
_state_route("/<connection_id>/resume", False, "resumeConnection", "Resume sending to the ledger")


@blp.route("/<connection_id>/reauthorize")
class Reauthorize(MethodView):
    """Authorizing a connection again."""

    @idempotent
    @blp.doc(**post_doc("reauthorizeConnection", ReauthorizeSchema))
    @blp.response(200, ConnectionStartedSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422)
    def post(self, connection_id):
        """Authorize a connection again

        For a connection in `needs_reauth`: returns a fresh `authorize_url`; after the grant the
        connection is active again and its queued operations go out.
        """
        connection = owned_connection(principal().account_id, connection_id)
        data = common.load_body(ReauthorizeSchema()) if request.get_data(cache=True) else {}
        url = service.reauthorize(current_app._get_current_object(), connection, data.get("return_url"))
        return {**shaped(connection), "authorize_url": url}


@blp.route("/<connection_id>/tenant")
class TenantChoice(MethodView):
    """Picking one organisation."""

    @idempotent
    @blp.doc(**post_doc("chooseTenant", TenantChoiceSchema))
    @blp.response(200, ConnectionSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422)
    def post(self, connection_id):
        """Pick the organisation to use

        For grants covering several organisations (Xero, FreshBooks).
        """
        connection = owned_connection(principal().account_id, connection_id)
        data = common.load_body(TenantChoiceSchema())
        choices = {tenant["id"] for tenant in connection.tenants or []}
        if connection.status != "pending" or not choices:
            raise errors.Conflict("This connection has no organisation to choose.")
        if data["tenant_id"] not in choices:
            raise errors.ValidationFailed("Not one of the connection's organisations.",
                                          errors=[{"field": "tenant_id", "message": "Not among `tenants`."}])
        connection.tenant_id = data["tenant_id"]
        store.session().commit()
        service.activate(current_app._get_current_object(), connection)
        return shaped(connection)


@blp.route("/<connection_id>/mapping")
class Mapping(MethodView):
    """The connection's field mapping."""

    @blp.doc(operationId="getMapping")
    @blp.response(200, MappingSchema)
    @errors_doc(blp, 401, 404)
    def get(self, connection_id):
        """Get the mapping"""
        # Returned as stored: marshmallow would dump a missing `items` key as dict.items.
        return jsonify(owned_connection(principal().account_id, connection_id).mapping or {})

    @blp.doc(operationId="putMapping", requestBody=json_body(MappingSchema))
    @blp.response(200, MappingSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422, 503)
    def put(self, connection_id):
        """Replace the mapping

        Applies to operations sent from now on; what was already sent is not rewritten. Every item,
        account, tax code and payment account it names must exist in the ledger (as /accounts,
        /tax-rates and /items list them) and follow the ledger's region rules (a US QuickBooks company:
        TAX/NON plus `quickbooks.txn_tax_code`; elsewhere TaxCode ids; Xero: TaxTypes of the
        organisation's country; FreshBooks: up to two tax names, "GST+PST"), else a 422 names each field.
        """
        connection = owned_connection(principal().account_id, connection_id)
        mapping = common.load_body(MappingSchema())
        check_mapping(current_app._get_current_object(), connection, mapping)
        connection.mapping = mapping
        store.session().commit()
        return jsonify(connection.mapping)

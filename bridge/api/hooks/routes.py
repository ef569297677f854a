"""REST hook subscriptions: Zapier's subscribe/unsubscribe and Make's attach/detach."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import store
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.hooks.schemas import HookCreateSchema, HookFilterSchema, HookListSchema, HookSchema, NewHookSchema
from bridge.events import hooks

blp = Blueprint("hooks", __name__, url_prefix="/v1/hooks", description="REST hook subscriptions")


@blp.route("")
class Hooks(MethodView):
    """The account's hooks."""

    @blp.doc(**post_doc("createHook", HookCreateSchema, idempotent=False))
    @blp.response(201, NewHookSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422)
    def post(self):
        """Subscribe a URL to an event

        Each event is POSTed as JSON (the Event, as in the trigger feeds) with `Bridge-Event-Id`,
        `Bridge-Event`, `Bridge-Timestamp` and `Bridge-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of
        "<timestamp>.<raw body>" with the secret>`. The secret is shown only in this answer. A 2xx
        answer is a delivery; 410 Gone deletes the hook; anything else is retried with backoff for 24
        hours, and a hook that keeps failing is disabled (see `status`, `disabled_reason`). The URL must
        be http(s) on a public address.
        """
        body = common.load_body(HookCreateSchema())
        row, secret = hooks.subscribe(current_app._get_current_object(), store.session(), principal().account_id,
                                      **body)
        return {**hooks.shaped(row), "secret": secret}

    @blp.doc(operationId="listHooks")
    @blp.arguments(HookFilterSchema, location="query")
    @blp.response(200, HookListSchema)
    @errors_doc(blp, 401, 422)
    def get(self, args):
        """List hooks

        Newest first, active and disabled ones, with how their deliveries go.
        """
        rows = hooks.listed(store.session(), principal().account_id, limit=args["limit"],
                            before_seq=common.seq_after(args), event=args.get("event"),
                            connection_id=args.get("connection_id"), status=args.get("status"))
        page = common.page(rows, args["limit"], lambda row: row.seq)
        return {"data": [hooks.shaped(row) for row in page["data"]], "next": page["next"]}


@blp.route("/<hook_id>")
class HookById(MethodView):
    """One hook."""

    @blp.doc(operationId="getHook")
    @blp.response(200, HookSchema)
    @errors_doc(blp, 401, 404)
    def get(self, hook_id):
        """Get a hook"""
        return hooks.shaped(hooks.owned(store.session(), principal().account_id, hook_id))

    @blp.doc(operationId="deleteHook")
    @blp.response(204)
    @errors_doc(blp, 401, 404)
    def delete(self, hook_id):
        """Delete a hook

        Stops its deliveries (Zapier's unsubscribe, Make's detach).
        """
        db = store.session()
        hooks.delete(db, hooks.owned(db, principal().account_id, hook_id))
        db.commit()
        return None

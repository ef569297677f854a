"""API keys of the calling account, and the account itself (`/v1/me`)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from bridge import errors, store
from bridge.api import common
from bridge.api.auth import hash_key, new_key, principal
from bridge.api.docs import errors_doc, post_doc
from bridge.api.idempotency import idempotent
from bridge.store.models import Account, ApiKey, utcnow

blp = Blueprint("keys", __name__, url_prefix="/v1", description="The account and its API keys")


class KeyCreateSchema(Schema):
    """A new key's label."""

    name = fields.String(allow_none=True, validate=validate.Length(max=200))


class KeySchema(Schema):
    """An API key (the secret itself is never shown again)."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    prefix = fields.String(required=True, metadata={"description": "the key's first characters"})
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewKeySchema(KeySchema):
    """A new key, with its secret shown this once."""

    key = fields.String(required=True)


class KeyListSchema(Schema):
    """The account's keys."""

    data = fields.List(fields.Nested(KeySchema), required=True)
    next = fields.String(allow_none=True, required=True)


class MeSchema(Schema):
    """The account behind the key."""

    account_id = fields.String(required=True)
    account_name = fields.String(required=True)
    key_id = fields.String(required=True)


def create_key(account_id: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key for the account; the plain key is returned once."""
    key = new_key()
    row = ApiKey(id="key_" + secrets.token_hex(8), account_id=account_id, key_hash=hash_key(key),
                 prefix=key[:10], name=name)
    db = store.session()
    db.add(row)
    db.commit()
    return row, key


def shaped(row: ApiKey) -> dict:
    """The API view of a key."""
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": row.created_at,
            "revoked_at": row.revoked_at}


@blp.route("/me")
class Me(MethodView):
    """The caller."""

    @blp.doc(operationId="getMe")
    @blp.response(200, MeSchema)
    @errors_doc(blp, 401)
    def get(self):
        """Who am I

        The account behind the API key; connectors use it to test a key.
        """
        caller = principal()
        account = store.session().get(Account, caller.account_id)
        return {"account_id": account.id, "account_name": account.name, "key_id": caller.key_id}


@blp.route("/keys")
class Keys(MethodView):
    """The account's keys."""

    @idempotent
    @blp.doc(**post_doc("createKey", KeyCreateSchema))
    @blp.response(201, NewKeySchema)
    @errors_doc(blp, 400, 401, 409, 422)
    def post(self):
        """Create an API key

        The key is shown in this response only; the bridge keeps its hash.
        """
        data = common.load_body(KeyCreateSchema())
        row, key = create_key(principal().account_id, data.get("name"))
        return {**shaped(row), "key": key}

    @blp.doc(operationId="listKeys")
    @blp.response(200, KeyListSchema)
    @errors_doc(blp, 401)
    def get(self):
        """List API keys"""
        rows = store.session().execute(sa.select(ApiKey).where(ApiKey.account_id == principal().account_id)
                                       .order_by(ApiKey.created_at.desc())).scalars().all()
        return {"data": [shaped(row) for row in rows], "next": None}


@blp.route("/keys/<key_id>")
class KeyById(MethodView):
    """One key."""

    @blp.doc(operationId="revokeKey")
    @blp.response(204)
    @errors_doc(blp, 401, 404)
    def delete(self, key_id):
        """Revoke an API key

        Takes effect at once in this process, within seconds everywhere.
        """
        db = store.session()
        row = db.get(ApiKey, key_id)
        if row is None or row.account_id != principal().account_id or row.revoked_at is not None:
            raise errors.NotFound("No such key.")
        row.revoked_at = utcnow()
        db.commit()
        current_app.extensions["bridge.keys"].forget_key(key_id)
        return None

"""Where the account's alert e-mails go (a digest of failed syncs, reauthorizations, drift)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from bridge import store
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, json_body
from bridge.events import alerts

blp = Blueprint("alerts", __name__, url_prefix="/v1/me", description="Alert e-mails of the account")


class AlertSettingsInputSchema(Schema):
    """Where to send the digest (null: no e-mails)."""

    email = fields.Email(required=True, allow_none=True, validate=validate.Length(max=320),
                         metadata={"example": "ops@acme.example"})


class AlertSettingsSchema(Schema):
    """The account's alert e-mail settings."""

    email = fields.String(allow_none=True, required=True)
    events = fields.List(fields.String(), required=True)
    interval_minutes = fields.Integer(required=True)
    smtp_configured = fields.Boolean(required=True, metadata={"description": "false: this server sends no e-mail"})
    last_digest_at = fields.DateTime(allow_none=True, required=True)


def shaped(row) -> dict:
    """The settings document."""
    return {"email": row.email if row else None, "events": list(alerts.ALERT_EVENTS),
            "interval_minutes": int(alerts.DIGEST_INTERVAL.total_seconds() // 60),
            "smtp_configured": bool(current_app.config.get("SMTP_URL")),
            "last_digest_at": row.last_digest_at if row else None}


@blp.route("/alerts")
class AlertSettings(MethodView):
    """The account's alert e-mails."""

    @blp.doc(operationId="getAlertSettings")
    @blp.response(200, AlertSettingsSchema)
    @errors_doc(blp, 401)
    def get(self):
        """Get where alert e-mails go"""
        return shaped(alerts.settings_of(store.session(), principal().account_id))

    @blp.doc(operationId="setAlertSettings", requestBody=json_body(AlertSettingsInputSchema))
    @blp.response(200, AlertSettingsSchema)
    @errors_doc(blp, 400, 401, 422)
    def put(self):
        """Set where alert e-mails go

        At most one e-mail an hour lists the alerts (`sync.failed`, `connection.needs_reauth`,
        `reconciliation.drift`) since the previous one; `{"email": null}` stops them.
        """
        email = common.load_body(AlertSettingsInputSchema())["email"]
        return shaped(alerts.set_email(store.session(), principal().account_id, email))

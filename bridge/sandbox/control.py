"""Control routes under /_sandbox/<provider>/... (not part of any ledger; DESIGN.md "The sandbox").

Every emulator registers itself in `app.extensions["sandbox"]["providers"]` and implements
`SandboxProvider`; these routes only parse JSON, call it and shape the answer.
"""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, current_app, request

from . import jsonio


class ControlError(Exception):
    """A control-route failure with its HTTP status and JSON body."""

    def __init__(self, status: int, payload: dict):
        super().__init__(str(payload))
        self.status = status
        self.payload = payload


class SandboxProvider(Protocol):
    """What one ledger emulator offers the control routes."""

    name: str

    def ledger(self) -> dict: ...

    def stats_view(self) -> dict: ...

    def reset(self, options: dict) -> dict: ...

    def configure(self, changes: dict) -> dict: ...

    def config_view(self) -> dict: ...

    def tenants(self) -> list[dict]: ...

    def user_payment(self, tenant: str, body: dict) -> dict: ...

    def user_patch(self, tenant: str, entity: str, object_id: str, body: dict) -> dict: ...

    def user_delete(self, tenant: str, entity: str, object_id: str) -> dict: ...

    def webhooks_view(self) -> dict: ...


bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def _provider(name: str) -> SandboxProvider:
    providers = current_app.extensions["sandbox"]["providers"]
    if name not in providers:
        raise ControlError(404, {"error": "unknown_provider", "providers": sorted(providers)})
    return providers[name]


def _body() -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ControlError(400, {"error": "invalid_json", "detail": str(error)}) from None
    if not isinstance(body, dict):
        raise ControlError(400, {"error": "invalid_json", "detail": "the body must be a JSON object"})
    return body


@bp.errorhandler(ControlError)
def _control_error(error: ControlError):
    return jsonio.json_response(error.payload, error.status)


@bp.get("/")
def providers_view():
    """The emulators this sandbox serves."""
    return jsonio.json_response({"providers": sorted(current_app.extensions["sandbox"]["providers"])})


@bp.get("/<provider>/ledger")
def ledger_view(provider):
    """Every stored object, per tenant, with computed totals."""
    return jsonio.json_response(_provider(provider).ledger())


@bp.get("/<provider>/stats")
def stats_view(provider):
    """Counters: token calls, API requests, throttles, replays, writes."""
    return jsonio.json_response(_provider(provider).stats_view())


@bp.post("/<provider>/reset")
def reset_view(provider):
    """Back to the seeds."""
    return jsonio.json_response(_provider(provider).reset(_body()))


@bp.get("/<provider>/webhooks")
def webhooks_view(provider):
    """The webhook target and every delivery sent or being sent: {url, status, attempts, body, sent_at...}."""
    return jsonio.json_response(_provider(provider).webhooks_view())


@bp.route("/<provider>/config", methods=["GET", "POST"])
def config_view(provider):
    """Read or merge settings: limits, time scale, webhook target, faults."""
    target = _provider(provider)
    if request.method == "GET":
        return jsonio.json_response(target.config_view())
    try:
        return jsonio.json_response(target.configure(_body()))
    except ValueError as error:
        raise ControlError(400, {"error": "invalid_config", "detail": str(error)}) from None


@bp.get("/<provider>/realms")
@bp.get("/<provider>/tenants")
def tenants_view(provider):
    """The seeded companies / organisations."""
    return jsonio.json_response(_provider(provider).tenants())


@bp.post("/<provider>/<tenant>/payments")
def payment_view(provider, tenant):
    """Record a payment as a user would in the ledger."""
    return jsonio.json_response(_provider(provider).user_payment(tenant, _body()), 201)


@bp.route("/<provider>/<tenant>/<entity>/<object_id>", methods=["PATCH", "DELETE"])
def object_view(provider, tenant, entity, object_id):
    """Alter or delete an object as a user would."""
    target = _provider(provider)
    if request.method == "PATCH":
        return jsonio.json_response(target.user_patch(tenant, entity, object_id, _body()))
    return jsonio.json_response(target.user_delete(tenant, entity, object_id))

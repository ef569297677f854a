"""The API front door (auth, scopes, hidden limit, faults) and the accounting, identity and ledger routes.

- `GET /auth/api/v1/users/me` (scope user:profile:read);
- `/accounting/account/<account_id>/<section>/<resource>[/<id>]`: GET (one or a list), POST, PUT, DELETE;
- `GET /accounting/businesses/<business_uuid>/ledger_accounts/accounts[/<uuid>]` (chart of accounts).
No scope for ledger accounts is documented [U]: any valid token reads them (profile scope, always granted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Response, current_app, request

from .. import jsonio
from ..pdf import Binary, document_pdf
from ..quickbooks.faults import GATEWAY_TIMEOUT_HTML
from . import errors, money, query, seeds
from .errors import ACCOUNTING, AUTH, BUSINESS, FreshBooksError
from .oauth import IDENTITY_PATH, PROFILE_SCOPE, AuthFailure, bearer
from .operations import BY_PATH, Writer

ACCOUNTING_PREFIX = "/accounting/account/<account_id>"
LEDGER_PREFIX = "/accounting/businesses/<business_uuid>/ledger_accounts/accounts"


def current_emulator():
    """The FreshBooks emulator of the running sandbox app."""
    return current_app.extensions["sandbox"]["providers"]["freshbooks"]


@dataclass
class Call:
    """One API request being served."""

    emulator: object
    business: object
    grant: object
    group: str

    def require(self, *scopes: str) -> None:
        """403 unless the token holds every scope named."""
        missing = [scope for scope in scopes if not self.grant.allows(scope)]
        if missing:
            self.emulator.stats.count("forbidden", " ".join(missing))
            raise errors.forbidden(self.grant.scopes, missing)

    def writer(self) -> Writer:
        """A writer for this call's business."""
        return Writer(self.emulator, self.business)


def request_json() -> dict:
    """The JSON body (Decimal for non-integers); 400 when it is not a JSON object."""
    raw = request.get_data() or b""
    if not raw.strip():
        return {}
    try:
        body = jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.bad_body(f"The request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise errors.bad_body("The request body must be a JSON object.")
    return body


def respond(status: int, payload, headers: dict | None = None) -> Response:
    """JSON (or an empty body for None, or a Binary's bytes)."""
    if isinstance(payload, Binary):
        return Response(payload.data, status, headers=headers or {}, content_type=payload.mimetype)
    if payload is None:
        return Response(b"", status, headers=headers or {})
    return jsonio.json_response(payload, status, headers)


def handle(group: str, handler, *, account_id: str | None = None, business_uuid: str | None = None,
           write: bool = False) -> Response:
    """Serve one API call as FreshBooks' front door would: token, business, limit, faults, then the handler."""
    emulator = current_emulator()
    key = account_id or business_uuid or "identity"
    emulator.stats.count("api_requests", key)
    try:
        if emulator.faults.take("unauthorized_next"):
            emulator.stats.count("faults_injected", "unauthorized")
            raise AuthFailure("revoked")
        grant = emulator.oauth.check_access(bearer())
    except AuthFailure as failure:
        emulator.stats.count("unauthorized", failure.reason)
        error = errors.unauthorized(group, failure.reason)
        return respond(error.status, error.body)
    business = None
    if account_id is not None:
        business = emulator.store.business(account_id)
        if business is None:
            error = (errors.events(404, errors.EVENTS_NOT_FOUND) if group == errors.EVENTS
                     else errors.not_found("account", "account_id", account_id))
            return respond(error.status, error.body)
    elif business_uuid is not None:
        business = emulator.store.by_uuid(business_uuid)
        if business is None:
            error = errors.business(404, "Not found.")
            return respond(error.status, error.body)
    if emulator.faults.take("throttle_next"):
        return _throttled(emulator, "forced")
    if not emulator.limiter.admit(key):
        return _throttled(emulator, "per_minute")
    if emulator.faults.latency:
        time.sleep(emulator.faults.latency)
    if emulator.faults.take_failure():
        emulator.stats.count("faults_injected", "server_error")
        error = errors.server_error(group)
        return respond(error.status, error.body)
    call = Call(emulator, business, grant, group)
    with emulator.store.lock:
        try:
            status, payload = handler(call)
        except FreshBooksError as error:
            return respond(error.status, error.body, error.headers)
        except Exception:  # a sandbox bug must still look like a FreshBooks 500, and be logged
            current_app.logger.exception("FreshBooks sandbox handler failed")
            error = errors.server_error(group)
            return respond(error.status, error.body)
    if write and 200 <= status < 300:
        mode = emulator.faults.take_drop()
        if mode is not None:
            emulator.stats.count("faults_injected", f"dropped_{mode}")
            if mode == "error":
                return Response(GATEWAY_TIMEOUT_HTML, 504, content_type="text/html")
            time.sleep(emulator.faults.drop_delay)
    return respond(status, payload)


def _throttled(emulator, kind: str) -> Response:
    emulator.stats.count("throttled", kind)
    seconds = emulator.settings.get("retry_after")
    error = errors.throttled(emulator.clock.real_seconds_ceil(seconds) if seconds is not None else None)
    return respond(error.status, error.body, error.headers)


def _kind(section: str, resource: str):
    kind = BY_PATH.get(f"{section}/{resource}")
    if kind is None:
        raise errors.accounting(404, errors.ERRNO_NOT_FOUND, "The requested resource does not exist.",
                                "path", None, f"{section}/{resource}")
    return kind


def _result(kind, call, record) -> dict:
    rendered = kind.render(call.business, record, query.includes(request.args))
    return {"response": {"result": {kind.single: rendered}}}


def list_objects(kind, call) -> tuple[int, dict]:
    """GET a list: search, page, include."""
    call.require(kind.read_scope)
    records, ignored = query.search(kind.filters, call.business, call.business.all(kind.entity), request.args)
    for name in ignored:
        call.emulator.stats.count("ignored_search_params", f"{kind.plural}.{name}")
    if kind.newest_first:
        records.reverse()
    page, meta = query.paginate(records, request.args)
    includes = query.includes(request.args)
    return 200, {"response": {"result": {kind.plural: [kind.render(call.business, r, includes) for r in page],
                                         **meta}}}


def _wrapped(kind) -> dict:
    body = request_json()
    inner = body.get(kind.single)
    if not isinstance(inner, dict):
        raise errors.required(kind.single, kind.single)
    return inner


def identity_response(emulator) -> dict:
    """The users/me body: the identity and one owner membership per business [V] FB-SDK auth_me fixture."""
    memberships, roles = [], []
    for index, business in enumerate(emulator.store.businesses.values()):
        memberships.append({"id": 140000 + index, "role": "owner", "unacknowledged_change": False, "business": {
            "id": business.id, "business_uuid": business.uuid, "name": business.name,
            "account_id": business.account_id, "base_currency": business.currency, "date_format": "yyyy-mm-dd",
            "address": {"id": 76000 + index, "street": business.street, "city": business.city,
                        "province": business.province, "country": business.country,
                        "postal_code": business.postal_code},
            "phone_number": None, "business_clients": []}})
        roles.append({"id": 61000 + index, "role": "admin", "systemid": business.id, "userid": 1,
                      "accountid": business.account_id, "created_at": "2024-01-01T00:00:00Z"})
    identity = seeds.IDENTITY
    return {"response": {
        "id": seeds.IDENTITY_ID, "identity_id": seeds.IDENTITY_ID, "identity_uuid": seeds.IDENTITY_UUID,
        "first_name": identity["first_name"], "last_name": identity["last_name"], "email": identity["email"],
        "language": "en", "confirmed_at": "2024-01-01T00:00:00Z", "created_at": "2024-01-01T00:00:00Z",
        "setup_complete": True, "profile": {"setup_complete": True, "first_name": identity["first_name"],
                                            "last_name": identity["last_name"]},
        "business_memberships": memberships, "roles": roles,
        "permissions": {b.account_id: {} for b in emulator.store.businesses.values()},
        "subscription_statuses": {b.account_id: "active" for b in emulator.store.businesses.values()}}}


def ledger_account(business, account: dict) -> dict:
    """A ledger account as the business API returns it [V] FB-SDK get_ledger_account_response.json."""
    out = {key: value for key, value in account.items() if key != "created"}
    out["updated_at"] = money.utc_stamp(account["created"])
    return out


def register(bp) -> None:
    """Add the identity, accounting and ledger-account routes to the FreshBooks blueprint."""

    @bp.get(IDENTITY_PATH)
    def users_me():
        """The identity behind the token and its businesses."""
        def run(call):
            call.require(PROFILE_SCOPE)
            return 200, identity_response(call.emulator)
        return handle(AUTH, run)

    @bp.route(f"{ACCOUNTING_PREFIX}/<section>/<resource>", methods=["GET", "POST"])
    def collection(account_id, section, resource):
        """List or create."""
        if request.method == "GET":
            return handle(ACCOUNTING, lambda call: list_objects(_kind(section, resource), call),
                          account_id=account_id)

        def create(call):
            kind = _kind(section, resource)
            call.require(kind.write_scope)
            record = call.writer().create(kind, _wrapped(kind))
            return 200, _result(kind, call, record)
        return handle(ACCOUNTING, create, account_id=account_id, write=True)

    @bp.get(f"{ACCOUNTING_PREFIX}/invoices/invoices/<object_id>/pdf")
    def invoice_pdf(account_id, object_id):
        """An invoice as PDF (Accept: application/pdf)."""
        def run(call):
            kind = _kind("invoices", "invoices")
            call.require(kind.read_scope)
            rendered = kind.render(call.business, call.writer().find(kind, object_id), frozenset())
            return 200, Binary(document_pdf([f"Invoice {rendered.get('invoice_number')}",
                                             f"Amount {(rendered.get('amount') or {}).get('amount')}"]))
        return handle(ACCOUNTING, run, account_id=account_id)

    @bp.route(f"{ACCOUNTING_PREFIX}/<section>/<resource>/<object_id>", methods=["GET", "PUT", "DELETE"])
    def single(account_id, section, resource, object_id):
        """Read, update (PUT phases) or delete one object."""
        def read(call):
            kind = _kind(section, resource)
            call.require(kind.read_scope)
            return 200, _result(kind, call, call.writer().find(kind, object_id))

        def update(call):
            kind = _kind(section, resource)
            call.require(kind.write_scope)
            record = call.writer().update(kind, object_id, _wrapped(kind))
            return 200, _result(kind, call, record)

        def delete(call):
            kind = _kind(section, resource)
            call.require(kind.write_scope)
            call.writer().delete(kind, object_id)
            return 200, {"response": {}}

        handler = {"GET": read, "PUT": update, "DELETE": delete}[request.method]
        return handle(ACCOUNTING, handler, account_id=account_id, write=request.method != "GET")

    @bp.get(LEDGER_PREFIX)
    def ledger_accounts(business_uuid):
        """The chart of accounts."""
        return handle(BUSINESS, lambda call: (200, {"data": [ledger_account(call.business, a)
                                                             for a in call.business.ledger_accounts]}),
                      business_uuid=business_uuid)

    @bp.get(f"{LEDGER_PREFIX}/<account_uuid>")
    def ledger_account_view(business_uuid, account_uuid):
        """One ledger account."""
        def run(call):
            found = next((a for a in call.business.ledger_accounts if a["uuid"] == account_uuid), None)
            if found is None:
                raise errors.business(404, "Not found.")
            return 200, {"data": ledger_account(call.business, found)}
        return handle(BUSINESS, run, business_uuid=business_uuid)

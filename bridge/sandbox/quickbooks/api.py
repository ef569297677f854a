"""The Accounting API under /quickbooks/v3/company/<realmId>/: auth, throttles, faults, requestid, views."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from flask import Response, current_app, request

from .. import jsonio
from ..pdf import Binary, document_pdf
from . import batch, errors, query
from .errors import QBOFault
from .faults import GATEWAY_TIMEOUT_HTML
from .operations import BY_PATH, KINDS, Writer, deleted_body, render
from .seeds import US_UTC_OFFSET_MINUTES

COMPANY_PREFIX = "/v3/company/<realm_id>"
REQUEST_ID_MAX = 50  # facts §1.5 (batch: 36)
BATCH_REQUEST_ID_MAX = 36
QUERYABLE_EXTRA = ("CompanyInfo", "Preferences")


@dataclass
class Call:
    """One API request being served."""

    emulator: object
    realm: object
    realm_id: str

    def time_text(self) -> str:
        """The envelope's `time`: now, with the company's UTC offset and milliseconds."""
        if self.realm is not None:
            return self.realm.iso(self.emulator.clock.now(), millis=True)
        return self.emulator.clock.datetime(US_UTC_OFFSET_MINUTES).isoformat(timespec="milliseconds")

    def envelope(self, payload: dict) -> dict:
        """Add the `time` field QBO puts on every answer."""
        return {**payload, "time": self.time_text()}


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _request_json():
    try:
        body = jsonio.loads(request.get_data() or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.invalid_property("Request body", f"could not be parsed: {error}") from None
    if not isinstance(body, dict):
        raise errors.invalid_property("Request body", "must be a JSON object")
    return body


PDF_ENTITIES = frozenset({"Invoice", "Estimate", "SalesReceipt", "CreditMemo"})
"""Entities with a /pdf read (Intuit API reference: "Get ... as PDF")."""


def handle(realm_id: str, handler, *, write: bool = False, is_batch: bool = False) -> Response:
    """Run one API call the way QBO's front door does: auth, throttles, faults, requestid, answer."""
    emulator = current_app.extensions["sandbox"]["providers"]["quickbooks"]
    call = Call(emulator, emulator.store.realm(realm_id), str(realm_id))
    emulator.stats.api_request(call.realm_id, request.args.get("minorversion"))

    def fault_response(fault: QBOFault, headers: dict | None = None) -> Response:
        return jsonio.json_response(fault.body(call.time_text()), fault.status, headers)

    try:
        if emulator.faults.take("unauthorized_next"):
            emulator.stats.count("faults_injected", "unauthorized")
            raise errors.authentication_failed("Token revoked: the grant behind this token was revoked")
        grant = emulator.oauth.check_access(_bearer(), call.realm_id)
    except QBOFault as fault:
        emulator.stats.count("unauthorized", "401")
        return fault_response(fault)

    def throttled(kind: str) -> Response:
        emulator.stats.count("throttled", kind)
        return fault_response(errors.throttled(), {"Retry-After": str(emulator.limiter.retry_after())})

    if emulator.faults.take("throttle_next"):
        return throttled("forced")
    limit = emulator.limiter.acquire(call.realm_id, grant.client_id, is_batch)
    if limit is not None:
        return throttled(limit)
    try:
        if emulator.faults.latency:
            time.sleep(emulator.faults.latency)
        if emulator.faults.take_failure():
            emulator.stats.count("faults_injected", "server_error")
            return fault_response(errors.system_failure())
        status, text, executed = _execute(call, handler, write, is_batch)
        if executed and write and 200 <= status < 300:
            mode = emulator.faults.take_drop()
            if mode is not None:
                emulator.stats.count("faults_injected", f"dropped_{mode}")
                if mode == "error":
                    return Response(GATEWAY_TIMEOUT_HTML, 504, content_type="text/html")
                time.sleep(emulator.faults.drop_delay)
        if isinstance(text, Binary):
            return Response(text.data, status, content_type=text.mimetype)
        return Response(text, status, content_type=jsonio.JSON_MIMETYPE)
    finally:
        emulator.limiter.release(call.realm_id, grant.client_id)


def _execute(call: Call, handler, write: bool, is_batch: bool) -> tuple[int, str, bool]:
    """Run the handler under the store lock, or replay the answer stored for this requestid."""
    emulator = call.emulator
    request_id = request.args.get("requestid") if write else None
    if request_id is not None:
        maximum = BATCH_REQUEST_ID_MAX if is_batch else REQUEST_ID_MAX
        if len(request_id) > maximum:
            fault = errors.business(f"You cannot enter more than {maximum} characters in the request_id "
                                    f"field. You tried entering {request_id[:10]}..., which is "
                                    f"{len(request_id)} characters.", "requestid")
            return fault.status, jsonio.dumps(fault.body(call.time_text())), False
    with emulator.store.lock:
        if request_id and request_id in call.realm.requestids:
            emulator.stats.count("requestid_replays", call.realm_id)
            status, text = call.realm.requestids[request_id]
            return status, text, False
        try:
            status, payload = handler(call)
        except QBOFault as fault:
            status, payload = fault.status, fault.body(call.time_text())
        except Exception:  # a sandbox bug must still look like QBO's 500, and be logged
            current_app.logger.exception("QuickBooks sandbox handler failed")
            fault = errors.system_failure()
            status, payload = fault.status, fault.body(call.time_text())
        text = payload if isinstance(payload, Binary) else jsonio.dumps(payload)
        # [U] Only successful answers are kept: a failed write changed nothing, so running a corrected
        # request again under the same id is harmless (Intuit: "returns the original response").
        if request_id and 200 <= status < 300:
            call.realm.requestids[request_id] = (status, text)
        return status, text, True


def entity_write(entity: str):
    """The handler for POST /<entity>: create, update, sparse update, void, delete."""

    def run(call: Call):
        kind = BY_PATH.get(entity.lower())
        if kind is None:
            raise errors.unsupported(f"POST /{entity}")
        body = _request_json()
        writer = Writer(call.emulator, call.realm)
        operation = (request.args.get("operation") or "").lower()
        include = (request.args.get("include") or "").lower()
        if operation == "delete":
            return 200, call.envelope({kind.name: deleted_body(writer.delete(kind, body))})
        if operation == "void":
            if kind.name == "Payment":
                # Payments are voided with ?operation=update&include=void (facts §1.2).
                raise errors.unsupported("Void on Payment (use operation=update&include=void)")
            record = writer.void(kind, body)
        elif operation == "update" and include == "void":
            if kind.name != "Payment":
                raise errors.unsupported(f"include=void on {kind.name}")
            record = writer.void(kind, body)
        elif operation in ("", "create", "update"):
            if body.get("Id") not in (None, ""):
                record = writer.update(kind, body)
            elif operation == "update":
                raise errors.required("Id")
            else:
                record = writer.create(kind, body)
        else:
            raise errors.unsupported(f"{operation} on {kind.name}")
        return 200, call.envelope({kind.name: render(call.realm, record)})

    return run


def entity_read(entity: str, record_id: str):
    """The handler for GET /<entity>/<id>."""

    def run(call: Call):
        kind = BY_PATH.get(entity.lower())
        if kind is None:
            raise errors.unsupported(f"GET /{entity}")
        record = call.realm.get(kind.name, record_id)
        if record is None:
            raise errors.object_not_found(kind.name, record_id)
        return 200, call.envelope({kind.name: render(call.realm, record)})

    return run


def entity_pdf(entity: str, record_id: str):
    """The handler for GET /<entity>/<id>/pdf: invoices, estimates, sales receipts and credit memos."""

    def run(call: Call):
        kind = BY_PATH.get(entity.lower())
        if kind is None or kind.name not in PDF_ENTITIES:
            raise errors.unsupported(f"GET /{entity}/{record_id}/pdf")
        record = call.realm.get(kind.name, record_id)
        if record is None:
            raise errors.object_not_found(kind.name, record_id)
        rendered = render(call.realm, record)
        return 200, Binary(document_pdf([f"{kind.name} {rendered.get('DocNumber') or record_id}",
                                         f"Total {rendered.get('TotalAmt')}"]))

    return run


def _fixed_object(call: Call, body: dict) -> dict:
    out = copy.deepcopy(body)
    seeded = call.realm.iso(min(r.created for r in call.realm.records["Account"].values()))
    out["MetaData"] = {"CreateTime": seeded, "LastUpdatedTime": seeded}
    return out


def company_objects(call: Call, entity: str, ids: set[str] | None = None) -> list[dict]:
    """Rendered objects of an entity, for queries and the ledger (only those of `ids`, when given)."""
    if entity == "CompanyInfo":
        return [_fixed_object(call, call.realm.company)]
    if entity == "Preferences":
        return [_fixed_object(call, call.realm.preferences)]
    return [render(call.realm, record) for record in call.realm.live(entity) if ids is None or record.id in ids]


def _ids_wanted(parsed) -> set[str] | None:
    """The Ids a query is limited to (`Id = x` or `Id IN (...)` among its conditions), else None: only
    those objects need rendering."""
    for condition in parsed.conditions:
        if condition.prop.lower() == "id" and condition.op.lower() in ("=", "in"):
            return {str(value) for value in condition.values}
    return None


def run_query(call: Call, text: str) -> dict:
    """Parse and run a select statement; the QueryResponse object."""
    parsed = query.parse(text)
    names = {name.lower(): name for name in list(KINDS) + list(QUERYABLE_EXTRA)}
    entity = names.get(parsed.entity.lower())
    if entity is None:
        raise errors.query_invalid(f"Entity '{parsed.entity}' is not queryable")
    ids = _ids_wanted(parsed) if entity in KINDS else None
    objects = company_objects(call, entity, ids)
    known = {"Id", "SyncToken", "MetaData"} | {key for obj in objects for key in obj}
    if entity in KINDS:
        known |= set(KINDS[entity].fields) | set(KINDS[entity].read_only)
    query.check_properties(parsed, known, entity)
    name_list = entity in KINDS and KINDS[entity].name_list
    return query.run(parsed, objects, entity, call.realm.utc_offset_minutes, active_only=name_list)


def query_handler(call: Call):
    """GET ?query= or POST with Content-Type application/text."""
    if request.method == "POST":
        text = request.get_data(as_text=True)
    else:
        text = request.args.get("query", "")
    return 200, call.envelope({"QueryResponse": run_query(call, text)})


CDC_LOOKBACK_SECONDS = 30 * 86400  # facts §1.3: /cdc looks back 30 days
CDC_MAX_OBJECTS = 1000  # facts §1.3: at most 1,000 objects in one answer


def cdc_handler(call: Call):
    """GET /cdc?entities=Invoice,Payment&changedSince=<ISO>: what changed since then, deleted objects as
    `{Id, status: "Deleted"}`, at most 1,000 objects in all (facts §1.3)."""
    names = {name.lower(): name for name in KINDS}
    wanted = [part.strip() for part in (request.args.get("entities") or "").split(",") if part.strip()]
    if not wanted:
        raise errors.required("entities")
    since = query.parse_time(request.args.get("changedSince") or "", call.realm.utc_offset_minutes)
    if since is None:
        raise errors.invalid_property("changedSince", "must be a date-time")
    if since.timestamp() < call.emulator.clock.now() - CDC_LOOKBACK_SECONDS:
        raise errors.query_invalid("changedSince must be within the last 30 days")
    listings, room = [], CDC_MAX_OBJECTS
    for name in wanted:
        entity = names.get(name.lower())
        if entity is None:
            raise errors.query_invalid(f"Entity '{name}' is not supported by CDC")
        changed = sorted((record for record in call.realm.records[entity].values()
                          if record.updated >= since.timestamp()), key=lambda record: record.updated)[:room]
        room -= len(changed)
        rows = [{**deleted_body(record), "MetaData": {"LastUpdatedTime": call.realm.iso(record.updated)}}
                if record.status == "Deleted" else render(call.realm, record) for record in changed]
        listings.append({entity: rows, "startPosition": 1, "maxResults": len(rows)})
    call.emulator.stats.count("cdc_requests", call.realm_id)
    return 200, call.envelope({"CDCResponse": [{"QueryResponse": listings}]})


def register(bp) -> None:
    """Add the Accounting API routes to the QuickBooks blueprint."""

    @bp.get(f"{COMPANY_PREFIX}/cdc")
    def cdc_view(realm_id):
        """Objects changed since a time (change data capture)."""
        return handle(realm_id, cdc_handler)

    @bp.route(f"{COMPANY_PREFIX}/query", methods=["GET", "POST"])
    def query_view(realm_id):
        """Run a select statement."""
        return handle(realm_id, query_handler)

    @bp.post(f"{COMPANY_PREFIX}/batch")
    def batch_view(realm_id):
        """Up to 30 operations and queries, run one after another."""
        return handle(realm_id, lambda call: batch.run(call, _request_json()), write=True, is_batch=True)

    @bp.get(f"{COMPANY_PREFIX}/companyinfo/<company_id>")
    def company_info_view(realm_id, company_id):
        """The company's CompanyInfo."""
        def run(call):
            if str(company_id) != call.realm.id:
                raise errors.object_not_found("CompanyInfo", company_id)
            return 200, call.envelope({"CompanyInfo": company_objects(call, "CompanyInfo")[0]})
        return handle(realm_id, run)

    @bp.get(f"{COMPANY_PREFIX}/preferences")
    def preferences_view(realm_id):
        """The company's Preferences."""
        return handle(realm_id, lambda call: (200, call.envelope(
            {"Preferences": company_objects(call, "Preferences")[0]})))

    @bp.get(f"{COMPANY_PREFIX}/<entity>/<record_id>/pdf")
    def pdf_view(realm_id, entity, record_id):
        """A sales form as PDF (GET /invoice/<id>/pdf, Accept: application/pdf)."""
        return handle(realm_id, entity_pdf(entity, record_id))

    @bp.get(f"{COMPANY_PREFIX}/<entity>/<record_id>")
    def read_view(realm_id, entity, record_id):
        """Read one object."""
        return handle(realm_id, entity_read(entity, record_id))

    @bp.post(f"{COMPANY_PREFIX}/<entity>")
    def write_view(realm_id, entity):
        """Create, update, void or delete one object."""
        return handle(realm_id, entity_write(entity), write=True)

"""The Accounting API under /xero/api.xro/2.0: the front door (token, tenant, scope, body cap, limits,
faults, Idempotency-Key) and the routes for Invoices, CreditNotes (+ Allocations), Contacts, Payments,
Items, Accounts, TaxRates and Organisation.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from flask import Response, current_app, request

from .. import jsonio
from ..pdf import Binary, document_pdf, wants_pdf
from . import contacts, documents, errors, history, listing, payments, reference
from .documents import CREDIT_NOTE, INVOICE
from .errors import ApiError, ItemInvalid
from .faults import GATEWAY_TIMEOUT_HTML
from .limits import DAY, MINUTE
from .store import Context, Tenant
from .wire import envelope, new_id

API_PREFIX = "/api.xro/2.0"
TENANT_HEADER = "xero-tenant-id"  # required on every Accounting call (spec parameters.requiredHeader)
MAX_BODY_BYTES = 3_500_000  # [P] "at most 3.5 MB per POST" (facts §2.3), read as decimal megabytes
IDEMPOTENCY_KEY_MAX = 128  # spec parameters.idempotencyKey: "128 character max"
IDEMPOTENCY_TTL_SECONDS = 86400  # [U] retention is undocumented; the sandbox keeps answers a sandbox day
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# (scopes that allow writes, extra scopes that allow reads). Granular scopes per DESIGN.md "OAuth and
# tokens"; the legacy accounting.transactions(.read) covers invoices, credit notes, payments and items,
# and the spec lists Items under accounting.settings(.read).
SCOPES = {
    "invoices": ({"accounting.invoices", "accounting.transactions"},
                 {"accounting.invoices.read", "accounting.transactions.read"}),
    "payments": ({"accounting.payments", "accounting.transactions"},
                 {"accounting.payments.read", "accounting.transactions.read"}),
    "items": ({"accounting.invoices", "accounting.transactions", "accounting.settings"},
              {"accounting.invoices.read", "accounting.transactions.read", "accounting.settings.read"}),
    "contacts": ({"accounting.contacts"}, {"accounting.contacts.read"}),
    "settings": ({"accounting.settings"}, {"accounting.settings.read"}),
}
# Failed items echo what was sent plus these flags (spec Invoice.HasErrors, Contact.HasValidationErrors...).
ERROR_FLAGS = {"Invoices": "HasErrors", "CreditNotes": "HasErrors", "Contacts": "HasValidationErrors",
               "Payments": "HasValidationErrors"}


@dataclass
class Call:
    """One Accounting API request being served."""

    emulator: object
    tenant: Tenant
    grant: object

    @property
    def req(self) -> listing.ListRequest:
        """Query parameters and headers, read the Xero way."""
        return listing.ListRequest(request.args, request.headers)

    def context(self) -> Context:
        """A write context at the current sandbox time."""
        return Context(self.tenant, self.emulator.clock.now(), self.req.unitdp)

    def answer(self, payload: dict) -> tuple[int, dict]:
        """200 with Xero's envelope."""
        return 200, envelope(self.emulator.clock.now(), payload)


def _emulator():
    return current_app.extensions["sandbox"]["providers"]["xero"]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _respond(status: int, body, headers: dict) -> Response:
    if isinstance(body, Binary):
        return Response(body.data, status, headers=headers, content_type=body.mimetype)
    if isinstance(body, (dict, list)):
        return Response(jsonio.dumps(body), status, headers=headers, content_type=JSON_CONTENT_TYPE)
    return Response(body or "", status, headers=headers, content_type="text/plain; charset=utf-8")


def _error(error: ApiError, headers: dict) -> Response:
    return _respond(error.status, error.body, {**headers, **error.headers})


def scope_allows(resource: str, write: bool, scopes) -> bool:
    """Does the token's scope cover this endpoint (reads also accept the .read scopes)?"""
    writes, reads = SCOPES[resource]
    allowed = writes if write else writes | reads
    return bool(allowed & set(scopes))


def handle(resource: str, handler, write: bool = False) -> Response:
    """Serve one call the way Xero's gateway does: auth, tenant, scope, size, limits, faults, idempotency."""
    emulator = _emulator()
    emulator.stats.count("api_requests", (request.headers.get(TENANT_HEADER) or "-").strip().lower())
    headers = {"Xero-Correlation-Id": new_id()}
    try:
        if emulator.faults.take("unauthorized_next"):
            emulator.stats.count("faults_injected", "unauthorized")
            raise errors.unauthorized()
        grant = emulator.oauth.check_access(_bearer())
    except ApiError as error:
        emulator.stats.count("unauthorized", "401")
        return _error(error, headers)
    tenant = emulator.store.tenant(request.headers.get(TENANT_HEADER))
    if tenant is None or not emulator.oauth.connected(grant, tenant.id):
        # developer.xero.com/documentation/oauth2/troubleshooting: the header is "missing, incorrect or
        # isn't authorized for use with this access token" -> 403 AuthenticationUnsuccessful.
        emulator.stats.count("forbidden", "tenant")
        return _error(errors.forbidden(errors.AUTHENTICATION_UNSUCCESSFUL), headers)
    limits = emulator.limiter
    if not scope_allows(resource, write, grant.scopes):
        emulator.stats.count("forbidden", "scope")
        return _error(errors.forbidden(errors.AUTHORIZATION_UNSUCCESSFUL),
                      {**headers, **limits.remaining(grant.client_id, tenant.id)})
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return _error(errors.too_large(MAX_BODY_BYTES), headers)
    if emulator.faults.take("throttle_next"):
        problem = emulator.faults.throttle_problem
        emulator.stats.count("throttled", problem)
        emulator.stats.count("faults_injected", f"throttle_{problem}")
        wait = DAY if problem == "day" else MINUTE
        return _error(errors.too_many_requests(problem, limits.retry_after(wait),
                                               limits.remaining(grant.client_id, tenant.id)), headers)
    problem, wait = limits.acquire(grant.client_id, tenant.id)
    if problem is not None:
        emulator.stats.count("throttled", problem)
        return _error(errors.too_many_requests(problem, limits.retry_after(wait),
                                               limits.remaining(grant.client_id, tenant.id)), headers)
    try:
        if emulator.faults.latency:
            time.sleep(emulator.faults.latency)
        headers.update(limits.remaining(grant.client_id, tenant.id))
        if emulator.faults.take_failure():
            emulator.stats.count("faults_injected", "server_error")
            return _error(errors.server_error(), headers)
        call = Call(emulator, tenant, grant)
        status, body, extra, executed = _execute(call, handler, write)
        if executed and write and 200 <= status < 300:
            mode = emulator.faults.take_drop()
            if mode is not None:
                emulator.stats.count("faults_injected", f"dropped_{mode}")
                if mode == "error":
                    return Response(GATEWAY_TIMEOUT_HTML, 504, content_type="text/html")
                time.sleep(emulator.faults.drop_delay)
        return _respond(status, body, {**headers, **extra})
    finally:
        limits.release(grant.client_id, tenant.id)


def _fingerprint() -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)))
    digest = hashlib.sha256(f"{request.method} {request.path}?{query}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def _execute(call: Call, handler, write: bool) -> tuple[int, object, dict, bool]:
    """Run the handler under the store lock, or replay the answer stored for this Idempotency-Key."""
    emulator = call.emulator
    key = request.headers.get("Idempotency-Key") if write else None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        error = errors.problem(400, "Bad Request", f"The Idempotency-Key header must be at most "
                                                   f"{IDEMPOTENCY_KEY_MAX} characters long; it has {len(key)}")
        return error.status, error.body, {}, False
    fingerprint = _fingerprint() if key else None
    with emulator.store.lock:
        now = emulator.clock.now()
        stored = call.tenant.idempotency.get(key) if key else None
        if stored is not None and stored[3] + IDEMPOTENCY_TTL_SECONDS > now:
            if stored[0] != fingerprint:
                # [U] Xero does not document a key reused for another request. Replaying an answer that
                # belongs to a different request would hide a client bug, so the sandbox refuses it.
                error = errors.problem(400, "Bad Request", "This Idempotency-Key was already used for a "
                                                           "different request")
                return error.status, error.body, {}, False
            emulator.stats.count("idempotency_replays", call.tenant.id)
            # Idempotent-Replayed is a sandbox extension (Xero sends no such header), handy when debugging.
            return stored[1], jsonio.loads(stored[2]), {"Idempotent-Replayed": "true"}, False
        try:
            status, body = handler(call)
            extra = {}
        except ApiError as error:
            status, body, extra = error.status, error.body, error.headers
        except Exception:  # a sandbox bug must still look like a 500 from Xero, and be logged
            current_app.logger.exception("Xero sandbox handler failed")
            error = errors.server_error()
            status, body, extra = error.status, error.body, {}
        # Only successful answers are kept: a refused request wrote nothing, so sending a corrected one
        # under the same key is harmless (the QuickBooks emulator treats requestid the same way).
        if key and 200 <= status < 300:
            call.tenant.idempotency[key] = (fingerprint, status, jsonio.dumps(body), now)
        return status, body, extra, True


# Request bodies

def _json_body():
    raw = request.get_data()
    if len(raw) > MAX_BODY_BYTES:
        raise errors.too_large(MAX_BODY_BYTES)
    if not raw.strip():
        raise errors.post_data_invalid("The request body is empty")
    try:
        return jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.post_data_invalid("Invalid Json data") from None


def _items(collection: str) -> list:
    """The objects of a write: `{"Invoices": [...]}` (the spec's shape), a bare list, or one object."""
    body = _json_body()
    if isinstance(body, dict) and collection in body:
        items = body[collection]
        if not isinstance(items, list):
            raise errors.post_data_invalid(f"{collection} must be an array")
        return items
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise errors.post_data_invalid("The request body must be a JSON object")


def _summarize() -> bool:
    """Whole-request 400 unless summarizeErrors=false (the spec's default says false, but Xero's classic
    behaviour, and the facts' advice, is one invalid item fails the request: facts §2.3)."""
    return (listing.ListRequest(request.args, request.headers).arg("summarizeErrors") or "").strip().lower() != "false"


def _failed(item, messages: list[str], collection: str) -> dict:
    element = dict(item) if isinstance(item, dict) else {}
    if collection in ERROR_FLAGS:
        element[ERROR_FLAGS[collection]] = True
    element["StatusAttributeString"] = "ERROR"
    element["ValidationErrors"] = [{"Message": message} for message in messages]
    return element


def run_items(call: Call, items: list, apply, render, collection: str) -> tuple[int, dict]:
    """Apply each item in its own nested transaction; all-or-nothing unless summarizeErrors=false."""
    tenant = call.tenant
    ctx = call.context()
    summarize = _summarize()
    outer = tenant.begin()
    results = []
    try:
        for item in items:
            inner = tenant.begin()
            try:
                record = apply(ctx, item)
            except ItemInvalid as invalid:
                tenant.rollback(inner)
                results.append((None, _failed(item, invalid.messages, collection)))
            except BaseException:
                tenant.rollback(inner)
                raise
            else:
                tenant.commit(inner)
                results.append((record, None))
    except BaseException:
        tenant.rollback(outer)
        raise
    failures = [element for record, element in results if record is None]
    if failures and summarize:
        tenant.rollback(outer)
        raise errors.validation_exception(failures)
    call.emulator.finish(tenant.commit(outer), tenant)
    out = [{**render(record), "StatusAttributeString": "OK"} if record is not None else element
           for record, element in results]
    return call.answer({collection: out})


# Handlers

def pdf_of(document: dict) -> Binary:
    """A rendered invoice or credit note as the PDF Xero returns for Accept: application/pdf."""
    number = document.get("InvoiceNumber") or document.get("CreditNoteNumber") or ""
    return Binary(document_pdf([f"{document.get('Type', '')} {number}".strip(), f"Total {document.get('Total')}"]))


def _document_routes(bp, kind, resource: str) -> None:
    path = f"{API_PREFIX}/{kind.collection}"

    def render(call):
        return lambda record: documents.render(call.tenant, kind, record, call.req.unitdp)

    def existing(call, key):
        record = documents.find(call.tenant, kind, key)
        if record is None:
            raise errors.not_found()
        return record

    @bp.get(path, endpoint=f"list_{kind.collection}")
    def list_view():
        """List documents."""
        return handle(resource, lambda call: call.answer(listing.invoices(call.tenant, call.req, kind)))

    @bp.put(path, endpoint=f"put_{kind.collection}")
    def put_view():
        """Create documents (PUT never updates)."""
        return handle(resource, lambda call: run_items(
            call, _items(kind.collection), lambda ctx, item: documents.write(ctx, kind, item, True),
            render(call), kind.collection), write=True)

    @bp.post(path, endpoint=f"post_{kind.collection}")
    def post_view():
        """Create or update documents."""
        return handle(resource, lambda call: run_items(
            call, _items(kind.collection), lambda ctx, item: documents.write(ctx, kind, item, False),
            render(call), kind.collection), write=True)

    @bp.get(f"{path}/<key>", endpoint=f"get_{kind.collection}")
    def get_view(key):
        """One document by id or number, with its lines (as a PDF for Accept: application/pdf)."""
        if wants_pdf(request.headers.get("Accept")):
            return handle(resource, lambda call: (200, pdf_of(render(call)(existing(call, key)))))
        return handle(resource, lambda call: call.answer(
            {kind.collection: [render(call)(existing(call, key))]}))

    @bp.post(f"{path}/<key>", endpoint=f"update_{kind.collection}")
    def update_view(key):
        """Update (approve, void, delete) one document."""
        def run(call):
            record = existing(call, key)
            items = _items(kind.collection)
            if len(items) != 1:
                raise errors.post_data_invalid(f"POST /{kind.collection}/{{id}} takes exactly one object")
            return run_items(call, items, lambda ctx, item: documents.write(ctx, kind, item, False, record.id),
                             render(call), kind.collection)
        return handle(resource, run, write=True)


def register(bp) -> None:
    """Add the Accounting API routes to the Xero blueprint."""
    _document_routes(bp, INVOICE, "invoices")
    _document_routes(bp, CREDIT_NOTE, "invoices")

    @bp.put(f"{API_PREFIX}/CreditNotes/<key>/Allocations")
    def allocations_view(key):
        """Allocate a credit note to invoices."""
        def run(call):
            credit = documents.find(call.tenant, CREDIT_NOTE, key)
            if credit is None:
                raise errors.not_found()
            return run_items(call, _items("Allocations"), lambda ctx, item: payments.allocate(ctx, credit, item),
                             lambda record: documents.render_allocation(call.tenant, record), "Allocations")
        return handle("invoices", run, write=True)

    @bp.put(f"{API_PREFIX}/Invoices/<key>/History", endpoint="put_invoice_history")
    def invoice_history_put_view(key):
        """Add notes to an invoice's history."""
        def run(call):
            invoice = documents.find(call.tenant, INVOICE, key)
            if invoice is None:
                raise errors.not_found()
            return run_items(call, _items("HistoryRecords"), lambda ctx, item: history.add(ctx, invoice, item),
                             history.render, "HistoryRecords")
        return handle("invoices", run, write=True)

    @bp.get(f"{API_PREFIX}/Invoices/<key>/History", endpoint="get_invoice_history")
    def invoice_history_view(key):
        """An invoice's history records (its notes)."""
        def run(call):
            invoice = documents.find(call.tenant, INVOICE, key)
            if invoice is None:
                raise errors.not_found()
            records = history.of_document(call.tenant.all("HistoryRecord"), invoice.id)
            return call.answer({"HistoryRecords": [history.render(r) for r in records]})
        return handle("invoices", run)

    @bp.delete(f"{API_PREFIX}/CreditNotes/<key>/Allocations/<allocation_id>")
    def delete_allocation_view(key, allocation_id):
        """Remove one allocation (the answer is the Allocation with IsDeleted true)."""
        def run(call):
            credit = documents.find(call.tenant, CREDIT_NOTE, key)
            allocation = call.tenant.get("Allocation", allocation_id)
            if credit is None or allocation is None or allocation.body["_credit"] != credit.id:
                raise errors.not_found()
            with call.emulator.transaction(call.tenant):
                payments.delete_allocation(call.context(), allocation)
            return 200, documents.render_allocation(call.tenant, allocation)
        return handle("invoices", run, write=True)

    @bp.get(f"{API_PREFIX}/Contacts")
    def contacts_view():
        """List contacts."""
        return handle("contacts", lambda call: call.answer(listing.contact_list(call.tenant, call.req)))

    def contact_render(call):
        return lambda record: contacts.render(call.tenant, record)

    @bp.put(f"{API_PREFIX}/Contacts")
    def put_contacts_view():
        """Create contacts."""
        return handle("contacts", lambda call: run_items(
            call, _items("Contacts"), lambda ctx, item: contacts.upsert(ctx, item, True), contact_render(call),
            "Contacts"), write=True)

    @bp.post(f"{API_PREFIX}/Contacts")
    def post_contacts_view():
        """Create or update contacts."""
        return handle("contacts", lambda call: run_items(
            call, _items("Contacts"), lambda ctx, item: contacts.upsert(ctx, item, False), contact_render(call),
            "Contacts"), write=True)

    def existing_contact(call, key):
        record = contacts.find(call.tenant, key)
        if record is None:
            raise errors.not_found()
        return record

    @bp.get(f"{API_PREFIX}/Contacts/<key>")
    def contact_view(key):
        """One contact by ContactID or ContactNumber."""
        return handle("contacts", lambda call: call.answer(
            {"Contacts": [contacts.render(call.tenant, existing_contact(call, key))]}))

    @bp.post(f"{API_PREFIX}/Contacts/<key>")
    def update_contact_view(key):
        """Update one contact."""
        def run(call):
            record = existing_contact(call, key)
            items = _items("Contacts")
            if len(items) != 1:
                raise errors.post_data_invalid("POST /Contacts/{id} takes exactly one object")
            return run_items(call, items, lambda ctx, item: contacts.upsert(ctx, item, False, record.id),
                             contact_render(call), "Contacts")
        return handle("contacts", run, write=True)

    def payment_render(call):
        return lambda record: payments.render(call.tenant, record)

    @bp.get(f"{API_PREFIX}/Payments")
    def payments_view():
        """List payments."""
        return handle("payments", lambda call: call.answer(listing.payment_list(call.tenant, call.req)))

    @bp.put(f"{API_PREFIX}/Payments")
    @bp.post(f"{API_PREFIX}/Payments", endpoint="post_payments_view")
    def put_payments_view():
        """Create payments (PUT takes an array; POST one payment, or the same array)."""
        return handle("payments", lambda call: run_items(call, _items("Payments"), payments.create,
                                                         payment_render(call), "Payments"), write=True)

    def existing_payment(call, key):
        record = call.tenant.get("Payment", key)
        if record is None:
            raise errors.not_found()
        return record

    @bp.get(f"{API_PREFIX}/Payments/<key>")
    def payment_view(key):
        """One payment."""
        return handle("payments", lambda call: call.answer(
            {"Payments": [payments.render(call.tenant, existing_payment(call, key))]}))

    @bp.post(f"{API_PREFIX}/Payments/<key>")
    def delete_payment_view(key):
        """Delete a payment with `{"Status": "DELETED"}` (payments cannot be edited otherwise)."""
        def run(call):
            record = existing_payment(call, key)
            return run_items(call, [_json_body()], lambda ctx, item: payments.update(ctx, record, item),
                             payment_render(call), "Payments")
        return handle("payments", run, write=True)

    def item_render(call):
        return lambda record: reference.render_item(call.tenant, record, call.req.unitdp)

    @bp.get(f"{API_PREFIX}/Items")
    def items_view():
        """List items."""
        return handle("items", lambda call: call.answer(listing.item_list(call.tenant, call.req)))

    @bp.put(f"{API_PREFIX}/Items")
    def put_items_view():
        """Create items."""
        return handle("items", lambda call: run_items(
            call, _items("Items"), lambda ctx, item: reference.upsert_item(ctx, item, True), item_render(call),
            "Items"), write=True)

    @bp.post(f"{API_PREFIX}/Items")
    def post_items_view():
        """Create or update items."""
        return handle("items", lambda call: run_items(
            call, _items("Items"), lambda ctx, item: reference.upsert_item(ctx, item, False), item_render(call),
            "Items"), write=True)

    def existing_item(call, key):
        record = reference.find_item(call.tenant, key)
        if record is None:
            raise errors.not_found()
        return record

    @bp.get(f"{API_PREFIX}/Items/<key>")
    def item_view(key):
        """One item by ItemID or Code."""
        return handle("items", lambda call: call.answer(
            {"Items": [reference.render_item(call.tenant, existing_item(call, key), call.req.unitdp)]}))

    @bp.post(f"{API_PREFIX}/Items/<key>")
    def update_item_view(key):
        """Update one item."""
        def run(call):
            record = existing_item(call, key)
            items = _items("Items")
            if len(items) != 1:
                raise errors.post_data_invalid("POST /Items/{id} takes exactly one object")
            return run_items(call, items, lambda ctx, item: reference.upsert_item(ctx, item, False, record.id),
                             item_render(call), "Items")
        return handle("items", run, write=True)

    @bp.get(f"{API_PREFIX}/Accounts")
    def accounts_view():
        """The chart of accounts."""
        return handle("settings", lambda call: call.answer(listing.account_list(call.tenant, call.req)))

    @bp.get(f"{API_PREFIX}/Accounts/<key>")
    def account_view(key):
        """One account by AccountID."""
        def run(call):
            record = call.tenant.get("Account", key)
            if record is None:
                raise errors.not_found()
            return call.answer({"Accounts": [reference.render_account(call.tenant, record)]})
        return handle("settings", run)

    @bp.get(f"{API_PREFIX}/TaxRates")
    def tax_rates_view():
        """The organisation's tax rates."""
        return handle("settings", lambda call: call.answer(listing.tax_rate_list(call.tenant, call.req)))

    @bp.get(f"{API_PREFIX}/TaxRates/<key>")
    def tax_rate_view(key):
        """One tax rate by TaxType."""
        def run(call):
            record = call.tenant.get("TaxRate", key)
            if record is None:
                raise errors.not_found()
            return call.answer({"TaxRates": [reference.render_tax_rate(call.tenant, record)]})
        return handle("settings", run)

    @bp.get(f"{API_PREFIX}/Organisation")
    def organisation_view():
        """The organisation behind xero-tenant-id."""
        return handle("settings", lambda call: call.answer(
            {"Organisations": [reference.render_organisation(call.tenant)]}))

"""One operation against its ledger: load the input, resolve references, call the adapter."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import Flask

from bridge import errors
from bridge.ledgers.base import Ledger, LedgerRef, Written
from bridge.schemas import CreditNoteSchema, CustomerSchema, InvoiceSchema, PaymentSchema
from bridge.schemas.fast import Fallback, compile_schema
from bridge.store.models import Connection, LedgerObject, Operation, utcnow
from bridge.sync import items
from bridge.sync.adapters import adapter_for

SCHEMAS = {"invoice": InvoiceSchema(), "payment": PaymentSchema(), "credit_note": CreditNoteSchema(),
           "customer": CustomerSchema()}
FAST = {kind: compile_schema(schema) for kind, schema in SCHEMAS.items()}
DUPLICATE_NAME = "6240"
MAPPING_CHECK_CUSTOMER = "0"
"""Stand-in customer id of the payload built only to check the mapping (never sent)."""


class Run:
    """The state of one operation's run: app, session, adapter."""

    def __init__(self, app: Flask, db, op: Operation, adapter: Ledger):
        self.app, self.db, self.op, self.adapter = app, db, op, adapter
        self.warnings: list[str] = []
        """Said along the way (an item created for a product code), added to the write's warnings."""

    def ref(self, obj: str, external_id: str) -> LedgerRef | None:
        """What we remember of an object we wrote to this connection."""
        row = self.db.get(LedgerObject, (self.op.connection_id, obj, external_id))
        return LedgerRef(row.ledger_id, dict(row.extra or {})) if row else None

    def remember(self, obj: str, external_id: str, ledger_id: str, extra: dict | None = None) -> None:
        """Store (or update) our external id -> ledger id atomically (two workers may race), committed at once."""
        remember_many(self.db, [(self.op, obj, external_id, ledger_id, extra)])
        self.db.commit()
        self.db.expire_all()

    def key(self, suffix: str = "") -> str:
        """The operation's ledger idempotency key, with a suffix per step."""
        return self.op.request_key + (f"-{suffix}" if suffix else "")


def remember_many(db, rows: list[tuple[Operation, str, str, str, dict | None]]) -> None:
    """Upsert (operation, object, external_id, ledger_id, extra) mappings in one statement; the caller commits."""
    if not rows:
        return
    now = utcnow()
    values = [{"connection_id": op.connection_id, "object": obj, "external_id": external_id, "ledger_id": ledger_id,
               "extra": extra or {}, "operation_id": op.id, "updated_at": now}
              for op, obj, external_id, ledger_id, extra in rows]
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(LedgerObject)
    db.execute(insert.on_conflict_do_update(
        index_elements=["connection_id", "object", "external_id"],
        set_={name: getattr(insert.excluded, name) for name in ("ledger_id", "extra", "operation_id", "updated_at")}),
        values)


def written_total(written: Written) -> dict:
    """The total the ledger computed when we wrote a document (`{"total": "260.15"}`), kept for reconciliation."""
    total = ((written.object or {}).get("totals") or {}).get("total")
    return {"total": str(total)} if total is not None else {}


def _customer_hash(customer: dict) -> str:
    """A fingerprint of what we last sent for a customer (unchanged: no write)."""
    return hashlib.sha256(json.dumps(customer, sort_keys=True, default=str).encode()).hexdigest()


def ledger_owns_customers(run: Run) -> bool:
    """mapping.source_of_truth.customers is "ledger": customers already linked are never updated by us."""
    return ((run.adapter.context.mapping or {}).get("source_of_truth") or {}).get("customers") == "ledger"


def ensure_customer(run: Run, customer: dict, *, force: bool = False) -> LedgerRef:
    """The customer's ledger ref: known, or found-or-created (updated when it changed)."""
    external_id = customer["external_id"]
    existing = run.ref("customer", external_id)
    if set(customer) - {"external_id"} == set():
        if existing is None:
            raise errors.LedgerRejected("Unknown customer.", errors=[{
                "field": "customer.external_id", "code": "unknown_customer",
                "message": "No customer with this external_id has been sent to this ledger; send it in full."}])
        return existing
    digest = _customer_hash(customer)
    if existing is not None and existing.extra.get("hash") == digest and not force:
        return existing
    if existing is not None and not force and ledger_owns_customers(run):
        return existing  # the bookkeeper's version in the ledger wins: changes on our side are not pushed
    try:
        written = run.adapter.upsert_customer(customer, existing, run.key("c"))
    except errors.LedgerRejected as exc:
        if not any(e.get("code") == DUPLICATE_NAME for e in exc.errors) or existing is not None:
            raise
        # Another worker created the same customer a moment ago: the retry finds it by name.
        written = run.adapter.upsert_customer(customer, None, run.key("c2"))
    run.remember("customer", external_id, written.ledger_id, {"hash": digest, **written.extra})
    return LedgerRef(written.ledger_id, {"hash": digest, **written.extra})


def _invoice_ref(run: Run, external_id: str, field: str) -> LedgerRef:
    """An invoice we wrote, or a rejection naming the field that refers to it."""
    ref = run.ref("invoice", external_id)
    if ref is None:
        raise errors.LedgerRejected("Unknown invoice.", errors=[{
            "field": field, "code": "unknown_invoice",
            "message": f"Invoice {external_id!r} has not reached this ledger (its operation failed or was never sent)."}])
    return ref


def mapped_or_refused(run: Run, kind: str, data: dict) -> None:
    """Build the document's payload once before anything is written: a line the mapping cannot place
    (no item, account or tax code, and no default) fails the operation now, naming the line's field,
    before the customer or anything else reaches the ledger. When the invoicing platform owns items
    (source_of_truth.items), the items of unmapped product codes are then found or created."""
    def check() -> None:
        preview = {"invoice": run.adapter.preview_invoice, "credit_note": run.adapter.preview_credit_note}[kind]
        try:
            preview(data, LedgerRef(MAPPING_CHECK_CUSTOMER), None)
        except NotImplementedError:
            pass

    items.place(run, data, check)


def upsert_invoice(run: Run, data: dict) -> Written:
    """The customer first, then the invoice (its mapping checked before either)."""
    mapped_or_refused(run, "invoice", data)
    customer = ensure_customer(run, data["customer"])
    written = run.adapter.upsert_invoice(data, customer, run.ref("invoice", data["external_id"]), run.key())
    written.warnings = run.warnings + written.warnings
    run.remember("invoice", data["external_id"], written.ledger_id, {
        **written.extra, **written_total(written), "customer_ledger_id": customer.ledger_id,
        "customer_external_id": data["customer"]["external_id"]})
    return written


def void_invoice(run: Run, data: dict) -> Written:
    """Void an invoice we wrote."""
    ref = _invoice_ref(run, run.op.external_id, "external_id")
    written = run.adapter.void_invoice(ref, run.key())
    run.remember("invoice", run.op.external_id, ref.ledger_id, {**ref.extra, **written.extra, "voided": True})
    return written


def add_note(run: Run, data: dict) -> Written:
    """A note on an invoice we wrote."""
    return run.adapter.add_note(_invoice_ref(run, run.op.external_id, "external_id"), data["text"], run.key())


def record_payment(run: Run, data: dict) -> Written:
    """A payment applied to an invoice we wrote."""
    invoice = _invoice_ref(run, data["invoice_external_id"], "invoice_external_id")
    customer = LedgerRef(invoice.extra.get("customer_ledger_id", ""), {})
    written = run.adapter.record_payment(data, invoice, customer, run.ref("payment", data["external_id"]), run.key())
    run.remember("payment", data["external_id"], written.ledger_id,
                 {**written.extra, "invoice_external_id": data["invoice_external_id"]})
    return written


def upsert_credit_note(run: Run, data: dict) -> Written:
    """A credit note, allocated to invoices we wrote (its mapping checked first)."""
    mapped_or_refused(run, "credit_note", data)
    customer = ensure_customer(run, data["customer"])
    allocations = [(allocation, _invoice_ref(run, allocation["invoice_external_id"], f"allocations[{index}].invoice_external_id"))
                   for index, allocation in enumerate(data.get("allocations") or [])]
    written = run.adapter.upsert_credit_note(data, customer, allocations, run.ref("credit_note", data["external_id"]),
                                             run.key())
    written.warnings = run.warnings + written.warnings
    run.remember("credit_note", data["external_id"], written.ledger_id, {**written.extra, **written_total(written)})
    return written


def upsert_customer(run: Run, data: dict) -> Written:
    """A customer on its own."""
    ref = ensure_customer(run, data, force=True)
    return Written(ledger_id=ref.ledger_id)


ACTIONS = {("invoice", "upsert"): upsert_invoice, ("invoice", "void"): void_invoice, ("invoice", "note"): add_note,
           ("payment", "upsert"): record_payment, ("credit_note", "upsert"): upsert_credit_note,
           ("customer", "upsert"): upsert_customer}


def load_input(op: Operation) -> dict:
    """The operation's stored input, validated again into Decimals and dates."""
    raw = json.loads(op.payload, parse_float=Decimal)
    if op.action in ("void", "note"):
        return raw
    raw.pop("payments", None) if op.object == "invoice" else None
    try:
        return FAST[op.object](raw)
    except Fallback:
        return SCHEMAS[op.object].load(raw)


def perform(app: Flask, op: Operation, record) -> Written:
    """Run the operation's action against its ledger."""
    with app.extensions["bridge.sessions"]() as db:
        connection = db.execute(sa.select(Connection).where(Connection.id == op.connection_id)).scalar_one()
        run = Run(app, db, op, adapter_for(app, connection, record, after_uncertain=op.uncertain))
        return ACTIONS[(op.object, op.action)](run, load_input(op))

"""Reconciliation: what we wrote against what the ledger holds now, item by item (DESIGN.md "Sync").

A run reads back every invoice, payment and credit note we wrote on a connection (batched by the
adapter, within the connection's rate limiter) and records each difference as a DriftItem. An object
the ledger could not be asked about is `could_not_check`, never counted as in sync.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Flask, current_app

from bridge import errors
from bridge.events import emit
from bridge.ledgers.base import LedgerRef
from bridge.schemas.operation import UNFINISHED
from bridge.store.models import (
    Connection,
    DriftItem,
    LedgerObject,
    Operation,
    ReconciliationRun,
    utcnow,
)
from bridge.sync.adapters import adapter_for

log = logging.getLogger(__name__)

READ_CHUNK = 50
"""Objects asked for per adapter call: a failing call leaves only its own chunk unchecked."""
OBJECTS = ("invoice", "payment", "credit_note")
READABLE = ("active", "paused")
"""Connection states whose ledger can be read (a paused connection still reads)."""
KINDS = ("missing", "total_differs", "status_differs", "amount_differs", "unknown_payment", "could_not_check")
"""Drift kinds: gone from the ledger; its total, status or amount is not ours; a payment we did not
write; the ledger could not be asked."""


@dataclass
class Ours:
    """One object we wrote: its ledger ref and the last payload the ledger accepted."""

    object: str
    external_id: str
    ledger_id: str
    extra: dict
    payload: dict
    voided: bool = False

    @property
    def invoice_external_id(self) -> str | None:
        """The invoice a payment applies to."""
        return self.extra.get("invoice_external_id") or self.payload.get("invoice_external_id")

    def total(self) -> Decimal | None:
        """The total the ledger computed when we wrote it (else the one we declared), if known."""
        value = self.extra.get("total") or (self.payload.get("totals") or {}).get("total")
        if self.object == "payment":
            value = self.payload.get("amount")
        return _decimal(value)


@dataclass
class Finding:
    """One drift found by a run."""

    object: str
    kind: str
    external_id: str | None = None
    ledger_id: str | None = None
    ours: object = None
    theirs: object = None
    detail: str = ""
    invoice_external_id: str | None = None

    @property
    def identity(self) -> tuple:
        """What makes two runs' findings the same drift."""
        return self.object, self.external_id or "", self.ledger_id if self.external_id is None else "", self.kind


@dataclass
class Outcome:
    """What a run found."""

    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    clean: set = field(default_factory=set)
    """(object, external_id) checked and found in sync."""


def _decimal(value) -> Decimal | None:
    """A stored amount as Decimal, or None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _text(value) -> str | None:
    """An amount or status as the string a drift item keeps."""
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


# --- what we wrote -------------------------------------------------------------------------------------

def ours(db, connection_id: str) -> list[Ours]:
    """Every invoice, payment and credit note we wrote on the connection and are not writing now."""
    rows = db.execute(sa.select(LedgerObject).where(
        LedgerObject.connection_id == connection_id, LedgerObject.object.in_(OBJECTS))).scalars().all()
    ops = db.execute(sa.select(Operation.object, Operation.external_id, Operation.action, Operation.status,
                               Operation.payload).where(
        Operation.connection_id == connection_id, Operation.object.in_(OBJECTS)).order_by(Operation.seq)).all()
    payloads: dict[tuple[str, str], dict] = {}
    voided: dict[tuple[str, str], bool] = {}
    busy = set()
    for op in ops:
        key = (op.object, op.external_id)
        if op.status in UNFINISHED:
            busy.add(key)
        if op.status != "succeeded":
            continue
        if op.action == "upsert":
            payloads[key] = json.loads(op.payload)
            voided[key] = False
        elif op.action == "void":
            voided[key] = True
    found = []
    for row in rows:
        key = (row.object, row.external_id)
        if key in busy or key not in payloads:
            continue  # in flight (the next run sees its outcome), or never written by an upsert of ours
        extra = dict(row.extra or {})
        found.append(Ours(row.object, row.external_id, row.ledger_id, extra, payloads[key],
                          voided.get(key, False) or bool(extra.get("voided"))))
    return found


# --- comparing -----------------------------------------------------------------------------------------

def _unreadable(item: Ours, reason: str) -> Finding:
    """An object the ledger could not be asked about."""
    return Finding(item.object, "could_not_check", item.external_id, item.ledger_id, detail=reason,
                   invoice_external_id=item.invoice_external_id if item.object == "payment" else None)


def compare_invoice(invoice: Ours, theirs: dict | None, payments: list[Ours], outcome: Outcome) -> None:
    """An invoice and the payments on it, against the ledger's copy."""
    outcome.checked += 1 + len(payments)
    found: list[Finding] = []
    ours_total = invoice.total()
    if theirs is None or (theirs.get("status") == "void" and not invoice.voided):
        if theirs is None and invoice.voided:
            outcome.clean.add(("invoice", invoice.external_id))
            outcome.checked -= len(payments)
            return
        how = "deleted" if theirs is None else "voided"
        outcome.findings.append(Finding("invoice", "missing", invoice.external_id, invoice.ledger_id, ours_total,
                                        None, f"The invoice was {how} in the ledger; we did not void it. "
                                        "Xero and FreshBooks keep the number of a voided or deleted invoice: "
                                        'resync with a new {"number": ...} there.'))
        outcome.checked -= len(payments)  # they follow the invoice: resync it first
        return
    if invoice.voided:
        if theirs.get("status") != "void":
            found.append(Finding("invoice", "status_differs", invoice.external_id, invoice.ledger_id, "void",
                                 theirs.get("status"), "We voided this invoice; the ledger holds it as "
                                 f"{theirs.get('status')}."))
    else:
        their_total = (theirs.get("totals") or {}).get("total")
        if ours_total is not None and their_total is not None and Decimal(their_total) != ours_total:
            found.append(Finding("invoice", "total_differs", invoice.external_id, invoice.ledger_id, ours_total,
                                 Decimal(their_total), "The ledger's total is not the one we wrote."))
    outcome.findings += found
    if not found:
        outcome.clean.add(("invoice", invoice.external_id))
    _compare_payments(invoice, theirs.get("payments") or [], payments, outcome)


def _compare_payments(invoice: Ours, theirs: list[dict], payments: list[Ours], outcome: Outcome) -> None:
    """Our payments on an invoice against the ledger's, and the ledger's we do not know."""
    by_id = {str(payment["ledger_id"]): payment for payment in theirs}
    for payment in payments:
        held = by_id.pop(str(payment.ledger_id), None)
        amount = payment.total()
        if held is None:
            outcome.findings.append(Finding("payment", "missing", payment.external_id, payment.ledger_id, amount,
                                            None, "The ledger no longer holds this payment.",
                                            invoice.external_id))
        elif amount is not None and Decimal(held["amount"]) != amount:
            outcome.findings.append(Finding("payment", "amount_differs", payment.external_id, payment.ledger_id,
                                            amount, Decimal(held["amount"]),
                                            "The ledger's payment amount is not the one we wrote.",
                                            invoice.external_id))
        else:
            outcome.clean.add(("payment", payment.external_id))
    for ledger_id, held in by_id.items():
        outcome.findings.append(Finding("payment", "unknown_payment", None, ledger_id, None, _decimal(held["amount"]),
                                        f"A payment recorded in the ledger on invoice {invoice.external_id}, "
                                        "not through the bridge.", invoice.external_id))


def compare_credit_note(note: Ours, theirs: dict | None, outcome: Outcome) -> None:
    """A credit note against the ledger's copy."""
    outcome.checked += 1
    ours_total = note.total()
    if theirs is None or theirs.get("status") == "void" or theirs.get("void"):
        outcome.findings.append(Finding("credit_note", "missing", note.external_id, note.ledger_id, ours_total, None,
                                        "The credit note was deleted or voided in the ledger."))
        return
    their_total = (theirs.get("totals") or {}).get("total")
    if ours_total is not None and their_total is not None and Decimal(their_total) != ours_total:
        outcome.findings.append(Finding("credit_note", "total_differs", note.external_id, note.ledger_id, ours_total,
                                        Decimal(their_total), "The ledger's total is not the one we wrote."))
        return
    outcome.clean.add(("credit_note", note.external_id))


def _read(read, items: list[Ours], extra=lambda item: {}) -> tuple[dict, dict[str, str]]:
    """Ask the ledger for `items` chunk by chunk: (their copies by ledger id, reasons of unreadable ids)."""
    copies, unreadable = {}, {}
    for start in range(0, len(items), READ_CHUNK):
        chunk = items[start:start + READ_CHUNK]
        try:
            copies.update(read([LedgerRef(item.ledger_id, {**item.extra, **extra(item)}) for item in chunk]))
        except errors.BridgeError as exc:
            unreadable.update({item.ledger_id: f"The ledger could not be read: {exc.detail}" for item in chunk})
        except Exception as exc:  # never report an object we could not read as in sync
            log.exception("reconciliation read failed")
            unreadable.update({item.ledger_id: f"The ledger could not be read ({exc.__class__.__name__})"
                               for item in chunk})
    return copies, unreadable


def check(adapter, written: list[Ours]) -> Outcome:
    """Compare everything we wrote with the ledger's copies."""
    outcome = Outcome()
    invoices = [item for item in written if item.object == "invoice"]
    notes = [item for item in written if item.object == "credit_note"]
    payments_of: dict[str, list[Ours]] = {}
    for item in written:
        if item.object == "payment":
            payments_of.setdefault(item.invoice_external_id or "", []).append(item)
    if invoices:
        copies, unreadable = _read(adapter.read_invoices, invoices,
                                   lambda item: {"expect_payments": bool(payments_of.get(item.external_id))})
        for invoice in invoices:
            payments = payments_of.get(invoice.external_id, [])
            if invoice.ledger_id in unreadable:
                outcome.checked += 1 + len(payments)
                reason = unreadable[invoice.ledger_id]
                outcome.findings += [_unreadable(item, reason) for item in (invoice, *payments)]
            else:
                compare_invoice(invoice, copies.get(invoice.ledger_id), payments, outcome)
    if notes:
        copies, unreadable = _read(adapter.read_credit_notes, notes)
        for note in notes:
            if note.ledger_id in unreadable:
                outcome.checked += 1
                outcome.findings.append(_unreadable(note, unreadable[note.ledger_id]))
            else:
                compare_credit_note(note, copies.get(note.ledger_id), outcome)
    return outcome


# --- runs ----------------------------------------------------------------------------------------------

def new_run_id() -> str:
    """A run id."""
    return "rec_" + secrets.token_hex(12)


def claim_run(db, run_id: str) -> ReconciliationRun | None:
    """Mark a queued run running (one worker wins); None when another has it or it is done."""
    claimed = db.execute(sa.update(ReconciliationRun).where(
        ReconciliationRun.id == run_id, ReconciliationRun.status == "queued").values(
        status="running", started_at=utcnow()).execution_options(synchronize_session=False))
    db.commit()
    return db.get(ReconciliationRun, run_id) if claimed.rowcount == 1 else None


def run_status(run: ReconciliationRun) -> str:
    """The outcome of a finished run: could_not_check wins over drift, drift over in_sync."""
    if run.could_not_check:
        return "could_not_check"
    return "drift" if run.drift else "in_sync"


def record(db, run: ReconciliationRun, outcome: Outcome, now: datetime) -> None:
    """Store the findings as drift items (a drift still open keeps its item), resolve the ones gone."""
    items = db.execute(sa.select(DriftItem).where(
        DriftItem.connection_id == run.connection_id,
        sa.or_(DriftItem.status.in_(("open", "could_not_check")), DriftItem.resolution == "acknowledged"))
    ).scalars().all()
    known = {(i.object, i.external_id or "", i.ledger_id if i.external_id is None else "", i.kind): i for i in items}
    seen = set()
    for finding in outcome.findings:
        status = "could_not_check" if finding.kind == "could_not_check" else "open"
        item = known.get(finding.identity)
        if item is not None and item.resolution == "acknowledged":
            seen.add(item.id)
            continue
        if item is not None:
            item.last_run_id, item.ours, item.theirs = run.id, _text(finding.ours), _text(finding.theirs)
            item.detail, item.updated_at = finding.detail, now
            seen.add(item.id)
        else:
            item = DriftItem(id="drift_" + secrets.token_hex(12), account_id=run.account_id, run_id=run.id,
                             last_run_id=run.id, connection_id=run.connection_id, object=finding.object,
                             external_id=finding.external_id, invoice_external_id=finding.invoice_external_id,
                             ledger_id=finding.ledger_id, kind=finding.kind, ours=_text(finding.ours),
                             theirs=_text(finding.theirs), detail=finding.detail, status=status,
                             created_at=now, updated_at=now)
            db.add(item)
            db.flush()
            if status == "open":
                emit(db, account_id=run.account_id, event="reconciliation.drift", data=event_data(item),
                     connection_id=run.connection_id, dedupe_key=f"reconciliation.drift:{item.id}")
        if status == "open":
            run.drift += 1
        else:
            run.could_not_check += 1
    for item in items:
        if item.id in seen or item.resolution == "acknowledged":
            continue
        subject = (item.object, item.external_id) if item.external_id else None
        if (subject in outcome.clean) or (item.kind == "unknown_payment" and ("invoice", item.invoice_external_id)
                                          in outcome.clean):
            item.status, item.resolution, item.updated_at = "resolved", "in_sync", now
    run.checked = outcome.checked
    run.in_sync = len(outcome.clean)


def reconcile(app: Flask, run_id: str) -> str:
    """Run one reconciliation: read the ledger, compare, store drift items; returns the run's status."""
    sessions = app.extensions["bridge.sessions"]
    with sessions() as db:
        run = claim_run(db, run_id)
        if run is None:
            return "not claimed"
        connection = db.get(Connection, run.connection_id)
        written = ours(db, run.connection_id)
        if connection.status not in READABLE:
            reason = f"The connection is {connection.status}; its ledger cannot be read."
            outcome = Outcome(checked=len(written), findings=[_unreadable(item, reason) for item in written])
            run.error = reason
        else:
            outcome = check(adapter_for(app, connection), written) if written else Outcome()
        now = utcnow()
        record(db, run, outcome, now)
        run.status, run.finished_at = run_status(run), now
        db.commit()
        return run.status


def reconcile_connection(connection_id: str, run_id: str) -> str:
    """RQ job (queue `reconciliation`): run a reconciliation of the connection; safe to run twice."""
    app = current_app._get_current_object()
    try:
        return reconcile(app, run_id)
    except Exception as exc:
        with app.extensions["bridge.sessions"]() as db:
            db.execute(sa.update(ReconciliationRun).where(
                ReconciliationRun.id == run_id, ReconciliationRun.connection_id == connection_id,
                ReconciliationRun.status == "running").values(status="failed", error=str(exc)[:2000],
                                                             finished_at=utcnow()))
            db.commit()
        raise


# --- documents -----------------------------------------------------------------------------------------

def shaped_item(item: DriftItem) -> dict:
    """The drift item document (API and event data)."""
    return {"id": item.id, "run_id": item.run_id, "last_run_id": item.last_run_id,
            "connection_id": item.connection_id, "object": item.object, "external_id": item.external_id,
            "invoice_external_id": item.invoice_external_id, "ledger_id": item.ledger_id, "kind": item.kind,
            "ours": item.ours, "theirs": item.theirs, "detail": item.detail, "status": item.status,
            "resolution": item.resolution, "operation_id": item.operation_id,
            "created_at": item.created_at, "updated_at": item.updated_at}


def event_data(item: DriftItem) -> dict:
    """The drift item document, JSON-safe, as a `reconciliation.drift` event carries it."""
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in shaped_item(item).items()}


def shaped_run(run: ReconciliationRun) -> dict:
    """The run document."""
    return {"id": run.id, "connection_id": run.connection_id, "trigger": run.trigger, "status": run.status,
            "checked": run.checked, "in_sync": run.in_sync, "drift": run.drift,
            "could_not_check": run.could_not_check, "error": run.error, "created_at": run.created_at,
            "started": run.started_at, "finished": run.finished_at}

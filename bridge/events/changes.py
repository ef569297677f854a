"""Ledger changes into events, each exactly once, whether a webhook announced them (`apply_notices`, from
the inbound-webhook job) or a poll found them (bridge.events.polling).

The changed objects are read in batches (`Ledger.read_objects`) and compared with what we last saw of
each one (ObservedObject). What a change emits:
- invoice.created, customer.created, credit_note.created: the first sight of the object, unless the
  ledger shows it was made before the connection (its creation time, where the ledger gives one);
- invoice.updated: any change a user would see in an invoice already seen (or an older one seen first);
- invoice.paid: its balance reached zero with a total above zero; again only after it was unpaid between;
- invoice.voided: it became void (QBO Void, Xero VOIDED/DELETED), or it was deleted from the ledger after
  we saw it (QBO Delete, a FreshBooks delete): the data is then what we knew, with `"deleted": true`;
- payment.received: a customer payment (not a credit allocation) seen for the first time and made since
  the connection was. A payment's invoices are read with it; a Xero invoice read carries its payments
  (Xero sends no payment webhooks). Other deletions emit nothing: an invoice whose payment was deleted
  is unpaid again, and its next payment is invoice.paid again.
Dedupe keys name the change (an invoice's n-th payoff, a version's fingerprint), so a webhook and a poll
seeing the same change, or a replayed webhook, record one event.

One reader per connection at a time (a Redis lock held while reading and committing), so an older read
never lands after a newer one; webhook notices that arrive meanwhile wait as stored rows, and the lock
holder reads them with its next batch (bridge.events.inbound.jobs), which keeps bursts to a few batched reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from redis.exceptions import LockError
from sqlalchemy.dialects import postgresql, sqlite

from bridge.events import dispatch, emit_many
from bridge.events.shapes import event_data, jsonable
from bridge.ledgers.base import Change
from bridge.store.models import Connection, LedgerObject, ObservedObject, utcnow
from bridge.sync import queue
from bridge.sync.adapters import adapter_for

log = logging.getLogger(__name__)

OBJECTS = ("customer", "credit_note", "payment", "invoice")
"""The objects whose changes are read, in the order a batch is decided (payments before the invoices
they pay)."""
READABLE = ("active", "paused")
"""Connection states whose ledger changes are read (a paused connection still reports what happens)."""
LOCK_SECONDS = 120
"""The reader lock's lifetime, renewed before each batch; a reader that died frees it after this long."""
READ_PATIENCE_SECONDS = 30.0
"""How long one read waits for its rate-limit slot: the reader keeps its notices and waits (more gather
meanwhile, so the next read carries more) rather than handing them back for a retry."""
CLOCK_SKEW = timedelta(minutes=5)
"""Allowance between a ledger's clock and ours when comparing its times with the connection's creation."""
IDS_PER_SELECT = 500


@contextmanager
def reader(app: Flask, connection_id: str, wait: float = 0.0):
    """Hold the connection's change reader (yields the lock, or None when another holds it past `wait`)."""
    lock = queue.connection(app).lock(f"bridge:changes:{connection_id}:reader", timeout=LOCK_SECONDS, sleep=0.02)
    held = lock.acquire(blocking=wait > 0, blocking_timeout=wait or None)
    try:
        yield lock if held else None
    finally:
        if held:
            try:
                lock.release()
            except LockError:  # it expired meanwhile: nothing to release
                pass


# --- webhooks ------------------------------------------------------------------------------------------

def apply_notices(app: Flask, connection_id: str, notices: list[dict]) -> int:
    """Read the objects ledger webhooks announced (`[{object, ledger_id, operation}]`, batched) and emit
    their events once (the caller holds the reader); how many events were recorded. Raises when the ledger
    could not be read (retry it)."""
    with app.extensions["bridge.sessions"]() as db:
        connection = db.get(Connection, connection_id)
        if connection is None or connection.status not in READABLE:
            return 0
        db.expunge(connection)
    wanted: dict[str, dict[str, str]] = {}
    for notice in notices:
        if notice.get("object") in OBJECTS and notice.get("ledger_id"):
            ids = wanted.setdefault(notice["object"], {})
            ids[str(notice["ledger_id"])] = _stronger(ids.get(str(notice["ledger_id"])), notice.get("operation"))
    adapter = adapter_for(app, connection, max_sleep=READ_PATIENCE_SECONDS)
    changes = []
    for obj, found in _read_side_by_side(app, connection, adapter, wanted).items():
        for ledger_id, operation in wanted[obj].items():
            data = found.get(ledger_id)
            if data is None:
                changes.append(Change(obj, {"ledger_id": ledger_id, "deleted": True}, "delete"))
            else:
                changes.append(Change(obj, data, operation))
    return apply_changes(app, connection, changes, adapter)


def _read_side_by_side(app: Flask, connection: Connection, adapter, wanted: dict[str, dict]) -> dict[str, dict]:
    """Each kind of object read by id, the kinds side by side (a payment and its invoice in the time of one
    read; each thread has its own adapter and takes its own rate-limit slot)."""
    if len(wanted) < 2:
        return {obj: adapter.read_objects(obj, list(ids)) for obj, ids in wanted.items()}

    def read(obj: str) -> tuple[str, dict]:
        with app.app_context():
            own = adapter_for(app, connection, max_sleep=READ_PATIENCE_SECONDS)
            return obj, own.read_objects(obj, list(wanted[obj]))

    with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="change-read") as pool:
        return dict(pool.map(read, wanted))


OPERATION_WEIGHT = {"update": 0, "create": 1, "void": 2, "delete": 3}


def _stronger(current: str | None, new: str | None) -> str:
    """Of two announced operations on one object, the one that decides most (delete > void > create > update)."""
    new = new if new in OPERATION_WEIGHT else "update"
    if current is None:
        return new
    return new if OPERATION_WEIGHT[new] > OPERATION_WEIGHT[current] else current


# --- the core: changes into events ---------------------------------------------------------------------

def apply_changes(app: Flask, connection: Connection, changes: list[Change], adapter=None,
                  before_commit=None) -> int:
    """Emit the events of changes read from the ledger and remember what was seen, in one transaction
    (`before_commit(db)` adds to it: the poll's checkpoint); how many events were recorded."""
    adapter = adapter or adapter_for(app, connection)
    changes = _with_related(adapter, _merged(changes))
    with app.extensions["bridge.sessions"]() as db:
        seen = _seen(db, connection.id, changes)
        written = _written(db, connection.id, changes)
        decide = _Decisions(connection, seen, written)
        for change in sorted(changes, key=lambda change: OBJECTS.index(change.object)):
            decide.change(change)
        events = decide.events()
        event_ids = emit_many(db, events)
        _remember(db, connection.id, decide.states)
        if before_commit is not None:
            before_commit(db)
        db.commit()
    if events:
        dispatch.deliver_new(app, event_ids)  # REST hooks now, not at the relay's next pass
        log.info("connection %s: %d ledger change events from %d changes", connection.id, len(events), len(changes))
    return len(events)


def _merged(changes: list[Change]) -> list[Change]:
    """One change per object: the newest read (a full payment over one listed on its invoice), "create" kept."""
    merged: dict[tuple[str, str], Change] = {}
    for change in changes:
        key = (change.object, str(change.data.get("ledger_id")))
        before = merged.get(key)
        if before is None or _newer(change.data, before.data):
            operation = change.operation
            if before is not None and before.operation == "create" and operation == "update":
                operation = "create"
            merged[key] = Change(change.object, change.data, operation)
        elif change.operation == "create" and before.operation == "update":
            merged[key] = Change(before.object, before.data, "create")
    return list(merged.values())


def _newer(data: dict, than: dict) -> bool:
    """Whether `data` is a later (or fuller) read of an object than `than`."""
    mine, theirs = data.get("updated_at"), than.get("updated_at")
    if mine is None or theirs is None:
        return theirs is None and (mine is not None or len(data) >= len(than))
    return mine >= theirs


def _with_related(adapter, changes: list[Change]) -> list[Change]:
    """Add the invoices a changed payment applies to (read in one batch), and the payments an invoice
    read carries (Xero)."""
    present = {(change.object, str(change.data.get("ledger_id"))) for change in changes}
    invoices = {str(invoice_id) for change in changes if change.object == "payment"
                for invoice_id in change.data.get("invoice_ledger_ids") or [] if invoice_id}
    missing = sorted(invoice_id for invoice_id in invoices if ("invoice", invoice_id) not in present)
    if missing:
        for data in adapter.read_objects("invoice", missing).values():
            if data is not None:
                changes.append(Change("invoice", data, "update"))
    carried = [Change("payment", payment, "update") for change in changes if change.object == "invoice"
               for payment in change.data.get("payments") or []]
    return _merged(changes + carried)


def _seen(db, connection_id: str, changes: list[Change]) -> dict[tuple[str, str], ObservedObject]:
    """What we last saw of the changed objects."""
    seen = {}
    for obj in OBJECTS:
        ids = sorted({str(change.data["ledger_id"]) for change in changes if change.object == obj})
        for start in range(0, len(ids), IDS_PER_SELECT):
            rows = db.execute(sa.select(ObservedObject).where(
                ObservedObject.connection_id == connection_id, ObservedObject.object == obj,
                ObservedObject.ledger_id.in_(ids[start:start + IDS_PER_SELECT]))).scalars()
            seen.update({(row.object, row.ledger_id): row for row in rows})
    return seen


def _written(db, connection_id: str, changes: list[Change]) -> dict[tuple[str, str], str]:
    """Our external ids of the objects (and of the payments' invoices) the bridge wrote."""
    wanted: dict[str, set[str]] = {}
    for change in changes:
        wanted.setdefault(change.object, set()).add(str(change.data["ledger_id"]))
        if change.object == "payment" and change.data.get("invoice_ledger_id"):
            wanted.setdefault("invoice", set()).add(str(change.data["invoice_ledger_id"]))
    found = {}
    for obj, ids in wanted.items():
        ids = sorted(ids)
        for start in range(0, len(ids), IDS_PER_SELECT):
            rows = db.execute(sa.select(LedgerObject.ledger_id, LedgerObject.external_id).where(
                LedgerObject.connection_id == connection_id, LedgerObject.object == obj,
                LedgerObject.ledger_id.in_(ids[start:start + IDS_PER_SELECT]))).all()
            found.update({(obj, row.ledger_id): row.external_id for row in rows})
    return found


def fingerprint(data: dict) -> str:
    """A short hash of what an event shows of an object (its update time left out)."""
    shown = {key: value for key, value in data.items() if key != "updated_at"}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:24]


def _stamp(moment: datetime | None) -> str | None:
    """A ledger time as stored (ISO, UTC)."""
    return jsonable(moment) if moment is not None else None


def _parse_stamp(text: str | None) -> datetime | None:
    """A stored ledger time."""
    return datetime.fromisoformat(text) if text else None


class _Decisions:
    """The events and new states of one batch of changes on one connection."""

    def __init__(self, connection: Connection, seen: dict, written: dict):
        self.connection = connection
        self.seen = seen
        self.written = written
        self.since = connection.created_at - CLOCK_SKEW
        self.states: dict[tuple[str, str], dict] = {}
        self.first: list[dict] = []  # created events
        self.then: list[dict] = []  # payments, then what happened to invoices
        self.paid_by_new_payment: set[str] = set()

    def events(self) -> list[dict]:
        """Created events first, then payments, then invoice updates, payoffs and voids."""
        return self.first + self.then

    def _event(self, where: list, event: str, key: str, data: dict) -> None:
        where.append({"account_id": self.connection.account_id, "connection_id": self.connection.id,
                      "event": event, "data": data, "dedupe_key": f"{event}:{self.connection.id}:{key}"[:300]})

    def _shown(self, obj: str, data: dict) -> dict:
        """The event data, with our external ids."""
        data = {**data, "external_id": self.written.get((obj, str(data["ledger_id"])))}
        if obj == "payment":
            data["invoice_external_id"] = self.written.get(("invoice", str(data.get("invoice_ledger_id"))))
        return event_data(obj, data)

    def _recent(self, data: dict, operation: str, *, by_date: bool = False) -> bool:
        """Whether an object seen for the first time was made since the connection was (as far as the ledger says)."""
        if operation == "create":
            return True
        for name in ("created_at", "updated_at"):
            if data.get(name) is not None:
                return data[name] >= self.since
        if by_date and data.get("date") is not None:
            return data["date"] >= (self.since - timedelta(days=1)).date()
        return True

    def change(self, change: Change) -> None:
        """Decide one change."""
        obj, data = change.object, change.data
        ledger_id = str(data["ledger_id"])
        prev = self.seen.get((obj, ledger_id))
        if data.get("deleted"):
            self._deleted(obj, ledger_id, prev, data)
            return
        updated = data.get("updated_at")
        if prev is not None and prev.stamp and updated is not None and updated < _parse_stamp(prev.stamp):
            return  # an older read than the one we have
        shown = self._shown(obj, data)
        state = {"status": data.get("status"), "number": data.get("number"), "balance": None,
                 "stamp": _stamp(updated) or (prev.stamp if prev else None), "fingerprint": fingerprint(shown),
                 "paid_count": prev.paid_count if prev else 0}
        if obj == "invoice":
            self._invoice(ledger_id, prev, data, shown, state, change.operation)
        elif obj == "payment":
            self._payment(ledger_id, prev, data, shown, change.operation)
        elif prev is None and self._recent(data, change.operation):
            self._event(self.first, f"{obj}.created", ledger_id, shown)
        self.states[(obj, ledger_id)] = state

    def _deleted(self, obj: str, ledger_id: str, prev, data: dict) -> None:
        """An object gone from the ledger: a deleted invoice we knew (and not as void) is invoice.voided."""
        if obj == "invoice" and prev is not None and prev.status not in ("void", "deleted"):
            self._event(self.then, "invoice.voided", ledger_id, {
                "ledger_id": ledger_id, "external_id": self.written.get(("invoice", ledger_id)),
                "number": prev.number, "status": "void", "deleted": True})
        self.states[(obj, ledger_id)] = {
            "status": "deleted", "number": prev.number if prev else None, "balance": prev.balance if prev else None,
            "stamp": _stamp(data.get("updated_at")) or (prev.stamp if prev else None),
            "fingerprint": prev.fingerprint if prev else None, "paid_count": prev.paid_count if prev else 0}

    def _invoice(self, ledger_id: str, prev, data: dict, shown: dict, state: dict, operation: str) -> None:
        """invoice.created / updated / paid / voided."""
        status = data.get("status")
        total = (data.get("totals") or {}).get("total")
        paid = status == "paid" and total is not None and total > 0
        state["balance"] = jsonable(data.get("balance"))
        version = hashlib.sha256(f"{state['stamp']}|{state['fingerprint']}".encode()).hexdigest()[:24]
        if prev is None:
            new = self._recent(data, operation)
            if new:
                self._event(self.first, "invoice.created", ledger_id, shown)
            else:
                self._event(self.then, "invoice.updated", f"{ledger_id}:{version}", shown)
            changed_lately = new or ledger_id in self.paid_by_new_payment or \
                (data.get("updated_at") is not None and data["updated_at"] >= self.since)
            was_paid, was_void = not changed_lately, not changed_lately
        else:
            if state["fingerprint"] != prev.fingerprint:
                self._event(self.then, "invoice.updated", f"{ledger_id}:{version}", shown)
            was_paid, was_void = prev.status == "paid", prev.status in ("void", "deleted")
        if paid and not was_paid:
            state["paid_count"] += 1
            self._event(self.then, "invoice.paid", f"{ledger_id}:{state['paid_count']}", shown)
        elif paid and prev is None:
            state["paid_count"] = 1  # paid before we saw it: its payoff is not news
        if status == "void" and not was_void:
            self._event(self.then, "invoice.voided", ledger_id, shown)

    def _payment(self, ledger_id: str, prev, data: dict, shown: dict, operation: str) -> None:
        """payment.received, once per payment."""
        live = data.get("status") == "active" and not data.get("allocation") and (data.get("amount") or 0) > 0
        if prev is None and live and self._recent(data, operation, by_date=True):
            self._event(self.then, "payment.received", ledger_id, shown)
            self.paid_by_new_payment.update(str(i) for i in data.get("invoice_ledger_ids") or [])


def _remember(db, connection_id: str, states: dict[tuple[str, str], dict]) -> None:
    """Store what was seen (one upsert)."""
    if not states:
        return
    now = utcnow()
    rows = [{"connection_id": connection_id, "object": obj, "ledger_id": ledger_id, "updated_at": now, **state}
            for (obj, ledger_id), state in states.items()]
    insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(ObservedObject)
    columns = ("status", "number", "balance", "stamp", "fingerprint", "paid_count", "updated_at")
    db.execute(insert.on_conflict_do_update(
        index_elements=["connection_id", "object", "ledger_id"],
        set_={name: getattr(insert.excluded, name) for name in columns}), rows)

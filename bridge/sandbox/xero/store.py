"""In-memory Xero organisations: records by GUID, numbering, idempotency answers, undoable writes.

One re-entrant lock guards the whole store. Writes run inside `Transaction`s so that a request whose
items fail validation leaves nothing behind (Xero's whole-request 400), while `summarizeErrors=false`
keeps the good items: every item runs in a nested transaction that is merged into the request's one.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .wire import new_id

ENTITIES = ("Contact", "Item", "Account", "TaxRate", "Invoice", "CreditNote", "Payment", "Allocation",
            "HistoryRecord")


@dataclass
class Record:
    """One stored object: its fields (Xero names; internal ones start with `_`) and its times."""

    entity: str
    id: str
    body: dict
    created: float
    updated: float


@dataclass
class Transaction:
    """Undo information and pending change notifications of one unit of work."""

    parent: "Transaction | None"
    counters: dict
    snapshots: dict = field(default_factory=dict)  # (entity, id) -> Record copy, or None when created
    changes: list = field(default_factory=list)  # (category, id, operation)
    writes: list = field(default_factory=list)  # entity names, for the stats

    def note(self, record: Record, created: bool) -> None:
        """Remember how `record` looked before this transaction first changed it."""
        key = (record.entity, record.id)
        if key not in self.snapshots:
            self.snapshots[key] = None if created else copy.deepcopy(record)

    def change(self, category: str, object_id: str, operation: str) -> None:
        """Queue a webhook-style change; a CREATE absorbs later UPDATEs of the same object."""
        if (category, object_id, "CREATE") in self.changes or (category, object_id, operation) in self.changes:
            return
        self.changes.append((category, object_id, operation))


@dataclass
class Tenant:
    """One Xero organisation."""

    id: str
    name: str
    country: str
    base_currency: str
    utc_offset_minutes: int
    organisation: dict
    no_tax_type: str
    created: float
    records: dict = field(default_factory=lambda: {entity: {} for entity in ENTITIES})
    counters: dict = field(default_factory=dict)
    idempotency: dict = field(default_factory=dict)  # key -> (fingerprint, status, text, stored_at)
    lookups: dict = field(default_factory=dict)  # (index, value) -> ids that had it; readers re-check the record
    tx: Transaction | None = None

    # Reading

    def get(self, entity: str, record_id) -> Record | None:
        """A record by id (any status), GUIDs compared case-insensitively."""
        if not isinstance(record_id, str):
            return None
        return self.records[entity].get(record_id.lower())

    def all(self, entity: str) -> list[Record]:
        """Every record of `entity`, oldest first."""
        return list(self.records[entity].values())

    def remember(self, index: str, value, record_id: str) -> None:
        """Note that a record had `value` (a number, a name key). Entries are never removed: a rollback
        or a later change leaves stale ones, so whoever recalls must check the record itself."""
        if value not in (None, ""):
            self.lookups.setdefault((index, value), []).append(record_id)

    def recall(self, entity: str, index: str, value) -> list[Record]:
        """Records that once had `value` in `index`, oldest first (to be checked by the caller)."""
        ids = dict.fromkeys(self.lookups.get((index, value), ()))
        records = (self.records[entity].get(record_id) for record_id in ids)
        return sorted((r for r in records if r is not None), key=lambda r: r.created)

    def today(self, now: float) -> str:
        """The organisation's local date (default document dates)."""
        offset = timezone(timedelta(minutes=self.utc_offset_minutes))
        return datetime.fromtimestamp(now, offset).date().isoformat()

    # Writing (inside a transaction)

    def begin(self) -> Transaction:
        """Open a (possibly nested) transaction."""
        self.tx = Transaction(self.tx, copy.deepcopy(self.counters))
        return self.tx

    def commit(self, tx: Transaction) -> Transaction | None:
        """Close `tx`; a nested one is merged into its parent, the outermost one is returned."""
        assert self.tx is tx, "transactions must close in order"
        self.tx = tx.parent
        if tx.parent is None:
            return tx
        for key, snapshot in tx.snapshots.items():
            tx.parent.snapshots.setdefault(key, snapshot)
        for change in tx.changes:
            tx.parent.change(*change)
        tx.parent.writes.extend(tx.writes)
        return None

    def rollback(self, tx: Transaction) -> None:
        """Undo everything `tx` did."""
        assert self.tx is tx, "transactions must close in order"
        for (entity, record_id), snapshot in reversed(list(tx.snapshots.items())):
            if snapshot is None:
                self.records[entity].pop(record_id, None)
            else:
                self.records[entity][record_id] = snapshot
        self.counters = tx.counters
        self.tx = tx.parent

    def add(self, entity: str, body: dict, now: float, record_id: str | None = None) -> Record:
        """Store a new record (seeds pass their own id)."""
        record = Record(entity, (record_id or new_id()).lower(), body, now, now)
        if self.tx is not None:
            self.tx.note(record, created=True)
            self.tx.writes.append(entity)
        self.records[entity][record.id] = record
        return record

    def touch(self, record: Record, now: float) -> Record:
        """Call before changing a stored record: keeps its undo copy and moves UpdatedDateUTC."""
        if self.tx is not None:
            self.tx.note(record, created=False)
            self.tx.writes.append(record.entity)
        record.updated = max(now, record.updated)
        return record

    def change(self, category: str, object_id: str, operation: str) -> None:
        """Queue a change notification (INVOICE, CONTACT, CREDITNOTE x CREATE, UPDATE)."""
        if self.tx is not None:
            self.tx.change(category, object_id, operation)


@dataclass
class Context:
    """What a write needs: the organisation, the sandbox time and the request's unit precision."""

    tenant: Tenant
    now: float
    unitdp: int = 2

    def add(self, entity: str, body: dict) -> Record:
        """Store a new record now."""
        return self.tenant.add(entity, body, self.now)

    def touch(self, record: Record) -> Record:
        """Prepare `record` for a change."""
        return self.tenant.touch(record, self.now)

    def change(self, category: str, object_id: str, operation: str) -> None:
        """Queue a change notification."""
        self.tenant.change(category, object_id, operation)


class Store:
    """Every organisation of the emulator, behind one re-entrant lock."""

    def __init__(self, seed_factory):
        self.lock = threading.RLock()
        self._seed_factory = seed_factory
        self.tenants: dict[str, Tenant] = {}

    def reset(self, now: float) -> None:
        """Back to the seeds."""
        with self.lock:
            self.tenants = self._seed_factory(now)

    def tenant(self, tenant_id) -> Tenant | None:
        """An organisation by tenant id (case-insensitive)."""
        if not isinstance(tenant_id, str):
            return None
        return self.tenants.get(tenant_id.strip().lower())

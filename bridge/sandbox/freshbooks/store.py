"""In-memory FreshBooks businesses: records per entity, id counters, callbacks. One lock guards it all."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ENTITIES = ("client", "invoice", "payment", "credit_note", "item", "tax")
# Numeric ids per entity; distinct ranges make a client id used as an invoice id fail loudly in tests.
FIRST_IDS = {"client": 10001, "invoice": 20001, "payment": 30001, "credit_note": 40001, "item": 50001,
             "tax": 60001, "callback": 70001}
ACTIVE, DELETED, ARCHIVED = 0, 1, 2  # vis_state [V] freshbooks.com/api/active_deleted


@dataclass
class Record:
    """One stored object: its stored fields plus the state FreshBooks keeps beside them."""

    entity: str
    id: int
    body: dict
    created: float
    updated: float
    vis_state: int = ACTIVE
    meta: dict = field(default_factory=dict)  # invoices: sent/emailed; payments: overpayment link


@dataclass
class Business:
    """One FreshBooks business: `account_id` for accounting, `id` for projects, `uuid` for ledger accounts."""

    id: int
    account_id: str
    uuid: str
    name: str
    currency: str
    country: str
    province: str
    city: str
    street: str
    postal_code: str
    records: dict = field(default_factory=lambda: {entity: {} for entity in ENTITIES})
    counters: dict = field(default_factory=dict)
    last_numbers: dict = field(default_factory=dict)  # "invoice"/"credit_note" -> last number used
    invoice_numbers: dict = field(default_factory=dict)  # invoice number -> invoice id (deleted ones too)
    callbacks: dict = field(default_factory=dict)  # callbackid -> callback dict
    ledger_accounts: list = field(default_factory=list)
    payments_by_invoice: dict = field(default_factory=dict)  # invoice id -> [payment ids]
    payments_by_credit: dict = field(default_factory=dict)  # credit note id -> [payment ids]

    def next_id(self, kind: str) -> int:
        """The next free id for an entity (or "callback")."""
        value = self.counters.get(kind, FIRST_IDS[kind] - 1) + 1
        self.counters[kind] = value
        return value

    def add(self, entity: str, body: dict, now: float) -> Record:
        """Store a new object under a fresh id."""
        record = Record(entity, self.next_id(entity), body, now, now)
        self.records[entity][record.id] = record
        return record

    def get(self, entity: str, record_id) -> Record | None:
        """An object by id, deleted ones included (callers decide what a deleted object means)."""
        try:
            return self.records[entity].get(int(record_id))
        except (TypeError, ValueError):
            return None

    def usable(self, entity: str, record_id) -> Record | None:
        """An object a new write may refer to: it exists and is not deleted."""
        record = self.get(entity, record_id)
        return record if record is not None and record.vis_state != DELETED else None

    def all(self, entity: str) -> list[Record]:
        """Every object of an entity, deleted ones included, in id order."""
        return sorted(self.records[entity].values(), key=lambda r: r.id)

    def live(self, entity: str) -> list[Record]:
        """Objects that are not deleted, in id order."""
        return [r for r in self.all(entity) if r.vis_state != DELETED]

    def remove(self, entity: str, record_id: int) -> None:
        """Forget an object (taxes are really deleted)."""
        self.records[entity].pop(record_id, None)


class Store:
    """Every business of the emulator, behind one re-entrant lock."""

    def __init__(self, seed_factory):
        self.lock = threading.RLock()
        self._seed_factory = seed_factory
        self.businesses: dict[str, Business] = {}

    def reset(self, now: float, extra_businesses: bool) -> None:
        """Back to the seeds."""
        with self.lock:
            self.businesses = self._seed_factory(now, extra_businesses)

    def set_extra(self, now: float, extra_businesses: bool) -> None:
        """Add or drop the extra seeded businesses, leaving the main one as it is."""
        with self.lock:
            seeded = self._seed_factory(now, extra_businesses)
            for account_id in list(self.businesses):
                if account_id not in seeded:
                    del self.businesses[account_id]
            for account_id, business in seeded.items():
                self.businesses.setdefault(account_id, business)

    def business(self, account_id: str) -> Business | None:
        """A business by account_id."""
        return self.businesses.get(str(account_id))

    def by_uuid(self, business_uuid: str) -> Business | None:
        """A business by business_uuid."""
        return next((b for b in self.businesses.values() if b.uuid == business_uuid), None)

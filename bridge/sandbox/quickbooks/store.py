"""In-memory QBO companies (realms): records, id counters, requestid answers. One lock guards it all."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

# Transactions share one id sequence in QBO; name lists (customers, items...) each have their own.
TRANSACTION_ENTITIES = ("Invoice", "Payment", "CreditMemo")
NAME_ENTITIES = ("Customer", "Item", "Account", "TaxCode", "TaxRate")
ENTITIES = NAME_ENTITIES + TRANSACTION_ENTITIES
FIRST_TRANSACTION_ID = 100
FIRST_NAME_ID = 1


@dataclass
class Record:
    """One stored object: its writable fields plus the bookkeeping QBO adds."""

    entity: str
    id: str
    body: dict
    created: float
    updated: float
    sync_token: int = 0
    status: str = "Active"  # Active | Voided | Deleted
    computed: dict = field(default_factory=dict)  # totals worked out on write (sales documents, payments)


@dataclass
class Realm:
    """One QBO company."""

    id: str
    company: dict
    preferences: dict
    utc_offset_minutes: int
    records: dict = field(default_factory=lambda: {entity: {} for entity in ENTITIES})
    counters: dict = field(default_factory=dict)
    requestids: dict = field(default_factory=dict)
    hidden: set = field(default_factory=set)
    applied: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)  # (TxnType, TxnId) -> ids of live payments linking it
    contributions: dict = field(default_factory=dict)  # payment id -> [((TxnType, TxnId), amount)]
    linked_keys: dict = field(default_factory=dict)  # payment id -> [(TxnType, TxnId)]
    version: int = 0  # bumped on every write; keys the caches below
    cache: dict = field(default_factory=dict)
    clock: object = None  # the emulator's SandboxClock (default dates)

    @property
    def country(self) -> str:
        """CompanyInfo.Country ("US", "GB")."""
        return self.company["Country"]

    @property
    def is_us(self) -> bool:
        """US companies use TAX/NON line codes and one transaction tax code."""
        return self.country == "US"

    @property
    def home_currency(self) -> str:
        """Preferences.CurrencyPrefs.HomeCurrency."""
        return self.preferences["CurrencyPrefs"]["HomeCurrency"]["value"]

    def iso(self, epoch: float, millis: bool = False) -> str:
        """An ISO 8601 time with this company's UTC offset, as QBO writes MetaData."""
        moment = datetime.fromtimestamp(epoch, timezone(timedelta(minutes=self.utc_offset_minutes)))
        return moment.isoformat(timespec="milliseconds" if millis else "seconds")

    def today(self, epoch: float) -> str:
        """The company's local date at `epoch` (default TxnDate)."""
        return self.iso(epoch)[:10]

    def _counter_key(self, entity: str) -> str:
        return "Transaction" if entity in TRANSACTION_ENTITIES else entity

    def next_id(self, entity: str) -> str:
        """The next free Id for `entity`."""
        key = self._counter_key(entity)
        start = FIRST_TRANSACTION_ID if key == "Transaction" else FIRST_NAME_ID
        value = self.counters.get(key, start - 1) + 1
        self.counters[key] = value
        return str(value)

    def add(self, entity: str, body: dict, now: float, record_id: str | None = None) -> Record:
        """Store a new object (seeds pass their own Id)."""
        record = Record(entity, record_id or self.next_id(entity), body, now, now)
        if record.id.isdigit():
            key = self._counter_key(entity)
            self.counters[key] = max(self.counters.get(key, 0), int(record.id))
        self.records[entity][record.id] = record
        return record

    def get(self, entity: str, record_id, include_deleted: bool = False) -> Record | None:
        """A stored object by Id (deleted ones only on request)."""
        record = self.records[entity].get(str(record_id))
        if record is None or (record.status == "Deleted" and not include_deleted):
            return None
        return record

    def referable(self, entity: str, record_id) -> Record | None:
        """An object a reference may point at: not deleted, not created earlier in the running batch."""
        record = self.get(entity, record_id)
        if record is None or (entity, record.id) in self.hidden:
            return None
        return record

    def iter_live(self, entity: str):
        """Non-deleted objects of `entity`, in no particular order."""
        return (r for r in self.records[entity].values() if r.status != "Deleted")

    def live(self, entity: str) -> list[Record]:
        """Every non-deleted object of `entity`, in Id order."""
        return sorted((r for r in self.records[entity].values() if r.status != "Deleted"), key=_id_key)

    def deleted(self, entity: str) -> list[Record]:
        """Tombstones of deleted objects (for CDC and the ledger)."""
        return sorted((r for r in self.records[entity].values() if r.status == "Deleted"), key=_id_key)

    def index_payment(self, payment: Record) -> None:
        """Re-file what one payment applies (and links) after it was written."""
        for key, amount in self.contributions.pop(payment.id, []):
            self.applied[key] -= amount
        for key in self.linked_keys.pop(payment.id, []):
            self.links[key].remove(payment.id)
        if payment.status == "Deleted":
            return
        contributions, keys = [], []
        for line in payment.body.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                key = (link["TxnType"], link["TxnId"])
                if key not in keys:
                    keys.append(key)
                    self.links.setdefault(key, []).append(payment.id)
                if payment.status != "Voided":
                    contributions.append((key, line["Amount"]))
                    self.applied[key] = self.applied.get(key, Decimal("0")) + line["Amount"]
        self.contributions[payment.id] = contributions
        self.linked_keys[payment.id] = keys

    def touch(self) -> None:
        """Note a write: cached figures must be worked out again."""
        self.version += 1
        self.cache.clear()

    def cached(self, key: str, build):
        """A figure derived from the whole realm, rebuilt after any write."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def applied_to(self, entity: str, record_id: str, excluding: str | None = None) -> Decimal:
        """Amount applied by payments to a transaction, optionally leaving one payment out."""
        total = self.applied.get((entity, record_id), Decimal("0"))
        if excluding is not None:
            payment = self.get("Payment", excluding)
            if payment is not None and payment.status != "Voided":
                for line in payment.body.get("Line") or []:
                    for link in line.get("LinkedTxn") or []:
                        if (link["TxnType"], link["TxnId"]) == (entity, record_id):
                            total -= line["Amount"]
        return total

    def payments_linking(self, entity: str, record_id: str) -> list[Record]:
        """Live payments with a line linked to the given transaction."""
        return [self.records["Payment"][pid] for pid in self.links.get((entity, record_id), [])]


def _id_key(record: Record):
    return (0, int(record.id), "") if record.id.isdigit() else (1, 0, record.id)


class Store:
    """Every realm of the emulator, behind one re-entrant lock."""

    def __init__(self, seed_factory, clock):
        self.lock = threading.RLock()
        self.clock = clock
        self._seed_factory = seed_factory
        self.realms: dict[str, Realm] = {}

    def reset(self, now: float) -> None:
        """Back to the seeds."""
        with self.lock:
            self.realms = self._seed_factory(now)
            for realm in self.realms.values():
                realm.clock = self.clock

    def realm(self, realm_id: str) -> Realm | None:
        """A realm by id."""
        return self.realms.get(str(realm_id))

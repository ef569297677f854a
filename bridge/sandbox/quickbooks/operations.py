"""Writes as QBO applies them: create, full or sparse update, void, delete; plus a user's edits."""

from __future__ import annotations

import copy

from . import errors
from .names import Account, Customer, Item, TaxCode, TaxRate
from .payments import Payment
from .sales import VOIDED_NOTE, CreditMemo, Invoice

KINDS = {kind.name: kind for kind in (Customer(), Item(), Account(), TaxCode(), TaxRate(), Invoice(),
                                      CreditMemo(), Payment())}
BY_PATH = {kind.path: kind for kind in KINDS.values()}
# Extra names the control routes accept for an entity ("invoices", "Invoice", "credit_memos").
ALIASES = {**{kind.path + "s": kind for kind in KINDS.values()},
           **{kind.name.lower(): kind for kind in KINDS.values()},
           "credit_memos": KINDS["CreditMemo"], "credit_memo": KINDS["CreditMemo"]}


def kind_for(name: str):
    """The entity kind for a URL path segment or an entity name, or None."""
    lowered = (name or "").lower()
    return BY_PATH.get(lowered) or ALIASES.get(lowered)


def render(realm, record) -> dict:
    """A stored record as QBO returns it."""
    return KINDS[record.entity].render(realm, record)


def deleted_body(record) -> dict:
    """What QBO answers for a delete."""
    return {"Id": record.id, "status": "Deleted", "domain": "QBO"}


def is_sparse(body: dict) -> bool:
    """`"sparse": true` (QBO also takes the string)."""
    return body.get("sparse") in (True, "true")


class Writer:
    """Applies writes to one realm and reports each change to the emulator."""

    def __init__(self, emulator, realm):
        self.emulator = emulator
        self.realm = realm
        self._closing = None  # (entity, id) being voided or deleted: it reports its own change

    @property
    def now(self) -> float:
        return self.emulator.clock.now()

    def _commit(self, kind, record, operation: str) -> None:
        linked_before = list(self.realm.linked_keys.get(record.id, ())) if kind.name == "Payment" else []
        record.computed = kind.compute(self.realm, record.body)
        kind.after_write(self.realm, record)
        self.realm.touch()
        self.emulator.record_write(self.realm.id, kind.name, record.id, operation)
        if kind.name == "Payment":
            self._balances_changed(linked_before + list(self.realm.linked_keys.get(record.id, ())))

    def _balances_changed(self, keys) -> None:
        """A payment changed what it applies: each invoice or credit memo it (un)links is updated, as QBO
        reports it (a user payment fires Payment Create and Invoice Update) [V] facts §1.6."""
        for txn_type, txn_id in dict.fromkeys(keys):
            target = self.realm.get(txn_type, txn_id)
            if target is None or target.status != "Active" or (txn_type, txn_id) == self._closing:
                continue
            target.updated = max(self.now, target.updated)
            self.emulator.emit_change(self.realm.id, txn_type, txn_id, "Update")

    def _current(self, kind, body: dict):
        if body.get("Id") in (None, ""):
            raise errors.required("Id")
        record = self.realm.get(kind.name, body["Id"])
        if record is None:
            raise errors.object_not_found(kind.name, str(body["Id"]))
        if body.get("SyncToken") in (None, ""):
            raise errors.required("SyncToken")
        if str(body["SyncToken"]) != str(record.sync_token):
            raise errors.stale_object()
        return record

    def create(self, kind, body: dict):
        """A new object (POST without Id)."""
        if not kind.writable:
            raise errors.unsupported(f"Create on {kind.name}")
        prepared = kind.prepare(self.realm, kind.clean(body), None)
        record = self.realm.add(kind.name, prepared, self.now)
        self._commit(kind, record, "Create")
        return record

    def update(self, kind, body: dict):
        """POST with Id + SyncToken: a full update nulls omitted fields, a sparse one keeps them."""
        if not kind.writable:
            raise errors.unsupported(f"Update on {kind.name}")
        record = self._current(kind, body)
        cleaned = kind.clean(body)
        merged = {**copy.deepcopy(record.body), **cleaned} if is_sparse(body) else cleaned
        record.body = kind.prepare(self.realm, merged, record)
        self._bump(record)
        self._commit(kind, record, "Update")
        return record

    def _bump(self, record) -> None:
        record.sync_token += 1
        record.updated = max(self.now, record.updated)

    def void(self, kind, body: dict):
        """Void: amounts read back as zero, PrivateNote "Voided", DocNumber kept."""
        if not kind.voidable:
            raise errors.unsupported(f"Void on {kind.name}")
        record = self._current(kind, body)
        if record.status != "Voided":
            self._unlink(kind, record)
            record.status = "Voided"
            record.body["PrivateNote"] = VOIDED_NOTE
            self._bump(record)
            self._commit(kind, record, "Void")
        return record

    def delete(self, kind, body: dict):
        """Delete a transaction (name-list entities can only be made inactive)."""
        if not kind.deletable:
            raise errors.unsupported(f"Delete on {kind.name}")
        record = self._current(kind, body)
        return self._delete(kind, record)

    def _delete(self, kind, record):
        self._unlink(kind, record)
        record.status = "Deleted"
        record.updated = max(self.now, record.updated)
        self._commit(kind, record, "Delete")
        return record

    def _unlink(self, kind, record) -> None:
        """Voiding or deleting an invoice or credit memo unapplies the payments linked to it (as in QBO)."""
        if kind.name not in ("Invoice", "CreditMemo"):
            return
        payments = KINDS["Payment"]
        self._closing = (kind.name, record.id)
        try:
            for payment in self.realm.payments_linking(kind.name, record.id):
                payment.body["Line"] = [line for line in payment.body["Line"]
                                        if (line["LinkedTxn"][0]["TxnType"], line["LinkedTxn"][0]["TxnId"])
                                        != (kind.name, record.id)]
                self._bump(payment)
                self._commit(payments, payment, "Update")
        finally:
            self._closing = None

    # A user's edits in the QBO screens (control routes): no SyncToken check.

    def user_update(self, kind, record_id: str, fields: dict):
        """Merge fields into an object as a user editing it would; SyncToken goes up."""
        record = self.realm.get(kind.name, record_id)
        if record is None:
            raise errors.object_not_found(kind.name, record_id)
        if kind.writable:
            merged = {**copy.deepcopy(record.body), **kind.clean(fields)}
            record.body = kind.prepare(self.realm, merged, record)
        else:
            record.body.update(copy.deepcopy(fields))
        self._bump(record)
        self._commit(kind, record, "Update")
        return record

    def user_delete(self, kind, record_id: str):
        """Delete as a user would: transactions go, names become inactive and "(deleted)"."""
        record = self.realm.get(kind.name, record_id)
        if record is None:
            raise errors.object_not_found(kind.name, record_id)
        if kind.deletable:
            return self._delete(kind, record)
        name_key = "DisplayName" if kind.name == "Customer" else "Name"
        record.body["Active"] = False
        if not str(record.body.get(name_key, "")).endswith(" (deleted)"):
            record.body[name_key] = f"{record.body.get(name_key, '')} (deleted)"
        self._bump(record)
        self._commit(kind, record, "Delete")
        return record

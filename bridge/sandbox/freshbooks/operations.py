"""Writes as FreshBooks applies them: create, PUT in phases, soft and hard deletes; each one reported.

PUT phases [V] freshbooks.com/api/active_deleted: "ext_vis_state, vis_state, actions (like send invoice),
regular data updates ... The first phase to activate from that list above is the only one that
activates" (the rest of the body is silently thrown away). "PUT calls will only update the keys they are
given" (merge); a `lines` key replaces every line. Deleted objects cannot be edited until restored.
There is no idempotency key: a repeated POST creates another object (facts §3.3).
"""

from __future__ import annotations

import copy

from . import errors
from .catalog import ITEMS, TAXES
from .clients import CLIENTS
from .credit_notes import CREDIT_NOTES
from .invoices import INVOICES
from .payments import PAYMENTS
from .store import ACTIVE, ARCHIVED, DELETED

KINDS = (CLIENTS, INVOICES, PAYMENTS, CREDIT_NOTES, ITEMS, TAXES)
BY_PATH = {kind.path: kind for kind in KINDS}
# Names the control routes accept for an entity: "invoice", "invoices", "credit-notes", "users/clients"...
ALIASES = {**{kind.entity: kind for kind in KINDS}, **{kind.plural: kind for kind in KINDS},
           **{kind.path: kind for kind in KINDS},
           **{kind.plural.replace("_", "-"): kind for kind in KINDS}, "credit": CREDIT_NOTES,
           "credits": CREDIT_NOTES, "billable_items": ITEMS}
VIS_STATES = (ACTIVE, DELETED, ARCHIVED)


def kind_for(name: str):
    """The resource for a path or an entity name, or None."""
    return ALIASES.get((name or "").strip("/").lower())


class Writer:
    """Applies writes to one business and reports each change to the emulator."""

    def __init__(self, emulator, business):
        self.emulator = emulator
        self.business = business
        self.system = False  # True while FreshBooks itself writes (an overpayment credit)

    @property
    def now(self) -> float:
        """Sandbox time."""
        return self.emulator.clock.now()

    def touch(self, record, entity: str, action: str) -> None:
        """Note a change to `record` and report `<entity>.<action>`."""
        if record is None:
            return
        record.updated = max(self.now, record.updated)
        self.emulator.stats.count("writes_applied", entity)
        self.emulator.emit_change(self.business.account_id, f"{entity}.{action}", record.id)

    def _clean(self, kind, body) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_body(f"The {kind.single} must be a JSON object.")
        cleaned, ignored = kind.clean(copy.deepcopy(body))
        for name in ignored:
            self.emulator.stats.count("ignored_fields", f"{kind.single}.{name}")
        return cleaned

    def create(self, kind, body: dict, system: bool = False):
        """POST: a new object (there is no idempotency key, so a repeat makes another one)."""
        previous, self.system = self.system, system
        try:
            prepared = kind.prepare(self, self._clean(kind, body), None)
        finally:
            self.system = previous
        record = self.business.add(kind.entity, prepared, self.now)
        self.touch(record, kind.entity, "create")
        kind.after_create(self, record)
        return record

    def find(self, kind, record_id):
        """The object a path names, or a 404 naming its id field."""
        record = self.business.get(kind.entity, record_id)
        if record is None:
            raise errors.not_found(kind.entity, kind.id_field, record_id)
        return record

    def update(self, kind, record_id, body: dict):
        """PUT: the first phase present wins (vis_state, then actions, then a merge of the given keys)."""
        if not isinstance(body, dict):
            raise errors.bad_body(f"The {kind.single} must be a JSON object.")
        record = self.find(kind, record_id)
        if "ext_vis_state" in body or "vis_state" in body:
            key = "ext_vis_state" if "ext_vis_state" in body else "vis_state"
            if key == "ext_vis_state":
                record.meta["ext_vis_state"] = body[key]
                self.touch(record, kind.entity, "update")
                return record
            return self.set_vis_state(kind, record, body[key])
        if record.vis_state == DELETED:
            raise errors.not_found(kind.entity, kind.id_field, record_id)
        if kind.actions and any(key in body for key in kind.actions):
            events = kind.run_action(self, record, body)
            for index, name in enumerate(events):
                if index == 0:
                    self.touch(record, kind.entity, name.split(".", 1)[1])
                else:
                    self.emulator.emit_change(self.business.account_id, name, record.id)
            return record
        cleaned = self._clean(kind, body)
        before = copy.deepcopy(record.body)
        merged = {**copy.deepcopy(record.body), **cleaned}
        record.body = kind.prepare(self, merged, record)
        self.touch(record, kind.entity, "update")
        kind.after_update(self, record, before)
        return record

    def set_vis_state(self, kind, record, value):
        """Delete (1), archive (2) or restore (0) an object."""
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or value not in VIS_STATES:
            raise errors.invalid(kind.entity, "vis_state", value, "vis_state must be 0, 1 or 2.")
        value = int(value)
        before = record.vis_state
        if before == value:
            return record
        record.vis_state = value
        self.touch(record, kind.entity, "delete" if value == DELETED else "update")
        kind.after_vis_state(self, record, before)
        return record

    def delete(self, kind, record_id):
        """HTTP DELETE: invoices are deleted like vis_state 1; taxes are removed for good."""
        if kind.http_delete is None:
            raise errors.method_not_allowed(kind.entity)
        record = self.find(kind, record_id)
        if kind.http_delete == "soft":
            return self.set_vis_state(kind, record, DELETED)
        self.business.remove(kind.entity, record.id)
        self.touch(record, kind.entity, "delete")
        return record

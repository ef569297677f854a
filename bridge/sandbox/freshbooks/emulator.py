"""The FreshBooks emulator: settings, clock, state, counters, and what the control routes call.

Settings (factory config, or merged by POST /_sandbox/freshbooks/config):
- clients {client_id: secret}; redirect_uris [..] (null: any); app_scopes [..] (the scopes the sandbox app
  is registered with, granted when authorize names none); extra_businesses (adds a USD business);
  webhook_target (URL, stored and put on each change: FreshBooks itself posts to each callback's uri);
  webhook_retries, webhook_retry_seconds (retries of verification and event POSTs, see ../webhooks.py);
- time_scale (sandbox seconds per real second); clock_offset (total jump, seconds); clock_advance (jump by
  this much more); seed (fault randomness);
- limits {enabled (default false), per_minute}: the hidden per-account limit; retry_after (seconds or null:
  send a Retry-After with 429s, which FreshBooks does not document);
- faults {error_rate, fail_next, throttle_next, unauthorized_next, drop_after_write, drop_mode
  (timeout|error), drop_delay, invalid_grant, latency} (the QuickBooks emulator's vocabulary).
The factory config is shared with the other emulators (create_sandbox_app), so keys meant for them
(default_realm, limits.per_second...) are ignored there; POST /config refuses unknown keys.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from .. import webhooks as sandbox_webhooks
from ..clock import SandboxClock
from ..control import ControlError
from ..quickbooks.faults import FaultInjector
from . import events, money, oauth, seeds
from .api import ledger_account
from .credit_notes import credit_figures
from .errors import FreshBooksError
from .invoices import DRAFT, invoice_figures
from .limits import DEFAULT_LIMITS, HiddenLimiter
from .operations import KINDS, Writer, kind_for
from .stats import Stats
from .store import DELETED, Store
from .webhooks import FreshBooksWebhooks

MAX_CHANGES = 10000  # changes kept for the ledger view
SETTING_KEYS = ("clients", "redirect_uris", "app_scopes", "extra_businesses", "retry_after", "webhook_target",
                "webhook_retries", "webhook_retry_seconds")
OTHER_KEYS = ("limits", "faults", "time_scale", "clock_offset", "clock_advance", "seed")
LIMIT_KEYS = ("enabled", "per_minute")
ZERO = Decimal("0")
LEDGER_INCLUDES = frozenset({"lines", "outstanding_balance"})  # what the ledger view and user edits show


def default_settings() -> dict:
    """The settings a fresh emulator starts with."""
    return {"clients": {oauth.CLIENT_ID: oauth.CLIENT_SECRET}, "redirect_uris": None,
            "app_scopes": list(oauth.DEFAULT_APP_SCOPES), "extra_businesses": False, "retry_after": None,
            "webhook_target": None, "webhook_retries": sandbox_webhooks.DEFAULT_RETRIES,
            "webhook_retry_seconds": sandbox_webhooks.DEFAULT_RETRY_SECONDS}


class FreshBooksEmulator:
    """One FreshBooks emulator: OAuth, one (or two) seeded businesses, a hidden limit and faults."""

    name = "freshbooks"

    def __init__(self, config: dict | None = None):
        config = _own_settings(config or {})
        self.settings = default_settings()
        self.clock = SandboxClock(float(config.get("time_scale", 1.0)))
        self.faults = FaultInjector(config.get("seed"))
        self.limiter = HiddenLimiter(self.clock)
        self.oauth = oauth.TokenAuthority(self.clock, self.settings, self.faults, seeds.IDENTITY_ID)
        self.store = Store(seeds.seed_businesses)
        self.stats = Stats()
        self.changes: list[dict] = []
        self._sequence = 0
        self.change_listeners: list = []  # webhook delivery plugs in here: listener(change_dict)
        self.outbox: list[dict] = []  # verification POSTs, marked sent once the uri took them
        self.webhooks = FreshBooksWebhooks(self)
        self._initial = copy.deepcopy(config)
        self.store.reset(self.clock.now(), bool(config.get("extra_businesses")))
        self.configure(config)

    # Settings

    def configure(self, changes: dict) -> dict:
        """Merge settings; the keys are listed in this module's docstring."""
        changes = dict(changes or {})
        unknown = set(changes) - set(SETTING_KEYS) - set(OTHER_KEYS)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        if "clients" in changes and (not isinstance(changes["clients"], dict) or not changes["clients"]):
            raise ValueError("clients must be an object of client_id: client_secret")
        if changes.get("redirect_uris") is not None and not isinstance(changes["redirect_uris"], list):
            raise ValueError("redirect_uris must be a list or null")
        if "app_scopes" in changes:
            scopes = changes["app_scopes"]
            if not isinstance(scopes, list) or oauth.parse_scopes(" ".join(map(str, scopes))) is None:
                raise ValueError("app_scopes must be a list of user:<object>:<read|write> scopes")
        if "extra_businesses" in changes and not isinstance(changes["extra_businesses"], bool):
            raise ValueError("extra_businesses must be true or false")
        if changes.get("retry_after") is not None:
            changes["retry_after"] = _number(changes["retry_after"], "retry_after", minimum=0)
        sandbox_webhooks.check_settings(changes)
        for key in ("time_scale", "clock_offset", "clock_advance"):
            if key in changes:
                changes[key] = _number(changes[key], key, minimum=None)
        if "time_scale" in changes and changes["time_scale"] <= 0:
            raise ValueError("time_scale must be > 0")
        if "limits" in changes:
            self.limiter.configure(_plain(changes["limits"], "limits", floats=False))
        if "faults" in changes:
            self.faults.configure(_plain(changes["faults"], "faults"))
        if "seed" in changes:
            self.faults.configure({"seed": changes["seed"]})
        if "time_scale" in changes:
            self.clock.set_time_scale(changes["time_scale"])
        if "clock_offset" in changes:
            self.clock.set_offset(changes["clock_offset"])
        if "clock_advance" in changes:
            self.clock.advance(changes["clock_advance"])
        for key in SETTING_KEYS:
            if key in changes:
                self.settings[key] = changes[key]
        if "extra_businesses" in changes:
            self.store.set_extra(self.clock.now(), changes["extra_businesses"])
        return self.config_view()

    def config_view(self) -> dict:
        """The effective settings (client secrets left out)."""
        return {"clients": sorted(self.settings["clients"]), "redirect_uris": self.settings["redirect_uris"],
                "app_scopes": list(self.settings["app_scopes"]),
                "extra_businesses": self.settings["extra_businesses"], "retry_after": self.settings["retry_after"],
                "webhook_target": self.settings["webhook_target"],
                "webhook_retries": self.settings["webhook_retries"],
                "webhook_retry_seconds": self.settings["webhook_retry_seconds"],
                "time_scale": self.clock.time_scale, "clock_offset": self.clock.offset,
                "clock_now": self.clock.datetime().isoformat(timespec="seconds"),
                "limits": self.limiter.view(), "faults": self.faults.view()}

    # Changes (the webhook hook point)

    def callbacks_for(self, account_id: str, name: str) -> list[dict]:
        """Verified callbacks of a business that receive event `name`."""
        business = self.store.business(account_id)
        if business is None:
            return []
        return [c for c in business.callbacks.values() if c["verified"] and events.event_matches(c["event"], name)]

    def emit_change(self, account_id: str, name: str, object_id) -> dict:
        """Record a change (e.g. invoice.create) and hand it to the listeners (webhooks, later).

        Listeners run under the store lock: they must only queue work, never send from here.
        """
        business = self.store.business(account_id)
        self._sequence += 1
        change = {"sequence": self._sequence, "account_id": account_id,
                  "business_id": business.id if business else None, "identity_id": seeds.IDENTITY_ID,
                  "user_id": 1, "name": name, "object_id": object_id,
                  "time": money.stamp(self.clock.now()),
                  "callbacks": [c["callbackid"] for c in self.callbacks_for(account_id, name)],
                  "webhook_target": self.settings["webhook_target"]}
        self.changes.append(change)
        del self.changes[:-MAX_CHANGES]
        for listener in list(self.change_listeners):
            listener(change)
        return change

    def queue_verification(self, business, callback: dict) -> dict:
        """Queue the POST that carries a callback's verifier to its uri (webhooks.py sends it)."""
        entry = {"kind": "verification", "account_id": business.account_id, "callbackid": callback["callbackid"],
                 "uri": callback["uri"], "sent": False,
                 "form": {"name": events.VERIFY_EVENT, "object_id": str(callback["callbackid"]),
                          "verifier": callback["verifier"], "account_id": business.account_id,
                          "business_id": str(business.id), "identity_id": str(seeds.IDENTITY_ID), "user_id": "1"}}
        self.outbox.append(entry)
        self.webhooks.verification(entry)
        return entry

    # Control routes

    def tenants(self) -> list[dict]:
        """The seeded businesses."""
        return [{"account_id": b.account_id, "business_id": b.id, "business_uuid": b.uuid, "name": b.name,
                 "base_currency": b.currency, "country": b.country} for b in self.store.businesses.values()]

    def _business_view(self, business) -> dict:
        entry = {"account_id": business.account_id, "business_id": business.id, "business_uuid": business.uuid,
                 "name": business.name, "base_currency": business.currency}
        for kind in KINDS:
            entry[kind.plural] = [kind.render(business, record, LEDGER_INCLUDES)
                                  for record in business.all(kind.entity)]
        for invoice, rendered in zip(business.all("invoice"), entry["invoices"]):
            figures = invoice_figures(business, invoice)
            rendered["sandbox"] = {
                "draft": figures["status"] == DRAFT,
                "in_books": figures["status"] != DRAFT and invoice.vis_state != DELETED,
                "subtotal": money.money_text(figures["subtotal"]), "tax_total": money.money_text(figures["tax_total"]),
                "taxes": {name: money.money_text(value) for name, value in figures["taxes"].items()},
                "emailed_to": invoice.meta.get("emailed_to", [])}
        for credit, rendered in zip(business.all("credit_note"), entry["credit_notes"]):
            rendered["sandbox"] = {"remaining": money.money_text(credit_figures(business, credit)["remaining"])}
        entry["callbacks"] = [{**events.render(c), "verifier": c["verifier"],
                               "verification_requests": c["verification_requests"]}
                              for c in sorted(business.callbacks.values(), key=lambda c: c["callbackid"])]
        entry["ledger_accounts"] = [ledger_account(business, a) for a in business.ledger_accounts]
        entry["books"], entry["drafts"] = _books(business)
        return entry

    def ledger(self) -> dict:
        """Every stored object per business (deleted ones too, with vis_state 1), with books totals."""
        with self.store.lock:
            return {"provider": self.name, "identity": {"id": seeds.IDENTITY_ID, **seeds.IDENTITY},
                    "businesses": {b.account_id: self._business_view(b) for b in self.store.businesses.values()},
                    "changes": list(self.changes), "outbox": copy.deepcopy(self.outbox), "oauth": self.oauth.view(),
                    "clock": {"now": self.clock.datetime().isoformat(timespec="seconds"),
                              "time_scale": self.clock.time_scale, "offset": self.clock.offset}}

    def stats_view(self) -> dict:
        """Counters for tests and benchmarks."""
        return self.stats.view()

    def webhooks_view(self) -> dict:
        """Every callback and every logged delivery (verifications and events)."""
        return self.webhooks.view()

    def reset(self, options: dict) -> dict:
        """Back to the seeds; tokens go too unless keep_tokens; settings stay unless config is true."""
        with self.store.lock:
            if options.get("config"):
                self.faults.reset()
                self.settings.clear()
                self.settings.update(default_settings())
                self.limiter.settings = dict(DEFAULT_LIMITS)
                self.clock.set_offset(0)
                self.clock.set_time_scale(1.0)
                self.configure({k: v for k, v in copy.deepcopy(self._initial).items() if k != "extra_businesses"})
                self.settings["extra_businesses"] = bool(self._initial.get("extra_businesses"))
            else:
                self.faults.configure({key: 0 for key in ("fail_next", "throttle_next", "unauthorized_next",
                                                          "drop_after_write")})
            self.store.reset(self.clock.now(), self.settings["extra_businesses"])
            if not options.get("keep_tokens"):
                self.oauth.clear()
            self.limiter.reset()
            self.stats.reset()
            self.changes.clear()
            self._sequence = 0
            self.outbox.clear()
            self.webhooks.reset()
        return {"reset": True, "businesses": self.tenants()}

    def business_for(self, tenant: str):
        """A business by account_id, business id, business_uuid or alias (CA, US, default)."""
        value = str(tenant)
        business = self.store.business(value) or self.store.business(seeds.aliases().get(value.upper(), ""))
        if business is None:
            raise ControlError(404, {"error": "unknown_business", "tenant": tenant,
                                     "businesses": [b.account_id for b in self.store.businesses.values()]})
        return business

    def _kind(self, entity: str):
        kind = kind_for(entity)
        if kind is None:
            raise ControlError(404, {"error": "unknown_entity", "entity": entity,
                                     "entities": [k.plural for k in KINDS]})
        return kind

    def user_payment(self, tenant: str, body: dict) -> dict:
        """Record a payment against an invoice (by invoice_id or invoice_number), as a user would."""
        business = self.business_for(tenant)
        with self.store.lock:
            invoice = None
            if body.get("invoice_id") is not None:
                invoice = business.usable("invoice", body["invoice_id"])
            elif body.get("invoice_number") is not None:
                invoice = next((r for r in business.live("invoice")
                                if r.body["invoice_number"] == str(body["invoice_number"])), None)
            if invoice is None:
                raise ControlError(404, {"error": "invoice_not_found"})
            if body.get("amount") is None:
                raise ControlError(400, {"error": "amount_required"})
            payment = {"invoiceid": invoice.id, "amount": {"amount": str(body["amount"])},
                       "type": body.get("type") or "Check"}
            for key in ("date", "note"):
                if body.get(key) is not None:
                    payment[key] = body[key]
            try:
                record = Writer(self, business).create(kind_for("payment"), payment)
            except FreshBooksError as error:
                raise ControlError(error.status, error.body) from None
            return {"payment": kind_for("payment").render(business, record)}

    def user_patch(self, tenant: str, entity: str, object_id: str, body: dict) -> dict:
        """Change an object as a user would: the PUT rules (phases, merge) without scopes.

        The body may be wrapped ({"invoice": {...}}) or bare; {"action_mark_as_sent": true} sends an invoice.
        """
        business = self.business_for(tenant)
        kind = self._kind(entity)
        fields = body.get(kind.single) if isinstance(body.get(kind.single), dict) else body
        with self.store.lock:
            try:
                record = Writer(self, business).update(kind, object_id, fields)
            except FreshBooksError as error:
                raise ControlError(error.status, error.body) from None
            return {kind.single: kind.render(business, record, LEDGER_INCLUDES)}

    def user_delete(self, tenant: str, entity: str, object_id: str) -> dict:
        """Delete as a user would: vis_state 1 (taxes are removed for good)."""
        business = self.business_for(tenant)
        kind = self._kind(entity)
        with self.store.lock:
            writer = Writer(self, business)
            try:
                if kind.http_delete == "hard":
                    record = writer.delete(kind, object_id)
                    return {kind.single: {"id": record.id, "deleted": True}}
                record = writer.set_vis_state(kind, writer.find(kind, object_id), DELETED)
            except FreshBooksError as error:
                raise ControlError(error.status, error.body) from None
            return {kind.single: kind.render(business, record, LEDGER_INCLUDES)}


def _books(business) -> tuple[dict, dict]:
    """Totals of sent (non-draft, non-deleted) invoices per currency, and drafts kept apart."""
    books: dict[str, dict] = {}
    drafts: dict[str, dict] = {}
    for invoice in business.live("invoice"):
        figures = invoice_figures(business, invoice)
        code = invoice.body["currency_code"]
        if figures["status"] == DRAFT:
            entry = drafts.setdefault(code, {"count": 0, "amount": ZERO})
            entry["count"] += 1
            entry["amount"] += figures["amount"]
            continue
        entry = books.setdefault(code, {"invoices": 0, "invoiced": ZERO, "paid": ZERO, "outstanding": ZERO})
        entry["invoices"] += 1
        entry["invoiced"] += figures["amount"]
        entry["paid"] += figures["paid"]
        entry["outstanding"] += figures["outstanding"]
    as_text = lambda table: {code: {k: (money.money_text(v) if isinstance(v, Decimal) else v)  # noqa: E731
                                    for k, v in entry.items()} for code, entry in table.items()}
    return as_text(books), as_text(drafts)


def _own_settings(config: dict) -> dict:
    """The factory settings this emulator knows (the shared config also carries other emulators' keys)."""
    own = {key: value for key, value in config.items() if key in SETTING_KEYS or key in OTHER_KEYS}
    if isinstance(own.get("limits"), dict):
        own["limits"] = {key: value for key, value in own["limits"].items() if key in LIMIT_KEYS}
    return copy.deepcopy(own)


def _number(value, name: str, minimum: float | None):
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{name} must be a number")
    value = float(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return value


def _plain(value, name: str, floats: bool = True) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return {key: (float(item) if isinstance(item, Decimal) and floats else item) for key, item in value.items()}

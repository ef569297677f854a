"""The Xero emulator: settings, clock, state, counters, change hook, and what the control routes call.

Settings (factory config, or merged by POST /_sandbox/xero/config):
- clients {client_id: secret}; redirect_uris [..] (null: any); grant_tenants [tenant ids or UK/AU]
  (null: a consent connects both organisations); refresh_grace_seconds (default 1800);
  webhook_target (URL the webhooks go to; setting it runs Intent to Receive); webhook_key;
  webhook_intent_to_receive (default true; false skips the check); webhook_delay_seconds (collect changes
  into one notification, default 0); webhook_retries, webhook_retry_seconds (see ../webhooks.py);
- time_scale (sandbox seconds per real second); clock_offset (total jump, seconds);
  clock_advance (jump by this much more); seed (fault randomness);
- limits {enabled, per_minute, per_day, concurrent, app_per_minute};
- faults {error_rate, fail_next, throttle_next, throttle_problem (minute|day), unauthorized_next,
  drop_after_write, drop_mode (timeout|error), drop_delay, invalid_grant, latency}.
The factory config is shared with the other emulators, so keys meant for them are ignored there;
the control route refuses unknown keys.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal

from .. import webhooks as sandbox_webhooks
from ..clock import SandboxClock
from ..control import ControlError
from . import contacts, documents, history, oauth, payments, reference
from .documents import CREDIT_NOTE, INVOICE
from .errors import ItemInvalid, validation_exception
from .faults import XeroFaults
from .limits import DEFAULT_LIMITS, RateLimiter
from .seeds import seed_tenants, tenant_aliases
from .store import Context, Store
from .webhooks import XeroWebhooks

WEBHOOK_KEY = "sandbox-xero-webhook-key-c2FuZGJveC14ZXJvLXdlYmhvb2sta2V5LTAwMQ"  # signs x-xero-signature
MAX_CHANGES = 10000  # changes kept for the ledger view
SETTING_KEYS = ("clients", "redirect_uris", "grant_tenants", "refresh_grace_seconds", "webhook_target",
                "webhook_key", "webhook_intent_to_receive", *sandbox_webhooks.SETTINGS)
CLOCK_KEYS = ("time_scale", "clock_offset", "clock_advance", "seed")
WEBHOOK_CATEGORIES = ("INVOICE", "CONTACT", "CREDITNOTE")  # xero-webhooks.yaml (SUBSCRIPTION is app-level)
RESOURCE_PATHS = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
ENTITY_ALIASES = {"invoice": "Invoice", "invoices": "Invoice", "creditnote": "CreditNote",
                  "creditnotes": "CreditNote", "credit_note": "CreditNote", "credit_notes": "CreditNote",
                  "contact": "Contact", "contacts": "Contact", "payment": "Payment", "payments": "Payment",
                  "item": "Item", "items": "Item"}


def default_settings() -> dict:
    """The settings a fresh emulator starts with."""
    return {"clients": {oauth.CLIENT_ID: oauth.CLIENT_SECRET}, "redirect_uris": None, "grant_tenants": None,
            "refresh_grace_seconds": oauth.DEFAULT_REFRESH_GRACE_SECONDS, "webhook_target": None,
            "webhook_key": WEBHOOK_KEY, "webhook_intent_to_receive": True, **sandbox_webhooks.SETTINGS}


class Stats:
    """Counters grouped by name (token calls by grant type, 429s by problem...)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._groups: dict[str, Counter] = defaultdict(Counter)

    def count(self, group: str, key: str, amount: int = 1) -> None:
        """Add to one counter."""
        with self._lock:
            self._groups[group][key] += amount

    def view(self, per_minute: dict) -> dict:
        """Every counter, with totals."""
        with self._lock:
            groups = {name: dict(counter) for name, counter in self._groups.items()}
        total = lambda name: sum(groups.get(name, {}).values())  # noqa: E731
        return {"token_calls": groups.get("token_calls", {}), "token_errors": groups.get("token_errors", {}),
                "api_requests": total("api_requests"), "api_requests_by_tenant": groups.get("api_requests", {}),
                "throttled": groups.get("throttled", {}), "throttled_total": total("throttled"),
                "unauthorized": total("unauthorized"), "forbidden": groups.get("forbidden", {}),
                "idempotency_replays": total("idempotency_replays"), "writes_applied": total("writes_applied"),
                "writes_by_entity": groups.get("writes_applied", {}),
                "faults_injected": groups.get("faults_injected", {}), "requests_per_minute": per_minute}


class XeroEmulator:
    """One Xero emulator: identity service, two organisations, limits and faults, on a scalable clock."""

    name = "xero"

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        self.settings = default_settings()
        self.clock = SandboxClock(float(config.get("time_scale", 1.0)))
        self.faults = XeroFaults(config.get("seed"))
        self.limiter = RateLimiter(self.clock)
        self.oauth = oauth.TokenAuthority(self.clock, self.settings, self.faults)
        self.store = Store(seed_tenants)
        self.store.reset(self.clock.now())
        self.stats = Stats()
        self.changes: list[dict] = []
        self.change_listeners: list = []  # webhook delivery plugs in here: listener(change_dict)
        self.webhooks = XeroWebhooks(self)
        self._initial = copy.deepcopy(config)
        self._configure(config, strict=False)

    # Settings

    def resolve_tenant(self, value) -> str | None:
        """A tenant id from an id or an alias (UK, GB, AU)."""
        if not isinstance(value, str):
            return None
        if self.store.tenant(value) is not None:
            return value.strip().lower()
        return tenant_aliases().get(value.strip().upper())

    def grant_tenants(self) -> list[str]:
        """The organisations a new consent connects."""
        chosen = self.settings.get("grant_tenants")
        return list(chosen) if chosen else list(self.store.tenants)

    def configure(self, changes: dict) -> dict:
        """Merge settings (the control route): the keys are listed in this module's docstring."""
        self._configure(dict(changes or {}), strict=True)
        return self.config_view()

    def _configure(self, changes: dict, strict: bool) -> None:
        known = set(SETTING_KEYS) | set(CLOCK_KEYS) | {"limits", "faults"}
        unknown = set(changes) - known
        if unknown and strict:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        changes = {key: value for key, value in changes.items() if key in known}
        if "clients" in changes and (not isinstance(changes["clients"], dict) or not changes["clients"]):
            raise ValueError("clients must be an object of client_id: client_secret")
        if changes.get("redirect_uris") is not None and not isinstance(changes["redirect_uris"], list):
            raise ValueError("redirect_uris must be a list or null")
        if changes.get("grant_tenants") is not None:
            if not isinstance(changes["grant_tenants"], list) or not changes["grant_tenants"]:
                raise ValueError("grant_tenants must be a non-empty list of tenant ids, or null")
            resolved = [self.resolve_tenant(value) for value in changes["grant_tenants"]]
            if None in resolved:
                raise ValueError(f"unknown tenant in grant_tenants: {changes['grant_tenants']}")
            changes["grant_tenants"] = resolved
        if "refresh_grace_seconds" in changes:
            changes["refresh_grace_seconds"] = _number(changes["refresh_grace_seconds"], "refresh_grace_seconds", 0)
        if "webhook_intent_to_receive" in changes and not isinstance(changes["webhook_intent_to_receive"], bool):
            raise ValueError("webhook_intent_to_receive must be true or false")
        sandbox_webhooks.check_settings(changes)
        for key in ("time_scale", "clock_offset", "clock_advance"):
            if key in changes:
                changes[key] = _number(changes[key], key, None)
        if "time_scale" in changes and changes["time_scale"] <= 0:
            raise ValueError("time_scale must be > 0")
        if "limits" in changes:
            self.limiter.configure(_plain(changes["limits"], "limits"), strict=strict)
        if "faults" in changes:
            self.faults.configure(_plain(changes["faults"], "faults"), strict=strict)
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
        if "webhook_target" in changes or "webhook_intent_to_receive" in changes:
            self.webhooks.target_changed()

    def config_view(self) -> dict:
        """The effective settings (client secrets left out)."""
        return {"clients": sorted(self.settings["clients"]), "redirect_uris": self.settings["redirect_uris"],
                "grant_tenants": self.grant_tenants(),
                "refresh_grace_seconds": self.settings["refresh_grace_seconds"],
                "webhook_target": self.settings["webhook_target"],
                "webhook_intent_to_receive": self.settings["webhook_intent_to_receive"],
                "intent_to_receive": self.webhooks.intent_view(),
                **{key: self.settings[key] for key in sandbox_webhooks.SETTINGS},
                "time_scale": self.clock.time_scale,
                "clock_offset": self.clock.offset, "clock_now": self._now_iso(), "limits": self.limiter.view(),
                "faults": self.faults.view()}

    def _now_iso(self) -> str:
        return self.clock.datetime().isoformat(timespec="seconds")

    # Writes and changes (the webhook hook point)

    @contextmanager
    def transaction(self, tenant):
        """A unit of work on one organisation: undone on error, its changes reported on success."""
        tx = tenant.begin()
        try:
            yield tx
        except BaseException:
            tenant.rollback(tx)
            raise
        self.finish(tenant.commit(tx), tenant)

    def finish(self, tx, tenant) -> None:
        """After the outermost transaction commits: count the writes and report each change."""
        if tx is None:
            return
        for entity in tx.writes:
            self.stats.count("writes_applied", entity)
        for category, object_id, operation in tx.changes:
            self.emit_change(tenant.id, category, object_id, operation)

    def emit_change(self, tenant_id: str, category: str, object_id: str, operation: str) -> dict:
        """Record a change (INVOICE/CONTACT/CREDITNOTE x CREATE/UPDATE) and hand it to the listeners.

        Payments and allocations have no webhook category: they show as UPDATEs of the invoice or
        credit note they change, as Xero reports them (facts §2.5). Listeners run under the store
        lock: they must only queue work, never send from here.
        """
        now = self.clock.now()
        change = {"sequence": len(self.changes) + 1, "tenant_id": tenant_id, "tenant_type": "ORGANISATION",
                  "category": category, "id": object_id, "operation": operation,
                  "event_date_utc": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds"),
                  "resource_path": f"/xero/api.xro/2.0/{RESOURCE_PATHS.get(category, category)}/{object_id}",
                  "webhook_target": self.settings["webhook_target"]}
        self.changes.append(change)
        del self.changes[:-MAX_CHANGES]
        for listener in list(self.change_listeners):
            listener(change)
        return change

    # Control routes

    def tenants(self) -> list[dict]:
        """The seeded organisations."""
        return [{"tenant_id": t.id, "name": t.name, "country": t.country, "base_currency": t.base_currency}
                for t in self.store.tenants.values()]

    def ledger(self) -> dict:
        """Every stored object per organisation, rendered as Xero does (documents with lines and balances)."""
        with self.store.lock:
            tenants = {}
            for tenant in self.store.tenants.values():
                tenants[tenant.id] = {
                    "tenant_id": tenant.id, "name": tenant.name, "country": tenant.country,
                    "base_currency": tenant.base_currency,
                    "organisation": reference.render_organisation(tenant),
                    "contacts": [contacts.render(tenant, r) for r in tenant.all("Contact")],
                    "items": [reference.render_item(tenant, r, 4) for r in tenant.all("Item")],
                    "accounts": [reference.render_account(tenant, r) for r in tenant.all("Account")],
                    "tax_rates": [reference.render_tax_rate(tenant, r) for r in tenant.all("TaxRate")],
                    "invoices": [documents.render(tenant, INVOICE, r, 4) for r in tenant.all("Invoice")],
                    "credit_notes": [documents.render(tenant, CREDIT_NOTE, r, 4) for r in tenant.all("CreditNote")],
                    "payments": [payments.render(tenant, r) for r in tenant.all("Payment")],
                    "allocations": [documents.render_allocation(tenant, r) for r in tenant.all("Allocation")],
                    "history_records": [history.render(r, with_document=True) for r in tenant.all("HistoryRecord")]}
            return {"provider": self.name, "tenants": tenants, "changes": list(self.changes),
                    "webhook_target": self.settings["webhook_target"], "oauth": self.oauth.view(),
                    "clock": {"now": self._now_iso(), "time_scale": self.clock.time_scale,
                              "offset": self.clock.offset}}

    def stats_view(self) -> dict:
        """Counters for tests and benchmarks."""
        return self.stats.view(self.limiter.per_minute_seen())

    def webhooks_view(self) -> dict:
        """The webhook target, its Intent to Receive result and every logged delivery."""
        return self.webhooks.view()

    def reset(self, options: dict) -> dict:
        """Back to the seeds; tokens go too unless keep_tokens; settings stay unless config is true."""
        with self.store.lock:
            self.store.reset(self.clock.now())
            if not options.get("keep_tokens"):
                self.oauth.clear()
            self.limiter.reset()
            self.stats.reset()
            self.changes.clear()
            self.webhooks.reset(keep_intent=not options.get("config"))
            if options.get("config"):
                self.faults.reset()
                self.settings.clear()
                self.settings.update(default_settings())
                self.limiter.settings = dict(DEFAULT_LIMITS)
                self.clock.set_offset(0)
                self.clock.set_time_scale(1.0)
                self._configure(copy.deepcopy(self._initial), strict=False)
            else:
                self.faults.configure({key: 0 for key in ("fail_next", "throttle_next", "unauthorized_next",
                                                          "drop_after_write")})
        return {"reset": True, "tenants": self.tenants()}

    def _tenant(self, value: str):
        tenant = self.store.tenant(self.resolve_tenant(value) or "")
        if tenant is None:
            raise ControlError(404, {"error": "unknown_tenant", "tenant": value})
        return tenant

    def _run(self, tenant, work):
        """Run `work(ctx)` as one transaction; a validation failure is Xero's 400 body."""
        with self.store.lock:
            try:
                with self.transaction(tenant):
                    return work(Context(tenant, self.clock.now(), 4))
            except ItemInvalid as invalid:
                error = validation_exception([{"ValidationErrors": [{"Message": m} for m in invalid.messages]}])
                raise ControlError(error.status, error.body) from None

    def user_payment(self, tenant: str, body: dict) -> dict:
        """Record a payment as a user would: {invoice_id | invoice_number, amount, date?, account_code?}."""
        org = self._tenant(tenant)
        key = body.get("invoice_id") or body.get("invoice_number")
        if key is None:
            raise ControlError(400, {"error": "invoice_id or invoice_number is required"})
        if body.get("amount") is None:
            raise ControlError(400, {"error": "amount is required"})
        with self.store.lock:
            if documents.find(org, INVOICE, str(key)) is None:
                raise ControlError(404, {"error": "invoice_not_found", "invoice": key})
            raw = {"Invoice": {"InvoiceID" if body.get("invoice_id") else "InvoiceNumber": str(key)},
                   "Account": {"Code": str(body.get("account_code") or "090")},
                   "Amount": body["amount"] if isinstance(body["amount"], Decimal) else str(body["amount"]),
                   "Reference": str(body.get("reference") or "")}
            if body.get("date"):
                raw["Date"] = body["date"]
            record = self._run(org, lambda ctx: payments.create(ctx, raw))
            return {"Payments": [payments.render(org, record)]}

    def _record(self, tenant, entity: str, object_id: str):
        if entity in ("Invoice", "CreditNote"):
            return documents.find(tenant, documents.KINDS[entity], object_id)
        if entity == "Contact":
            return contacts.find(tenant, object_id)
        if entity == "Item":
            return reference.find_item(tenant, object_id)
        return tenant.get(entity, object_id)

    def _entity(self, tenant, entity: str, object_id: str):
        name = ENTITY_ALIASES.get((entity or "").lower())
        if name is None:
            raise ControlError(404, {"error": "unknown_entity", "entity": entity,
                                     "entities": sorted(set(ENTITY_ALIASES.values()))})
        record = self._record(tenant, name, object_id)
        if record is None:
            raise ControlError(404, {"error": "not_found", "entity": name, "id": object_id})
        return name, record

    def _render(self, tenant, name: str, record) -> dict:
        if name in ("Invoice", "CreditNote"):
            kind = documents.KINDS[name]
            return {kind.collection: [documents.render(tenant, kind, record, 4)]}
        if name == "Contact":
            return {"Contacts": [contacts.render(tenant, record)]}
        if name == "Payment":
            return {"Payments": [payments.render(tenant, record)]}
        return {"Items": [reference.render_item(tenant, record, 4)]}

    def user_patch(self, tenant: str, entity: str, object_id: str, body: dict) -> dict:
        """Edit an object as a user would in Xero (the same rules as a POST with its id)."""
        org = self._tenant(tenant)
        with self.store.lock:
            name, record = self._entity(org, entity, object_id)
            if name in ("Invoice", "CreditNote"):
                work = lambda ctx: documents.write(ctx, documents.KINDS[name], body, False, record.id)  # noqa: E731
            elif name == "Contact":
                work = lambda ctx: contacts.upsert(ctx, body, False, record.id)  # noqa: E731
            elif name == "Payment":
                work = lambda ctx: payments.update(ctx, record, body)  # noqa: E731
            else:
                work = lambda ctx: reference.upsert_item(ctx, body, False, record.id)  # noqa: E731
            return self._render(org, name, self._run(org, work))

    def user_delete(self, tenant: str, entity: str, object_id: str) -> dict:
        """Delete as a user would: drafts are deleted, approved documents voided, contacts archived,
        payments deleted, items removed."""
        org = self._tenant(tenant)
        with self.store.lock:
            name, record = self._entity(org, entity, object_id)
            if name in ("Invoice", "CreditNote"):
                status = "DELETED" if record.body["Status"] in documents.EDITABLE_STATUSES else "VOIDED"
                self._run(org, lambda ctx: documents.update(ctx, documents.KINDS[name], record, {"Status": status}))
            elif name == "Contact":
                self._run(org, lambda ctx: contacts.update(ctx, record, {"ContactStatus": "ARCHIVED"}))
            elif name == "Payment":
                self._run(org, lambda ctx: payments.delete(ctx, record))
            else:
                rendered = self._render(org, name, record)

                def remove(ctx):
                    ctx.touch(record)
                    del org.records["Item"][record.id]

                self._run(org, remove)
                return {**rendered, "deleted": True}
            return self._render(org, name, record)


def _number(value, name: str, minimum: float | None):
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{name} must be a number")
    value = float(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return value


def _plain(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return {key: (float(item) if isinstance(item, Decimal) else item) for key, item in value.items()}

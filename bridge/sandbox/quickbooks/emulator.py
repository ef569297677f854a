"""The QuickBooks Online emulator: settings, clock, state, counters, and what the control routes call.

Settings (factory config, or merged by POST /_sandbox/quickbooks/config):
- clients {client_id: secret}; redirect_uris [..] (null: any); default_realm (id or US/UK);
  refresh_grace_seconds (default 86400); webhook_target (URL the webhooks go to); webhook_key (verifier token);
  webhook_format (legacy | cloudevents); webhook_delay_seconds (collect changes into one notification,
  default 0); webhook_retries, webhook_retry_seconds (see webhooks.py);
- time_scale (sandbox seconds per real second); clock_offset (total jump, seconds);
  clock_advance (jump by this much more); seed (fault randomness);
- limits {enabled, per_minute, per_second, concurrent, batch_per_minute, batch_per_minute_realm};
- faults {error_rate, fail_next, throttle_next, unauthorized_next, drop_after_write, drop_mode
  (timeout|error), drop_delay, invalid_grant, latency (real seconds before each API call)}.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, defaultdict
from decimal import Decimal

from .. import webhooks as sandbox_webhooks
from ..clock import SandboxClock
from ..control import ControlError
from . import oauth
from .errors import QBOFault
from .faults import FaultInjector
from .limits import DEFAULT_LIMITS, RateLimiter
from .operations import Writer, deleted_body, kind_for, render
from .sales import invoice_status
from .seeds import US_REALM_ID, realm_aliases, seed_realms
from .store import Store
from .webhooks import FORMATS, QuickBooksWebhooks

WEBHOOK_KEY = "sandbox-quickbooks-verifier"  # the Intuit "verifier token" the sandbox signs webhooks with
MAX_CHANGES = 10000  # changes kept for the ledger view
SETTING_KEYS = ("clients", "redirect_uris", "default_realm", "refresh_grace_seconds", "webhook_target",
                "webhook_key", "webhook_format", *sandbox_webhooks.SETTINGS)


def default_settings() -> dict:
    """The settings a fresh emulator starts with."""
    return {"clients": {oauth.CLIENT_ID: oauth.CLIENT_SECRET}, "redirect_uris": None,
            "default_realm": US_REALM_ID, "refresh_grace_seconds": oauth.DEFAULT_REFRESH_GRACE_SECONDS,
            "webhook_target": None, "webhook_key": WEBHOOK_KEY, "webhook_format": "legacy",
            **sandbox_webhooks.SETTINGS}


class Stats:
    """Counters grouped by name (token calls by grant type, throttles by limit kind...)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._groups: dict[str, Counter] = defaultdict(Counter)
            self._minorversion: dict[str, str] = {}

    def count(self, group: str, key: str, amount: int = 1) -> None:
        """Add to one counter."""
        with self._lock:
            self._groups[group][key] += amount

    def api_request(self, realm_id: str, minorversion: str | None) -> None:
        """Count an API request and remember its minorversion (accepted and ignored, as QBO now does)."""
        with self._lock:
            self._groups["api_requests"][realm_id] += 1
            if minorversion is not None:
                self._minorversion[realm_id] = minorversion

    def view(self) -> dict:
        """Every counter, with totals."""
        with self._lock:
            groups = {name: dict(counter) for name, counter in self._groups.items()}
            minorversion = dict(self._minorversion)
        total = lambda name: sum(groups.get(name, {}).values())  # noqa: E731
        return {"token_calls": groups.get("token_calls", {}), "token_errors": groups.get("token_errors", {}),
                "api_requests": total("api_requests"),
                "api_requests_by_realm": groups.get("api_requests", {}),
                "throttled": groups.get("throttled", {}), "throttled_total": total("throttled"),
                "unauthorized": total("unauthorized"), "requestid_replays": total("requestid_replays"),
                "cdc_requests": total("cdc_requests"),
                "writes_applied": total("writes_applied"),
                "writes_by_entity": groups.get("writes_applied", {}),
                "faults_injected": groups.get("faults_injected", {}), "minorversion": minorversion}


class QuickBooksEmulator:
    """One QBO emulator: OAuth, two seeded companies, throttles and faults, on a scalable clock."""

    name = "quickbooks"

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        self.settings = default_settings()
        self.clock = SandboxClock(float(config.get("time_scale", 1.0)))
        self.faults = FaultInjector(config.get("seed"))
        self.limiter = RateLimiter(self.clock)
        self.oauth = oauth.TokenAuthority(self.clock, self.settings, self.faults)
        self.store = Store(seed_realms, self.clock)
        self.store.reset(self.clock.now())
        self.stats = Stats()
        self.changes: list[dict] = []
        self.change_listeners: list = []  # webhook delivery plugs in here: listener(change_dict)
        self.webhooks = QuickBooksWebhooks(self)
        self._initial = copy.deepcopy(config)
        self.configure(config)

    # Settings

    def resolve_realm(self, value) -> str | None:
        """A realm id from an id or an alias (US, UK, GB)."""
        if value is None:
            return None
        value = str(value)
        if self.store.realm(value) is not None:
            return value
        return realm_aliases().get(value.upper())

    def configure(self, changes: dict) -> dict:
        """Merge settings; the keys are listed in this module's docstring."""
        changes = dict(changes or {})
        unknown = set(changes) - set(SETTING_KEYS) - {"limits", "faults", "time_scale", "clock_offset",
                                                       "clock_advance", "seed"}
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        if "clients" in changes and (not isinstance(changes["clients"], dict) or not changes["clients"]):
            raise ValueError("clients must be an object of client_id: client_secret")
        if changes.get("redirect_uris") is not None and not isinstance(changes["redirect_uris"], list):
            raise ValueError("redirect_uris must be a list or null")
        if "default_realm" in changes:
            realm_id = self.resolve_realm(changes["default_realm"])
            if realm_id is None:
                raise ValueError(f"unknown realm {changes['default_realm']!r}")
            changes["default_realm"] = realm_id
        if "refresh_grace_seconds" in changes:
            changes["refresh_grace_seconds"] = _number(changes["refresh_grace_seconds"],
                                                       "refresh_grace_seconds", minimum=0)
        if "webhook_format" in changes and changes["webhook_format"] not in FORMATS:
            raise ValueError(f"webhook_format must be one of {list(FORMATS)}")
        sandbox_webhooks.check_settings(changes)
        for key in ("time_scale", "clock_offset", "clock_advance"):
            if key in changes:
                changes[key] = _number(changes[key], key, minimum=None)
        if "time_scale" in changes and changes["time_scale"] <= 0:
            raise ValueError("time_scale must be > 0")
        if "limits" in changes:
            self.limiter.configure(_plain(changes["limits"], "limits"))
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
        return self.config_view()

    def config_view(self) -> dict:
        """The effective settings (client secrets left out)."""
        return {"clients": sorted(self.settings["clients"]), "redirect_uris": self.settings["redirect_uris"],
                "default_realm": self.settings["default_realm"],
                "refresh_grace_seconds": self.settings["refresh_grace_seconds"],
                "webhook_target": self.settings["webhook_target"],
                **{key: self.settings[key] for key in ("webhook_format", *sandbox_webhooks.SETTINGS)},
                "time_scale": self.clock.time_scale,
                "clock_offset": self.clock.offset, "clock_now": self._now_iso(),
                "limits": self.limiter.view(), "faults": self.faults.view()}

    def _now_iso(self) -> str:
        return self.clock.datetime().isoformat(timespec="seconds")

    # Changes (the webhook hook point)

    def record_write(self, realm_id: str, entity: str, object_id: str, operation: str) -> None:
        """Count an applied write and report the change."""
        self.stats.count("writes_applied", entity)
        self.emit_change(realm_id, entity, object_id, operation)

    def emit_change(self, realm_id: str, entity: str, object_id: str, operation: str) -> dict:
        """Record a change (Create/Update/Delete/Void) and hand it to the listeners (webhooks, later).

        Listeners run under the store lock: they must only queue work, never send from here.
        """
        realm = self.store.realm(realm_id)
        change = {"sequence": len(self.changes) + 1, "realm_id": realm_id, "entity": entity, "id": object_id,
                  "operation": operation,
                  "last_updated": realm.iso(self.clock.now()) if realm else self._now_iso(),
                  "webhook_target": self.settings["webhook_target"]}
        self.changes.append(change)
        del self.changes[:-MAX_CHANGES]
        for listener in list(self.change_listeners):
            listener(change)
        return change

    # Control routes

    def tenants(self) -> list[dict]:
        """The seeded companies."""
        return [{"realm_id": realm.id, "name": realm.company["CompanyName"], "country": realm.country,
                 "home_currency": realm.home_currency} for realm in self.store.realms.values()]

    def ledger(self) -> dict:
        """Every stored object per realm, rendered as QBO would, with a sandbox status on transactions."""
        with self.store.lock:
            realms = {}
            for realm in self.store.realms.values():
                entry = {"realm_id": realm.id, "name": realm.company["CompanyName"], "country": realm.country,
                         "home_currency": realm.home_currency, "company": copy.deepcopy(realm.company),
                         "preferences": copy.deepcopy(realm.preferences)}
                for entity, key in (("Customer", "customers"), ("Item", "items"), ("Account", "accounts"),
                                    ("TaxCode", "taxcodes"), ("TaxRate", "taxrates")):
                    entry[key] = [render(realm, record) for record in realm.live(entity)]
                entry["invoices"] = [{**render(realm, r), "status": invoice_status(realm, r)}
                                     for r in realm.live("Invoice")]
                for entity, key in (("Payment", "payments"), ("CreditMemo", "creditmemos")):
                    entry[key] = [{**render(realm, r), "status": r.status} for r in realm.live(entity)]
                entry["deleted"] = [{**deleted_body(r), "entity": entity,
                                     "DocNumber": r.body.get("DocNumber"),
                                     "LastUpdatedTime": realm.iso(r.updated)}
                                    for entity in ("Invoice", "Payment", "CreditMemo")
                                    for r in realm.deleted(entity)]
                realms[realm.id] = entry
            return {"provider": self.name, "realms": realms, "changes": list(self.changes),
                    "webhook_target": self.settings["webhook_target"], "oauth": self.oauth.view(),
                    "clock": {"now": self._now_iso(), "time_scale": self.clock.time_scale,
                              "offset": self.clock.offset}}

    def stats_view(self) -> dict:
        """Counters for tests and benchmarks."""
        return self.stats.view()

    def webhooks_view(self) -> dict:
        """The webhook target, its settings and every logged delivery."""
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
            self.webhooks.reset()
            if options.get("config"):
                self.faults.reset()
                self.settings.clear()
                self.settings.update(default_settings())
                self.limiter.settings = dict(DEFAULT_LIMITS)
                self.clock.set_offset(0)
                self.clock.set_time_scale(1.0)
                self.configure(copy.deepcopy(self._initial))
            else:
                self.faults.configure({key: 0 for key in ("fail_next", "throttle_next", "unauthorized_next",
                                                          "drop_after_write")})
        return {"reset": True, "realms": self.tenants()}

    def _realm(self, tenant: str):
        realm = self.store.realm(self.resolve_realm(tenant) or "")
        if realm is None:
            raise ControlError(404, {"error": "unknown_realm", "realm": tenant})
        return realm

    def _fault(self, realm, fault: QBOFault) -> ControlError:
        return ControlError(fault.status, fault.body(realm.iso(self.clock.now(), millis=True)))

    def user_payment(self, tenant: str, body: dict) -> dict:
        """Record a payment against an invoice (by invoice_id or doc_number), as a user would."""
        realm = self._realm(tenant)
        with self.store.lock:
            invoice = None
            if body.get("invoice_id") is not None:
                invoice = realm.get("Invoice", str(body["invoice_id"]))
            elif body.get("doc_number") is not None:
                invoice = next((r for r in realm.live("Invoice")
                                if r.body.get("DocNumber") == str(body["doc_number"])), None)
            if invoice is None:
                raise ControlError(404, {"error": "invoice_not_found"})
            amount = body.get("amount")
            if amount is None:
                raise ControlError(400, {"error": "amount_required"})
            payment = {"CustomerRef": {"value": invoice.body["CustomerRef"]["value"]},
                       "TotalAmt": amount if isinstance(amount, Decimal) else str(amount),
                       "CurrencyRef": {"value": invoice.body["CurrencyRef"]["value"]},
                       "ExchangeRate": invoice.body.get("ExchangeRate", Decimal("1")),
                       "Line": [{"Amount": amount if isinstance(amount, Decimal) else str(amount),
                                 "LinkedTxn": [{"TxnId": invoice.id, "TxnType": "Invoice"}]}]}
            if body.get("date"):
                payment["TxnDate"] = body["date"]
            if body.get("reference"):
                payment["PaymentRefNum"] = str(body["reference"])
            try:
                record = Writer(self, realm).create(kind_for("payment"), payment)
            except QBOFault as fault:
                raise self._fault(realm, fault) from None
            return {"Payment": render(realm, record)}

    def user_patch(self, tenant: str, entity: str, object_id: str, body: dict) -> dict:
        """Merge fields into an object as a user editing it would (no SyncToken needed)."""
        realm = self._realm(tenant)
        kind = kind_for(entity)
        if kind is None:
            raise ControlError(404, {"error": "unknown_entity", "entity": entity})
        with self.store.lock:
            try:
                record = Writer(self, realm).user_update(kind, object_id, body)
            except QBOFault as fault:
                raise self._fault(realm, fault) from None
            return {kind.name: render(realm, record)}

    def user_delete(self, tenant: str, entity: str, object_id: str) -> dict:
        """Delete as a user would (names are made inactive, transactions get status Deleted)."""
        realm = self._realm(tenant)
        kind = kind_for(entity)
        if kind is None:
            raise ControlError(404, {"error": "unknown_entity", "entity": entity})
        with self.store.lock:
            try:
                record = Writer(self, realm).user_delete(kind, object_id)
            except QBOFault as fault:
                raise self._fault(realm, fault) from None
            if record.status == "Deleted":
                return {kind.name: deleted_body(record)}
            return {kind.name: render(realm, record)}


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

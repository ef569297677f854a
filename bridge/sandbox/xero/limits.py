"""Xero's API limits on the sandbox clock (developer.xero.com/documentation/guides/oauth2/limits; facts §2.3).

Per app and tenant: 5 calls in progress, 60 calls in any rolling minute, 5,000 in a rolling day; per
app: 10,000 calls a minute across tenants. Every answer carries X-DayLimit-Remaining,
X-MinLimit-Remaining and X-AppMinLimit-Remaining; a call over a limit gets 429 with Retry-After and
X-Rate-Limit-Problem (minute, day, appminute, concurrent). Refused calls do not count.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict, deque

PER_MINUTE = 60
PER_DAY = 5000
CONCURRENT = 5
APP_PER_MINUTE = 10000
MINUTE = 60.0
DAY = 86400.0
CONCURRENT_RETRY_SECONDS = 1  # [U] Xero does not say; one second lets an in-flight call finish
DEFAULT_LIMITS = {"enabled": True, "per_minute": PER_MINUTE, "per_day": PER_DAY, "concurrent": CONCURRENT,
                  "app_per_minute": APP_PER_MINUTE}
LIMIT_KINDS = ("per_minute", "per_day", "concurrent", "app_per_minute")
PROBLEMS = {"per_day": "day", "per_minute": "minute", "app_per_minute": "appminute", "concurrent": "concurrent"}


class RateLimiter:
    """Rolling windows per (app, tenant) and per app, plus calls in flight; always counted, enforced if enabled."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self.settings = dict(DEFAULT_LIMITS)
        self._windows: dict = defaultdict(deque)
        self._in_flight: Counter = Counter()
        self._peak: Counter = Counter()

    def configure(self, changes: dict, strict: bool = True) -> None:
        """Merge new limits (`enabled` and any of LIMIT_KINDS); unknown keys fail unless strict is False."""
        checked = {}
        for key, value in changes.items():
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError("limits.enabled must be true or false")
            elif key in LIMIT_KINDS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"limits.{key} must be a positive integer")
            elif strict:
                raise ValueError(f"unknown limit {key!r}")
            else:
                continue
            checked[key] = value
        with self._lock:
            self.settings.update(checked)

    def reset(self) -> None:
        """Forget every window (calls in flight keep counting until they end)."""
        with self._lock:
            self._windows.clear()
            self._peak.clear()

    def _trim(self, key, span: float, now: float) -> deque:
        window = self._windows[key]
        while window and window[0] <= now - span:
            window.popleft()
        return window

    def acquire(self, app: str, tenant: str) -> tuple[str | None, float]:
        """Admit a call, or name the broken limit's problem and the sandbox seconds until it reopens."""
        with self._lock:
            now = self.clock.now()
            checks = (("per_day", ("day", app, tenant), DAY), ("per_minute", ("minute", app, tenant), MINUTE),
                      ("app_per_minute", ("app", app), MINUTE))
            windows = [(kind, key, self._trim(key, span, now), span) for kind, key, span in checks]
            if self.settings["enabled"]:
                for kind, _key, window, span in windows:
                    if len(window) >= self.settings[kind]:
                        wait = window[len(window) - self.settings[kind]] + span - now
                        return PROBLEMS[kind], max(wait, 0.001)
                if self._in_flight[(app, tenant)] >= self.settings["concurrent"]:
                    return PROBLEMS["concurrent"], float(CONCURRENT_RETRY_SECONDS) * self.clock.time_scale
            for _kind, _key, window, _span in windows:
                window.append(now)
            self._in_flight[(app, tenant)] += 1
            self._peak[tenant] = max(self._peak[tenant], len(self._windows[("minute", app, tenant)]))
            return None, 0.0

    def release(self, app: str, tenant: str) -> None:
        """A call admitted by `acquire` has ended."""
        with self._lock:
            key = (app, tenant)
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    def remaining(self, app: str, tenant: str) -> dict:
        """The X-*Limit-Remaining headers for this app and tenant."""
        with self._lock:
            now = self.clock.now()
            minute = len(self._trim(("minute", app, tenant), MINUTE, now))
            day = len(self._trim(("day", app, tenant), DAY, now))
            app_minute = len(self._trim(("app", app), MINUTE, now))
            return {"X-DayLimit-Remaining": str(max(0, self.settings["per_day"] - day)),
                    "X-MinLimit-Remaining": str(max(0, self.settings["per_minute"] - minute)),
                    "X-AppMinLimit-Remaining": str(max(0, self.settings["app_per_minute"] - app_minute))}

    def retry_after(self, sandbox_seconds: float) -> int:
        """Retry-After in whole real seconds: sandbox seconds divided by time_scale, rounded up (at least 1)."""
        return max(1, math.ceil(self.clock.real_seconds(sandbox_seconds) - 1e-9))

    def per_minute_seen(self) -> dict:
        """Calls in the last sandbox minute and the busiest minute so far, per tenant (all apps)."""
        with self._lock:
            now = self.clock.now()
            current: Counter = Counter()
            for key in list(self._windows):
                if key[0] == "minute":
                    current[key[2]] += len(self._trim(key, MINUTE, now))
            tenants = set(current) | set(self._peak)
            return {tenant: {"current": current.get(tenant, 0), "peak": self._peak.get(tenant, 0)}
                    for tenant in sorted(tenants)}

    def view(self) -> dict:
        """Current settings and calls in flight."""
        with self._lock:
            return {**self.settings,
                    "in_flight": {f"{app}/{tenant}": n for (app, tenant), n in self._in_flight.items()}}

"""QBO throttles, on the sandbox clock (facts §1.4: dic/learn/rest-api-features#limits-and-throttles)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque

PER_MINUTE = 500  # requests per minute per realm (batch calls included)
PER_SECOND = 10  # requests per second per realm + app
CONCURRENT = 10  # requests in flight per realm + app (Intuit blog 2016-08-08, idg-concurrent-api-use)
BATCH_PER_MINUTE = 40  # batch calls per minute per realm + app
BATCH_PER_MINUTE_REALM = 120  # batch calls per minute per realm
THROTTLE_WAIT_SECONDS = 60  # "wait 60 s" after a 429
DEFAULT_LIMITS = {"enabled": True, "per_minute": PER_MINUTE, "per_second": PER_SECOND,
                  "concurrent": CONCURRENT, "batch_per_minute": BATCH_PER_MINUTE,
                  "batch_per_minute_realm": BATCH_PER_MINUTE_REALM}
LIMIT_KINDS = ("per_minute", "per_second", "concurrent", "batch_per_minute", "batch_per_minute_realm")


class RateLimiter:
    """Sliding windows per realm (and per realm + app) plus an in-flight counter."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self.settings = dict(DEFAULT_LIMITS)
        self._windows: dict = defaultdict(deque)
        self._in_flight: Counter = Counter()

    def configure(self, changes: dict) -> None:
        """Merge new limits (`enabled` and any of LIMIT_KINDS)."""
        for key, value in changes.items():
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError("limits.enabled must be true or false")
            elif key in LIMIT_KINDS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"limits.{key} must be a positive integer")
            else:
                raise ValueError(f"unknown limit {key!r}")
        with self._lock:
            self.settings.update(changes)

    def reset(self) -> None:
        """Forget every window (in-flight requests keep counting until they end)."""
        with self._lock:
            self._windows.clear()

    def acquire(self, realm_id: str, client_id: str, batch: bool = False) -> str | None:
        """Admit a request, or name the limit it would break (and admit nothing)."""
        with self._lock:
            flight_key = (realm_id, client_id)
            if not self.settings["enabled"]:
                self._in_flight[flight_key] += 1
                return None
            now = self.clock.now()
            checks = [("per_minute", ("minute", realm_id), 60.0),
                      ("per_second", ("second", realm_id, client_id), 1.0)]
            if batch:
                checks += [("batch_per_minute", ("batch", realm_id, client_id), 60.0),
                           ("batch_per_minute_realm", ("batch-realm", realm_id), 60.0)]
            for kind, key, span in checks:
                window = self._windows[key]
                while window and window[0] <= now - span:
                    window.popleft()
                if len(window) >= self.settings[kind]:
                    return kind
            if self._in_flight[flight_key] >= self.settings["concurrent"]:
                return "concurrent"
            for _, key, _ in checks:
                self._windows[key].append(now)
            self._in_flight[flight_key] += 1
            return None

    def release(self, realm_id: str, client_id: str) -> None:
        """A request admitted by `acquire` has ended."""
        with self._lock:
            key = (realm_id, client_id)
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    def retry_after(self) -> int:
        """Retry-After in real seconds: QBO's 60 s wait, scaled by time_scale, rounded up."""
        return self.clock.real_seconds_ceil(THROTTLE_WAIT_SECONDS)

    def view(self) -> dict:
        """Current settings and in-flight counts."""
        with self._lock:
            return {**self.settings,
                    "in_flight": {f"{realm}/{client}": n for (realm, client), n in self._in_flight.items()}}

"""A hidden per-account request limit, on the sandbox clock.

FreshBooks publishes no rate limit (facts §3.3 [U]); integrators meet 429s anyway. The sandbox keeps a
sliding one-minute window per account, off by default so behaviour tests are not disturbed; turn it on
with config `limits: {"enabled": true, "per_minute": N}`.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

DEFAULT_PER_MINUTE = 60  # [U] an invented figure: the real limit is unpublished
DEFAULT_LIMITS = {"enabled": False, "per_minute": DEFAULT_PER_MINUTE}
WINDOW_SECONDS = 60.0


class HiddenLimiter:
    """Sliding one-minute windows per account."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self.settings = dict(DEFAULT_LIMITS)
        self._windows: dict = defaultdict(deque)

    def configure(self, changes: dict) -> None:
        """Merge `enabled` and `per_minute`."""
        for key, value in changes.items():
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError("limits.enabled must be true or false")
            elif key == "per_minute":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError("limits.per_minute must be a positive integer")
            else:
                raise ValueError(f"unknown limit {key!r}")
        with self._lock:
            self.settings.update(changes)

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()

    def admit(self, key: str) -> bool:
        """Count a request for `key`; False when it is over the limit (and then it is not counted)."""
        with self._lock:
            if not self.settings["enabled"]:
                return True
            now = self.clock.now()
            window = self._windows[key]
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.settings["per_minute"]:
                return False
            window.append(now)
            return True

    def view(self) -> dict:
        """Current settings."""
        with self._lock:
            return dict(self.settings)

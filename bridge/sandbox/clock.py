"""A scalable clock: token expiry and rate-limit windows are measured on it.

`time_scale` says how many sandbox seconds pass per real second (60 makes a sandbox minute last one
real second); `offset` jumps the clock forward, e.g. to expire tokens in a test.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone


class SandboxClock:
    """Sandbox time in epoch seconds: real time, sped up by `time_scale`, plus `offset`."""

    def __init__(self, time_scale: float = 1.0, offset: float = 0.0, real=time.time):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self._real = real
        self._lock = threading.Lock()
        self._anchor_real = real()
        self._anchor_sandbox = self._anchor_real
        self._scale = float(time_scale)
        self._offset = float(offset)

    @property
    def time_scale(self) -> float:
        """Sandbox seconds per real second."""
        return self._scale

    @property
    def offset(self) -> float:
        """Seconds added on top of the scaled clock."""
        return self._offset

    def now(self) -> float:
        """Current sandbox time in epoch seconds."""
        with self._lock:
            return self._anchor_sandbox + (self._real() - self._anchor_real) * self._scale + self._offset

    def set_time_scale(self, time_scale: float) -> None:
        """Change the speed without making the clock jump."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        with self._lock:
            real = self._real()
            self._anchor_sandbox += (real - self._anchor_real) * self._scale
            self._anchor_real = real
            self._scale = float(time_scale)

    def set_offset(self, offset: float) -> None:
        """Set the total jump (in sandbox seconds) added to the clock."""
        with self._lock:
            self._offset = float(offset)

    def advance(self, seconds: float) -> None:
        """Jump the clock forward by `seconds` sandbox seconds."""
        with self._lock:
            self._offset += float(seconds)

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long `sandbox_seconds` last in real time."""
        return sandbox_seconds / self._scale

    def real_seconds_ceil(self, sandbox_seconds: float) -> int:
        """`real_seconds` rounded up to a whole second, at least 1 (for Retry-After)."""
        return max(1, math.ceil(self.real_seconds(sandbox_seconds) - 1e-9))

    def datetime(self, utc_offset_minutes: int = 0) -> datetime:
        """Current sandbox time as an aware datetime in a fixed UTC offset."""
        tz = timezone(timedelta(minutes=utc_offset_minutes))
        return datetime.fromtimestamp(self.now(), tz)

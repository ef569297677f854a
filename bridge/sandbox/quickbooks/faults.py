"""Injected failures: a share of 500s, forced 429s and 401s, writes whose answer is lost, bad refreshes."""

from __future__ import annotations

import random
import threading

DEFAULT_DROP_DELAY = 2.0  # real seconds a "timeout" drop holds the answer back
DROP_MODES = ("timeout", "error")
COUNTERS = ("fail_next", "throttle_next", "unauthorized_next", "drop_after_write")
DEFAULT_FAULTS = {"error_rate": 0.0, "fail_next": 0, "throttle_next": 0, "unauthorized_next": 0,
                  "drop_after_write": 0, "drop_mode": "timeout", "drop_delay": DEFAULT_DROP_DELAY,
                  "invalid_grant": False, "latency": 0.0}
GATEWAY_TIMEOUT_HTML = ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                        "<title>504 Gateway Time-out</title>\n</head><body>\n<h1>Gateway Time-out</h1>\n"
                        "<p>The gateway did not receive a timely response from the upstream server.</p>\n"
                        "</body></html>\n")


class FaultInjector:
    """Holds the fault settings and hands out one-shot faults under a lock."""

    def __init__(self, seed: int | None = None):
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.settings = dict(DEFAULT_FAULTS)

    def configure(self, changes: dict) -> None:
        """Merge fault settings; counters are set (not added)."""
        checked = {}
        for key, value in changes.items():
            if key == "error_rate":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise ValueError("faults.error_rate must be between 0 and 1")
                value = float(value)
            elif key in COUNTERS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"faults.{key} must be a whole number >= 0")
            elif key == "drop_mode":
                if value not in DROP_MODES:
                    raise ValueError(f"faults.drop_mode must be one of {DROP_MODES}")
            elif key in ("drop_delay", "latency"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"faults.{key} must be a number of seconds >= 0")
                value = float(value)
            elif key == "invalid_grant":
                if not isinstance(value, bool):
                    raise ValueError("faults.invalid_grant must be true or false")
            elif key == "seed":
                self._random.seed(value)
                continue
            else:
                raise ValueError(f"unknown fault {key!r}")
            checked[key] = value
        with self._lock:
            self.settings.update(checked)

    def reset(self) -> None:
        """Back to no faults at all."""
        with self._lock:
            self.settings = dict(DEFAULT_FAULTS)

    def take(self, counter: str) -> bool:
        """Consume one unit of a one-shot counter; True when it fired."""
        with self._lock:
            if self.settings[counter] > 0:
                self.settings[counter] -= 1
                return True
            return False

    def take_failure(self) -> bool:
        """Should this request be answered 500 (fail_next, then error_rate)?"""
        if self.take("fail_next"):
            return True
        with self._lock:
            rate = self.settings["error_rate"]
            return rate > 0 and self._random.random() < rate

    def take_drop(self) -> str | None:
        """The drop mode when this write's answer must be lost, else None."""
        return self.settings["drop_mode"] if self.take("drop_after_write") else None

    @property
    def latency(self) -> float:
        """Real seconds added before each API request runs (a sandbox extension)."""
        return self.settings["latency"]

    @property
    def drop_delay(self) -> float:
        """Real seconds a dropped answer is held back in timeout mode."""
        return self.settings["drop_delay"]

    @property
    def invalid_grant(self) -> bool:
        """Every refresh answers invalid_grant."""
        return self.settings["invalid_grant"]

    def view(self) -> dict:
        """Current fault settings."""
        with self._lock:
            return dict(self.settings)

"""Injected failures: the QuickBooks emulator's vocabulary plus `throttle_problem` for forced 429s."""

from __future__ import annotations

from ..quickbooks.faults import DEFAULT_FAULTS, GATEWAY_TIMEOUT_HTML, FaultInjector

__all__ = ["GATEWAY_TIMEOUT_HTML", "THROTTLE_PROBLEMS", "XeroFaults"]

THROTTLE_PROBLEMS = ("minute", "day")  # what X-Rate-Limit-Problem says on a forced 429
FAULT_KEYS = tuple(DEFAULT_FAULTS) + ("throttle_problem", "seed")


class XeroFaults(FaultInjector):
    """error_rate, fail_next, throttle_next (+ throttle_problem), unauthorized_next, drop_after_write
    (+ drop_mode timeout|error, drop_delay), invalid_grant, latency."""

    def __init__(self, seed: int | None = None):
        super().__init__(seed)
        self.throttle_problem = "minute"

    def configure(self, changes: dict, strict: bool = True) -> None:
        """Merge fault settings; unknown keys fail unless strict is False (shared sandbox config)."""
        changes = dict(changes)
        if "throttle_problem" in changes:
            if changes["throttle_problem"] not in THROTTLE_PROBLEMS:
                raise ValueError(f"faults.throttle_problem must be one of {THROTTLE_PROBLEMS}")
            self.throttle_problem = changes.pop("throttle_problem")
        if not strict:
            changes = {key: value for key, value in changes.items() if key in FAULT_KEYS}
        super().configure(changes)

    def reset(self) -> None:
        """Back to no faults at all."""
        super().reset()
        self.throttle_problem = "minute"

    def view(self) -> dict:
        """Current fault settings."""
        return {**super().view(), "throttle_problem": self.throttle_problem}

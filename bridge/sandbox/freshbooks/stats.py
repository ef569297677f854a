"""Counters for tests and benchmarks: token calls by grant type, API requests, throttles, writes."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict


class Stats:
    """Counters grouped by name."""

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

    def view(self) -> dict:
        """Every counter, with totals."""
        with self._lock:
            groups = {name: dict(counter) for name, counter in self._groups.items()}
        total = lambda name: sum(groups.get(name, {}).values())  # noqa: E731
        return {"token_calls": groups.get("token_calls", {}), "token_errors": groups.get("token_errors", {}),
                "api_requests": total("api_requests"), "api_requests_by_account": groups.get("api_requests", {}),
                "throttled": groups.get("throttled", {}), "throttled_total": total("throttled"),
                "unauthorized": total("unauthorized"), "forbidden": groups.get("forbidden", {}),
                "writes_applied": total("writes_applied"), "writes_by_entity": groups.get("writes_applied", {}),
                "faults_injected": groups.get("faults_injected", {}),
                "ignored_search_params": groups.get("ignored_search_params", {}),
                "ignored_fields": groups.get("ignored_fields", {})}

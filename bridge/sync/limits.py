"""A per-connection rate limiter in Redis, shared by every worker (DESIGN.md "Sync operations").

Sliding windows (a sorted set of request times per window) plus a cap on requests in flight, checked
and taken in one Lua script so concurrent workers never overshoot a ledger's published limits.
"""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager

import redis

from bridge import errors

WINDOW_PADDING_MS = 100
"""Padding on every window: our clock and the ledger's disagree by the network latency."""
IN_FLIGHT_TTL_MS = 180_000
"""A request still 'in flight' after this long is taken to have died with its worker."""
MAX_SLEEP_SECONDS = 2.0
"""Wait this long at most for a slot inside a job; a longer wait hands the operation back for later."""

TAKE_SLOT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local windows = tonumber(ARGV[3])
local blocked = redis.call('PTTL', KEYS[windows + 2])
if blocked > 0 then return blocked end
local wait = 0
for i = 1, windows do
  local limit = tonumber(ARGV[2 + 2 * i])
  local span = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local free_at = tonumber(oldest[2]) + span - now
    if free_at > wait then wait = free_at end
  end
end
local concurrent = tonumber(ARGV[4 + 2 * windows])
local flight = KEYS[windows + 1]
if concurrent > 0 then
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', now - tonumber(ARGV[5 + 2 * windows]))
  if redis.call('ZCARD', flight) >= concurrent and wait < 20 then wait = 20 end
end
if wait > 0 then return wait end
for i = 1, windows do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + 2 * i]))
end
if concurrent > 0 then
  redis.call('ZADD', flight, now, member)
  redis.call('PEXPIRE', flight, tonumber(ARGV[5 + 2 * windows]))
end
return 0
"""


class Limiter:
    """One connection's share of a ledger's limits."""

    def __init__(self, connection: redis.Redis, connection_id: str, windows: dict[str, tuple[int, float]],
                 concurrent: int = 0, max_sleep: float = MAX_SLEEP_SECONDS, time_scale: float = 1.0):
        """`windows`: name -> (requests, seconds), e.g. {"second": (10, 1.0), "minute": (500, 60.0)}.

        `time_scale` > 1 shrinks every window (benchmarks against a sandbox running on scaled time).
        """
        self.redis = connection
        self.time_scale = time_scale
        self.prefix = f"bridge:rate:{connection_id}"
        self.windows = windows
        self.concurrent = concurrent
        self.max_sleep = max_sleep
        self.script = connection.register_script(TAKE_SLOT)

    def _windows_for(self, kind: str) -> dict[str, tuple[int, float]]:
        """Every window applies to every request; `batch-*` windows only to batch calls."""
        return {name: window for name, window in self.windows.items()
                if not name.startswith("batch") or kind == "batch"}

    def _try(self, member: str, kind: str, now_ms: int | None = None) -> float:
        """Take a slot at `now_ms` (default: now), or say how many seconds until one may be free."""
        windows = self._windows_for(kind)
        keys = [f"{self.prefix}:{name}" for name in windows] + [f"{self.prefix}:in-flight", f"{self.prefix}:blocked"]
        args = [int(time.time() * 1000) if now_ms is None else now_ms, member, len(windows)]
        for limit, seconds in windows.values():
            args += [limit, int((seconds * 1000 + WINDOW_PADDING_MS) / self.time_scale)]
        args += [self.concurrent, IN_FLIGHT_TTL_MS]
        return int(self.script(keys=keys, args=args)) / 1000

    @contextmanager
    def slot(self, kind: str = "request", max_sleep: float | None = None):
        """Hold one request's slot (`kind` "batch" also takes a batch slot); wait briefly, else raise."""
        member = secrets.token_hex(8)
        deadline = time.monotonic() + (self.max_sleep if max_sleep is None else max_sleep)
        while (wait := self._try(member, kind)) > 0:
            if time.monotonic() + wait > deadline:
                raise errors.LedgerRateLimited("The ledger's rate limit for this connection is reached.",
                                               retry_after=wait)
            time.sleep(wait)
        try:
            yield
        finally:
            if self.concurrent:
                try:
                    self.redis.zrem(f"{self.prefix}:in-flight", member)
                except redis.RedisError:
                    pass  # it expires by itself

    def available(self, kind: str) -> bool:
        """Whether a slot of `kind` could be taken now (a hint; nothing is taken)."""
        now = time.time() * 1000
        for name, (limit, seconds) in self._windows_for(kind).items():
            key = f"{self.prefix}:{name}"
            span = (seconds * 1000 + WINDOW_PADDING_MS) / self.time_scale
            if self.redis.zcount(key, now - span, "+inf") >= limit:
                return False
        return self.redis.pttl(f"{self.prefix}:blocked") <= 0

    def block(self, seconds: float) -> None:
        """Hold every worker's requests on this connection for `seconds` (after a 429)."""
        milliseconds = max(int(seconds * 1000), 1)
        key = f"{self.prefix}:blocked"
        if self.redis.pttl(key) < milliseconds:
            self.redis.set(key, 1, px=milliseconds)

    def observe(self, status: int, headers) -> None:
        """Learn from the ledger's answer: a 429 blocks the connection for its Retry-After."""
        if status == 429:
            self.block(retry_after_seconds(headers))


DEFAULT_429_WAIT = 60.0
"""Wait after a 429 that names no Retry-After (QBO documents 60 s)."""


def retry_after_seconds(headers) -> float:
    """Retry-After in seconds (a number; an HTTP date is taken as the default)."""
    value = (headers or {}).get("Retry-After")
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_429_WAIT

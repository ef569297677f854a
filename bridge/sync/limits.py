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

WINDOW_PADDING_MS = 80
"""Real milliseconds added to every window: a request reaches the ledger a little after it took its slot,
and not always equally late (network, a busy CPU), so a slot is reused only this long after it frees.
Not scaled with time: the jitter is real."""
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
local reserve_in = tonumber(ARGV[6 + 2 * windows])
local reserve = 0
if reserve_in > 0 and redis.call('EXISTS', KEYS[windows + 4]) == 1 then
  local batch_span = tonumber(ARGV[3 + 2 * reserve_in])
  redis.call('ZREMRANGEBYSCORE', KEYS[windows + 3], '-inf', now - batch_span)
  reserve = tonumber(ARGV[7 + 2 * windows]) - redis.call('ZCARD', KEYS[windows + 3])
  if reserve < 0 then reserve = 0 end
end
for i = 1, windows do
  local limit = tonumber(ARGV[2 + 2 * i])
  local span = tonumber(ARGV[3 + 2 * i])
  if i == reserve_in then limit = limit - reserve end
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
                 concurrent: int = 0, max_sleep: float = MAX_SLEEP_SECONDS, time_scale: float = 1.0,
                 reserve: tuple[str, str] | None = None, learn: float | None = None):
        """`windows`: name -> (requests, seconds), e.g. {"second": (10, 1.0), "minute": (500, 60.0)}.

        `time_scale` > 1 shrinks every window (benchmarks against a sandbox running on scaled time).
        `reserve` = (window, batch window): while batches are being formed (`batching()`), single calls
        leave in `window` as many requests as `batch window` still allows, so batch calls always find
        their place (QBO: 500 calls/min of which up to 40 are batches of 30).
        `learn` (seconds) is for a ledger that publishes no limit: requests are counted over that window,
        and a 429 without Retry-After after LEARN_FLOOR of them sets a limit a little under the count
        (kept LEARNED_SECONDS), which the window then keeps to instead of meeting 429s again.
        """
        self.redis = connection
        self.time_scale = time_scale
        self.prefix = f"bridge:rate:{connection_id}"
        self.windows = windows
        self.reserve = reserve
        self.concurrent = concurrent
        self.max_sleep = max_sleep
        self.learn = learn
        self.script = connection.register_script(TAKE_SLOT)

    def _windows_for(self, kind: str) -> dict[str, tuple[int, float]]:
        """Every window applies to every request; `batch-*` windows only to batch calls; the learned one
        (unbounded until a 429 taught it) to all."""
        windows = {name: window for name, window in self.windows.items()
                   if not name.startswith("batch") or kind == "batch"}
        if self.learn:
            learned = self.redis.get(f"{self.prefix}:learned-limit")
            windows[LEARNED_WINDOW] = (int(learned) if learned else UNBOUNDED, self.learn)
        return windows

    def _try(self, member: str, kind: str, now_ms: int | None = None) -> float:
        """Take a slot at `now_ms` (default: now), or say how many seconds until one may be free."""
        windows = self._windows_for(kind)
        keys = [f"{self.prefix}:{name}" for name in windows] + [f"{self.prefix}:in-flight", f"{self.prefix}:blocked"]
        args = [int(time.time() * 1000) if now_ms is None else now_ms, member, len(windows)]
        for limit, seconds in windows.values():
            args += [limit, self._span_ms(seconds)]
        args += [self.concurrent, IN_FLIGHT_TTL_MS]
        if self.reserve and kind != "batch":
            window, batch_window = self.reserve
            keys += [f"{self.prefix}:{batch_window}", f"{self.prefix}:batching"]
            args += [list(windows).index(window) + 1, self.windows[batch_window][0]]
        else:
            keys += [f"{self.prefix}:unused", f"{self.prefix}:unused"]
            args += [0, 0]
        return int(self.script(keys=keys, args=args)) / 1000

    def _span_ms(self, seconds: float) -> int:
        """A window's span in milliseconds on this limiter's clock, padded."""
        return int(seconds * 1000 / self.time_scale + WINDOW_PADDING_MS)

    def batching(self) -> None:
        """Say batches are being formed now: for one batch window, single calls leave room for them."""
        if self.reserve:
            self.redis.set(f"{self.prefix}:batching", 1, px=self._span_ms(self.windows[self.reserve[1]][1]))

    def free(self, kind: str, spans_from: float = 0.0) -> int:
        """How many `kind` calls the windows spanning at least `spans_from` seconds would take now (a hint;
        nothing is taken)."""
        now = time.time() * 1000
        if self.redis.pttl(f"{self.prefix}:blocked") > 0:
            return 0
        return max(0, min((limit - self.redis.zcount(f"{self.prefix}:{name}", now - self._span_ms(seconds), "+inf")
                           for name, (limit, seconds) in self._windows_for(kind).items() if seconds >= spans_from),
                          default=1 << 30))

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
        return self.free(kind) > 0

    def block(self, seconds: float) -> None:
        """Hold every worker's requests on this connection for `seconds` (after a 429)."""
        milliseconds = max(int(seconds * 1000), 1)
        key = f"{self.prefix}:blocked"
        if self.redis.pttl(key) < milliseconds:
            self.redis.set(key, 1, px=milliseconds)

    def observe(self, status: int, headers) -> None:
        """Learn from the ledger's answer: a 429 blocks the connection for its Retry-After, or (a ledger
        whose limit is learned, no Retry-After) sets the pace the window keeps from now on."""
        if status != 429:
            return
        if self.learn and (headers or {}).get("Retry-After") is None and self._learn():
            self.block(LEARNED_PAUSE_SECONDS)
            return
        self.block(retry_after_seconds(headers))

    def _learn(self) -> int | None:
        """Set the learned limit from the requests in its window (never raising it); None when too few
        were made to tell (someone else used the allowance)."""
        window = self._span_ms(self.learn)
        made = self.redis.zcount(f"{self.prefix}:{LEARNED_WINDOW}", time.time() * 1000 - window, "+inf")
        if made < LEARN_FLOOR:
            return None
        known = self.redis.get(f"{self.prefix}:learned-limit")
        limit = max(LEARN_FLOOR, int(made * LEARN_MARGIN))
        limit = min(limit, int(known)) if known else limit
        self.redis.set(f"{self.prefix}:learned-limit", limit, ex=LEARNED_SECONDS)
        return limit


LEARNED_WINDOW = "learned"
UNBOUNDED = 1 << 30
LEARN_FLOOR = 10
"""Fewer requests than this in the window before a 429 teach nothing: the plain wait applies."""
LEARN_MARGIN = 0.9
"""The learned limit, as a share of the requests the window held when the 429 came."""
LEARNED_SECONDS = 3600
"""A learned limit is forgotten after this long, so a raised one is found again."""
LEARNED_PAUSE_SECONDS = 1.0
"""The pause after a 429 that taught a limit (the learned window then spaces the requests)."""

DEFAULT_429_WAIT = 60.0
"""Wait after a 429 that names no Retry-After (QBO documents 60 s)."""


def retry_after_seconds(headers) -> float:
    """Retry-After in seconds (a number; an HTTP date is taken as the default)."""
    value = (headers or {}).get("Retry-After")
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_429_WAIT

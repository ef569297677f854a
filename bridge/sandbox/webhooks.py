"""Webhook delivery shared by the emulators: one background sender per emulator.

An emulator's change listeners run under its store lock, so they only queue work here; a daemon
thread does the HTTP. Changes for one target can be collected for a while and sent as one
notification (QBO production aggregates its webhooks over minutes; the sandbox sends at once unless
`webhook_delay_seconds` is set). A failed POST (connection error, timeout, a status the ledger does
not take as received) is tried again after growing delays, `retries` times, then given up and logged
as failed. The ledgers retry for much longer (Xero for 24 hours before disabling the subscription,
QBO over hours): the sandbox caps it so that tests and demos stay quick.

Every delivery is logged (newest last, bounded) for GET /_sandbox/<provider>/webhooks.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import heapq
import hmac
import itertools
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

DEFAULT_RETRIES = 3  # tries after the first one
DEFAULT_RETRY_SECONDS = 0.5  # first retry delay (real seconds); doubles on each retry
DEFAULT_DELAY_SECONDS = 0.0  # collect changes this long (real seconds) into one notification
TIMEOUT_SECONDS = 5.0  # Xero wants an answer within 5 s [V] developer.xero.com/documentation/webhooks
MAX_RETRIES = 10
MAX_RETRY_SECONDS = 60.0
MAX_DELAY_SECONDS = 600.0
MAX_LOG = 500  # deliveries kept for the control view
MAX_RESPONSE_BYTES = 65536  # of a receiver's answer
IDLE_EXIT_SECONDS = 5.0  # the thread ends after this long with nothing to do; the next send starts another
SETTINGS = {"webhook_delay_seconds": DEFAULT_DELAY_SECONDS, "webhook_retries": DEFAULT_RETRIES,
            "webhook_retry_seconds": DEFAULT_RETRY_SECONDS}


def hmac_base64(key: str, message: bytes) -> str:
    """base64(HMAC-SHA256(key, message)): the signature QBO, Xero and FreshBooks all use."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


def check_settings(changes: dict) -> None:
    """Validate and normalise the shared webhook settings present in `changes` (in place)."""
    limits = {"webhook_delay_seconds": MAX_DELAY_SECONDS, "webhook_retries": MAX_RETRIES,
              "webhook_retry_seconds": MAX_RETRY_SECONDS}
    for key, maximum in limits.items():
        if key not in changes:
            continue
        value = changes[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not 0 <= value <= maximum:
            raise ValueError(f"{key} must be a number from 0 to {maximum:g}")
        changes[key] = int(value) if key == "webhook_retries" else float(value)
    target = changes.get("webhook_target")
    if target is not None and (not isinstance(target, str) or not target.startswith(("http://", "https://"))):
        raise ValueError("webhook_target must be an http(s) URL or null")


def accept_2xx(status: int, body: bytes) -> bool:
    """Any 2xx answer counts as received."""
    return 200 <= status < 300


@dataclass
class Delivery:
    """One POST to make (and to retry until `accept` says it was received)."""

    url: str
    body: bytes
    headers: dict
    kind: str = "notification"
    accept: Callable[[int, bytes], bool] = accept_2xx
    retries: int = DEFAULT_RETRIES
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    on_done: Callable[[dict], None] | None = None  # called (in the sender thread) with the final log entry
    entry: dict = field(default_factory=dict)
    generation: int = 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a webhook is not re-posted elsewhere
        return None


# No proxies from the environment (targets are usually on loopback) and no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(url: str, body: bytes, headers: dict, timeout: float = TIMEOUT_SECONDS) -> tuple[int, bytes]:
    """POST `body`; the status and (the start of) the answer. Network failures raise OSError."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(MAX_RESPONSE_BYTES)


class WebhookSender:
    """A queue of deliveries and the daemon thread that sends them, in order, with bounded retries."""

    def __init__(self, name: str, clock: Callable[[], float] = time.time, timeout: float = TIMEOUT_SECONDS):
        self.name = name
        self.timeout = timeout
        self._clock = clock
        self._cond = threading.Condition()
        self._ready: deque[Delivery] = deque()
        self._retrying: list = []  # heap of (due monotonic, seq, delivery)
        self._batches: dict = {}  # key -> {"due", "items", "build"}
        self._log: deque[dict] = deque(maxlen=MAX_LOG)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._generation = 0
        self._busy = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    # Queueing (cheap: safe to call under an emulator's store lock)

    def send(self, delivery: Delivery) -> dict:
        """Queue one delivery; its log entry (updated as it goes)."""
        with self._cond:
            self._enqueue(delivery)
            self._wake()
            return delivery.entry

    def collect(self, key, item, delay: float, build: Callable[[list], list[Delivery]]) -> None:
        """Add `item` to the batch under `key`; `build(items)` makes its deliveries `delay` s after the first item."""
        with self._cond:
            batch = self._batches.get(key)
            if batch is None:
                batch = self._batches[key] = {"due": time.monotonic() + delay, "items": [], "build": build}
            batch["items"].append(item)
            self._wake()

    def _enqueue(self, delivery: Delivery) -> None:
        delivery.generation = self._generation
        delivery.entry.update(id=next(self._ids), kind=delivery.kind, url=delivery.url, state="queued",
                              status=None, attempts=0, sent_at=None, error=None,
                              body=delivery.body.decode("utf-8", "replace"), headers=dict(delivery.headers),
                              response=None, elapsed_ms=None)
        self._log.append(delivery.entry)
        self._ready.append(delivery)

    def _wake(self) -> None:
        if self._stopped:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sandbox-webhooks-{self.name}", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    # Control

    def deliveries(self) -> list[dict]:
        """Every logged delivery, oldest first (copies)."""
        with self._cond:
            return copy.deepcopy(list(self._log))

    def pending(self) -> int:
        """Deliveries and batches not finished yet (queued, waiting to retry, being sent, or collecting)."""
        with self._cond:
            return len(self._ready) + len(self._retrying) + len(self._batches) + int(self._busy)

    def clear(self) -> None:
        """Forget every queued, collecting and logged delivery (a delivery in flight is dropped when it ends)."""
        with self._cond:
            self._generation += 1
            self._ready.clear()
            self._retrying.clear()
            self._batches.clear()
            self._log.clear()

    def flush(self) -> None:
        """Send collecting batches now instead of at the end of their window."""
        with self._cond:
            for batch in self._batches.values():
                batch["due"] = 0
            if self._batches:
                self._wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (the current attempt ends first); nothing more is sent."""
        with self._cond:
            self._stopped = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # The thread

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self._cond:
                work = self._next_work()
                while work is None:
                    now = time.monotonic()
                    if self._stopped or (self._idle() and now - idle_since >= IDLE_EXIT_SECONDS):
                        self._thread = None
                        return
                    self._cond.wait(self._wait_seconds(now, idle_since))
                    work = self._next_work()
                self._busy = True
            try:
                if isinstance(work, Delivery):
                    self._attempt(work)
                else:
                    self._build(*work)
            finally:
                with self._cond:
                    self._busy = False
                idle_since = time.monotonic()

    def _idle(self) -> bool:
        return not (self._ready or self._retrying or self._batches)

    def _wait_seconds(self, now: float, idle_since: float) -> float:
        dues = [batch["due"] for batch in self._batches.values()]
        if self._retrying:
            dues.append(self._retrying[0][0])
        if dues:
            return max(0.0, min(dues) - now)
        return max(0.0, IDLE_EXIT_SECONDS - (now - idle_since)) + 0.01

    def _next_work(self):
        """Under the lock: a due batch (key, items, build, generation), else a ready delivery, else None."""
        if self._stopped:
            return None
        now = time.monotonic()
        for key, batch in list(self._batches.items()):
            if batch["due"] <= now:
                del self._batches[key]
                return (batch["items"], batch["build"], self._generation)
        while self._retrying and self._retrying[0][0] <= now:
            self._ready.append(heapq.heappop(self._retrying)[2])
        return self._ready.popleft() if self._ready else None

    def _build(self, items: list, build, generation: int) -> None:
        deliveries = build(items)
        with self._cond:
            if generation != self._generation:
                return
            for delivery in deliveries:
                self._enqueue(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        entry = delivery.entry
        started = time.monotonic()
        status, answer, error = None, b"", None
        try:
            status, answer = post(delivery.url, delivery.body, delivery.headers, self.timeout)
        except (OSError, ValueError) as failure:  # refused, unreachable, timed out, bad URL
            error = f"{type(failure).__name__}: {failure}"
        elapsed = time.monotonic() - started
        received = status is not None and delivery.accept(status, answer)
        with self._cond:
            if delivery.generation != self._generation:
                return
            entry.update(status=status, attempts=entry["attempts"] + 1, error=error,
                         sent_at=_iso(self._clock()), elapsed_ms=round(elapsed * 1000),
                         response=answer[:2000].decode("utf-8", "replace") if status is not None else None)
            if received:
                entry["state"] = "delivered"
            elif entry["attempts"] <= delivery.retries and not self._stopped:
                entry["state"] = "retrying"
                due = time.monotonic() + delivery.retry_seconds * 2 ** (entry["attempts"] - 1)
                heapq.heappush(self._retrying, (due, next(self._seq), delivery))
                return
            else:
                entry["state"] = "failed"
            done = delivery.on_done
            final = copy.deepcopy(entry)
        if done is not None:
            done(final)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""The shared per-connection limiter keeps QuickBooks under its limits; a 429 delays, loses nothing."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from bridge import errors
from bridge.sync import queue
from bridge.sync.limits import Limiter
from tests.conftest import auth, connect_quickbooks, sample_invoice, wait_for


class RecordingLimiter(Limiter):
    """A limiter that notes the time each slot was taken at (the time stored in Redis)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.taken, self.lock = [], threading.Lock()

    def _try(self, member, kind, now_ms=None):
        now_ms = int(time.time() * 1000)
        wait = super()._try(member, kind, now_ms)
        if wait == 0:
            with self.lock:
                self.taken.append(now_ms)
        return wait


def test_limiter_never_exceeds_a_window_across_threads(app):
    limiter = RecordingLimiter(queue.connection(app), "con_test", {"second": (5, 1.0)}, concurrent=2, max_sleep=10)

    def call():
        with limiter.slot():
            time.sleep(0.01)

    threads = [threading.Thread(target=call) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    taken = sorted(limiter.taken)
    assert len(taken) == 15
    for index in range(len(taken) - 5):
        assert taken[index + 5] - taken[index] >= 1000, "more than 5 requests inside one second"
    assert taken[-1] - taken[0] >= 2000  # 15 requests at 5/s take two windows at least


def test_a_burst_with_two_workers_meets_no_429(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(limits={"enabled": True})
    before = sandbox.stats()["throttled_total"]
    ops = [client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(f"inv-{n}"),
                       headers=auth(api_key)).get_json() for n in range(25)]
    for op in ops:
        assert wait_for(client, api_key, op["id"], timeout=60)["status"] == "succeeded"
    assert sandbox.stats()["throttled_total"] == before
    assert len(sandbox.objects("invoices")) == 25


def test_a_429_waits_for_retry_after_then_succeeds(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(time_scale=60, faults={"throttle_next": 1})  # QBO's 60 s wait is 1 real second here
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    done = wait_for(client, api_key, op["id"])
    sandbox.configure(time_scale=1)
    assert done["status"] == "succeeded" and done["attempts"] == 1  # a limit never uses an attempt
    first, second = done["history"]
    assert first["outcome"] == "queued"
    throttled = [e for e in first["exchanges"] if e["response"] and e["response"]["status"] == 429]
    assert throttled and throttled[0]["response"]["headers"]["Retry-After"] == "1"
    gap = datetime.fromisoformat(second["started_at"]) - datetime.fromisoformat(first["finished_at"])
    assert gap.total_seconds() >= 0.95, gap
    assert len(sandbox.objects("invoices")) == 1


def test_a_spent_daily_limit_holds_the_connection_queued_not_failed(app, client, api_key, sandbox, runtime):
    from bridge.errors import LedgerRateLimited
    from bridge.sync import execute

    connection_id = connect_quickbooks(client, api_key)
    real_perform = execute.perform
    calls = []

    def day_spent(app_, op, record):
        calls.append(op.id)
        if len(calls) == 1:
            raise LedgerRateLimited("day limit", retry_after=1.5, problem="day")
        return real_perform(app_, op, record)

    execute.perform = day_spent
    try:
        op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
        deadline = time.monotonic() + 10
        while not (held := client.get(f"/v1/syncs/{op['id']}", headers=auth(api_key)).get_json())["waiting_for"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert held["status"] == "queued" and held["waiting_for"].startswith("daily limit of the ledger spent until")
        connection = client.get(f"/v1/connections/{connection_id}", headers=auth(api_key)).get_json()
        assert connection["limited_until"] is not None
        done = wait_for(client, api_key, op["id"])
    finally:
        execute.perform = real_perform
    assert done["status"] == "succeeded" and done["attempts"] == 1


def test_a_backlog_on_one_connection_does_not_hold_back_another(make_app, sandbox):
    """Fairness, scaled down: 300 queued on A; B's single invoice goes out within one rate window."""
    from bridge.sync.worker import EmbeddedRuntime
    from tests.conftest import UK_REALM, make_key

    app = make_app(RELAY_PER_CONNECTION=5)
    client = app.test_client()
    key = make_key(app, "acme")
    busy = connect_quickbooks(client, key)
    quiet = connect_quickbooks(client, key, realm=UK_REALM)
    sandbox.configure(limits={"enabled": True})
    for n in range(300):
        client.post(f"/v1/connections/{busy}/customers", json={"external_id": f"c-{n}", "name": f"Customer {n}"},
                    headers=auth(key))
    runtime = EmbeddedRuntime(app, workers=2).start()
    try:
        time.sleep(1.0)  # the backlog is flowing
        started = time.monotonic()
        op = client.post(f"/v1/connections/{quiet}/customers", json={"external_id": "uk-1", "name": "Quiet Ltd"},
                         headers=auth(key)).get_json()
        assert wait_for(client, key, op["id"], timeout=30)["status"] == "succeeded"
        waited = time.monotonic() - started
        backlog = client.get(f"/v1/syncs?connection_id={busy}&status=queued&limit=200", headers=auth(key)).get_json()
    finally:
        runtime.stop()
    assert waited < 2.0, f"the quiet connection waited {waited:.1f}s behind the backlog"
    assert len(backlog["data"]) > 50, "the backlog drained too fast to prove anything"


def test_a_burst_of_429s_delays_but_loses_nothing(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    sandbox.configure(time_scale=120, faults={"throttle_next": 6})  # QBO's 60 s wait is half a second here
    ops = [client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(f"inv-{n}"),
                       headers=auth(api_key)).get_json() for n in range(6)]
    try:
        done = [wait_for(client, api_key, op["id"], timeout=60) for op in ops]
    finally:
        sandbox.configure(time_scale=1)
    assert all(op["status"] == "succeeded" and op["attempts"] == 1 for op in done), done
    assert sandbox.stats()["throttled_total"] >= 6
    assert sorted(i["DocNumber"] for i in sandbox.objects("invoices")) == sorted(f"INV-{n}" for n in range(6))


def test_single_calls_leave_the_unused_batch_allowance_while_batches_are_formed(app):
    windows = {"minute": (10, 60.0), "batch-minute": (4, 60.0)}
    limiter = Limiter(queue.connection(app), "con_reserve", windows, max_sleep=0, reserve=("minute", "batch-minute"))
    limiter.batching()

    def take(kind: str) -> bool:
        try:
            with limiter.slot(kind):
                return True
        except errors.LedgerRateLimited:
            return False

    assert [take("request") for _ in range(7)] == [True] * 6 + [False]  # 10 - 4 kept for batches
    assert [take("batch") for _ in range(5)] == [True] * 4 + [False]  # the batches still get theirs
    assert not take("request")  # the minute is now full: 6 singles + 4 batches


def test_without_batches_single_calls_get_the_whole_allowance(app):
    windows = {"minute": (10, 60.0), "batch-minute": (4, 60.0)}
    limiter = Limiter(queue.connection(app), "con_no_batches", windows, max_sleep=0, reserve=("minute", "batch-minute"))
    taken = 0
    for _ in range(11):
        try:
            with limiter.slot("request"):
                taken += 1
        except errors.LedgerRateLimited:
            break
    assert taken == 10
    assert limiter.free("request") == 0


def take_until_refused(limiter: Limiter, most: int = 100) -> int:
    """Slots taken at once (no waiting) before the limiter refuses one."""
    for taken in range(most):
        try:
            with limiter.slot(max_sleep=0):
                pass
        except errors.LedgerRateLimited:
            return taken
    return most


def test_a_429_without_retry_after_teaches_a_pace_the_window_then_keeps(app):
    # a one-minute window on a clock 60 times faster: 1 s (plus padding) in real time
    limiter = Limiter(queue.connection(app), "con_learn", {}, learn=60.0, time_scale=60.0)
    assert take_until_refused(limiter, 20) == 20  # nothing published, nothing learned: no pacing
    limiter.observe(429, {})  # the ledger's hidden limit, met after 20 requests
    assert take_until_refused(limiter) == 0  # a short pause, not the 60 s blind wait
    assert queue.connection(app).pttl("bridge:rate:con_learn:blocked") <= 1000
    time.sleep(1.3)  # the pause and the window have passed
    assert take_until_refused(limiter) == 18  # 90 % of what the window held when the 429 came
    assert 3500 < queue.connection(app).ttl("bridge:rate:con_learn:learned-limit") <= 3600


def test_a_429_after_few_requests_or_with_retry_after_waits_as_told_and_learns_nothing(app):
    redis_ = queue.connection(app)
    limiter = Limiter(redis_, "con_few", {}, learn=60.0, time_scale=60.0)
    assert take_until_refused(limiter, 3) == 3
    limiter.observe(429, {})  # someone else used the allowance: three requests tell nothing
    assert redis_.get("bridge:rate:con_few:learned-limit") is None
    assert redis_.pttl("bridge:rate:con_few:blocked") > 59_000  # the plain wait
    told = Limiter(redis_, "con_told", {}, learn=60.0, time_scale=60.0)
    assert take_until_refused(told, 20) == 20
    told.observe(429, {"Retry-After": "7"})
    assert redis_.get("bridge:rate:con_told:learned-limit") is None
    assert 6000 < redis_.pttl("bridge:rate:con_told:blocked") <= 7000


def test_a_learned_limit_only_goes_down_until_it_is_forgotten(app):
    redis_ = queue.connection(app)
    limiter = Limiter(redis_, "con_down", {}, learn=60.0, time_scale=60.0)
    take_until_refused(limiter, 30)
    limiter.observe(429, {})
    assert int(redis_.get("bridge:rate:con_down:learned-limit")) == 27
    redis_.delete("bridge:rate:con_down:blocked")
    time.sleep(1.2)
    assert take_until_refused(limiter) == 27
    limiter.observe(429, {})  # met again: the user's own use of the ledger shares the allowance
    assert int(redis_.get("bridge:rate:con_down:learned-limit")) == 24

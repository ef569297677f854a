"""REST hooks: subscribe, list, delete; signed deliveries, retries, 410, disabling, exactly one per hook."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge import events
from bridge.events import delivery, dispatch, signing
from bridge.store.models import HookDelivery, HookSubscription, utcnow
from bridge.sync import queue
from tests import hook_receiver
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for

HOOK_CONFIG = {"ALLOW_PRIVATE_TARGETS": True, "HOOK_RETRY_SCALE": 0.01}
"""Loopback receivers allowed; retries after 0.1 s, 0.6 s, ... instead of 10 s, 1 min, ..."""


@pytest.fixture
def app(make_app):
    """The bridge, allowed to deliver to the loopback receiver, with short retries."""
    return make_app(**HOOK_CONFIG)


@pytest.fixture
def receiver():
    """A receiver on 127.0.0.1."""
    recorder, server = hook_receiver.start()
    yield recorder
    server.shutdown()


def subscribe(client, key: str, url: str, event: str = "invoice.paid", **extra) -> dict:
    """POST /v1/hooks, expecting 201."""
    response = client.post("/v1/hooks", json={"target_url": url, "event": event, **extra}, headers=auth(key))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def account_of(client, key: str) -> str:
    """The account id behind a key."""
    return client.get("/v1/me", headers=auth(key)).get_json()["account_id"]


def hook_of(client, key: str, hook_id: str) -> dict:
    """GET /v1/hooks/<id> as JSON (or the problem)."""
    return client.get(f"/v1/hooks/{hook_id}", headers=auth(key)).get_json()


def wait_until(check, timeout: float = 15.0, what: str = "condition"):
    """Poll `check` until it returns something true, with a deadline."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.05)
    return result


def settle(app, seconds: float = 1.0) -> None:
    """Let the relay make at least two more passes (poll 0.5 s), then check nothing else was sent."""
    queue.wake_relay(app)
    time.sleep(seconds)


# --- subscriptions --------------------------------------------------------------------------------------

def test_subscribe_returns_the_secret_once_and_lists_without_it(client, api_key, receiver):
    created = subscribe(client, api_key, receiver.url(), "invoice.paid")
    assert created["id"].startswith("hook_") and created["secret"].startswith("whsec_")
    assert created["status"] == "active" and created["event"] == "invoice.paid"
    assert created["target_url"] == receiver.url() and created["connection_id"] is None
    shown = hook_of(client, api_key, created["id"])
    assert "secret" not in shown and shown["status"] == "active" and shown["failures"] == 0
    listed = client.get("/v1/hooks", headers=auth(api_key)).get_json()
    assert [hook["id"] for hook in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]
    assert created["secret"] not in json.dumps(listed)


def test_secret_is_sealed_at_rest(app, client, api_key, receiver):
    created = subscribe(client, api_key, receiver.url())
    with app.extensions["bridge.sessions"]() as db:
        stored = db.execute(sa.select(HookSubscription.secret).where(HookSubscription.id == created["id"])).scalar()
    assert created["secret"] not in stored
    assert app.extensions["bridge.vault"].open(stored) == created["secret"]


def test_bad_subscriptions_name_the_field(client, api_key, receiver):
    bad_event = client.post("/v1/hooks", json={"target_url": receiver.url(), "event": "invoice.exploded"},
                            headers=auth(api_key))
    assert bad_event.status_code == 422 and bad_event.get_json()["errors"][0]["field"] == "event"
    bad_url = client.post("/v1/hooks", json={"target_url": "ftp://example.com/x", "event": "invoice.paid"},
                          headers=auth(api_key))
    assert bad_url.status_code == 422 and bad_url.get_json()["errors"][0]["field"] == "target_url"
    missing = client.post("/v1/hooks", json={"event": "invoice.paid"}, headers=auth(api_key))
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "target_url"
    no_such = client.post("/v1/hooks", json={"target_url": receiver.url(), "event": "invoice.paid",
                                             "connection_id": "con_nope"}, headers=auth(api_key))
    assert no_such.status_code == 404


def test_another_account_cannot_see_or_delete_a_hook(app, client, api_key, receiver):
    created = subscribe(client, api_key, receiver.url())
    other = make_key(app, "globex")
    assert client.get(f"/v1/hooks/{created['id']}", headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/hooks/{created['id']}", headers=auth(other)).status_code == 404
    assert client.get("/v1/hooks", headers=auth(other)).get_json()["data"] == []
    assert hook_of(client, api_key, created["id"])["status"] == "active"


def test_delete_ends_the_hook(client, api_key, receiver):
    created = subscribe(client, api_key, receiver.url())
    assert client.delete(f"/v1/hooks/{created['id']}", headers=auth(api_key)).status_code == 204
    assert client.get(f"/v1/hooks/{created['id']}", headers=auth(api_key)).status_code == 404
    assert client.delete(f"/v1/hooks/{created['id']}", headers=auth(api_key)).status_code == 404
    assert client.get("/v1/hooks", headers=auth(api_key)).get_json()["data"] == []


def test_hook_list_pages_newest_first(client, api_key, receiver):
    ids = [subscribe(client, api_key, receiver.url(f"/h{n}"))["id"] for n in range(3)]
    first = client.get("/v1/hooks", query_string={"limit": 2}, headers=auth(api_key)).get_json()
    rest = client.get("/v1/hooks", query_string={"limit": 2, "after": first["next"]}, headers=auth(api_key)).get_json()
    assert [h["id"] for h in first["data"] + rest["data"]] == list(reversed(ids)) and rest["next"] is None


# --- delivery -------------------------------------------------------------------------------------------

def test_a_synced_invoice_reaches_each_hook_once_signed(app, client, api_key, receiver, runtime):
    connection_id = connect_quickbooks(client, api_key)
    one = subscribe(client, api_key, receiver.url("/one"), "sync.succeeded")
    two = subscribe(client, api_key, receiver.url("/two"), "sync.succeeded", connection_id=connection_id)
    subscribe(client, api_key, receiver.url("/other-event"), "invoice.voided")
    accepted = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key))
    assert accepted.status_code == 202
    operation = wait_for(client, api_key, accepted.get_json()["id"])
    assert operation["status"] == "succeeded"

    got_one = receiver.wait("/one")[0]
    got_two = receiver.wait("/two")[0]
    settle(app)
    assert len(receiver.at("/one")) == 1 and len(receiver.at("/two")) == 1 and receiver.at("/other-event") == []

    event = got_one.json()
    assert set(event) == {"id", "event", "occurred_at", "connection_id", "data"}
    assert event["event"] == "sync.succeeded" and event["connection_id"] == connection_id
    assert event["data"]["id"] == operation["id"] and event["data"]["status"] == "succeeded"
    assert got_one.headers["bridge-event-id"] == event["id"] == got_two.json()["id"]
    assert got_one.headers["bridge-event"] == "sync.succeeded"
    assert got_one.headers["content-type"] == "application/json"
    # the signature: HMAC-SHA256 over "<timestamp>.<raw body>" with the hook's own secret
    timestamp = got_one.headers["bridge-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert got_one.headers["bridge-signature"] == f"t={timestamp},v1=" + signing.signature(
        one["secret"], int(timestamp), got_one.body)
    assert signing.verify(one["secret"], got_one.headers["bridge-signature"], got_one.body)
    assert not signing.verify(two["secret"], got_one.headers["bridge-signature"], got_one.body)
    assert not signing.verify(one["secret"], got_one.headers["bridge-signature"], got_one.body + b" ")
    # the event in the feed is the one delivered
    feed = client.get("/v1/triggers/sync.succeeded", headers=auth(api_key)).get_json()
    assert feed["data"][0]["id"] == event["id"]
    shown = hook_of(client, api_key, one["id"])
    assert shown["last_delivery_at"] is not None and shown["failures"] == 0 and shown["last_error"] is None


def test_signature_refuses_a_replayed_old_timestamp():
    body = b'{"id":"evt_1"}'
    old = int(time.time()) - 3600
    assert signing.verify("whsec_x", signing.header("whsec_x", int(time.time()), body), body)
    assert not signing.verify("whsec_x", signing.header("whsec_x", old, body), body)
    assert not signing.verify("whsec_x", "t=abc,v1=00", body)


def test_a_hook_only_gets_events_after_it_subscribed(app, client, api_key, receiver, runtime):
    account = account_of(client, api_key)
    events.publish(app, account_id=account, event="customer.created", data={"external_id": "before"})
    subscribe(client, api_key, receiver.url(), "customer.created")
    events.publish(app, account_id=account, event="customer.created", data={"external_id": "after"})
    receiver.wait("/hook")
    settle(app)
    assert [r.json()["data"]["external_id"] for r in receiver.at("/hook")] == ["after"]


def test_server_error_then_success_is_retried_and_delivered_once(app, client, api_key, receiver, runtime):
    receiver.answers["/flaky"] = [500, 503, 200]
    created = subscribe(client, api_key, receiver.url("/flaky"), "invoice.paid")
    event_id = events.publish(app, account_id=account_of(client, api_key), event="invoice.paid",
                              data={"external_id": "inv-9", "balance": "0.00"})
    got = receiver.wait("/flaky", 3)
    settle(app)
    assert len(receiver.at("/flaky")) == 3
    assert {r.json()["id"] for r in got} == {event_id}
    shown = hook_of(client, api_key, created["id"])
    assert shown["status"] == "active" and shown["failures"] == 0 and shown["last_error"] is None
    with app.extensions["bridge.sessions"]() as db:
        row = db.execute(sa.select(HookDelivery)).scalar_one()
    assert row.status == "delivered" and row.attempts == 3 and row.response_status == 200


def test_gone_deletes_the_subscription(app, client, api_key, receiver, runtime):
    receiver.answers["/gone"] = [410]
    created = subscribe(client, api_key, receiver.url("/gone"), "invoice.paid")
    account = account_of(client, api_key)
    events.publish(app, account_id=account, event="invoice.paid", data={"external_id": "inv-1"})
    receiver.wait("/gone")
    wait_until(lambda: client.get(f"/v1/hooks/{created['id']}", headers=auth(api_key)).status_code == 404,
               what="hook deleted")
    assert client.get("/v1/hooks", headers=auth(api_key)).get_json()["data"] == []
    events.publish(app, account_id=account, event="invoice.paid", data={"external_id": "inv-2"})
    settle(app)
    assert len(receiver.at("/gone")) == 1


def test_repeated_failure_disables_the_hook_and_says_why(make_app, receiver):
    app = make_app(**HOOK_CONFIG, HOOK_RETRY_FOR_SECONDS=0.5)
    client = app.test_client()
    key = make_key(app, "acme")
    from bridge.sync.worker import EmbeddedRuntime

    running = EmbeddedRuntime(app, workers=2).start()
    try:
        receiver.answers["/down"] = [500]
        created = subscribe(client, key, receiver.url("/down"), "invoice.paid")
        events.publish(app, account_id=account_of(client, key), event="invoice.paid", data={"external_id": "i"})
        shown = wait_until(lambda: (hook := hook_of(client, key, created["id"]))["status"] == "disabled" and hook,
                           what="hook disabled")
        assert "failed" in shown["disabled_reason"]
        assert shown["failures"] >= 2 and shown["deliveries_given_up"] == 1
        assert shown["last_error"].startswith("HTTP 500") and shown["failing_since"] is not None
        listed = client.get("/v1/hooks", headers=auth(key)).get_json()["data"][0]
        assert listed["status"] == "disabled" and listed["disabled_reason"] == shown["disabled_reason"]
        before = len(receiver.at("/down"))
        events.publish(app, account_id=account_of(client, key), event="invoice.paid", data={"external_id": "j"})
        settle(app)
        assert len(receiver.at("/down")) == before  # a disabled hook gets nothing more
    finally:
        running.stop()


def test_backoff_grows_and_ends_a_day_after_the_first_attempt(make_app):
    app = make_app()
    assert [delivery.next_delay(app, n) for n in (1, 2, 3, 4, 5, 6, 7)] == [10, 60, 300, 1800, 7200, 21600, 21600]
    assert delivery.next_delay(app, 1, retry_after=120) == 120
    assert sum(delivery.BACKOFF_SECONDS[:5]) < delivery.RETRY_FOR_SECONDS == 24 * 3600


# --- the dispatcher: exactly once, durable ---------------------------------------------------------------

def test_dispatching_twice_makes_one_delivery_and_a_job_run_twice_sends_once(app, client, api_key, receiver):
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    events.publish(app, account_id=account_of(client, api_key), event="invoice.paid", data={"external_id": "x"})
    dispatch.dispatch(app)
    dispatch.dispatch(app)  # a second leader, or the same one again
    with app.extensions["bridge.sessions"]() as db:
        rows = db.execute(sa.select(HookDelivery)).scalars().all()
    assert len(rows) == 1
    with app.app_context():
        assert delivery.deliver(app, rows[0].id) == "delivered"
        assert delivery.deliver(app, rows[0].id) == "skipped"
    assert len(receiver.at("/hook")) == 1


def test_deliveries_handed_over_at_once_are_not_made_or_enqueued_again_by_the_relay(app, client, api_key,
                                                                                      receiver):
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    subscribe(client, api_key, receiver.url(), "invoice.created")  # not this event's
    with app.extensions["bridge.sessions"]() as db:
        ids = events.emit_many(db, [{"account_id": account_of(client, api_key), "event": "invoice.paid",
                                     "data": {"external_id": "x"}, "dedupe_key": "paid-x"}])
        db.commit()
    events_queue = queue.get_queue(queue.EVENTS, app)
    assert dispatch.deliver_new(app, ids) == 1 and events_queue.count == 1
    assert dispatch.deliver_new(app, ids) == 0  # the reader running twice
    assert dispatch.dispatch(app) == 0 and events_queue.count == 1  # the relay's pass finds it made and queued
    with app.extensions["bridge.sessions"]() as db:
        (row,) = db.execute(sa.select(HookDelivery)).scalars().all()
    with app.app_context():
        assert delivery.deliver(app, row.id) == "delivered"
    assert len(receiver.at("/hook")) == 1


def test_deliveries_redis_refused_at_once_are_enqueued_by_the_relay(app, client, api_key, receiver, monkeypatch):
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    with app.extensions["bridge.sessions"]() as db:
        ids = events.emit_many(db, [{"account_id": account_of(client, api_key), "event": "invoice.paid",
                                     "data": {"external_id": "x"}}])
        db.commit()
    with monkeypatch.context() as down:
        down.setattr(dispatch, "_enqueue", lambda app_, delivery_ids: False)
        assert dispatch.deliver_new(app, ids) == 0
    assert dispatch.dispatch(app) == 1 and queue.get_queue(queue.EVENTS, app).count == 1


def test_finished_deliveries_are_pruned_after_thirty_days_and_pending_ones_kept(app, client, api_key, receiver):
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    for n in range(3):
        events.publish(app, account_id=account_of(client, api_key), event="invoice.paid", data={"external_id": f"x{n}"})
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        old, pending, recent = db.execute(sa.select(HookDelivery).order_by(HookDelivery.seq)).scalars().all()
        month_ago = utcnow() - timedelta(days=31)
        old.status, old.created_at = "delivered", month_ago
        pending.created_at = month_ago  # still being retried: kept whatever its age
        recent.status = "delivered"
        db.commit()
        old_id = old.id
    assert dispatch.prune(app) == 1
    with app.extensions["bridge.sessions"]() as db:
        left = db.execute(sa.select(HookDelivery.id, HookDelivery.status)).all()
    assert len(left) == 2 and old_id not in {row.id for row in left}
    assert dispatch.prune(app) == 0


def test_a_lost_delivery_job_is_enqueued_again(app, client, api_key, receiver):
    app.config["HOOK_LOST_AFTER_SECONDS"] = 0.2
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    events.publish(app, account_id=account_of(client, api_key), event="invoice.paid", data={"external_id": "x"})
    events_queue = queue.get_queue(queue.EVENTS, app)
    assert dispatch.dispatch(app) == 1 and events_queue.count == 1
    assert dispatch.dispatch(app) == 0  # in the queue: not enqueued twice
    events_queue.empty()  # the job is lost (a Redis failover, a flushed queue)
    time.sleep(0.3)
    assert dispatch.dispatch(app) == 1 and events_queue.count == 1


def test_an_event_committed_out_of_order_is_still_delivered(app, client, api_key, receiver):
    from bridge.store.models import Event

    app.config["HOOK_RESCAN_SECONDS"] = 0  # every round reads back to the floor
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    account = account_of(client, api_key)
    early = events.publish(app, account_id=account, event="invoice.paid", data={"external_id": "early"})
    late = events.publish(app, account_id=account, event="invoice.paid", data={"external_id": "late"})
    with app.extensions["bridge.sessions"]() as db:  # `early` took the lower seq but is not committed yet
        row = db.execute(sa.select(Event).where(Event.id == early)).scalar_one()
        kept = {column.name: getattr(row, column.name) for column in Event.__table__.columns}
        db.delete(row)
        db.commit()
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:  # now it commits, after `late` was dispatched
        db.execute(sa.insert(Event).values(**kept))
        db.commit()
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        delivered = set(db.execute(sa.select(HookDelivery.event_id)).scalars())
    assert delivered == {early, late}


def test_floor_moves_on_once_events_settle(app, client, api_key, receiver):
    from bridge.store.models import HookCursor

    app.config.update(HOOK_SETTLE_SECONDS=0, HOOK_RESCAN_SECONDS=0)
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    account = account_of(client, api_key)
    for n in range(3):
        events.publish(app, account_id=account, event="invoice.paid", data={"n": n})
    dispatch.dispatch(app)
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        cursor = db.get(HookCursor, dispatch.CURSOR)
        assert cursor.floor >= 3 - 1 and cursor.mark >= cursor.floor
        assert db.execute(sa.select(sa.func.count()).select_from(HookDelivery)).scalar() == 3


def test_a_retry_waits_for_its_time(app, client, api_key, receiver):
    receiver.answers["/hook"] = [500, 200]
    subscribe(client, api_key, receiver.url(), "invoice.paid")
    events.publish(app, account_id=account_of(client, api_key), event="invoice.paid", data={"external_id": "x"})
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        delivery_id = db.execute(sa.select(HookDelivery.id)).scalar_one()
    with app.app_context():
        assert delivery.deliver(app, delivery_id) == "retrying"
        assert delivery.deliver(app, delivery_id) == "skipped"  # not due yet: nothing sent
    with app.extensions["bridge.sessions"]() as db:
        row = db.execute(sa.select(HookDelivery)).scalar_one()
        assert row.status == "pending" and row.next_attempt_at > utcnow() - timedelta(seconds=1)
        assert row.enqueued_at is None and row.last_error.startswith("HTTP 500")
    assert len(receiver.at("/hook")) == 1


def test_three_deliveries_given_up_in_a_row_disable_the_hook(app, client, api_key, receiver):
    receiver.answers["/hook"] = [500]
    created = subscribe(client, api_key, receiver.url(), "invoice.paid")
    events.publish(app, account_id=account_of(client, api_key), event="invoice.paid", data={"external_id": "x"})
    dispatch.dispatch(app)
    long_ago = utcnow() - timedelta(days=2)
    with app.extensions["bridge.sessions"]() as db:  # two given up already; a success an hour ago
        db.execute(sa.update(HookSubscription).values(given_up=2, given_up_in_row=2,
                                                      failing_since=utcnow() - timedelta(hours=1)))
        db.execute(sa.update(HookDelivery).values(first_attempt_at=long_ago))
        delivery_id = db.execute(sa.select(HookDelivery.id)).scalar_one()
        db.commit()
    with app.app_context():
        assert delivery.deliver(app, delivery_id) == "failed"
    shown = hook_of(client, api_key, created["id"])
    assert shown["status"] == "disabled" and shown["deliveries_given_up"] == 3
    assert shown["disabled_reason"].startswith("3 deliveries in a row failed for 24 hours")


def test_a_hook_for_one_connection_gets_only_its_events(app, client, api_key, receiver):
    from tests.test_triggers import add_connection

    account = account_of(client, api_key)
    mine, other = add_connection(app, account, "con_mine"), add_connection(app, account, "con_other")
    subscribe(client, api_key, receiver.url(), "payment.received", connection_id=mine)
    wanted = events.publish(app, account_id=account, event="payment.received", connection_id=mine, data={})
    events.publish(app, account_id=account, event="payment.received", connection_id=other, data={})
    events.publish(app, account_id=account, event="payment.received", data={})
    dispatch.dispatch(app)
    with app.extensions["bridge.sessions"]() as db:
        assert list(db.execute(sa.select(HookDelivery.event_id)).scalars()) == [wanted]

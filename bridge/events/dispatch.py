"""The hook dispatcher, run by the relay's leader: new events become deliveries, due deliveries become jobs.
(Ledger change events are handed over at once by their reader, `deliver_new`; the pass is the backstop.)

Each pass reads the events after the cursor's floor that match an active subscription (by account,
event name and connection, made after the subscription) and have no delivery yet, and inserts one
delivery per (subscription, event): the pair is unique in the database, so a pass run twice, by this
relay or the next leader, never sends anything twice. Then every pending delivery that is due and
not in the queue (new, a retry whose time has come, or one whose job was lost) is enqueued on the
`events` queue. Retries live in the delivery rows, not in RQ.

App config HOOK_SETTLE_SECONDS, HOOK_RESCAN_SECONDS and HOOK_LOST_AFTER_SECONDS replace the constants (tests).
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store.models import Event, HookCursor, HookDelivery, HookSubscription, utcnow
from bridge.sync import queue

log = logging.getLogger(__name__)

CURSOR = "hooks"
PAIR = ["subscription_id", "event_id"]
BATCH = 500
"""Deliveries made, and jobs enqueued, per round."""
ROUNDS = 10
"""Rounds per pass at most (the relay comes back at once when woken)."""
SETTLE_SECONDS = 30
"""An event's transaction is assumed committed this long after a later event was seen (the floor's lag)."""
RESCAN_SECONDS = 2.0
"""How often a round reads every event after the floor again, not only the newest."""
LOST_AFTER_SECONDS = 120
"""A delivery enqueued this long ago and neither claimed nor finished is enqueued again."""
KEEP_FINISHED = timedelta(days=30)
"""Finished deliveries are kept this long (GET /v1/hooks shows their outcome), then pruned."""
PRUNE_EVERY_SECONDS = 3600
PRUNE_KEY = "bridge:hooks:prune"
PRUNE_BATCH = 1000
JOB_TIMEOUT = 60
IN_GROUP = 10
"""New deliveries of one hook handed to one job (a slow target holds back only its own)."""
RESULT_TTL = 600
FAILURE_TTL = 7 * 24 * 3600


def dispatch(app: Flask) -> int:
    """One pass: make the deliveries new events call for, then enqueue the due ones; how many were enqueued.
    Finished deliveries past KEEP_FINISHED are pruned once every PRUNE_EVERY_SECONDS."""
    if queue.connection(app).set(PRUNE_KEY, 1, nx=True, ex=PRUNE_EVERY_SECONDS):
        prune(app)
    for _ in range(ROUNDS):
        if make_deliveries(app) < BATCH:
            break
    enqueued = 0
    for _ in range(ROUNDS):
        count = enqueue_due(app)
        enqueued += count
        if count < BATCH:
            break
    return enqueued


def make_deliveries(app: Flask) -> int:
    """Insert the deliveries missing for events after the floor (one round); how many pairs were matched.

    A full round reads every event after the floor; in between, a round reads only what is newer than
    the last round saw (an event committed out of seq order waits for the next full round).
    """
    now = utcnow()
    settle = float(app.config.get("HOOK_SETTLE_SECONDS", SETTLE_SECONDS))
    scan = app.extensions.setdefault("bridge.hooks.scan", {"seq": 0, "full_at": float("-inf")})
    full = time.monotonic() - scan["full_at"] >= float(app.config.get("HOOK_RESCAN_SECONDS", RESCAN_SECONDS))
    with app.extensions["bridge.sessions"]() as db:
        insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)
        cursor = db.execute(sa.select(HookCursor).where(HookCursor.name == CURSOR).with_for_update()).scalar()
        if cursor is None:
            db.execute(insert(HookCursor).values(name=CURSOR, floor=0, mark=0, mark_at=now).on_conflict_do_nothing())
            cursor = db.execute(sa.select(HookCursor).where(HookCursor.name == CURSOR).with_for_update()).scalar_one()
        newest = db.execute(sa.select(sa.func.max(Event.seq))).scalar() or 0  # read before the scan: all seen
        start = cursor.floor if full else max(cursor.floor, scan["seq"])
        active = db.execute(sa.select(sa.literal(1)).where(
            HookSubscription.status == "active").limit(1)).scalar() is not None
        rows = []
        if active and newest > start:
            sub, ev = HookSubscription, Event
            rows = db.execute(
                sa.select(ev.seq, ev.id, sub.id).join(sub, _subscribed()).where(
                    ev.seq > start, ev.seq <= newest, ~sa.exists().where(
                        HookDelivery.subscription_id == sub.id, HookDelivery.event_id == ev.id))
                .order_by(ev.seq).limit(BATCH)).all()
            if rows:
                db.execute(insert(HookDelivery).on_conflict_do_nothing(index_elements=PAIR), [
                    _delivery(event_id, subscription_id, now) for _, event_id, subscription_id in rows])
        complete = len(rows) < BATCH
        if complete and full and (now - cursor.mark_at).total_seconds() >= settle:
            # everything visible after the floor is dispatched: the mark seen `settle` ago becomes the floor
            cursor.floor, cursor.mark, cursor.mark_at = max(cursor.floor, cursor.mark), newest, now
        db.commit()
    scan["seq"] = newest if complete else rows[-1][0] - 1
    if complete and full:
        scan["full_at"] = time.monotonic()
    if rows:
        log.debug("hook dispatcher made %d deliveries", len(rows))
    return len(rows)


def deliver_new(app: Flask, event_ids: list[str]) -> int:
    """Make and enqueue at once the deliveries of events just committed, without waiting for the relay's
    next pass (the unique pair keeps that pass from making them again); how many were enqueued."""
    now = utcnow()
    made: dict[str, list[str]] = {}  # subscription -> its new deliveries
    with app.extensions["bridge.sessions"]() as db:
        insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)
        for start in range(0, len(event_ids), BATCH):
            pairs = db.execute(sa.select(Event.id, HookSubscription.id).join(HookSubscription, _subscribed())
                               .where(Event.id.in_(event_ids[start:start + BATCH]))).all()
            if pairs:
                for delivery_id, subscription_id in db.execute(insert(HookDelivery).values([
                        {**_delivery(event_id, subscription_id, now), "enqueued_at": now}
                        for event_id, subscription_id in pairs]).on_conflict_do_nothing(index_elements=PAIR)
                        .returning(HookDelivery.id, HookDelivery.subscription_id)).all():
                    made.setdefault(subscription_id, []).append(delivery_id)
        db.commit()
    groups = [ids[start:start + IN_GROUP] for ids in made.values() for start in range(0, len(ids), IN_GROUP)]
    if groups and not _enqueue(app, groups):
        with app.extensions["bridge.sessions"]() as db:  # the relay's next pass enqueues them
            db.execute(sa.update(HookDelivery).where(HookDelivery.id.in_([i for g in groups for i in g]))
                       .values(enqueued_at=None))
            db.commit()
        return 0
    return sum(len(group) for group in groups)


def _subscribed():
    """The join of an event with the active subscriptions it matches (account, event name, connection,
    made after the subscription)."""
    sub, ev = HookSubscription, Event
    return sa.and_(sub.account_id == ev.account_id, sub.event == ev.event, sub.status == "active",
                   sa.or_(sub.connection_id.is_(None), sub.connection_id == ev.connection_id),
                   ev.occurred_at >= sub.created_at)


def _delivery(event_id: str, subscription_id: str, now) -> dict:
    """A new pending delivery row, due now."""
    return {"id": "dlv_" + secrets.token_hex(12), "subscription_id": subscription_id, "event_id": event_id,
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}


def prune(app: Flask, now=None) -> int:
    """Delete deliveries that ended (delivered, gone, cancelled, failed) more than KEEP_FINISHED ago, a
    batch at a time; how many went. Their events are far below the dispatcher's floor: none is made again."""
    before = (now or utcnow()) - KEEP_FINISHED
    pruned = 0
    with app.extensions["bridge.sessions"]() as db:
        while seqs := db.execute(sa.select(HookDelivery.seq).where(
                HookDelivery.status != "pending", HookDelivery.created_at < before).limit(PRUNE_BATCH)).scalars().all():
            db.execute(sa.delete(HookDelivery).where(HookDelivery.seq.in_(seqs)))
            db.commit()
            pruned += len(seqs)
    if pruned:
        log.info("pruned %d finished hook deliveries", pruned)
    return pruned


def enqueue_due(app: Flask) -> int:
    """Enqueue a delivery job for each due pending delivery not already in the queue (one round)."""
    now = utcnow()
    lost = now - timedelta(seconds=float(app.config.get("HOOK_LOST_AFTER_SECONDS", LOST_AFTER_SECONDS)))
    with app.extensions["bridge.sessions"]() as db:
        due = db.execute(sa.select(HookDelivery.seq, HookDelivery.id).where(
            HookDelivery.status == "pending", HookDelivery.next_attempt_at <= now,
            sa.or_(HookDelivery.enqueued_at.is_(None), HookDelivery.enqueued_at < lost),
            sa.or_(HookDelivery.lease_until.is_(None), HookDelivery.lease_until < now),
        ).order_by(HookDelivery.next_attempt_at).limit(BATCH)).all()
        if not due:
            return 0
        # marked first: a job finishing before the mark would otherwise have its retry look enqueued
        db.execute(sa.update(HookDelivery).where(HookDelivery.seq.in_([seq for seq, _ in due])).values(
            enqueued_at=now).execution_options(synchronize_session=False))
        db.commit()
    if not _enqueue(app, [[delivery_id] for _, delivery_id in due]):
        return 0  # enqueued again after LOST_AFTER
    return len(due)


def _enqueue(app: Flask, groups: list[list[str]]) -> bool:
    """One job per group of deliveries on the `events` queue; False when Redis refused them."""
    from bridge.events.delivery import deliver_group_job, deliver_job

    events = queue.get_queue(queue.EVENTS, app)
    jobs = [Queue.prepare_data(deliver_job if len(group) == 1 else deliver_group_job,
                               args=(group[0] if len(group) == 1 else group,), timeout=JOB_TIMEOUT * len(group),
                               job_id=f"{group[0]}-{len(group)}-{secrets.token_hex(4)}", result_ttl=RESULT_TTL,
                               failure_ttl=FAILURE_TTL, description=f"hook delivery {group[0]} (of {len(group)})")
            for group in groups]
    try:
        with events.connection.pipeline() as pipe:
            events.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("%d hook delivery jobs not enqueued (%s)", len(jobs), exc.__class__.__name__)
        return False
    return True

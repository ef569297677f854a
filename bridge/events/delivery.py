"""Sending one REST hook delivery: a signed JSON POST of the Event to the pinned, checked address.

2xx: delivered. 410 Gone: the subscription is deleted. Anything else (another status, a timeout, a
refused or unreachable target): retried with backoff until a day after the first attempt, then given
up and counted. A hook that keeps failing (a day without a success, or several deliveries in a row
given up) is disabled, with the reason on GET /v1/hooks. The job takes a delivery id, claims it with
a lease, and is a no-op for a delivery that is not due: safe to run twice.

App config (not settings; for tests and benchmarks): HOOK_RETRY_SCALE multiplies the backoff,
HOOK_RETRY_FOR_SECONDS, HOOK_DISABLE_AFTER_GIVEN_UP, HOOK_TIMEOUT_SECONDS and HOOK_CA_BUNDLE replace
the constants below.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import certifi
import sqlalchemy as sa
import urllib3
from flask import Flask, current_app

from bridge import __version__
from bridge.events import envelope, signing, ssrf
from bridge.events.hooks import cancel_pending
from bridge.store.models import Event, HookDelivery, HookSubscription, utcnow

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
GROUP_SENDERS = 4
"""Deliveries of one group in flight at once."""
CONNECT_TIMEOUT_SECONDS = 5.0
LEASE_SECONDS = 45
"""A claimed delivery is not sent again by another job before this (longer than a request can take)."""
BACKOFF_SECONDS = (10, 60, 300, 1800, 7200, 21600)
"""Delay before retry n (the last one repeats)."""
RETRY_FOR_SECONDS = 24 * 3600
"""A delivery is retried until this long after its first attempt, then given up."""
DISABLE_AFTER_GIVEN_UP = 3
"""Deliveries given up in a row that disable a hook (a day of failure without a success does too)."""
MAX_RESPONSE_BYTES = 2048
"""How much of a target's answer is read (for last_error)."""
MAX_RETRY_AFTER_SECONDS = 6 * 3600
USER_AGENT = f"InvoiceBridge-Hooks/{__version__}"


class Failure(Exception):
    """A delivery attempt that did not get a 2xx (or 410): what to tell the user, and the status if any."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def deliver_job(delivery_id: str) -> str:
    """RQ job: send one delivery if it is due; returns what happened."""
    return deliver(current_app._get_current_object(), delivery_id)


def deliver_group_job(delivery_ids: list[str]) -> list[str]:
    """RQ job: send one hook's new deliveries (as deliver_job each, GROUP_SENDERS at a time); what happened
    to each."""
    app = current_app._get_current_object()

    def one(delivery_id: str) -> str:
        with app.app_context():
            return deliver(app, delivery_id)

    with ThreadPoolExecutor(max_workers=min(GROUP_SENDERS, len(delivery_ids)), thread_name_prefix="hook") as pool:
        return list(pool.map(one, delivery_ids))


def deliver(app: Flask, delivery_id: str) -> str:
    """Claim, send and record one delivery; returns its new status (or "skipped")."""
    claimed = _claim(app, delivery_id)
    if claimed is None:
        return "skipped"
    delivery, subscription, event = claimed
    if subscription.status != "active":
        _finish(app, delivery, subscription, status="cancelled", error=f"the hook is {subscription.status}")
        return "cancelled"
    body = json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()
    try:
        secret = _secret(app, subscription)
        status = send(app, subscription.target_url, body, _headers(secret, subscription, event, body))
    except Failure as failure:
        return _failed(app, delivery, subscription, failure)
    if status == 410:
        _gone(app, delivery, subscription)
        return "gone"
    _finish(app, delivery, subscription, status="delivered", response_status=status)
    return "delivered"


def _secret(app: Flask, subscription: HookSubscription) -> str:
    """The hook's signing secret, or a Failure when the app's keys cannot open it (nothing unsigned is sent)."""
    try:
        return app.extensions["bridge.vault"].open(subscription.secret)
    except ValueError:
        raise Failure("cannot sign: BRIDGE_SECRET_KEY lacks the key this hook's secret was sealed with") from None


def _headers(secret: str, subscription: HookSubscription, event: Event, body: bytes) -> dict:
    """The delivery's headers, signed now."""
    timestamp = int(time.time())
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Bridge-Event-Id": event.id,
            "Bridge-Event": event.event, "Bridge-Timestamp": str(timestamp), "Bridge-Hook-Id": subscription.id,
            "Bridge-Signature": signing.header(secret, timestamp, body)}


def send(app: Flask, url: str, body: bytes, headers: dict) -> int:
    """POST body to url at the address checked now (no redirects); the status if 2xx or 410, else Failure."""
    try:
        target = ssrf.check(url, allow_private=bool(app.config.get("ALLOW_PRIVATE_TARGETS")))
    except ssrf.TargetRefused as exc:
        raise Failure(f"refused: {exc}") from None
    timeout = float(app.config.get("HOOK_TIMEOUT_SECONDS", TIMEOUT_SECONDS))
    options = {"timeout": urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, timeout), read=timeout, total=timeout),
               "retries": False, "maxsize": 1, "block": False}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", ca_certs=app.config.get("HOOK_CA_BUNDLE") or certifi.where(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            snippet = response.read(MAX_RESPONSE_BYTES, decode_content=False)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise Failure(_network_error(exc)) from None
    except OSError as exc:
        raise Failure(f"network error: {exc.__class__.__name__}") from None
    finally:
        pool.close()
    status = response.status
    if 200 <= status < 300 or status == 410:
        return status
    text = snippet.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
    raise Failure(f"HTTP {status}" + (f": {text}" if text else ""), status, _retry_after(response.headers))


def _network_error(exc: Exception) -> str:
    """A short description of a connection failure (never the body or headers we sent)."""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # a subclass of ConnectTimeoutError: first
        return "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return f"TLS error: {exc}"[:300]
    return f"network error: {exc.__class__.__name__}"


def _retry_after(headers) -> float | None:
    """Retry-After in seconds, if the target gave a number."""
    value = headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None


# --- bookkeeping ----------------------------------------------------------------------------------------

def _claim(app: Flask, delivery_id: str):
    """Take the delivery for one attempt (lease, attempt counted); None when it is not due or is taken."""
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        result = db.execute(sa.update(HookDelivery).where(
            HookDelivery.id == delivery_id, HookDelivery.status == "pending", HookDelivery.next_attempt_at <= now,
            sa.or_(HookDelivery.lease_until.is_(None), HookDelivery.lease_until < now),
        ).values(lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=HookDelivery.attempts + 1,
                 first_attempt_at=sa.func.coalesce(HookDelivery.first_attempt_at, now), last_attempt_at=now)
            .execution_options(synchronize_session=False))
        if not result.rowcount:
            db.rollback()
            return None
        delivery = db.execute(sa.select(HookDelivery).where(HookDelivery.id == delivery_id)).scalar_one()
        subscription = db.execute(sa.select(HookSubscription).where(
            HookSubscription.id == delivery.subscription_id)).scalar_one()
        event = db.execute(sa.select(Event).where(Event.id == delivery.event_id)).scalar_one()
        db.commit()
    return delivery, subscription, event


def _finish(app: Flask, delivery: HookDelivery, subscription: HookSubscription, *, status: str,
            response_status: int | None = None, error: str | None = None) -> None:
    """Record a delivery that is done (delivered or cancelled); a delivery resets the hook's failure streak."""
    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(HookDelivery).where(HookDelivery.id == delivery.id).values(
            status=status, response_status=response_status, last_error=error, lease_until=None, enqueued_at=None,
            next_attempt_at=None, delivered_at=now if status == "delivered" else None)
            .execution_options(synchronize_session=False))
        if status == "delivered":
            db.execute(sa.update(HookSubscription).where(HookSubscription.id == subscription.id).values(
                failures=0, failing_since=None, given_up_in_row=0, last_delivery_at=now, last_error=None,
                updated_at=now).execution_options(synchronize_session=False))
        db.commit()
    if status == "delivered":
        log.info("hook %s: event %s delivered", subscription.id, delivery.event_id)


def _gone(app: Flask, delivery: HookDelivery, subscription: HookSubscription) -> None:
    """410 Gone: the target wants no more; the subscription is deleted."""
    from bridge.events.hooks import delete

    now = utcnow()
    with app.extensions["bridge.sessions"]() as db:
        db.execute(sa.update(HookDelivery).where(HookDelivery.id == delivery.id).values(
            status="gone", response_status=410, lease_until=None, enqueued_at=None, next_attempt_at=None,
            last_error="HTTP 410: the target asked to unsubscribe").execution_options(synchronize_session=False))
        delete(db, subscription, reason="the target answered 410 Gone")
        db.execute(sa.update(HookSubscription).where(HookSubscription.id == subscription.id).values(
            last_error="HTTP 410 Gone: unsubscribed", updated_at=now).execution_options(synchronize_session=False))
        db.commit()
    log.info("hook %s deleted: its target answered 410 Gone", subscription.id)


def next_delay(app: Flask, attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the retry after attempt number `attempts` (1-based)."""
    scale = float(app.config.get("HOOK_RETRY_SCALE", 1.0))
    delay = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1] * scale
    return max(delay, retry_after * scale) if retry_after else delay


def _failed(app: Flask, delivery: HookDelivery, subscription: HookSubscription, failure: Failure) -> str:
    """Record a failed attempt: schedule the retry, or give the delivery up; disable a hook that keeps failing."""
    now = utcnow()
    retry_for = timedelta(seconds=float(app.config.get("HOOK_RETRY_FOR_SECONDS", RETRY_FOR_SECONDS)))
    first: datetime = delivery.first_attempt_at or now
    give_up = now - first >= retry_for
    error = str(failure)[:500]
    with app.extensions["bridge.sessions"]() as db:
        values = {"response_status": failure.status, "last_error": error, "lease_until": None, "enqueued_at": None}
        if give_up:
            values.update(status="failed", next_attempt_at=None)
        else:
            delay = timedelta(seconds=next_delay(app, delivery.attempts, failure.retry_after))
            values["next_attempt_at"] = min(now + delay, first + retry_for)  # a last try when the day ends
        db.execute(sa.update(HookDelivery).where(HookDelivery.id == delivery.id).values(**values)
                   .execution_options(synchronize_session=False))
        counts = {"failures": HookSubscription.failures + 1, "last_error": error, "updated_at": now,
                  "failing_since": sa.func.coalesce(HookSubscription.failing_since, now)}
        if give_up:
            counts.update(given_up=HookSubscription.given_up + 1, given_up_in_row=HookSubscription.given_up_in_row + 1)
        hook = HookSubscription.__table__.c
        db.execute(sa.update(HookSubscription).where(hook.id == subscription.id).values(**counts)
                   .execution_options(synchronize_session=False))
        reason = _disable_reason(app, db, subscription.id, now, retry_for)
        if reason:
            db.execute(sa.update(HookSubscription).where(hook.id == subscription.id, hook.status == "active").values(
                status="disabled", disabled_reason=reason, updated_at=now).execution_options(synchronize_session=False))
            cancel_pending(db, subscription.id)
        db.commit()
    log.info("hook %s: delivery of %s failed (%s)%s", subscription.id, delivery.event_id, error,
             "; given up" if give_up else "")
    if reason:
        log.warning("hook %s disabled: %s", subscription.id, reason)
    return "failed" if give_up else "retrying"


def _disable_reason(app: Flask, db, subscription_id: str, now: datetime, retry_for: timedelta) -> str | None:
    """Why the hook should be disabled now (None: keep trying)."""
    row = db.execute(sa.select(HookSubscription.failing_since, HookSubscription.given_up_in_row).where(
        HookSubscription.id == subscription_id)).one()
    in_row = int(app.config.get("HOOK_DISABLE_AFTER_GIVEN_UP", DISABLE_AFTER_GIVEN_UP))
    if row.given_up_in_row >= in_row:
        return f"{row.given_up_in_row} deliveries in a row failed for {_span(retry_for)} each"
    if row.failing_since is not None and now - row.failing_since >= retry_for:
        return f"every delivery failed for {_span(retry_for)} (since {row.failing_since.isoformat()})"
    return None


def _span(delta: timedelta) -> str:
    """A duration as people say it ("24 hours", "90 seconds")."""
    seconds = delta.total_seconds()
    if seconds >= 3600 and seconds % 3600 == 0:
        return "an hour" if seconds == 3600 else f"{int(seconds // 3600)} hours"
    return f"{seconds:g} seconds"

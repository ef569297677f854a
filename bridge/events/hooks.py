"""REST hook subscriptions (Zapier's performSubscribe, Make's attach): made, listed, deleted per account.

Each subscription has its own signing secret, shown once and sealed at rest like connection tokens.
Deliveries are made by `bridge.events.dispatch` and sent by `bridge.events.delivery`.
"""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from flask import Flask

from bridge import errors
from bridge.events import EVENTS, signing, ssrf
from bridge.store.models import Connection, HookDelivery, HookSubscription, utcnow

log = logging.getLogger(__name__)

MAX_PER_ACCOUNT = 1000
"""Active and disabled subscriptions one account may hold."""
VISIBLE = ("active", "disabled")


def check_target(app: Flask, url: str) -> None:
    """Refuse a target URL that is not http(s) or reaches a private address (422 naming `target_url`).

    A host that does not resolve at all is accepted: each delivery resolves and checks it again.
    """
    try:
        ssrf.check(url, allow_private=bool(app.config.get("ALLOW_PRIVATE_TARGETS")))
    except ssrf.Unresolvable:
        return
    except ssrf.TargetRefused as exc:
        raise errors.ValidationFailed("The target URL is not allowed.",
                                      errors=[{"field": "target_url", "message": str(exc)}]) from None


def subscribe(app: Flask, db, account_id: str, *, target_url: str, event: str,
              connection_id: str | None = None) -> tuple[HookSubscription, str]:
    """Store a subscription; returns it and its secret (shown this once)."""
    if event not in EVENTS:
        raise errors.ValidationFailed("Unknown event.",
                                      errors=[{"field": "event", "message": f"Unknown event {event!r}."}])
    if connection_id is not None:
        connection = db.get(Connection, connection_id)
        if connection is None or connection.account_id != account_id:
            raise errors.NotFound("No such connection.")
    check_target(app, target_url)
    held = db.execute(sa.select(sa.func.count()).select_from(HookSubscription).where(
        HookSubscription.account_id == account_id, HookSubscription.status.in_(VISIBLE))).scalar()
    if held >= MAX_PER_ACCOUNT:
        raise errors.Conflict(f"The account already has {held} hooks; delete some first.")
    secret = signing.new_secret()
    now = utcnow()
    row = HookSubscription(id="hook_" + secrets.token_hex(12), account_id=account_id, connection_id=connection_id,
                           event=event, target_url=target_url, secret=app.extensions["bridge.vault"].seal(secret),
                           status="active", failures=0, given_up=0, given_up_in_row=0, created_at=now,
                           updated_at=now)
    db.add(row)
    db.commit()
    log.info("hook %s subscribed to %s for account %s", row.id, event, account_id)
    return row, secret


def owned(db, account_id: str, hook_id: str) -> HookSubscription:
    """The caller's subscription (active or disabled), or a 404."""
    row = db.execute(sa.select(HookSubscription).where(HookSubscription.id == hook_id)).scalar_one_or_none()
    if row is None or row.account_id != account_id or row.status not in VISIBLE:
        raise errors.NotFound("No such hook.")
    return row


def listed(db, account_id: str, *, limit: int, before_seq: int | None = None, event: str | None = None,
           connection_id: str | None = None, status: str | None = None) -> list[HookSubscription]:
    """The account's subscriptions, newest first, one more than `limit` when more follow."""
    query = sa.select(HookSubscription).where(HookSubscription.account_id == account_id,
                                              HookSubscription.status.in_((status,) if status else VISIBLE))
    if event:
        query = query.where(HookSubscription.event == event)
    if connection_id:
        query = query.where(HookSubscription.connection_id == connection_id)
    if before_seq is not None:
        query = query.where(HookSubscription.seq < before_seq)
    return list(db.execute(query.order_by(HookSubscription.seq.desc()).limit(limit + 1)).scalars())


def delete(db, row: HookSubscription, reason: str = "deleted") -> None:
    """End a subscription and cancel its pending deliveries (the caller commits)."""
    now = utcnow()
    db.execute(sa.update(HookSubscription).where(HookSubscription.id == row.id).values(
        status="deleted", deleted_at=now, updated_at=now,
        disabled_reason=None if reason == "deleted" else reason).execution_options(synchronize_session=False))
    cancel_pending(db, row.id)


def cancel_pending(db, subscription_id: str) -> None:
    """Pending deliveries of a subscription that ended are not sent."""
    db.execute(sa.update(HookDelivery).where(HookDelivery.subscription_id == subscription_id,
                                             HookDelivery.status == "pending")
               .values(status="cancelled", next_attempt_at=None).execution_options(synchronize_session=False))


def shaped(row: HookSubscription) -> dict:
    """The API view of a subscription (never its secret)."""
    return {"id": row.id, "event": row.event, "target_url": row.target_url, "connection_id": row.connection_id,
            "status": row.status, "disabled_reason": row.disabled_reason, "created_at": row.created_at,
            "last_delivery_at": row.last_delivery_at, "last_error": row.last_error, "failures": row.failures,
            "failing_since": row.failing_since, "deliveries_given_up": row.given_up}

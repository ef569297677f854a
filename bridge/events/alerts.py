"""Alerts: the events a user must act on, and the e-mail digest of them (at most one per account an hour).

`sync.failed` is emitted by the engine when an operation fails or dies (bridge.sync.jobs),
`connection.needs_reauth` here when a refresh token is refused, `reconciliation.drift` by reconciliation.
The digest is off unless BRIDGE_SMTP_URL is set; the relay's leader schedules it every minute.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from bridge.events import emit
from bridge.store.models import Account, AlertSettings, Connection, Event, utcnow

log = logging.getLogger(__name__)

ALERT_EVENTS = ("sync.failed", "connection.needs_reauth", "reconciliation.drift")
DIGEST_INTERVAL = timedelta(hours=1)
"""At most one digest per account in this time."""
TICK_SECONDS = 60
"""How often the relay's leader looks for digests that are due."""
TICK_KEY = "bridge:alerts:tick"
MAX_LISTED = 100
"""Alerts listed in one e-mail; the rest are counted."""
SMTP_TIMEOUT = 20


# --- events -------------------------------------------------------------------------------------------

def connection_document(connection: Connection) -> dict:
    """The connection as the API shows it (GET /v1/connections/<id>), JSON-ready."""
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None
    return {"id": connection.id, "provider": connection.provider, "status": connection.status,
            "tenant_id": connection.tenant_id, "tenant_name": connection.tenant_name,
            "tenants": connection.tenants, "country": (connection.tenant_extra or {}).get("country"),
            "limited_until": stamp(connection.limited_until), "last_error": connection.last_error,
            "created_at": stamp(connection.created_at), "updated_at": stamp(connection.updated_at)}


def connection_needs_reauth(db, connection: Connection) -> None:
    """Emit `connection.needs_reauth` once per transition (the token version names the transition)."""
    emit(db, account_id=connection.account_id, event="connection.needs_reauth", connection_id=connection.id,
         data=connection_document(connection),
         dedupe_key=f"needs_reauth:{connection.id}:{connection.token_version}")


# --- where the digest goes ----------------------------------------------------------------------------

def settings_of(db, account_id: str) -> AlertSettings | None:
    """The account's alert settings, if it has any."""
    return db.get(AlertSettings, account_id)


def set_email(db, account_id: str, email: str | None) -> AlertSettings:
    """Send the account's digest to `email` (None: no digest); alerts before this are not mailed."""
    row = db.get(AlertSettings, account_id)
    if row is None:
        latest = db.execute(sa.select(sa.func.max(Event.seq)).where(Event.account_id == account_id)).scalar()
        row = AlertSettings(account_id=account_id, last_event_seq=latest or 0)
        db.add(row)
    row.email = email
    row.updated_at = utcnow()
    db.commit()
    return row


# --- the digest ---------------------------------------------------------------------------------------

def schedule(app: Flask) -> None:
    """Enqueue the digest job once a minute (called by the relay's leader; nothing when SMTP is off)."""
    if not app.config.get("SMTP_URL"):
        return
    from bridge.sync import queue

    if queue.connection(app).set(TICK_KEY, 1, nx=True, ex=TICK_SECONDS):
        queue.get_queue(queue.EVENTS, app).enqueue(send_digests_job, job_timeout=300, result_ttl=3600)


def send_digests_job() -> int:
    """RQ job: send every digest that is due."""
    return send_due_digests(current_app._get_current_object())


def send_due_digests(app: Flask, now: datetime | None = None) -> int:
    """Mail each account whose last digest is an hour old (or never sent) its alerts since; how many were sent."""
    if not app.config.get("SMTP_URL"):
        return 0
    now = now or utcnow()
    sessions = app.extensions["bridge.sessions"]
    with sessions() as db:
        due = db.execute(sa.select(AlertSettings.account_id).where(
            AlertSettings.email.is_not(None),
            sa.or_(AlertSettings.last_digest_at.is_(None), AlertSettings.last_digest_at <= now - DIGEST_INTERVAL),
        )).scalars().all()
    sent = 0
    for account_id in due:
        try:
            sent += _send_digest(app, account_id, now)
        except (OSError, smtplib.SMTPException) as exc:  # the alerts stay unsent: the next tick tries again
            log.warning("alert digest for account %s not sent: %s", account_id, exc.__class__.__name__)
    return sent


def _send_digest(app: Flask, account_id: str, now: datetime) -> int:
    """One account's digest, under a row lock so two workers never send it twice."""
    with app.extensions["bridge.sessions"]() as db:
        row = db.execute(sa.select(AlertSettings).where(AlertSettings.account_id == account_id)
                         .with_for_update(skip_locked=True)).scalar_one_or_none()
        if row is None or not row.email or (row.last_digest_at and row.last_digest_at > now - DIGEST_INTERVAL):
            return 0
        events = db.execute(sa.select(Event).where(
            Event.account_id == account_id, Event.seq > row.last_event_seq, Event.event.in_(ALERT_EVENTS))
            .order_by(Event.seq)).scalars().all()
        if not events:
            return 0
        account = db.get(Account, account_id)
        deliver(app, compose(app, row.email, account.name if account else account_id, events))
        row.last_digest_at = now
        row.last_event_seq = events[-1].seq
        db.commit()
    log.info("alert digest with %d alerts sent for account %s", len(events), account_id)
    return 1


def describe(event: Event) -> str:
    """One alert as a line of the digest."""
    data = event.data or {}
    when = event.occurred_at.strftime("%Y-%m-%d %H:%M UTC")
    if event.event == "sync.failed":
        errors = data.get("errors") or []
        reason = (errors[0].get("message") if errors else "") or ""
        return (f"{when}  {data.get('object')} {data.get('external_id')} ({data.get('action')}) "
                f"{data.get('status')} on connection {data.get('connection_id')}"
                f"{' [' + data['error_class'] + ']' if data.get('error_class') else ''}: {reason}  "
                f"(operation {data.get('id')})")
    if event.event == "connection.needs_reauth":
        return (f"{when}  connection {data.get('id')} ({data.get('provider')}, {data.get('tenant_name')}) "
                f"needs to be authorized again: {data.get('last_error') or ''}")
    return f"{when}  {event.event} on connection {event.connection_id}"


def compose(app: Flask, to: str, account_name: str, events: list[Event]) -> EmailMessage:
    """The digest e-mail."""
    message = EmailMessage()
    message["From"] = app.config.get("ALERT_FROM") or "invoice-bridge@localhost"
    message["To"] = to
    count = len(events)
    message["Subject"] = f"Invoice Bridge: {count} alert{'s' if count != 1 else ''} for {account_name}"
    lines = [f"{count} thing{'s' if count != 1 else ''} in Invoice Bridge need your attention:", ""]
    lines += [describe(event) for event in events[:MAX_LISTED]]
    if count > MAX_LISTED:
        lines.append(f"... and {count - MAX_LISTED} more: see GET /v1/syncs?status=failed")
    lines += ["", "Review the sync log: GET /v1/syncs/summary?period=7d",
              "You get at most one of these e-mails an hour; change the address with PUT /v1/me/alerts."]
    message.set_content("\n".join(lines))
    return message


def parse_smtp_url(url: str) -> dict:
    """`smtp://user:pass@host:port` or `smtps://...` as connection settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("BRIDGE_SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
    secure = parts.scheme == "smtps"
    return {"host": parts.hostname, "port": parts.port or (465 if secure else 25), "secure": secure,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None}


def deliver(app: Flask, message: EmailMessage) -> None:
    """Send one e-mail through BRIDGE_SMTP_URL (STARTTLS when a plain server offers it)."""
    smtp = parse_smtp_url(app.config["SMTP_URL"])
    context = ssl.create_default_context()
    if smtp["secure"]:
        client = smtplib.SMTP_SSL(smtp["host"], smtp["port"], timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(smtp["host"], smtp["port"], timeout=SMTP_TIMEOUT)
    with client:
        client.ehlo()
        if not smtp["secure"] and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if smtp["user"]:
            client.login(smtp["user"], smtp["password"] or "")
        client.send_message(message)

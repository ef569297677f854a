"""Exports of an account's invoices with their sync status and ledger ids (CSV, XLSX), and the daily e-mail.

One row per invoice and connection: the invoice as last sent (number, customer, date, currency), the
latest operation on it (its status, action, error, time) and what the ledger gave back (its id and the
total it computed). Amounts are exact decimal text in CSV; XLSX numbers are written from the Decimal
only when a double holds them exactly to the cent, else as text.
"""

from __future__ import annotations

import csv
import io
import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Iterator

import orjson
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from bridge import errors
from bridge.store.models import Account, Connection, ExportDelivery, LedgerObject, Operation, utcnow

log = logging.getLogger(__name__)

COLUMNS = ("external_id", "number", "customer", "issue_date", "total", "currency", "connection_id", "provider",
           "sync_status", "action", "ledger_id", "last_error", "updated_at", "operation_id")
FORMATS = ("csv", "xlsx")
STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "dead")
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXACT_DIGITS = 15
"""Significant digits a double carries exactly: larger amounts go to XLSX as text."""
TICK_KEY = "bridge:exports:tick"
TICK_SECONDS = 300
"""How often the relay's leader looks for daily exports to send."""


@dataclass
class Filters:
    """Which invoices an export holds."""

    account_id: str | None = None
    connection_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse_moment(value: str, field: str, end: bool = False) -> datetime:
    """An ISO date (midnight UTC; the next midnight for an `until` day) or datetime, else a 422 naming the field."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise errors.ValidationFailed(f"Bad {field}.", errors=[{
            "field": field, "message": "An ISO 8601 date (2026-11-21) or date-time (2026-11-21T08:00:00Z)."}]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _query(filters: Filters):
    """The latest operation per (connection, invoice), its last upsert's input and the ledger's answer."""
    keys = [Operation.connection_id, Operation.external_id]
    scope = [Operation.object == "invoice"]
    if filters.account_id:
        scope.append(Operation.account_id == filters.account_id)
    if filters.connection_id:
        scope.append(Operation.connection_id == filters.connection_id)
    latest = sa.select(*keys, sa.func.max(Operation.seq).label("seq")).where(*scope).group_by(*keys).subquery()
    upserts = (sa.select(*keys, sa.func.max(Operation.seq).label("seq")).where(*scope, Operation.action == "upsert")
               .group_by(*keys).subquery())
    source = aliased(Operation)
    query = (sa.select(Operation, source.payload, Connection.provider, LedgerObject.ledger_id, LedgerObject.extra)
             .join(latest, Operation.seq == latest.c.seq)
             .join(upserts, sa.and_(upserts.c.connection_id == latest.c.connection_id,
                                    upserts.c.external_id == latest.c.external_id))
             .join(source, source.seq == upserts.c.seq)
             .join(Connection, Connection.id == Operation.connection_id)
             .outerjoin(LedgerObject, sa.and_(LedgerObject.connection_id == Operation.connection_id,
                                              LedgerObject.object == "invoice",
                                              LedgerObject.external_id == Operation.external_id)))
    if filters.status:
        query = query.where(Operation.status == filters.status)
    if filters.since:
        query = query.where(Operation.updated_at >= filters.since)
    if filters.until:
        query = query.where(Operation.updated_at < filters.until)
    return query.order_by(Operation.updated_at.desc(), Operation.seq.desc())


def _row(op: Operation, payload: str, provider: str, ledger_id: str | None, extra: dict | None) -> dict:
    """One export row."""
    invoice = orjson.loads(payload)
    customer = invoice.get("customer") or {}
    total = (extra or {}).get("total") or (invoice.get("totals") or {}).get("total")
    error = (op.errors or [{}])[0].get("message") if op.errors else None
    return {"external_id": op.external_id, "number": invoice.get("number"),
            "customer": customer.get("name") or customer.get("external_id"), "issue_date": invoice.get("issue_date"),
            "total": Decimal(str(total)) if total not in (None, "") else None, "currency": invoice.get("currency"),
            "connection_id": op.connection_id, "provider": provider, "sync_status": op.status, "action": op.action,
            "ledger_id": ledger_id or op.ledger_id, "last_error": error,
            "updated_at": op.updated_at.astimezone(timezone.utc).isoformat(), "operation_id": op.id}


def invoice_rows(db, filters: Filters) -> list[dict]:
    """Every matching invoice's export row, most recently updated first."""
    return [_row(*row) for row in db.execute(_query(filters)).all()]


def _text(value) -> str:
    """A cell as CSV text: Decimals exactly, None blank."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_chunks(rows: Iterable[dict], every: int = 200) -> Iterator[str]:
    """The export as CSV text, header first, in chunks of `every` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for index, row in enumerate(rows, 1):
        writer.writerow([_text(row[column]) for column in COLUMNS])
        if index % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _amount_cell(sheet, value: Decimal | None):
    """An amount cell: a number shown to the cent when a double holds it exactly, else exact text."""
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if len(value.as_tuple().digits) <= EXACT_DIGITS and value == value.quantize(Decimal("0.01")):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00"
        return cell
    return WriteOnlyCell(sheet, value=format(value, "f"))


def xlsx_bytes(rows: Iterable[dict]) -> bytes:
    """The export as an XLSX workbook (one sheet, `invoices`)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("invoices")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([_amount_cell(sheet, row[column]) if column == "total" else row[column] for column in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_name(fmt: str, day: date | None = None) -> str:
    """The export's file name."""
    return f"invoices-export-{(day or utcnow().date()).isoformat()}.{fmt}"


# --- the daily e-mail ----------------------------------------------------------------------------------

def schedule(app: Flask) -> None:
    """Enqueue the daily-export job every few minutes (called by the relay's leader; nothing when SMTP is off)."""
    if not app.config.get("SMTP_URL"):
        return
    from bridge.sync import queue

    if queue.connection(app).set(TICK_KEY, 1, nx=True, ex=TICK_SECONDS):
        queue.get_queue(queue.EVENTS, app).enqueue(send_daily_exports_job, job_timeout=900, result_ttl=3600)


def send_daily_exports_job() -> int:
    """RQ job: send every daily export that is due."""
    return send_daily_exports(current_app._get_current_object())


def send_daily_exports(app: Flask, now: datetime | None = None) -> int:
    """Mail each account with an alert address yesterday's (UTC) invoice export, once, if any invoice changed
    that day; how many were sent."""
    from bridge.store.models import AlertSettings

    if not app.config.get("SMTP_URL"):
        return 0
    now = now or utcnow()
    day = now.astimezone(timezone.utc).date() - timedelta(days=1)
    with app.extensions["bridge.sessions"]() as db:
        due = db.execute(sa.select(AlertSettings.account_id, AlertSettings.email).where(
            AlertSettings.email.is_not(None),
            ~sa.exists().where(ExportDelivery.account_id == AlertSettings.account_id,
                               ExportDelivery.day == day.isoformat()))).all()
    sent = 0
    for account_id, email in due:
        try:
            sent += _send_one(app, account_id, email, day)
        except (OSError, smtplib.SMTPException) as exc:  # the claim is released: the next tick tries again
            log.warning("daily export for account %s not sent: %s", account_id, exc.__class__.__name__)
    return sent


def _send_one(app: Flask, account_id: str, email: str, day: date) -> int:
    """Claim the (account, day) row, then send; a failed send releases the claim."""
    from email.message import EmailMessage

    from bridge.events.alerts import deliver

    with app.extensions["bridge.sessions"]() as db:
        insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(ExportDelivery)
        claimed = db.execute(insert.values(account_id=account_id, day=day.isoformat(), status="sending", rows=0,
                                           created_at=utcnow()).on_conflict_do_nothing()).rowcount
        db.commit()
        if not claimed:
            return 0
        start = datetime.combine(day, time(), timezone.utc)
        rows = invoice_rows(db, Filters(account_id=account_id, since=start, until=start + timedelta(days=1)))
        if not rows:  # a quiet day: no e-mail
            db.execute(sa.update(ExportDelivery).where(ExportDelivery.account_id == account_id,
                                                       ExportDelivery.day == day.isoformat()).values(status="empty"))
            db.commit()
            return 0
        account = db.get(Account, account_id)
        message = EmailMessage()
        message["From"] = app.config.get("ALERT_FROM") or "invoice-bridge@localhost"
        message["To"] = email
        message["Subject"] = f"Invoice Bridge: invoice export for {day.isoformat()} ({len(rows)} invoices)"
        message.set_content(f"{len(rows)} invoice(s) of {account.name if account else account_id} changed sync state "
                            f"on {day.isoformat()} (UTC); the attached CSV lists each with its sync status and "
                            "ledger id.\nThe full export: GET /v1/exports/invoices?format=csv|xlsx")
        message.add_attachment("".join(csv_chunks(rows)).encode(), maintype="text", subtype="csv",
                               filename=file_name("csv", day))
        try:
            deliver(app, message)
        except Exception:
            db.execute(sa.delete(ExportDelivery).where(ExportDelivery.account_id == account_id,
                                                       ExportDelivery.day == day.isoformat()))
            db.commit()
            raise
        db.execute(sa.update(ExportDelivery).where(ExportDelivery.account_id == account_id,
                                                   ExportDelivery.day == day.isoformat())
                   .values(status="sent", rows=len(rows)))
        db.commit()
    return 1

"""SQLAlchemy 2 models: accounts, keys, connections, the operation outbox, idempotency."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store in UTC."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        """Read back as aware UTC."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with a stable naming convention for constraints."""

    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class Account(Base):
    """One customer of the bridge."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key of an account; only its SHA-256 hash is stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Connection(Base):
    """An account's link to one ledger company; its tokens are sealed with the app's keys."""

    __tablename__ = "connections"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    tenant_id: Mapped[str | None] = mapped_column(sa.String(100))
    tenant_name: Mapped[str | None] = mapped_column(sa.String(300))
    tenant_hint: Mapped[str | None] = mapped_column(sa.String(300))
    tenants: Mapped[list | None] = mapped_column(JSONType)
    tenant_extra: Mapped[dict | None] = mapped_column(JSONType)
    return_url: Mapped[str | None] = mapped_column(sa.String(2000))
    state_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    code_verifier: Mapped[str | None] = mapped_column(sa.Text)  # sealed
    token: Mapped[str | None] = mapped_column(sa.Text)  # sealed Token.to_dict()
    token_version: Mapped[int] = mapped_column(sa.Integer, default=0)
    mapping: Mapped[dict | None] = mapped_column(JSONType)
    limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Operation(Base):
    """One write to a ledger: the outbox row, its state and its result."""

    __tablename__ = "operations"
    __table_args__ = (
        sa.Index("ix_operations_order", "connection_id", "object_key", "seq"),
        sa.Index("ix_operations_due", "status", "next_attempt_at"),
        sa.Index("ix_operations_account_seq", "account_id", "seq"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    account_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    object: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    object_key: Mapped[str] = mapped_column(sa.String(300))
    parent_key: Mapped[str | None] = mapped_column(sa.String(300))
    action: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    payload: Mapped[str] = mapped_column(sa.Text)
    request_key: Mapped[str] = mapped_column(sa.String(40))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    ledger_id: Mapped[str | None] = mapped_column(sa.String(100))
    warnings: Mapped[list | None] = mapped_column(JSONType)
    errors: Mapped[list | None] = mapped_column(JSONType)
    error_class: Mapped[str | None] = mapped_column(sa.String(30))
    """What kind of error the last attempt met (bridge.sync.error_classes); None after a success."""
    waiting_for: Mapped[str | None] = mapped_column(sa.String(300))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    single: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    uncertain: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Batch(Base):
    """Invoices written in one ledger call: membership and key fixed before it is sent."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    members: Mapped[list] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    uncertain: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(Base):
    """One try of an operation, with its redacted exchanges with the ledger."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    operation_seq: Mapped[int] = mapped_column(sa.ForeignKey("operations.seq"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.Text)
    exchanges: Mapped[list | None] = mapped_column(JSONType)
    batch_attempt_id: Mapped[int | None] = mapped_column(sa.Integer)
    """Set for a member of a batch: the exchanges are the batch attempt's (stored once)."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyRecord(Base):
    """The first response to an Idempotency-Key, per account and route, kept 24 hours."""

    __tablename__ = "idempotency_records"
    account_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    route: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LedgerObject(Base):
    """What the bridge wrote to a ledger: our external id to the ledger's id."""

    __tablename__ = "ledger_objects"
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"), primary_key=True)
    object: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    ledger_id: Mapped[str] = mapped_column(sa.String(100))
    extra: Mapped[dict | None] = mapped_column(JSONType)
    operation_id: Mapped[str | None] = mapped_column(sa.String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BatchAttempt(Base):
    """One try of a batch: its exchanges with the ledger, stored once for all its members."""

    __tablename__ = "batch_attempts"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    exchanges: Mapped[list | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """Something that happened (DESIGN.md "Objects": Event), kept for trigger feeds, hooks and alerts."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_account_seq", "account_id", "seq"),
        sa.Index("ix_events_account_event_seq", "account_id", "event", "seq"),  # trigger feeds (migration 0008)
        sa.UniqueConstraint("account_id", "dedupe_key"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    account_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str | None] = mapped_column(sa.String(40))
    event: Mapped[str] = mapped_column(sa.String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSONType)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(300))


# --- issue 4: csv ledger, files and exports (models below) ---

class CsvLedgerEntry(Base):
    """One document the `csv` ledger wrote: its rows of one import file, once per operation key."""

    __tablename__ = "csv_ledger_entries"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "request_key"),
        sa.Index("ix_csv_ledger_entries_file", "connection_id", "file", "seq"),
        sa.Index("ix_csv_ledger_entries_document", "connection_id", "object", "ledger_id", "seq"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    request_key: Mapped[str] = mapped_column(sa.String(60))
    object: Mapped[str] = mapped_column(sa.String(20))
    ledger_id: Mapped[str] = mapped_column(sa.String(100))
    file: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text)
    """The entry's rows as CSV text (the file is its header plus every entry's text, in order)."""
    row_count: Mapped[int] = mapped_column(sa.Integer)
    size: Mapped[int] = mapped_column(sa.Integer)
    """Bytes of `text` in UTF-8."""
    document: Mapped[dict] = mapped_column(JSONType)
    """The normalized document written (JSON-safe), for reading it back."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportDelivery(Base):
    """The daily export e-mail of one account for one UTC day: the row is taken before sending, so once."""

    __tablename__ = "export_deliveries"
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="sending")
    rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



# --- issue 4: notes and alerts (models below) ---

class Note(Base):
    """A note added to an invoice through the bridge, kept on our side as well as in the ledger."""

    __tablename__ = "notes"
    __table_args__ = (sa.Index("ix_notes_invoice", "connection_id", "external_id", "created_at"),)
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    text: Mapped[str] = mapped_column(sa.Text)
    operation_id: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertSettings(Base):
    """Where an account's alert digest goes, and how far the last digest got."""

    __tablename__ = "alert_settings"
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



# --- issue 4: reconciliation (models below) ---

class ReconciliationSchedule(Base):
    """How often a connection is reconciled (no row: daily); `every_seconds` 0 switches it off."""

    __tablename__ = "reconciliation_schedules"
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"), primary_key=True)
    every_seconds: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReconciliationRun(Base):
    """One check of a connection's ledger against what we wrote; `period` makes scheduled runs unique."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "period"),
        sa.Index("ix_reconciliation_runs_connection", "connection_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    trigger: Mapped[str] = mapped_column(sa.String(20))
    period: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    checked: Mapped[int] = mapped_column(sa.Integer, default=0)
    in_sync: Mapped[int] = mapped_column(sa.Integer, default=0)
    drift: Mapped[int] = mapped_column(sa.Integer, default=0)
    could_not_check: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DriftItem(Base):
    """One difference between what we wrote and what the ledger holds (or an object we could not read)."""

    __tablename__ = "drift_items"
    __table_args__ = (
        sa.Index("ix_drift_items_account_seq", "account_id", "seq"),
        sa.Index("ix_drift_items_open", "connection_id", "status"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    account_id: Mapped[str] = mapped_column(sa.String(40))
    run_id: Mapped[str] = mapped_column(sa.String(40))
    last_run_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    object: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    invoice_external_id: Mapped[str | None] = mapped_column(sa.String(255))
    ledger_id: Mapped[str | None] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(30))
    ours: Mapped[str | None] = mapped_column(sa.String(100))
    theirs: Mapped[str | None] = mapped_column(sa.String(100))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(sa.String(20))
    operation_id: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- issue 5: REST hooks (models below) ---

class HookSubscription(Base):
    """A REST hook: an account's events of one name POSTed, signed, to a target URL (Zapier, Make)."""

    __tablename__ = "hook_subscriptions"
    __table_args__ = (
        sa.Index("ix_hook_subscriptions_account_seq", "account_id", "seq"),
        sa.Index("ix_hook_subscriptions_match", "account_id", "event", "status"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
    connection_id: Mapped[str | None] = mapped_column(sa.ForeignKey("connections.id"))
    event: Mapped[str] = mapped_column(sa.String(40))
    target_url: Mapped[str] = mapped_column(sa.String(2000))
    secret: Mapped[str] = mapped_column(sa.Text)  # sealed
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    """active, disabled (repeated failure) or deleted (by the user, or a 410 from the target)."""
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    """Failed delivery attempts since the last successful delivery."""
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    given_up: Mapped[int] = mapped_column(sa.Integer, default=0)
    """Deliveries given up after retrying for a day, in all."""
    given_up_in_row: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HookDelivery(Base):
    """One event for one subscription: made once per pair, retried from here (durable), never sent twice."""

    __tablename__ = "hook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_hook_deliveries_due", "status", "next_attempt_at"),
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    subscription_id: Mapped[str] = mapped_column(sa.ForeignKey("hook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(sa.ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    """pending, delivered, failed (given up), gone (the target answered 410) or cancelled."""
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HookCursor(Base):
    """How far the hook dispatcher has read the events: every event at or below `floor` is dispatched.

    `mark` is the newest event seen at `mark_at`; it becomes the floor a while later, so an event whose
    transaction committed after a later one (out of seq order) is still found.
    """

    __tablename__ = "hook_cursors"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    floor: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)
    mark: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)
    mark_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



# --- issue 5: inbound ledger webhooks (models below) ---

class InboundNotice(Base):
    """The changes one ledger webhook delivery announced for one connection, kept until a job applied them."""

    __tablename__ = "inbound_notices"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "dedupe_key"),
        sa.Index("ix_inbound_notices_pending", "processed_at", "enqueued_at"),
        sa.Index("ix_inbound_notices_waiting", "connection_id", "processed_at"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(20))
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(64))
    """SHA-256 of the delivery: a replay is recorded once. Cleared once applied where an identical
    delivery may announce a new change (FreshBooks sends no event id or time)."""
    notices: Mapped[list] = mapped_column(JSONType)
    """[{object, ledger_id, operation}] for bridge.events.changes.apply_notices."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """After a failed read: not read again before this (the ledger's wait, else LOST_AFTER)."""
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class FreshBooksCallback(Base):
    """A webhook callback registered at FreshBooks; its verifier (the signing key) is sealed."""

    __tablename__ = "freshbooks_callbacks"
    __table_args__ = (sa.UniqueConstraint("account_id", "callback_id"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(100))
    """The FreshBooks account_id (Connection.tenant_id of FreshBooks connections)."""
    callback_id: Mapped[str] = mapped_column(sa.String(40))
    connection_id: Mapped[str | None] = mapped_column(sa.ForeignKey("connections.id"), index=True)
    """None while a verification request arrived before the registering job recorded the callback."""
    event: Mapped[str | None] = mapped_column(sa.String(60))
    verifier: Mapped[str | None] = mapped_column(sa.Text)  # sealed
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



# --- issue 5: change polling (models below) ---

class ChangeCheckpoint(Base):
    """How far the polling fallback has read a connection's ledger changes (bridge.events.polling)."""

    __tablename__ = "change_checkpoints"
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"), primary_key=True)
    checkpoint: Mapped[str | None] = mapped_column(sa.String(64))
    """The adapter's own marker (an ISO time in UTC): the next poll reads what changed since it."""
    polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ObservedObject(Base):
    """What we last saw of one ledger object (bridge.events.changes): the state its next change is compared with."""

    __tablename__ = "observed_objects"
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id"), primary_key=True)
    object: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    ledger_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    status: Mapped[str | None] = mapped_column(sa.String(20))
    balance: Mapped[str | None] = mapped_column(sa.String(40))
    """Decimal text (exact)."""
    number: Mapped[str | None] = mapped_column(sa.String(255))
    stamp: Mapped[str | None] = mapped_column(sa.String(40))
    """The ledger's last-updated time (ISO, UTC): an older read never replaces a newer one."""
    fingerprint: Mapped[str | None] = mapped_column(sa.String(32))
    """A hash of what an event would carry: equal means nothing a user sees changed."""
    paid_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    """How many times the invoice became paid (its invoice.paid events are numbered by it)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

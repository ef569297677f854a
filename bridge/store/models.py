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


# --- issue 4: notes and alerts (models below) ---


# --- issue 4: reconciliation (models below) ---

"""The write path's one database step: idempotency record and outbox rows, committed together.

On PostgreSQL this is ONE autocommit statement (research/ingest-calibration.md: one round-trip is
the budget); on SQLite the same rows are written in one short transaction.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import psycopg
import sqlalchemy as sa
from flask import current_app

from bridge import errors, store
from bridge.store.models import Connection, IdempotencyRecord, Operation, utcnow

IDEMPOTENCY_TTL = timedelta(hours=24)
OP_COLUMNS = ("id", "account_id", "connection_id", "object", "external_id", "object_key", "parent_key",
              "action", "status", "payload", "request_key", "attempts", "warnings", "errors",
              "created_at", "updated_at")


@dataclass
class NewOperation:
    """An operation about to be queued."""

    object: str
    external_id: str
    action: str
    payload: str
    parent_key: str | None = None
    warnings: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: "op_" + secrets.token_hex(12))

    @property
    def object_key(self) -> str:
        """The ordering anchor: operations on one object apply in order."""
        return f"{self.object}:{self.external_id}"

    @property
    def request_key(self) -> str:
        """The ledger idempotency key of this operation, reused on every retry."""
        return self.id[3:]


@dataclass(frozen=True)
class ConnectionFacts:
    """What never changes about a connection: whose it is and which ledger."""

    account_id: str
    provider: str


class FactsCache:
    """Connection facts by id, per process (they are immutable)."""

    def __init__(self):
        self._facts: dict[str, ConnectionFacts] = {}
        self._lock = threading.Lock()

    def get(self, connection_id: str) -> ConnectionFacts | None:
        """Cached facts, loading them on a miss."""
        facts = self._facts.get(connection_id)
        if facts is None:
            row = store.session().execute(sa.select(Connection.account_id, Connection.provider).where(
                Connection.id == connection_id)).first()
            if row is None:
                return None
            facts = ConnectionFacts(row.account_id, row.provider)
            with self._lock:
                self._facts[connection_id] = facts
        return facts


def connection_facts(account_id: str, connection_id: str) -> ConnectionFacts:
    """The connection's facts if it is the caller's, else a 404."""
    cache = current_app.extensions.setdefault("bridge.connection_facts", FactsCache())
    facts = cache.get(connection_id)
    if facts is None or facts.account_id != account_id:
        raise errors.NotFound("No such connection.")
    return facts


def operation_body(op: NewOperation, connection_id: str, now: datetime, related: list[dict]) -> dict:
    """The Operation document of a freshly queued operation."""
    stamp = now.isoformat()
    return {"id": op.id, "connection_id": connection_id, "object": op.object,
            "external_id": op.external_id, "action": op.action, "status": "queued", "attempts": 0,
            "ledger_id": None, "warnings": op.warnings, "errors": [], "waiting_for": None,
            "related": related, "created_at": stamp, "updated_at": stamp, "next_attempt_at": None}


@dataclass
class Accepted:
    """The outcome of an ingest: the body to answer, or a replayed record."""

    status: int
    body: bytes
    replayed: bool = False


def accept(account_id: str, connection_id: str, ops: list[NewOperation], *, route: str,
           idempotency_key: str | None, body_hash: str | None) -> Accepted:
    """Commit the operations (and the idempotency record) and return the 202 body."""
    now = utcnow()
    related = [{"id": op.id, "object": op.object, "external_id": op.external_id} for op in ops[1:]]
    body = orjson.dumps(operation_body(ops[0], connection_id, now, related))
    rows = [_row(op, account_id, connection_id, now) for op in ops]
    idem = None
    if idempotency_key is not None:
        idem = {"account_id": account_id, "route": route, "key": idempotency_key, "body_hash": body_hash,
                "status_code": 202, "response_body": body.decode(), "created_at": now,
                "expires_at": now + IDEMPOTENCY_TTL}
    inserted = (_accept_postgres if store.is_postgres() else _accept_generic)(account_id, connection_id, rows, idem)
    if inserted:
        return Accepted(202, body)
    return _explain_refusal(account_id, connection_id, idem, now)


def _row(op: NewOperation, account_id: str, connection_id: str, now: datetime) -> dict:
    """The outbox row of an operation."""
    return {"id": op.id, "account_id": account_id, "connection_id": connection_id, "object": op.object,
            "external_id": op.external_id, "object_key": op.object_key, "parent_key": op.parent_key,
            "action": op.action, "status": "queued", "payload": op.payload, "request_key": op.request_key,
            "attempts": 0, "warnings": orjson.dumps(op.warnings).decode(), "errors": "[]",
            "created_at": now, "updated_at": now}


STATEMENTS: dict[tuple[int, bool], str] = {}
"""The ingest SQL by (operation rows, with an idempotency key): constant text, prepared once per connection."""

CASTS = {"warnings": "::jsonb", "errors": "::jsonb", "attempts": "::int", "created_at": "::timestamptz",
         "updated_at": "::timestamptz"}


def ingest_statement(rows: int, keyed: bool) -> str:
    """One statement: connection check, idempotency insert (if keyed) and the outbox rows."""
    key = (rows, keyed)
    if key not in STATEMENTS:
        values = ", ".join("(" + ", ".join(f"%s{CASTS.get(column, '::text')}" for column in OP_COLUMNS) + ")"
                           for _ in range(rows))
        idem = (", idem AS (INSERT INTO idempotency_records (account_id, route, key, body_hash, status_code,"
                " response_body, created_at, expires_at) SELECT %s, %s, %s, %s, %s, %s, %s::timestamptz,"
                " %s::timestamptz FROM conn ON CONFLICT DO NOTHING RETURNING 1)") if keyed else ""
        STATEMENTS[key] = (
            "WITH conn AS (SELECT 1 FROM connections WHERE id = %s AND account_id = %s"
            " AND status <> 'disconnected')" + idem +
            f" INSERT INTO operations ({', '.join(OP_COLUMNS)}) SELECT * FROM (VALUES {values})"
            f" AS v({', '.join(OP_COLUMNS)}) WHERE EXISTS (SELECT 1 FROM {'idem' if keyed else 'conn'}) RETURNING seq")
    return STATEMENTS[key]


def _raw_connection(app, fresh: bool = False):
    """This thread's autocommit psycopg connection (no pool, no pre-ping: the hot path's one round-trip)."""
    local = app.extensions.setdefault("bridge.ingest_local", threading.local())
    connection = getattr(local, "connection", None)
    if fresh or connection is None or connection.closed:
        if connection is not None:
            connection.close()
        url = store.engine().url.set(drivername="postgresql")
        local.connection = connection = psycopg.connect(url.render_as_string(hide_password=False),
                                                        autocommit=True, prepare_threshold=0)
    return connection


def _accept_postgres(account_id: str, connection_id: str, rows: list[dict], idem: dict | None) -> bool:
    """One autocommit statement: connection check, idempotency insert and outbox insert."""
    params: list = [connection_id, account_id]
    if idem is not None:
        params += [idem[name] for name in ("account_id", "route", "key", "body_hash", "status_code",
                                           "response_body", "created_at", "expires_at")]
    for row in rows:
        params += [row[column] for column in OP_COLUMNS]
    sql = ingest_statement(len(rows), idem is not None)
    app = current_app._get_current_object()
    try:
        return _raw_connection(app).execute(sql, params).fetchone() is not None
    except psycopg.OperationalError:  # a dropped connection: one fresh try, then the 503 handler
        return _raw_connection(app, fresh=True).execute(sql, params).fetchone() is not None


def _accept_generic(account_id: str, connection_id: str, rows: list[dict], idem: dict | None) -> bool:
    """The same rows in one transaction, for databases without data-modifying CTEs."""
    with store.engine().begin() as connection:
        alive = connection.execute(sa.select(Connection.id).where(
            Connection.id == connection_id, Connection.account_id == account_id,
            Connection.status != "disconnected")).first()
        if alive is None:
            return False
        if idem is not None:
            taken = connection.execute(sa.select(IdempotencyRecord.key).where(
                IdempotencyRecord.account_id == account_id, IdempotencyRecord.route == idem["route"],
                IdempotencyRecord.key == idem["key"])).first()
            if taken is not None:
                return False
            connection.execute(sa.insert(IdempotencyRecord).values(**idem))
        connection.execute(sa.insert(Operation), [
            {**row, "warnings": orjson.loads(row["warnings"]), "errors": []} for row in rows])
    return True


def _explain_refusal(account_id: str, connection_id: str, idem: dict | None, now: datetime) -> Accepted:
    """Nothing was inserted: a gone connection (404), or a key already used (replay or 409)."""
    db = store.session()
    alive = db.execute(sa.select(Connection.id).where(
        Connection.id == connection_id, Connection.account_id == account_id,
        Connection.status != "disconnected")).first()
    if alive is None or idem is None:
        raise errors.NotFound("No such connection.")
    record = db.get(IdempotencyRecord, (account_id, idem["route"], idem["key"]))
    if record is None:
        raise errors.Conflict("A request with this Idempotency-Key is still being processed.",
                              headers={"Retry-After": "1"})
    if record.expires_at <= now:
        db.delete(record)
        db.commit()
        raise errors.Conflict("This Idempotency-Key had expired; send the request again.",
                              headers={"Retry-After": "0"})
    if record.status_code is None:
        raise errors.Conflict("A request with this Idempotency-Key is still being processed.",
                              headers={"Retry-After": "1"})
    if record.body_hash != idem["body_hash"]:
        raise errors.Conflict("This Idempotency-Key was used with another body.")
    return Accepted(record.status_code, record.response_body.encode(), replayed=True)

"""The `csv` ledger's import files, kept in the database: one entry per written document, files rendered on read.

An entry is unique per (connection, request key), so a retried operation never writes its rows twice,
whichever worker runs it. A file is its layout's header plus the text of its entries in write order.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite

from bridge.ledgers.csv import layouts
from bridge.ledgers.csv.store import Entry
from bridge.store.models import Connection, CsvLedgerEntry, utcnow

FILE_NAME = re.compile(r"^(invoices|credit-notes)(-tax-inclusive)?-\d{4}-\d{2}-\d{2}\.csv$")
"""Every name the ledger writes; anything else (a path, `..`) is no file of ours."""
OBJECTS = {"invoices": "invoice", "credit-notes": "credit_note"}
PAGE = 500
"""Entries read per chunk of a download."""


class DatabaseImportFiles:
    """`bridge.ledgers.csv.store.ImportFiles` on the bridge's database, for one connection."""

    def __init__(self, app: Flask, connection_id: str):
        self.app, self.connection_id = app, connection_id

    def _session(self):
        """A short session of its own (the caller's transaction is not touched)."""
        return self.app.extensions["bridge.sessions"]()

    def append(self, entry: Entry) -> Entry:
        """Insert unless the request key was written already; the stored entry either way."""
        values = {"connection_id": self.connection_id, "request_key": entry.request_key, "object": entry.object,
                  "ledger_id": entry.ledger_id, "file": entry.file, "text": entry.text,
                  "row_count": entry.row_count, "size": len(entry.text.encode("utf-8")),
                  "document": entry.document, "created_at": utcnow()}
        with self._session() as db:
            insert = (postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert)(CsvLedgerEntry)
            db.execute(insert.values(**values).on_conflict_do_nothing(
                index_elements=["connection_id", "request_key"]))
            db.commit()
            row = db.execute(sa.select(CsvLedgerEntry).where(
                CsvLedgerEntry.connection_id == self.connection_id,
                CsvLedgerEntry.request_key == entry.request_key)).scalar_one()
            return Entry(row.request_key, row.object, row.ledger_id, row.file, row.text, row.row_count,
                         dict(row.document))

    def latest(self, obj: str, ledger_id: str) -> dict | None:
        """The last document written under this ledger id."""
        with self._session() as db:
            return db.execute(sa.select(CsvLedgerEntry.document).where(
                CsvLedgerEntry.connection_id == self.connection_id, CsvLedgerEntry.object == obj,
                CsvLedgerEntry.ledger_id == ledger_id).order_by(CsvLedgerEntry.seq.desc()).limit(1)).scalar()

    def documents(self, obj: str) -> list[tuple[str, dict]]:
        """The last document of every ledger id of a kind, newest first."""
        latest = (sa.select(sa.func.max(CsvLedgerEntry.seq)).where(
            CsvLedgerEntry.connection_id == self.connection_id, CsvLedgerEntry.object == obj)
            .group_by(CsvLedgerEntry.ledger_id))
        with self._session() as db:
            rows = db.execute(sa.select(CsvLedgerEntry.ledger_id, CsvLedgerEntry.document)
                              .where(CsvLedgerEntry.seq.in_(latest)).order_by(CsvLedgerEntry.seq.desc())).all()
        return [(ledger_id, document) for ledger_id, document in rows]


def layout_of(connection: Connection) -> str:
    """The connection's csv layout."""
    return (connection.tenant_extra or {}).get("layout") or connection.tenant_id


def header_text(connection: Connection, name: str) -> str:
    """The header line of one of the connection's files."""
    kind = FILE_NAME.match(name).group(1)
    return layouts.csv_text([layouts.header(layout_of(connection), OBJECTS[kind])])


def list_files(db, connection: Connection) -> list[dict]:
    """Every file of the connection, newest first: name, size in bytes, data rows, created and updated."""
    rows = db.execute(sa.select(CsvLedgerEntry.file, sa.func.sum(CsvLedgerEntry.size), sa.func.sum(CsvLedgerEntry.row_count),
                                sa.func.min(CsvLedgerEntry.created_at), sa.func.max(CsvLedgerEntry.created_at),
                                sa.func.max(CsvLedgerEntry.seq))
                      .where(CsvLedgerEntry.connection_id == connection.id)
                      .group_by(CsvLedgerEntry.file).order_by(sa.func.max(CsvLedgerEntry.seq).desc())).all()
    return [{"name": name, "size": len(header_text(connection, name).encode()) + int(size), "rows": int(count),
             "created_at": _aware(created), "updated_at": _aware(updated)}
            for name, size, count, created, updated, _ in rows]


def _aware(value: datetime) -> datetime:
    """Aggregates skip the column type on some dialects: make the time zone explicit."""
    from bridge.store.models import UTCDateTime

    return UTCDateTime().process_result_value(value, None)


def file_chunks(db, connection: Connection, name: str):
    """The file's text as an iterator of chunks (header first), or None when the connection has no such file."""
    if not FILE_NAME.match(name):
        return None
    exists = db.execute(sa.select(CsvLedgerEntry.seq).where(
        CsvLedgerEntry.connection_id == connection.id, CsvLedgerEntry.file == name).limit(1)).first()
    if exists is None:
        return None
    head, connection_id = header_text(connection, name), connection.id
    db.rollback()  # end the read: a client reading slowly holds no transaction (and no lock) open

    def chunks():
        yield head
        after = 0
        while True:  # pages by seq, each its own short read
            page = db.execute(sa.select(CsvLedgerEntry.seq, CsvLedgerEntry.text).where(
                CsvLedgerEntry.connection_id == connection_id, CsvLedgerEntry.file == name, CsvLedgerEntry.seq > after)
                .order_by(CsvLedgerEntry.seq).limit(PAGE)).all()
            db.rollback()
            if not page:
                return
            yield "".join(text for _, text in page)
            after = page[-1][0]

    return chunks()

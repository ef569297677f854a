"""Notes on invoices: queued as an operation (written to the ledger in order) and kept on our side."""

from __future__ import annotations

import secrets

import orjson
import sqlalchemy as sa

from bridge import store
from bridge.store.models import Note, Operation, utcnow
from bridge.sync import ingest

NOTE_MAX = 2000


def add(account_id: str, connection_id: str, external_id: str, text: str, *, route: str,
        idempotency_key: str | None, body_hash: str | None) -> ingest.Accepted:
    """Queue the note for the ledger (after earlier writes of the invoice) and keep it; the 202 body."""
    op = ingest.NewOperation("invoice", external_id, "note", orjson.dumps({"text": text}).decode())
    accepted = ingest.accept(account_id, connection_id, [op], route=route, idempotency_key=idempotency_key,
                             body_hash=body_hash)
    if accepted.status == 202 and not accepted.replayed:
        db = store.session()
        db.add(Note(id="note_" + secrets.token_hex(12), account_id=account_id, connection_id=connection_id,
                    external_id=external_id, text=text, operation_id=op.id, created_at=utcnow()))
        db.commit()
    return accepted


def listed(connection_id: str, external_id: str) -> list[dict]:
    """The invoice's notes, oldest first, each with the state of its write to the ledger."""
    rows = store.session().execute(
        sa.select(Note, Operation.status).join(Operation, Operation.id == Note.operation_id, isouter=True)
        .where(Note.connection_id == connection_id, Note.external_id == external_id)
        .order_by(Note.created_at, Note.id)).all()
    return [{"id": note.id, "external_id": note.external_id, "text": note.text, "operation_id": note.operation_id,
             "status": status or "queued", "created_at": note.created_at} for note, status in rows]

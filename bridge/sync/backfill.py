"""Backfill: historical invoices from a CSV or JSON file, queued through the same outbox as the API.

Each invoice is validated with the API's schema and the ledger's rules, then queued with the stable
Idempotency-Key `backfill:<external_id>`; an invoice already queued on the connection (by an earlier
run, or by the API) is skipped, so a run stopped half-way resumes without duplicates.

CSV: one row per invoice line, grouped by `external_id` (the invoice fields repeat on each line):
external_id, number, customer_external_id, customer_name, customer_email, issue_date, due_date,
currency, status, memo, amounts_include_tax, description, quantity, unit_price, discount_percent,
product_code, tax_category, account_code. JSON: a list of Invoice objects as POSTed to the API.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import orjson
import sqlalchemy as sa
from marshmallow import ValidationError

from bridge import errors, store
from bridge.schemas import InvoiceSchema
from bridge.store.models import Connection, Operation
from bridge.sync import ingest, plan

ROUTE = "cli:backfill"
"""The idempotency scope of backfilled invoices."""
LINE_FIELDS = ("description", "quantity", "unit_price", "discount_percent", "product_code", "tax_category",
               "account_code")
CUSTOMER_FIELDS = {"customer_external_id": "external_id", "customer_name": "name", "customer_email": "email"}
INVOICE_FIELDS = ("external_id", "number", "issue_date", "due_date", "currency", "status", "memo")


class BadFile(ValueError):
    """The file cannot be read as invoices at all."""


@dataclass
class Summary:
    """What a backfill did."""

    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    invalid: list[tuple[str, list[dict]]] = field(default_factory=list)


def _blank_to_none(row: dict) -> dict:
    """CSV cells: empty means absent."""
    return {key: value for key, value in row.items() if value not in (None, "")}


def invoices_from_csv(text: str) -> list[tuple[str, dict]]:
    """(label, raw invoice) per external_id, in first-seen order; lines in file order."""
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "external_id" not in reader.fieldnames:
        raise BadFile("the CSV needs a header row with an external_id column")
    grouped: dict[str, dict] = {}
    for number, row in enumerate(reader, 2):
        row = _blank_to_none({key.strip(): (value or "").strip() for key, value in row.items() if key})
        external_id = row.get("external_id") or f"(row {number})"
        invoice = grouped.get(external_id)
        if invoice is None:
            invoice = {name: row[name] for name in INVOICE_FIELDS if name in row}
            invoice["customer"] = {target: row[source] for source, target in CUSTOMER_FIELDS.items() if source in row}
            if "amounts_include_tax" in row:
                invoice["amounts_include_tax"] = row["amounts_include_tax"].lower() in ("true", "1", "yes")
            invoice["lines"] = []
            grouped[external_id] = invoice
        invoice["lines"].append({name: row[name] for name in LINE_FIELDS if name in row})
    return list(grouped.items())


def invoices_from_json(text: str) -> list[tuple[str, dict]]:
    """(label, raw invoice) per list item."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise BadFile(f"not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise BadFile("the JSON file must hold a list of invoices")
    return [(str(item.get("external_id") or f"(item {index})") if isinstance(item, dict) else f"(item {index})", item)
            for index, item in enumerate(data)]


def read_file(path: Path) -> list[tuple[str, dict]]:
    """The file's invoices, by its extension (.csv or .json)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return invoices_from_json(text)
    if path.suffix.lower() == ".csv":
        return invoices_from_csv(text)
    raise BadFile("the file must end in .csv or .json")


def _flatten(messages, prefix: str = "") -> list[dict]:
    """marshmallow's nested messages as [{field, message}] (`lines[0].quantity`)."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if key == "_schema":
                name = prefix
            elif isinstance(key, int) or str(key).isdigit():
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out += _flatten(value, name)
        return out
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [{"field": prefix or "body", "message": message} for message in messages]
    if isinstance(messages, list):
        return [item for message in messages for item in _flatten(message, prefix)]
    return [{"field": prefix or "body", "message": str(messages)}]


def already_queued(connection_id: str, external_ids: list[str]) -> set[str]:
    """The invoices with an upsert already in the connection's outbox."""
    if not external_ids:
        return set()
    return set(store.session().execute(sa.select(Operation.external_id).where(
        Operation.connection_id == connection_id, Operation.object == "invoice", Operation.action == "upsert",
        Operation.external_id.in_(external_ids))).scalars())


def queue_one(connection: Connection, raw) -> tuple[str, list[dict]]:
    """Validate and queue one invoice: ("queued" | "skipped" | "invalid", field errors)."""
    if not isinstance(raw, dict):
        return "invalid", [{"field": "body", "message": "An invoice must be a JSON object."}]
    try:
        data = InvoiceSchema().load(raw)
    except ValidationError as exc:
        return "invalid", _flatten(exc.messages)
    try:
        ops = plan.plan_invoice(connection.provider, data, raw)
    except errors.ValidationFailed as exc:
        return "invalid", exc.errors
    body = orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS)
    try:
        accepted = ingest.accept(connection.account_id, connection.id, ops, route=ROUTE,
                                 idempotency_key=f"backfill:{data['external_id']}"[:255],
                                 body_hash=hashlib.sha256(body).hexdigest())
    except errors.Conflict:  # queued by another run with other content, or being queued right now
        return "skipped", []
    return ("skipped" if accepted.replayed else "queued"), []


def backfill(connection: Connection, invoices: list[tuple[str, dict]]) -> Iterator[tuple[str, str, list[dict]]]:
    """Queue each invoice not queued yet; yields (label, outcome, field errors) as it goes."""
    labels = [label for label, _ in invoices]
    done = already_queued(connection.id, labels)
    seen: set[str] = set()
    for label, raw in invoices:
        if label in done or label in seen:
            yield label, "skipped", []
            continue
        seen.add(label)
        outcome, field_errors = queue_one(connection, raw)
        yield label, outcome, field_errors

"""mapping.source_of_truth.items = "invoicing": the invoicing platform owns the product catalogue.

A line whose product_code the mapping gives no item makes the bridge find the ledger's item by that code
(QuickBooks Name or Sku, Xero Code, FreshBooks name) or create it, and the line then references it. Each
item is placed once per connection: its ledger id is remembered in ledger_objects (object "item",
external_id = the product code), and the look-up and create run under a Redis lock per (connection, code),
so two workers never both create one. Every call goes through the adapter: the connection's limiter, the
sync log's exchanges, the ledger's idempotency key (QBO requestid, Xero Idempotency-Key; FreshBooks has
none, and the look-up before each create is what keeps a retry from making a second one).

Under "ledger" (the default) nothing here runs: the mapping and its defaults place every line, as before.
"""

from __future__ import annotations

import hashlib
import logging

import redis
from flask import Flask
from redis.exceptions import LockError

from bridge import errors
from bridge.ledgers import wire
from bridge.ledgers.base import Ledger, LedgerRef
from bridge.store.models import LedgerObject
from bridge.sync import queue
from bridge.sync.reads import ledger_ref
from bridge.sync.reference import cache_key

log = logging.getLogger(__name__)

OBJECT = "item"
"""ledger_objects.object of the items placed for product codes."""
NEW_ITEM = "(new item {})"
"""Stands in a payload for the id of an item not created yet (dry run, and the mapping check before a write)."""
LOCK_TIMEOUT = 75.0
"""The item lock expires by itself after this (a look-up and a create, each within the ledger timeout)."""
LOCK_WAIT = 30.0
"""How long a worker waits for another one placing the same item before retrying later."""


def owned_by_invoicing(mapping: dict | None) -> bool:
    """mapping.source_of_truth.items is "invoicing"."""
    return ((mapping or {}).get("source_of_truth") or {}).get("items") == "invoicing"


def makes_items(adapter: Ledger) -> bool:
    """The ledger can find and create items (the `csv` ledger takes product codes as free text)."""
    return type(adapter).find_item is not Ledger.find_item


def unplaced(adapter: Ledger, document: dict) -> dict[str, dict]:
    """The items to find or create, by product code: codes of lines the mapping gives no item, when the
    invoicing platform owns items. The first line with a code describes its item (what create_item takes)."""
    mapping = adapter.context.mapping or {}
    if not owned_by_invoicing(mapping) or not makes_items(adapter):
        return {}
    products, categories = mapping.get("products") or {}, mapping.get("tax_categories") or {}
    income_account = (mapping.get("defaults") or {}).get("income_account")
    specs: dict[str, dict] = {}
    for index, line in enumerate(document.get("lines") or []):
        code = line.get("product_code")
        if not code or not code.strip() or code in specs or (products.get(code) or {}).get("item"):
            continue
        category = line.get("tax_category")
        specs[code] = {"code": code, "description": line.get("description"), "unit_price": line.get("unit_price"),
                       "currency": document.get("currency"),
                       "account": (products.get(code) or {}).get("account") or income_account,
                       "tax_code": categories.get(category) if category else None,
                       "field": f"lines[{index}].product_code"}
    return specs


def with_items(mapping: dict, placed: dict[str, str]) -> dict:
    """A copy of the mapping whose products name these ledger items (the stored mapping is left as it is)."""
    if not placed:
        return mapping
    products = dict(mapping.get("products") or {})
    for code, item in placed.items():
        products[code] = {**(products.get(code) or {}), "item": item}
    return {**mapping, "products": products}


def stand_in(adapter: Ledger, code: str) -> str:
    """What a line names for an item not created yet: its code where the ledger references items by code."""
    return code.strip() if adapter.ITEM_ID_IS_CODE else NEW_ITEM.format(code)


def remembered(app: Flask, connection_id: str, code: str) -> LedgerRef | None:
    """The item placed for a product code on this connection, read fresh (another worker may just have)."""
    with app.extensions["bridge.sessions"]() as db:
        row = db.get(LedgerObject, (connection_id, OBJECT, code))
        return LedgerRef(row.ledger_id, dict(row.extra or {})) if row else None


def refusals(adapter: Ledger, specs: dict[str, dict]) -> list[dict]:
    """Field errors of the items the ledger could not take as they would be sent (no call to the ledger)."""
    found = []
    for spec in specs.values():
        try:
            adapter.preview_item(spec)
        except errors.LedgerRejected as exc:
            found += exc.errors or [{"field": spec["field"], "message": exc.detail, "code": None}]
    return found


def place(run, document: dict, check) -> None:
    """Place every line's item before anything is written, then leave the adapter's mapping naming them.

    `check()` is the document's mapping check (it raises LedgerRejected naming fields); it runs with
    stand-ins for the items still to make, so a document that would fail anyway creates no item.
    Items remembered for this connection cost no call; the others are found or created in the ledger.
    """
    adapter = run.adapter
    specs = unplaced(adapter, document)
    if not specs:
        check()
        return
    known = {code: ref.ledger_id for code in specs
             if (ref := remembered(run.app, run.op.connection_id, code)) is not None}
    pending = {code: spec for code, spec in specs.items() if code not in known}
    mapping = with_items(adapter.context.mapping, known)
    found = refusals(adapter, pending)
    adapter.context.mapping = with_items(mapping, {code: stand_in(adapter, code) for code in pending})
    try:
        check()
    except errors.LedgerRejected as exc:
        if not found:
            raise
        raise errors.LedgerRejected(exc.detail, errors=found + exc.errors) from None
    finally:
        adapter.context.mapping = mapping
    if found:
        raise errors.LedgerRejected("The ledger cannot take the items this document needs", errors=found)
    placed = {code: ensure(run, spec) for code, spec in pending.items()}
    adapter.context.mapping = with_items(mapping, placed)


def lock_name(connection_id: str, code: str) -> str:
    """The Redis lock serializing the placing of one product code's item on one connection."""
    return f"bridge:lock:item:{connection_id}:{hashlib.sha256(code.encode()).hexdigest()[:32]}"


def ensure(run, spec: dict) -> str:
    """The ledger id of the item for `spec`: remembered, found by its code, or created; one worker at a time."""
    code = spec["code"]
    lock = queue.connection(run.app).lock(lock_name(run.op.connection_id, code), timeout=LOCK_TIMEOUT,
                                          blocking_timeout=LOCK_WAIT)
    if not lock.acquire():
        raise errors.RetryableLedgerError(f"Another worker is still placing the item of product {code!r}")
    try:
        ref = remembered(run.app, run.op.connection_id, code)
        if ref is not None:
            return ref.ledger_id
        ledger_id, extra, note = _find_or_create(run, spec)
        run.remember(OBJECT, code, ledger_id, extra)
        if extra["created"]:
            _forget_cached_items(run.app, run.op.connection_id)
        run.warnings.append(note)
        return ledger_id
    finally:
        try:
            lock.release()
        except LockError:  # expired under us: the item is remembered either way
            log.warning("item lock of %s on %s expired before release", code, run.op.connection_id)


def _forget_cached_items(app: Flask, connection_id: str) -> None:
    """Drop the connection's cached item list (GET /items), so pickers show the new item (best effort)."""
    try:
        queue.connection(app).delete(cache_key(connection_id, "items"))
    except redis.RedisError:
        log.warning("could not drop the cached items of %s", connection_id)


def _find_or_create(run, spec: dict) -> tuple[str, dict, str]:
    """Find the ledger's item for the code, else create it: (ledger id, what to remember, a warning)."""
    adapter, code, field = run.adapter, spec["code"], spec["field"]
    found = adapter.find_item(code)
    if found is None:
        key = run.key("i" + hashlib.sha256(code.encode()).hexdigest()[:8])
        try:
            written = adapter.create_item(spec, key)
        except errors.LedgerRejected as exc:
            found = adapter.find_item(code)  # made in the ledger meanwhile (the code is taken): use it
            if found is None:
                raise errors.LedgerRejected(f"The ledger refused to create the item {code!r}: {exc.detail}",
                                            errors=[{**error, "field": field} for error in exc.errors]
                                            or [{"field": field, "message": exc.detail, "code": None}]) from exc
        else:
            return written.ledger_id, {"created": True, "name": written.object.get("name")}, (
                f"{field}: created the item {code!r} in the ledger (id {written.ledger_id}): "
                "the invoicing platform owns products")
    return found["id"], {"created": False, "name": found.get("name")}, (
        f"{field}: product {code!r} uses the ledger's existing item {found.get('name')!r} (id {found['id']})")


def preview(adapter: Ledger, connection_id: str, document: dict, notes: list[str]) -> list[dict]:
    """Dry run: place the document's items without writing (remembered, else looked up in the ledger, else a
    stand-in with a warning showing the request that would create it); the field errors of those the
    ledger could not take. The adapter's mapping then names them all."""
    specs = unplaced(adapter, document)
    placed, pending = {}, {}
    for code, spec in specs.items():
        ref = ledger_ref(connection_id, OBJECT, code)
        found = None if ref is not None else adapter.find_item(code)
        if ref is not None:
            placed[code] = ref.ledger_id
        elif found is not None:
            placed[code] = found["id"]
            notes.append(f"{spec['field']}: product {code!r} would use the ledger's existing item "
                         f"{found.get('name')!r} (id {found['id']})")
        else:
            pending[code] = spec
    problems = refusals(adapter, pending)
    for code, spec in pending.items():
        placed[code] = stand_in(adapter, code)
        if any(problem.get("field") == spec["field"] for problem in problems):
            continue
        request = adapter.preview_item(spec)
        replaced = "" if adapter.ITEM_ID_IS_CODE else f"; its id would replace {placed[code]!r}"
        notes.append(f"{spec['field']}: the item {code!r} would be created first (the invoicing platform owns "
                     f"products): {request.method} {request.path} {wire.dumps(request.payload)}{replaced}")
    adapter.context.mapping = with_items(adapter.context.mapping, placed)
    return problems

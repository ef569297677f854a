"""POST /batch: items run one after another, each answered by its bId (facts §1.4)."""

from __future__ import annotations

from . import errors
from .errors import QBOFault
from .operations import KINDS, Writer, deleted_body, render

MAX_BATCH_ITEMS = 30  # limits page and 2023 blog; other Intuit pages say 10 or 50 (facts §1.4)
BID_MAX = 10  # with a requestid, each bId may have at most 10 characters (Intuit blog 2015-04-06)
OPERATIONS = ("create", "update", "delete")


def run(call, body: dict):
    """Run a BatchItemRequest; HTTP 200 even when items fail."""
    from flask import request

    from .api import run_query

    items = body.get("BatchItemRequest")
    if not isinstance(items, list) or not items:
        raise errors.required("BatchItemRequest")
    if len(items) > MAX_BATCH_ITEMS:
        raise errors.validation("1040", "Batch size exceeded",
                                f"A batch request can hold at most {MAX_BATCH_ITEMS} items; this one holds "
                                f"{len(items)}.", "BatchItemRequest")
    seen = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("bId"), str) or not item["bId"]:
            raise errors.required("bId", "BatchItemRequest.bId")
        if item["bId"] in seen:
            raise errors.validation("2010", "Request has invalid or unsupported property",
                                    f"Duplicate bId {item['bId']!r} in the batch", "BatchItemRequest.bId")
        if request.args.get("requestid") and len(item["bId"]) > BID_MAX:
            raise errors.too_long("BatchItemRequest.bId", BID_MAX, len(item["bId"]))
        seen.add(item["bId"])
    responses = []
    realm = call.realm
    realm.hidden = set()
    try:
        for item in items:
            try:
                responses.append({**_run_item(call, item, run_query), "bId": item["bId"]})
            except QBOFault as fault:
                responses.append({"Fault": fault.fault(), "bId": item["bId"]})
    finally:
        realm.hidden = set()
    return 200, call.envelope({"BatchItemResponse": responses})


def _run_item(call, item: dict, run_query) -> dict:
    if "Query" in item:
        return {"QueryResponse": run_query(call, item["Query"])}
    names = [key for key in item if key in KINDS]
    if len(names) != 1 or not isinstance(item[names[0]], dict):
        raise errors.invalid_property("BatchItemRequest", "must hold exactly one entity or a Query")
    kind = KINDS[names[0]]
    body = item[names[0]]
    operation = item.get("operation")
    if operation not in OPERATIONS:
        raise errors.invalid_property("operation", f"value {operation!r} is not one of {OPERATIONS}")
    writer = Writer(call.emulator, call.realm)
    if operation == "delete":
        return {kind.name: deleted_body(writer.delete(kind, body))}
    if operation == "update" and str(item.get("optionsData", "")).lower() == "void":
        record = writer.void(kind, body)
    elif operation == "update":
        record = writer.update(kind, body)
    else:
        if body.get("Id") not in (None, ""):
            raise errors.invalid_property("Id", "must not be sent on create")
        record = writer.create(kind, body)
        # A later item cannot see objects created earlier in the same batch (Intuit blog 2017-07-27).
        call.realm.hidden.add((kind.name, record.id))
    return {kind.name: render(call.realm, record)}

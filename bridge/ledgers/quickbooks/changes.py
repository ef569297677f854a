"""What changed in a QuickBooks company, for events: objects by Id in batches (`Id IN (...)`), and the
changes since a checkpoint (/cdc within its 30 days, else a query on MetaData.LastUpdatedTime)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bridge.ledgers.base import Change
from bridge.ledgers.quickbooks import facts
from bridge.ledgers.quickbooks.mapping import (
    credit_memo_from_qbo,
    customer_from_qbo,
    invoice_from_qbo,
    payment_from_qbo,
)

ENTITIES = {"invoice": "Invoice", "payment": "Payment", "customer": "Customer", "credit_note": "CreditMemo"}
"""Our object names -> QBO entities (the ones /cdc and webhooks report)."""
OBJECTS = {entity: name for name, entity in ENTITIES.items()}
IDS_PER_QUERY = 200
"""[C] Ids in one `Id IN (...)` query: well inside MAXRESULTS, and a URL every proxy takes."""
QUERY_PAGES_MAX = 10
"""[C] Query pages (of 1,000) read per entity in one poll; the rest is read by the next poll."""
CDC_MARGIN = timedelta(hours=1)
"""A checkpoint this close to the 30-day edge of /cdc is read with a query instead."""


def parse_time(value) -> datetime | None:
    """A MetaData time ("2026-01-15T10:20:30-08:00") as an aware UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    """A time as QBO takes it in changedSince and query literals (UTC, with its offset)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def payment_from(qbo: dict) -> dict:
    """A QBO Payment as the payment of a change: the invoices it pays, its amount, method and state."""
    payment = payment_from_qbo(qbo)
    invoices = [str(link["ledger_id"]) for link in payment["applied_to"] if link["type"] == "Invoice"]
    voided = payment["amount"] == 0 and (qbo.get("PrivateNote") or "").startswith(facts.VOIDED_NOTE)
    return {
        "ledger_id": payment["ledger_id"], "external_id": payment["external_id"],
        "invoice_ledger_id": invoices[0] if invoices else None, "invoice_ledger_ids": invoices,
        "customer": payment["customer"], "amount": payment["amount"], "currency": payment["currency"],
        "date": payment["date"], "method": (qbo.get("PaymentMethodRef") or {}).get("name"),
        "reference": payment["reference"], "status": "void" if voided else "active",
        "allocation": any(link["type"] == "CreditMemo" for link in payment["applied_to"]),
    }


NORMALIZE = {"Invoice": invoice_from_qbo, "Payment": payment_from, "Customer": customer_from_qbo,
             "CreditMemo": credit_memo_from_qbo}


def normalized(entity: str, qbo: dict) -> dict:
    """One entity normalized, with its MetaData times."""
    data = NORMALIZE[entity](qbo)
    meta = qbo.get("MetaData") or {}
    data["updated_at"] = parse_time(meta.get("LastUpdatedTime"))
    data["created_at"] = parse_time(meta.get("CreateTime"))
    return data


def read_objects(adapter, object: str, ledger_ids: list[str]) -> dict[str, dict | None]:
    """Objects by Id, one query per IDS_PER_QUERY ids; deleted ones (and inactive customers) are None."""
    entity = ENTITIES.get(object)
    if entity is None:
        raise ValueError(f"QuickBooks reads no {object!r} changes")
    wanted = list(dict.fromkeys(str(ledger_id) for ledger_id in ledger_ids))
    found: dict[str, dict | None] = dict.fromkeys(wanted)
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start:start + IDS_PER_QUERY]
        listed = ", ".join("'" + ledger_id.replace("'", "\\'") + "'" for ledger_id in chunk)
        rows = adapter.client.query(f"select * from {entity} where Id in ({listed}) MAXRESULTS {len(chunk)}")
        for row in rows.get(entity) or []:
            if str(row.get("Id")) in found:
                found[str(row["Id"])] = normalized(entity, row)
    return found


def changes_since(adapter, checkpoint: str | None, now: datetime) -> tuple[list[Change], str]:
    """/cdc when the checkpoint is inside its 30 days, else queries (and when /cdc may have cut its answer
    short at 1,000 objects: queries page where /cdc cannot)."""
    if checkpoint is None:
        return [], iso(now)
    since = parse_time(checkpoint)
    if since is None:
        raise ValueError(f"not a QuickBooks checkpoint: {checkpoint!r}")
    if now - since < timedelta(days=facts.CDC_LOOKBACK_DAYS) - CDC_MARGIN:
        answer = adapter.client.get("cdc", {"entities": ",".join(ENTITIES.values()), "changedSince": iso(since)})
        rows = [(entity, row) for response in answer.get("CDCResponse") or []
                for listing in response.get("QueryResponse") or []
                for entity, found in listing.items() if entity in OBJECTS and isinstance(found, list)
                for row in found]
        if len(rows) < facts.CDC_MAX_OBJECTS:
            return [_change(entity, row) for entity, row in rows], iso(now)
        deleted = [_change(entity, row) for entity, row in rows if row.get("status") == facts.CDC_DELETED]
    else:
        deleted = []  # a query sees no deleted objects
    changes, resume = _by_query(adapter, list(ENTITIES.values()), since)
    return deleted + changes, resume or iso(now)


def _change(entity: str, row: dict) -> Change:
    """One /cdc or query row as a Change (a deleted one carries only its Id and time)."""
    if row.get("status") == facts.CDC_DELETED:
        updated = parse_time((row.get("MetaData") or {}).get("LastUpdatedTime"))
        return Change(OBJECTS[entity], {"ledger_id": str(row.get("Id")), "deleted": True, "updated_at": updated},
                      "delete")
    return Change(OBJECTS[entity], normalized(entity, row), "update")


def _by_query(adapter, entities: list[str], since: datetime) -> tuple[list[Change], str | None]:
    """Entities changed since `since`, oldest first, paged; when the pages run out before the changes do,
    the time to resume from (the earliest last change read among the entities cut short)."""
    changes, resume = [], None
    for entity in entities:
        start, last = 1, None
        for _ in range(QUERY_PAGES_MAX):
            rows = adapter.client.query(
                f"select * from {entity} where MetaData.LastUpdatedTime > '{iso(since)}' "
                f"ORDERBY MetaData.LastUpdatedTime STARTPOSITION {start} "
                f"MAXRESULTS {facts.QUERY_MAX_RESULTS}").get(entity) or []
            changes += [_change(entity, row) for row in rows]
            if len(rows) < facts.QUERY_MAX_RESULTS:
                break
            last = (rows[-1].get("MetaData") or {}).get("LastUpdatedTime")
            start += facts.QUERY_MAX_RESULTS
        else:
            moment = parse_time(last)
            if moment is not None and (resume is None or moment < resume):
                resume = moment
    return changes, iso(resume) if resume else None

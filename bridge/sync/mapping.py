"""The mapping document against the ledger: every reference it names must exist there (PUT /mapping)."""

from __future__ import annotations

from flask import Flask

from bridge import errors
from bridge.store.models import Connection
from bridge.sync.adapters import adapter_for, provider_rules
from bridge.sync.reads import _call, usable
from bridge.sync.reference import reference_list


def check(app: Flask, connection: Connection, mapping: dict) -> None:
    """A 422 naming each field of `mapping` whose item, account, tax code or payment account the ledger
    lacks, or that breaks the ledger's region rules. Reference data comes through the cache, refreshed
    once when something seems missing (it may have been added in the ledger since)."""
    rules = provider_rules(connection.provider)
    if rules is None or not hasattr(rules, "check_references"):
        return
    fields = {field for field, _, _ in rules.references(mapping)}
    kinds = sorted({kind for _, kind, _ in rules.references(mapping)})
    adapter = None
    if kinds:
        usable(connection)  # pending, needs_reauth or disconnected: a 409 saying so
        adapter = adapter_for(app, connection)
    company = _company(adapter, connection)

    def problems(refresh: bool) -> list[dict]:
        reference = {kind: reference_list(app, connection, kind, refresh=refresh, adapter=adapter, paused_ok=True)
                     for kind in kinds}
        return rules.check_references(mapping, reference, company)

    found = problems(refresh=False)
    if any(error["field"] in fields for error in found):
        found = problems(refresh=True)
    if found:
        raise errors.ValidationFailed("The mapping names what this ledger does not have, or breaks its rules.",
                                      errors=found)


def _company(adapter, connection: Connection) -> dict:
    """The ledger company's facts (country, taxes...): stored at connection time, read when missing."""
    stored = connection.tenant_extra or {}
    if adapter is None or stored.get("country"):
        return stored
    return _call(lambda: getattr(adapter, "company", None)) or stored

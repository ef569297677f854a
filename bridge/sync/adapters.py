"""Ledger adapters and OAuth providers, built for one connection from settings and the store."""

from __future__ import annotations

from flask import Flask

from bridge import settings
from bridge.ledgers import base
from bridge.store.models import Connection
from bridge.sync import queue
from bridge.sync.limits import MAX_SLEEP_SECONDS, Limiter
from bridge.sync.redaction import redacting
from bridge.sync.tokens import ConnectionTokens


LEDGER_TIMEOUT = 30.0
"""Seconds to wait for a ledger's answer before the outcome counts as uncertain."""


def ledger_settings(app: Flask, provider: str) -> dict:
    """The provider's settings as its package expects them, plus the network timeout."""
    return {**settings.provider_settings(app.config, provider),
            "timeout": float(app.config.get("LEDGER_TIMEOUT", LEDGER_TIMEOUT))}


def oauth_for(app: Flask, provider: str) -> base.OAuthProvider:
    """The provider's OAuth client, configured from BRIDGE_<PROVIDER>_* settings."""
    return base.load(provider).OAuth(ledger_settings(app, provider))


def limiter_for(app: Flask, connection: Connection, max_sleep: float = MAX_SLEEP_SECONDS) -> Limiter:
    """The connection's share of its ledger's limits."""
    return limiter_for_id(app, connection.id, connection.provider, max_sleep)


def limiter_for_id(app: Flask, connection_id: str, provider: str, max_sleep: float = MAX_SLEEP_SECONDS) -> Limiter:
    """A connection's limiter by id (RATE_LIMIT_TIME_SCALE: benchmarks against a scaled sandbox only)."""
    adapter = base.load(provider).Adapter
    return Limiter(queue.connection(app), connection_id, adapter.RATE_LIMITS, adapter.CONCURRENT_REQUESTS,
                   max_sleep=max_sleep, time_scale=float(app.config.get("RATE_LIMIT_TIME_SCALE", 1.0)),
                   reserve=getattr(adapter, "BATCH_RESERVE", None), learn=adapter.LEARNED_LIMIT_SECONDS)


def adapter_for(app: Flask, connection: Connection, record=None, after_uncertain: bool = False,
                max_sleep: float = MAX_SLEEP_SECONDS) -> base.Ledger:
    """A ledger adapter bound to the connection's tenant, tokens and mapping; a call waits up to `max_sleep`
    seconds for its rate-limit slot, else raises LedgerRateLimited."""
    package = base.load(connection.provider)
    provider_settings = ledger_settings(app, connection.provider)
    limiter = limiter_for(app, connection, max_sleep)
    context = base.Context(
        tenant_id=connection.tenant_id,
        tokens=ConnectionTokens(app, connection.id, package.OAuth(provider_settings)),
        settings=provider_settings,
        mapping=connection.mapping or {},
        record=redacting(record),
        tenant_extra=connection.tenant_extra or {},
        throttle=limiter.slot,
        observe=limiter.observe,
        after_uncertain=after_uncertain,
        files=import_files(app, connection),
    )
    return package.Adapter(context)


def import_files(app: Flask, connection: Connection):
    """The import files of a ledger that writes files instead of calling an API (`csv`), else None."""
    if getattr(base.load(connection.provider), "NEEDS_OAUTH", True):
        return None
    from bridge.sync.csv_files import DatabaseImportFiles

    return DatabaseImportFiles(app, connection.id)


def provider_rules(provider: str):
    """The ledger's pure pre-flight checks (`check(kind, data) -> (warnings, errors)`), if any."""
    return getattr(base.load(provider), "rules", None)

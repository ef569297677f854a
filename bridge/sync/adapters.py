"""Ledger adapters and OAuth providers, built for one connection from settings and the store."""

from __future__ import annotations

from flask import Flask

from bridge import settings
from bridge.ledgers import base
from bridge.store.models import Connection
from bridge.sync.tokens import ConnectionTokens


def oauth_for(app: Flask, provider: str) -> base.OAuthProvider:
    """The provider's OAuth client, configured from BRIDGE_<PROVIDER>_* settings."""
    package = base.load(provider)
    return package.OAuth(settings.provider_settings(app.config, provider))


def adapter_for(app: Flask, connection: Connection, record=None) -> base.Ledger:
    """A ledger adapter bound to the connection's tenant, tokens and mapping."""
    package = base.load(connection.provider)
    provider_settings = settings.provider_settings(app.config, connection.provider)
    context = base.Context(
        tenant_id=connection.tenant_id,
        tokens=ConnectionTokens(app, connection.id, package.OAuth(provider_settings)),
        settings=provider_settings,
        mapping=connection.mapping or {},
        record=record,
        tenant_extra=connection.tenant_extra or {},
    )
    return package.Adapter(context)


def provider_rules(provider: str):
    """The ledger's pure pre-flight checks (`check(kind, data) -> (warnings, errors)`), if any."""
    return getattr(base.load(provider), "rules", None)

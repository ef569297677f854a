"""Every setting, its default, read from BRIDGE_* environment variables.

The names are the contract (DESIGN.md "Settings"); the README's table lists each one.
Config keys drop the BRIDGE_ prefix: BRIDGE_REDIS_URL becomes app.config["REDIS_URL"].
"""

from __future__ import annotations

import os

PROVIDERS = ("QUICKBOOKS", "XERO", "FRESHBOOKS")
PROVIDER_KEYS = ("CLIENT_ID", "CLIENT_SECRET", "AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "API_BASE_URL")

DEFAULTS: dict[str, object] = {
    "DATABASE_URL": None,  # None: SQLite file in INSTANCE_PATH
    "REDIS_URL": None,  # None: in-process fakeredis and a worker thread inside `bridge serve`
    "SECRET_KEY": None,  # None: Fernet key generated once into INSTANCE_PATH (mode 0600)
    "INSTANCE_PATH": None,  # None: ./instance
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "SMTP_URL": None,
    "ALERT_FROM": None,
    "ALLOW_PRIVATE_TARGETS": False,
    "RETRY_MAX": 8,
    "RETRY_BACKOFF": 2.0,
    "RECONCILE_TICK_SECONDS": 60.0,
    "POLL_SECONDS": 300.0,
    "REFERENCE_CACHE_SECONDS": 900,
    "QUICKBOOKS_WEBHOOK_KEY": None,
    "XERO_WEBHOOK_KEY": None,
    "XERO_CONNECTIONS_URL": None,
    "FRESHBOOKS_IDENTITY_URL": None,
}
for _provider in PROVIDERS:
    for _key in PROVIDER_KEYS:
        DEFAULTS[f"{_provider}_{_key}"] = None

DESCRIPTIONS = {
    "DATABASE_URL": "SQLAlchemy URL of the database (PostgreSQL in production)",
    "REDIS_URL": "Redis URL for RQ queues, locks and rate limits",
    "SECRET_KEY": "Fernet keys, comma-separated; the first encrypts (MultiFernet rotation)",
    "INSTANCE_PATH": "folder for the SQLite file and the generated secret key",
    "PUBLIC_URL": "base URL of OAuth redirect URIs, hosted pages and webhook URLs",
    "SMTP_URL": "SMTP server for alert e-mails (off when unset)",
    "ALERT_FROM": "sender address of alert e-mails",
    "ALLOW_PRIVATE_TARGETS": "tests only: lets REST hooks reach loopback and private addresses",
    "RETRY_MAX": "attempts of a ledger write before the operation is dead",
    "RETRY_BACKOFF": "first retry delay in seconds, doubled on each attempt",
    "RECONCILE_TICK_SECONDS": "how often workers look for connections due for reconciliation",
    "POLL_SECONDS": "how often each connection's ledger is asked what changed (missed-webhook fallback; 0: off)",
    "REFERENCE_CACHE_SECONDS": "how long a ledger's accounts, tax rates and items stay cached per connection",
    "QUICKBOOKS_WEBHOOK_KEY": "Intuit webhook verifier token",
    "XERO_WEBHOOK_KEY": "Xero webhook signing key",
    "XERO_CONNECTIONS_URL": "Xero tenant discovery URL",
    "FRESHBOOKS_IDENTITY_URL": "FreshBooks users/me URL",
}
for _provider in PROVIDERS:
    for _key in PROVIDER_KEYS:
        DESCRIPTIONS[f"{_provider}_{_key}"] = (
            f"{_provider.title()} OAuth {_key.lower().replace('_', ' ')}"
            + (" (default: the real one)" if _key.endswith("URL") else ""))

INTEGERS = {"RETRY_MAX", "REFERENCE_CACHE_SECONDS"}
FLOATS = {"RETRY_BACKOFF", "RECONCILE_TICK_SECONDS", "POLL_SECONDS"}
BOOLEANS = {"ALLOW_PRIVATE_TARGETS"}

MAX_BODY_BYTES = 1024 * 1024
"""Request bodies over this size get a 413."""


def _parse(name: str, raw: str) -> object:
    """Turn an environment string into the setting's type."""
    if name in INTEGERS:
        return int(raw)
    if name in FLOATS:
        return float(raw)
    if name in BOOLEANS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return raw


def from_environment(environ: dict | None = None) -> dict:
    """Settings from BRIDGE_* variables over the defaults."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name in DEFAULTS:
        raw = environ.get(f"BRIDGE_{name}")
        if raw not in (None, ""):
            config[name] = _parse(name, raw)
    return config


PROVIDER_EXTRAS = {
    "QUICKBOOKS": ("WEBHOOK_KEY",),
    "XERO": ("CONNECTIONS_URL", "WEBHOOK_KEY"),
    "FRESHBOOKS": ("IDENTITY_URL",),
}
"""Settings only some ledgers have; they reach the ledger package under lower-case keys too."""


def provider_settings(config: dict, provider: str) -> dict:
    """One ledger's settings as the ledger package expects them (lower-case keys, no prefix)."""
    prefix = provider.upper() + "_"
    keys = PROVIDER_KEYS + PROVIDER_EXTRAS.get(provider.upper(), ())
    return {key.lower(): config.get(prefix + key) for key in keys}

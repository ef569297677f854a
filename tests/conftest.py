"""Fixtures: the app on PostgreSQL and Redis when they answer (CI always), a live sandbox, workers.

Set BRIDGE_TEST_REQUIRE_SERVICES=1 (CI does) to fail instead of falling back to SQLite/fakeredis.
"""

from __future__ import annotations

import json
import os
import sys
import time
from decimal import Decimal

import pytest
import redis
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bridge import create_app
from bridge.store.migrate import upgrade
from bridge.store.models import Base

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
US_REALM, UK_REALM = "9130350000000001", "9130350000000002"
SANDBOX_PROVIDERS = ("quickbooks", "xero", "freshbooks")
REQUIRE = os.environ.get("BRIDGE_TEST_REQUIRE_SERVICES") == "1"


def _loud(message: str) -> None:
    """A line nobody can miss in the test output."""
    print(f"\n!!!!! {message} !!!!!\n", file=sys.stderr)


def _database_url(tmp_path_factory) -> str:
    """PostgreSQL if it answers, else a SQLite file (loudly)."""
    url = os.environ.get("BRIDGE_TEST_DATABASE_URL", DEFAULT_DATABASE)
    if url.startswith("sqlite"):
        return url
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return url
    except Exception as exc:
        if REQUIRE:
            raise RuntimeError(f"PostgreSQL at {url} does not answer: {exc}") from exc
        _loud(f"PostgreSQL unreachable ({exc.__class__.__name__}): tests fall back to SQLite")
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "bridge.sqlite3")


def _redis_url() -> str | None:
    """Real Redis if it answers, else None (fakeredis, loudly)."""
    url = os.environ.get("BRIDGE_TEST_REDIS_URL", DEFAULT_REDIS)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return url
    except redis.RedisError as exc:
        if REQUIRE:
            raise RuntimeError(f"Redis at {url} does not answer: {exc}") from exc
        _loud("Redis unreachable: tests fall back to in-process fakeredis")
        return None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The test database, migrated from scratch once per session."""
    url = _database_url(tmp_path_factory)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url():
    """The test Redis URL (a spare database number), or None for fakeredis."""
    return _redis_url()


@pytest.fixture(scope="session")
def sandbox():
    """The ledger emulators, served on a free loopback port for the whole session."""
    from bridge.sandbox import serve

    server = serve(host="127.0.0.1", port=0)
    yield Sandbox(f"http://127.0.0.1:{server.port}", server.port)
    server.shutdown()


class Sandbox:
    """A handle on the running sandbox: its base URL and its control routes."""

    def __init__(self, url: str, port: int):
        self.url, self.port = url, port

    def control(self, provider: str, path: str, method: str = "POST", **kwargs):
        """Call a control route and return its JSON."""
        response = requests.request(method, f"{self.url}/_sandbox/{provider}/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return json.loads(response.text, parse_float=Decimal) if response.content else None

    def ledger(self, provider: str = "quickbooks") -> dict:
        """Every object the emulator holds."""
        return self.control(provider, "ledger", "GET")

    def objects(self, kind: str, realm: str = US_REALM) -> list[dict]:
        """One realm's invoices, payments, customers, creditmemos... as QBO renders them."""
        return self.ledger()["realms"][realm][kind]

    def stats(self, provider: str = "quickbooks") -> dict:
        """The emulator's counters."""
        return self.control(provider, "stats", "GET")

    def configure(self, provider: str = "quickbooks", **config) -> None:
        """Change limits, faults, clock."""
        self.control(provider, "config", json=config)

    def settings(self) -> dict:
        """The bridge settings that point at this sandbox."""
        from bridge.sandbox import env_lines

        pairs = (line.split("=", 1) for line in env_lines(self.port))
        return {key.removeprefix("BRIDGE_"): value for key, value in pairs}


def _truncate(url: str) -> None:
    """Empty every table between tests."""
    engine = sa.create_engine(url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def make_app(database_url, redis_url, sandbox, tmp_path):
    """Build apps on the test services (several may share them, like processes do)."""
    _truncate(database_url)
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    for provider in SANDBOX_PROVIDERS:
        sandbox.control(provider, "reset", json={"config": True})
        # Limits are enforced by the sandbox; tests of other behaviour turn them off (tests of limits turn them on).
        sandbox.configure(provider, limits={"enabled": False})
    secret = Fernet.generate_key().decode()
    apps = []

    def factory(**overrides):
        config = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": secret,
                  "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "http://127.0.0.1:5999",
                  "RETRY_BACKOFF": 0.05, "RETRY_MAX": 5, "TESTING": True, **sandbox.settings(),
                  # registering FreshBooks webhook callbacks writes to the emulator (faults, counters):
                  # tests of other behaviour leave it off; tests of webhooks turn it on
                  "FRESHBOOKS_REGISTER_CALLBACKS": False}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["bridge.engine"].dispose()


@pytest.fixture
def app(make_app):
    """The bridge app."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runtime(app):
    """Two worker threads and the relay, as `bridge serve` runs them."""
    from bridge.sync.worker import EmbeddedRuntime

    running = EmbeddedRuntime(app, workers=2).start()
    yield running
    running.stop()


@pytest.fixture
def api_key(app):
    """A key of a fresh account."""
    return make_key(app, "acme")


def make_key(app, account_name: str) -> str:
    """A new account (or an existing one) and a key for it."""
    from bridge.api.keys.routes import create_key
    from bridge.cli import ensure_account

    with app.app_context():
        account = ensure_account(account_name)
        return create_key(account.id)[1]


def auth(key: str) -> dict:
    """The Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}


def connect(client, key: str, provider: str, tenant: str | None = None, realm: str | None = None,
            expect: str = "active") -> str:
    """Connect a sandbox ledger through the real OAuth redirect; the connection id."""
    body = {"provider": provider, **({"tenant": tenant} if tenant else {})}
    started = client.post("/v1/connections", json=body, headers=auth(key))
    assert started.status_code == 201, started.get_json()
    authorize_url = started.get_json()["authorize_url"] + (f"&realm={realm}" if realm else "")
    approval = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert approval.status_code == 302, approval.text
    callback = approval.headers["Location"]
    assert callback.startswith(f"http://127.0.0.1:5999/v1/oauth/{provider}/callback?"), callback
    finished = client.get(callback.removeprefix("http://127.0.0.1:5999"))
    assert finished.status_code == 302, finished.get_data(as_text=True)
    connection_id = started.get_json()["id"]
    connection = client.get(f"/v1/connections/{connection_id}", headers=auth(key)).get_json()
    assert connection["status"] == expect, connection
    return connection_id


def connect_quickbooks(client, key: str, realm: str | None = None) -> str:
    """Connect the sandbox's QuickBooks company (US unless `realm`)."""
    return connect(client, key, "quickbooks", realm=realm)


def wait_for(client, key: str, operation_id: str, statuses=("succeeded", "failed", "dead"), timeout: float = 20):
    """Poll the sync log until the operation reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        op = client.get(f"/v1/syncs/{operation_id}", headers=auth(key)).get_json()
        if op["status"] in statuses:
            return op
        if time.monotonic() > deadline:
            raise AssertionError(f"operation still {op['status']} after {timeout}s: {op}")
        time.sleep(0.05)


def sample_invoice(external_id: str = "inv-1001", **overrides) -> dict:
    """A two-line US invoice."""
    invoice = {
        "external_id": external_id, "number": external_id.upper(),
        "customer": {"external_id": "cus-1", "name": "Acme Ltd", "email": "ap@acme.example"},
        "issue_date": "2026-01-15", "due_date": "2026-02-14", "currency": "USD",
        "lines": [
            {"description": "Consulting", "quantity": "2", "unit_price": "100.00"},
            {"description": "Support", "quantity": "1.5", "unit_price": "40.10"},
        ],
    }
    invoice.update(overrides)
    return invoice


D = Decimal


@pytest.fixture
def live_server():
    """Serve apps over HTTP on free loopback ports (for callers outside the process: sandbox webhooks, node)."""
    import threading

    from werkzeug.serving import make_server

    servers = []

    def serve(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()

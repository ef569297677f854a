"""The store: one SQLAlchemy engine per app, a session per app context, sealed secrets."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from bridge.store.crypto import Vault, load_keys

SQLITE_FILE = "bridge.sqlite3"


def database_url(app: Flask) -> str:
    """BRIDGE_DATABASE_URL, or the SQLite file in the instance folder."""
    url = app.config.get("DATABASE_URL")
    if url:
        return url.replace("postgres://", "postgresql+psycopg://", 1).replace(
            "postgresql://", "postgresql+psycopg://", 1)
    return "sqlite:///" + str(Path(app.instance_path) / SQLITE_FILE)


def _sqlite_pragmas(dbapi_connection, _record):
    """WAL and a busy timeout, so the worker thread and web threads share the file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    """An engine tuned for the dialect."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def init_app(app: Flask) -> None:
    """Create the engine, the session factory and the vault."""
    os.makedirs(app.instance_path, exist_ok=True)
    engine = make_engine(database_url(app))
    app.extensions["bridge.engine"] = engine
    app.extensions["bridge.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["bridge.vault"] = Vault(load_keys(app.config.get("SECRET_KEY"), app.instance_path))
    app.teardown_appcontext(_close_session)


def engine() -> sa.Engine:
    """The app's engine."""
    return current_app.extensions["bridge.engine"]


def session() -> Session:
    """The session of the current app context."""
    if "bridge_session" not in g:
        g.bridge_session = current_app.extensions["bridge.sessions"]()
    return g.bridge_session


def vault() -> Vault:
    """The app's encryption helper."""
    return current_app.extensions["bridge.vault"]


def is_postgres() -> bool:
    """True when the store is PostgreSQL."""
    return engine().dialect.name == "postgresql"


def _close_session(_exc):
    """Close the context's session, rolling back anything uncommitted."""
    db = g.pop("bridge_session", None)
    if db is not None:
        db.close()

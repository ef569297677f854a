"""What the benchmarks share: a free loopback port, a fresh PostgreSQL database, the machine in figures."""

from __future__ import annotations

import os
import socket
from pathlib import Path

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_url(name: str) -> str:
    """The bridge's URL of the bench database `name`."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(name: str) -> None:
    """Drop and create the bench database, then migrate it."""
    from bridge.store.migrate import upgrade

    drop_database(name)
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    upgrade(database_url(name))


def drop_database(name: str) -> None:
    """Drop the bench database."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def machine() -> dict:
    """nproc, CPU model, memory, load average."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((row.split(":", 1)[1].strip() for row in cpuinfo.splitlines() if row.startswith("model name")), "?")
    mem_kb = int(next(row.split()[1] for row in Path("/proc/meminfo").read_text().splitlines()
                      if row.startswith("MemTotal")))
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "memory_gib": round(mem_kb / 2**20, 1),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[0]}

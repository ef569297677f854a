"""The outbox: Redis down at request time still gives a 202; the relay catches up and recovers lost jobs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from bridge import store
from bridge.store.models import Operation, utcnow
from bridge.sync.relay import relay_once
from bridge.sync.worker import EmbeddedRuntime
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on loopback, which the test may stop and start."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.tmp_path = tmp_path
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, "private redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis the test controls."""
    assert shutil.which("redis-server"), "redis-server is needed for this test (Debian package redis-server)"
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_redis_down_still_accepts_and_completes_after_redis_returns(make_app, private_redis, sandbox):
    app = make_app(REDIS_URL=private_redis.url)
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        private_redis.stop()
        started = time.monotonic()
        response = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(key))
        assert response.status_code == 202, response.get_data(as_text=True)
        assert time.monotonic() - started < 2, "the request path waited on the dead Redis"
        op = response.get_json()
        time.sleep(1.0)
        assert client.get(f"/v1/syncs/{op['id']}", headers=auth(key)).get_json()["status"] == "queued"
        assert sandbox.objects("invoices") == []
        private_redis.start()
        done = wait_for(client, key, op["id"], timeout=60)
    finally:
        runtime.stop()
    assert done["status"] == "succeeded"
    assert len(sandbox.objects("invoices")) == 1


def test_relay_reenqueues_a_job_lost_after_commit(make_app, sandbox):
    app = make_app(RELAY_LOST_AFTER_SECONDS=0)
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(key)).get_json()
    assert relay_once(app) == 1
    from bridge.sync import queue

    queue.get_queue(queue.LEDGER_WRITES, app).empty()  # the job vanished (Redis flushed, worker crashed)
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        assert wait_for(client, key, op["id"])["status"] == "succeeded"
    finally:
        runtime.stop()
    assert len(sandbox.objects("invoices")) == 1


def test_crash_mid_job_is_resumed_without_duplicate(make_app, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(key)).get_json()
    # A worker claimed it, wrote to the ledger, and died before recording anything.
    from bridge.sync import execute
    from bridge.sync.jobs import claim

    claimed = claim(app, op["id"])
    execute.perform(app, claimed, lambda request, response: None)
    assert len(sandbox.objects("invoices")) == 1
    with app.app_context():
        db = store.session()
        db.execute(sa.update(Operation).where(Operation.id == op["id"]).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    runtime = EmbeddedRuntime(app, workers=1).start()
    try:
        done = wait_for(client, key, op["id"])
    finally:
        runtime.stop()
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert len(sandbox.objects("invoices")) == 1


def test_paused_connection_holds_operations_queued(client, api_key, sandbox, runtime):
    connection_id = connect_quickbooks(client, api_key)
    assert client.post(f"/v1/connections/{connection_id}/pause", headers=auth(api_key)).get_json()["status"] == "paused"
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(api_key)).get_json()
    time.sleep(1.0)
    held = client.get(f"/v1/syncs/{op['id']}", headers=auth(api_key)).get_json()
    assert held["status"] == "queued" and held["waiting_for"] == "connection paused"
    assert sandbox.objects("invoices") == []
    client.post(f"/v1/connections/{connection_id}/resume", headers=auth(api_key))
    assert wait_for(client, api_key, op["id"])["status"] == "succeeded"

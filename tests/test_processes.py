"""The production processes: the Procfile's web command, `bridge worker`, and a database outage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bridge.sync.relay import relay_once
from tests.conftest import auth, connect_quickbooks, make_key, sample_invoice, wait_for
from tests.test_outbox import free_port

ROOT = Path(__file__).resolve().parents[1]


def bridge_env(app, **extra) -> dict:
    """The app's settings as BRIDGE_* variables for a child process."""
    names = ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_URL", "RETRY_BACKOFF"] + [
        key for key in app.config if key.startswith("QUICKBOOKS_")]
    env = {**os.environ, **{f"BRIDGE_{name}": str(app.config[name]) for name in names if app.config.get(name)}}
    env["BRIDGE_INSTANCE_PATH"] = app.instance_path
    env.update(extra)
    return env


def test_procfile_web_command_serves_the_api(app, api_key):
    web = next(line.split(": ", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    port = free_port()
    env = bridge_env(app, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1",
                     PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    process = subprocess.Popen(["bash", "-c", web], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/v1/me", headers=auth(api_key), timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["account_name"] == "acme"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def test_bridge_worker_process_writes_to_the_ledger(make_app, redis_url, sandbox):
    app = make_app()
    client = app.test_client()
    key = make_key(app, "acme")
    connection_id = connect_quickbooks(client, key)
    op = client.post(f"/v1/connections/{connection_id}/invoices", json=sample_invoice(), headers=auth(key)).get_json()
    if not redis_url:  # the worker is a separate process: it needs a real Redis
        raise AssertionError("bridge worker needs the real Redis (BRIDGE_TEST_REDIS_URL)")
    assert relay_once(app) == 1
    result = subprocess.run([sys.executable, "-m", "bridge.cli", "--log-level", "WARNING", "worker", "--burst"],
                            env=bridge_env(app), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert wait_for(client, key, op["id"], timeout=5)["status"] == "succeeded"
    assert len(sandbox.objects("invoices")) == 1


def test_database_down_is_a_503_problem(make_app):
    port = free_port()
    app = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/none")
    response = app.test_client().get("/v1/me", headers={"Authorization": "Bearer ib_anything"})
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "5"


def test_an_idle_worker_outlasts_the_redis_socket_timeout(app):
    from bridge.sync import queue
    from bridge.sync.worker import make_worker

    socket_timeout = queue.connection(app).connection_pool.connection_kwargs["socket_timeout"]
    worker = make_worker(app)
    started = time.monotonic()
    # Before the fix an idle `bridge worker` took the socket timeout for a lost Redis and quit after 10 s.
    assert worker.dequeue_job_and_maintain_ttl(390, max_idle_time=socket_timeout + 1) is None
    assert time.monotonic() - started > socket_timeout


def nap(seconds: float) -> float:
    """A job that waits, as a ledger read or a hook delivery does; returns when it started."""
    started = time.time()
    time.sleep(seconds)
    return started


def test_a_bridge_worker_runs_as_many_jobs_at_once_as_it_has_threads(make_app, redis_url):
    from bridge.sync import queue

    if not redis_url:
        raise AssertionError("bridge worker needs the real Redis (BRIDGE_TEST_REDIS_URL)")
    app = make_app()
    events = queue.get_queue(queue.EVENTS, app)
    jobs = [events.enqueue(nap, 2.0) for _ in range(3)]
    process = subprocess.Popen([sys.executable, "-m", "bridge.cli", "--log-level", "WARNING", "worker", "--threads", "3"],
                               env=bridge_env(app), cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not all(job.get_status(refresh=True) == "finished" for job in jobs):
            assert time.monotonic() < deadline, [job.get_status() for job in jobs]
            time.sleep(0.1)
        starts = sorted(job.return_value() for job in jobs)
        assert starts[-1] - starts[0] < 1.5  # side by side, not one after another (2 s apart)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)

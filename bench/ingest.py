"""Accepted 10-line invoices per second through the Procfile's web command, on PostgreSQL and Redis."""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import psycopg
import redis
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import PG_ADMIN, database_url, free_port  # noqa: E402

DB_NAME = "bench_ingest"
DATABASE_URL = database_url(DB_NAME)
REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_RPS, TARGET_P99_MS, TARGET_PAYLOAD_MS = 1000, 50.0, 0.05
MARK = "BENCH_JSON "
LOADAVG = Path("/proc/loadavg").read_text().split()[0]

INVOICE = {
    "external_id": "@ID@", "number": "INV-@ID@",
    "customer": {"external_id": "cus-4711", "name": "Northwind Traders LLC", "email": "ap@northwind.example",
                 "phone": "+1 415 555 0134",
                 "address": {"line1": "1200 Market Street", "line2": "Suite 400", "city": "San Francisco",
                             "region": "CA", "postal_code": "94103", "country": "US"}},
    "issue_date": "2026-03-02", "due_date": "2026-04-01", "currency": "USD",
    "memo": "Thank you for your business. Payment due within 30 days.",
    "lines": [{"description": f"{name}, March 2026", "quantity": quantity,
               "unit_price": price, "tax_category": "standard" if index % 3 else "exempt",
               "product_code": f"SKU-{1001 + index}"}
              for index, (name, quantity, price) in enumerate([
                  ("Basic", "1", "49.00"), ("Standard", "2", "129.50"), ("Premium", "1", "399.99"),
                  ("Storage 100 GB", "3", "12.75"), ("Backup", "1", "25.00"), ("Support hours", "7.5", "95.00"),
                  ("SSL certificate", "2", "18.40"), ("CDN traffic TB", "4.25", "8.10"),
                  ("Monitoring", "1", "35.00"), ("Onboarding", "1", "250.00")])],
}
MAPPING = {"products": {f"SKU-{1001 + index}": {"item": str(20 + index)} for index in range(10)},
           "tax_categories": {"standard": "TAX", "exempt": "NON"}, "quickbooks": {"txn_tax_code": "3"}}
COMPANY = {"country": "US", "home_currency": "USD", "multi_currency": False, "uses_sales_tax": True,
           "automated_sales_tax": False, "default_item": "1"}

LUA = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  tag = args[1]
  counter, accepted, non2xx = 0, 0, 0
end
function request()
  counter = counter + 1
  local uid = tag .. "-" .. tid .. "-" .. counter
  local headers = {["Authorization"] = "Bearer @KEY@", ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = "bench-" .. uid}
  return wrk.format("POST", "@PATH@", headers, [==[@P1@]==] .. uid .. [==[@P2@]==] .. uid .. [==[@P3@]==])
end
function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local a, n = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("accepted"); n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format('@MARK@{"requests": %d, "requests_per_s": %.1f, "duration_s": %.6f, "accepted": %d, '
    .. '"non2xx": %d, "socket_errors": %d, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6), summary.duration / 1e6, a, n,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def body_parts() -> list[str]:
    """The invoice JSON split around its two per-request ids."""
    return json.dumps(INVOICE, separators=(",", ":")).split("@ID@")


def body(uid: str) -> str:
    """The invoice JSON of one request."""
    return uid.join(body_parts())


def connect_account(settings: dict, public_url: str) -> tuple[str, str]:
    """An account, its key and a QuickBooks connection made through the sandbox's OAuth; (key, connection id)."""
    from bridge import create_app
    from bridge.api.keys.routes import create_key
    from bridge.cli import ensure_account

    app = create_app(settings)
    with app.app_context():
        key = create_key(ensure_account("bench").id)[1]
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    started = client.post("/v1/connections", json={"provider": "quickbooks"}, headers=headers)
    assert started.status_code == 201, started.get_data(as_text=True)
    approval = requests.get(started.get_json()["authorize_url"], allow_redirects=False, timeout=10)
    assert approval.status_code == 302, approval.text
    finished = client.get(approval.headers["Location"].removeprefix(public_url))
    assert finished.status_code == 302, finished.get_data(as_text=True)
    connection_id = started.get_json()["id"]
    status = client.get(f"/v1/connections/{connection_id}", headers=headers).get_json()["status"]
    assert status == "active", status
    app.extensions["bridge.engine"].dispose()
    return key, connection_id


def start_web(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """The Procfile's web command under bash, in its own process group, once /healthz answers."""
    line = next(row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:"))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["bash", "-c", line.split(":", 1)[1].strip()], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_web(proc)
    sys.exit("web process did not come up:\n" + log_path.read_text()[-3000:])


def stop_web(proc: subprocess.Popen) -> None:
    """SIGTERM the web process group and wait for it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_wrk(lua: Path, url: str, connections: int, duration: float, tag: str) -> dict:
    """One wrk run; the figures its done() printed."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(lua),
                          url, "--", tag], capture_output=True, text=True, timeout=duration + 60)
    line = next((row for row in out.stdout.splitlines() if row.startswith(MARK)), None)
    if line is None:
        sys.exit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(line.removeprefix(MARK))


def _py_connection_loop(port, path, headers, parts, tag, deadline, results):
    """One keep-alive connection posting until the deadline, counting into its own `results`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    counter = 0
    while time.monotonic() < deadline:
        counter += 1
        uid = f"{tag}-{counter}"
        started = time.perf_counter()
        try:
            conn.request("POST", path, uid.join(parts).encode(), {**headers, "Idempotency-Key": f"bench-{uid}"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            results["socket_errors"] += 1
            conn.close()
            continue
        results["latencies"].append(time.perf_counter() - started)
        results["accepted"] += response.status == 202
        results["non2xx"] += not 200 <= response.status <= 299


def _py_process(port, path, headers, parts, tag, threads, duration):
    """A load process: `threads` connections for `duration` seconds."""
    results = [{"latencies": [], "accepted": 0, "non2xx": 0, "socket_errors": 0} for _ in range(threads)]
    deadline = time.monotonic() + duration
    workers = [threading.Thread(target=_py_connection_loop,
                                args=(port, path, headers, parts, f"{tag}-{i}", deadline, results[i]))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def run_python(port, path, headers, parts, connections, duration, tag) -> dict:
    """The fallback load generator: processes of keep-alive http.client connections."""
    procs = min(4, connections)
    with ProcessPoolExecutor(procs) as pool:
        parts_out = [part for process in pool.map(_py_process, *zip(*[
            (port, path, headers, parts, f"{tag}-p{p}", connections // procs, duration) for p in range(procs)]))
            for part in process]
    latencies = sorted(lat for part in parts_out for lat in part["latencies"]) or [0.0]
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "requests_per_s": len(latencies) / duration, "duration_s": duration,
            "accepted": sum(p["accepted"] for p in parts_out), "non2xx": sum(p["non2xx"] for p in parts_out),
            "socket_errors": sum(p["socket_errors"] for p in parts_out),
            "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": latencies[-1] * 1000}


def payload_cpu(iterations: int) -> tuple[float, float, float]:
    """ms per marshmallow load, and per QBO payload (median and best of 5 batches), for the 10-line invoice."""
    from bridge.ledgers.quickbooks.mapping import invoice_payload
    from bridge.schemas import InvoiceSchema

    raw = body("inv-cpu")
    schema = InvoiceSchema()
    loads = max(1, iterations // 10)
    started = time.perf_counter()
    for _ in range(loads):
        invoice = schema.load(json.loads(raw, parse_float=Decimal))
    validate_ms = (time.perf_counter() - started) * 1000 / loads
    qbo, warnings = invoice_payload(invoice, "58", MAPPING, COMPANY)
    assert len(qbo["Line"]) == 10 and not warnings, warnings
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations // 5):
            invoice_payload(invoice, "58", MAPPING, COMPANY)
        batches.append((time.perf_counter() - started) * 1000 / (iterations // 5))
    return validate_ms, statistics.median(batches), min(batches)


def machine() -> dict:
    """nproc, CPU model, memory, PostgreSQL and Redis versions."""
    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {**common.machine(), "loadavg_at_start": LOADAVG,
            "postgresql": pg, "redis": redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]}


def main() -> None:
    """Set up, load, check, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--iterations", type=int, default=20_000, help="payload timing loop")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    use_wrk = shutil.which("wrk") is not None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from bridge import gunicorn_conf
    from bridge.sandbox import env_lines, serve

    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    secret = Fernet.generate_key().decode()
    redis.Redis.from_url(REDIS_URL).flushdb()
    common.fresh_database(DB_NAME)
    sandbox = serve(host="127.0.0.1", port=0)
    web = None
    try:
        sandbox_env = dict(line.split("=", 1) for line in env_lines(sandbox.port))
        settings = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": secret,
                    "INSTANCE_PATH": str(tmp / "instance"), "PUBLIC_URL": public_url,
                    **{k.removeprefix("BRIDGE_"): v for k, v in sandbox_env.items()}}
        key, connection_id = connect_account(settings, public_url)
        env = {**os.environ, **sandbox_env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(args.workers),
               "BRIDGE_DATABASE_URL": DATABASE_URL, "BRIDGE_REDIS_URL": REDIS_URL, "BRIDGE_SECRET_KEY": secret,
               "BRIDGE_INSTANCE_PATH": str(tmp / "instance"), "BRIDGE_PUBLIC_URL": public_url}
        web = start_web(env, port, tmp / "web.log")

        path = f"/v1/connections/{connection_id}/invoices"
        parts = body_parts()
        lua = tmp / "ingest.lua"
        script = LUA.replace("@KEY@", key).replace("@PATH@", path).replace("@MARK@", MARK)
        lua.write_text(script.replace("@P1@", parts[0]).replace("@P2@", parts[1]).replace("@P3@", parts[2]))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        invocations = []

        def load(connections: int, duration: float, tag: str) -> dict:
            """One load run, remembered for the durability check."""
            if use_wrk:
                figures = run_wrk(lua, public_url + path, connections, duration, tag)
            else:
                figures = run_python(port, path, headers, parts, connections, duration, tag)
            invocations.append((connections, figures))
            return figures

        load(counts[0], 3, "warm")
        results = {}
        for connections in counts:
            runs = []
            for run in range(args.runs):
                figures = load(connections, args.duration, f"c{connections}r{run}")
                figures["accepted_per_s"] = figures["accepted"] / figures["duration_s"]
                runs.append(figures)
            median = sorted(runs, key=lambda r: r["accepted_per_s"])[(len(runs) - 1) // 2]
            errors = sum(r["non2xx"] + r["socket_errors"] for r in runs)
            results[connections] = {"median": median, "runs": runs, "errors": errors}

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}") as conn:
            rows = conn.execute("SELECT count(*) FROM operations").fetchone()[0]
        accepted = sum(figures["accepted"] for _, figures in invocations)
        in_flight = sum(connections for connections, _ in invocations)
    finally:
        if web is not None:
            stop_web(web)
        sandbox.shutdown()
        common.drop_database(DB_NAME)
        shutil.rmtree(tmp, ignore_errors=True)

    validate_ms, payload_ms, payload_best = payload_cpu(args.iterations)
    info = machine()
    print("\n=== Invoice Bridge ingest benchmark ===")
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, "
          f"1-min load average at start {info['loadavg_at_start']}")
    print(f"PostgreSQL {info['postgresql']}, Redis {info['redis']}; web: Procfile `web:` "
          f"(gunicorn, WEB_CONCURRENCY={args.workers} {gunicorn_conf.worker_class} workers) on 127.0.0.1")
    print(f"load: {'wrk -t2 --latency' if use_wrk else 'Python fallback load generator (wrk not installed)'}, "
          f"{args.runs} runs x {args.duration:g} s per connection count, median run by accepted/s; "
          f"10-line invoice of {len(body('c16r0-1-1234'))} bytes, unique Idempotency-Key and external_id")
    verdicts = {}
    for connections, result in results.items():
        m = result["median"]
        ok = result["errors"] == 0
        if connections == 16:
            ok = ok and m["accepted_per_s"] >= TARGET_RPS and m["p99_ms"] <= TARGET_P99_MS
            target = f"target >= {TARGET_RPS}/s, p99 <= {TARGET_P99_MS:g} ms, 0 errors"
        else:
            target = "target 0 errors"
        verdicts[connections] = ok
        print(f"\n{connections} connections: {m['accepted_per_s']:.0f} accepted/s, p50 {m['p50_ms']:.1f} ms, "
              f"p99 {m['p99_ms']:.1f} ms, errors {result['errors']}  -> {'PASS' if ok else 'FAIL'} ({target})")
        for index, r in enumerate(result["runs"], 1):
            print(f"  run {index}: {r['accepted_per_s']:.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                  f"max {r['max_ms']:.1f} ms, non-2xx {r['non2xx']}, socket errors {r['socket_errors']}")
    durable = accepted <= rows <= accepted + in_flight
    print(f"\noperations rows {rows} vs 202s counted {accepted} (incl. warm-up; up to {in_flight} more may "
          f"commit while in flight at cut-off) -> {'PASS' if durable else 'FAIL'}")
    print(f"marshmallow load of the 10-line invoice: {validate_ms:.3f} ms (context)")
    print(f"QBO payload from the validated invoice: {payload_ms:.4f} ms (median of 5 batches; best "
          f"{payload_best:.4f}) -> "
          f"{'PASS' if payload_ms <= TARGET_PAYLOAD_MS else 'FAIL'} (target <= {TARGET_PAYLOAD_MS} ms)")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "machine": info, "workers": args.workers, "load_generator": "wrk" if use_wrk else "python",
            "duration_s": args.duration, "runs": args.runs,
            "connections": {str(c): {**r, "pass": verdicts[c]} for c, r in results.items()},
            "operations_rows": rows, "accepted": accepted, "durable": durable,
            "validate_ms": validate_ms, "payload_ms": payload_ms, "payload_best_ms": payload_best,
            "payload_pass": payload_ms <= TARGET_PAYLOAD_MS}, indent=2))


if __name__ == "__main__":
    main()

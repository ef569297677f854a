"""Invoices per ledger-minute pushed into the QuickBooks and Xero emulators with every limit enforced.

Not a test: it prints figures. Time is scaled (--time-scale, sandbox seconds per real second) in the
emulators and, through RATE_LIMIT_TIME_SCALE, in the bridge's limiter, so a ledger minute lasts
60/scale real seconds. Per ledger it runs two phases on PostgreSQL (database bench_throughput) and
Redis (db 15), against a sandbox served by its own process:

  batched  new numbered invoices (customers already present; at least --invoices, and enough to keep
           a backlog for 1 + --sustain-minutes ledger minutes), the engine as it is: relay -> batches
           (QBO /batch of 30, Xero arrays of 50) and, on QuickBooks, single writes beside them in the
           request allowance batches leave. Rate = invoices succeeded in the --sustain-minutes after the
           first ledger minute (a fresh sliding window lets a whole minute's allowance through at once,
           which is no steady rate); also printed: when the first --invoices were all written.
  single   the comparison "one call per invoice" (what Zapier, n8n or Activepieces do): operations
           marked `single` so the relay never batches them, run for --single-minutes ledger minutes.

Physical limits per ledger minute: Xero 60 calls x 50 = 3,000 invoices (singles: 60);
QuickBooks 40 batch calls x 30 + 460 single calls = 1,660 (singles: 500).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import database_url, machine  # noqa: E402

DB_NAME = "bench_throughput"
DATABASE_URL = database_url(DB_NAME)
REDIS_URL = "redis://127.0.0.1:6379/15"
PUBLIC_URL = "http://127.0.0.1:5999"  # OAuth callbacks are replayed through the test client
PROVIDERS = ("quickbooks", "xero")
LIMITS = {  # invoices per ledger minute: batched (the physical limit), one call per invoice
    "quickbooks": {"batched": 40 * 30 + 460, "single": 500, "explain": "40 batch calls x 30 + 460 single calls"},
    "xero": {"batched": 60 * 50, "single": 60, "explain": "60 calls x 50"},
}
TARGET_RATIO = 0.9
CUSTOMERS = 10
PREFIX = {("quickbooks", "batched"): "qb", ("quickbooks", "single"): "qs",
          ("xero", "batched"): "xb", ("xero", "single"): "xs"}
UK_MAPPING = {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
              "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}
TERMINAL = ("succeeded", "failed", "dead")
PROFILE_STEPS = {f"{name}@{module}" for module, names in {
    "relay.py": ("Relay.step", "relay_once", "due_operations", "_enqueue_singles"),
    "batches.py": ("sync_batch", "_prepare", "batchable", "form", "due_batches", "enqueue", "claim", "dissolve",
                   "_set_batch"),
    "jobs.py": ("sync_operation", "claim", "_finish", "_wait_for_limit"),
    "execute.py": ("perform", "upsert_invoice", "ensure_customer", "load_input", "Run.remember", "Run.ref"),
    "adapter.py": ("Adapter.upsert_invoices", "Adapter.upsert_invoice"),
    "limits.py": ("Limiter.slot", "Limiter._try"),
    "adapters.py": ("adapter_for",),
    "client.py": ("Client._send", "Client.request"),
    "queue.py": ("wake_relay",),
}.items() for name in names}
"""Engine steps whose inclusive share of the busy samples --profile prints."""


# --------------------------------------------------------------------------------------------------
# The sandbox process: the emulators plus a WSGI wrapper that logs every ledger call.
# --------------------------------------------------------------------------------------------------
class CallLog:
    """WSGI middleware: (start, end, provider, kind, status, invoices) per call; GET /_bench/calls?since=N."""

    def __init__(self, app):
        self.app = app
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    @staticmethod
    def classify(method: str, path: str, body: bytes) -> tuple[str, str, int]:
        """(provider, kind, invoices in the call)."""
        provider = path.strip("/").split("/", 1)[0]
        tail = path.rstrip("/").rsplit("/", 1)[-1].lower()
        if "oauth" in path or "token" in tail or "connect" in path or "identity" in path:
            return provider, "auth", 0
        if provider == "quickbooks":
            if tail == "batch":
                return provider, "batch", body.count(b'"bId"')
            if tail == "invoice" and method == "POST":
                return provider, "invoice", 1
            return provider, ("query" if tail == "query" else tail), 0
        if provider == "xero":
            if tail == "invoices" and method in ("PUT", "POST"):
                count = body.count(b'"LineItems"')
                return provider, ("batch" if count > 1 else "invoice"), count
            return provider, tail, 0
        return provider, "other", 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/calls":
            since = int((environ.get("QUERY_STRING", "").partition("since=")[2] or "0").split("&")[0])
            with self.lock:
                rows = self.calls[since:]
            payload = json.dumps({"next": since + len(rows), "calls": rows}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        started = time.time()
        method = environ.get("REQUEST_METHOD", "GET")
        body = b""
        if method in ("PUT", "POST"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
        status_holder = {}

        def recording_start(status, headers, exc_info=None):
            status_holder["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start)
        finally:
            if not path.startswith("/_sandbox"):
                provider, kind, invoices = self.classify(method, path, body)
                with self.lock:
                    self.calls.append((started, time.time(), provider, kind, status_holder.get("status", 0), invoices))


def sandbox_main(time_scale: float, port_file: str) -> None:
    """Serve the QuickBooks and Xero emulators (limits on, time scaled) until SIGTERM."""
    from werkzeug.serving import make_server

    from bridge.sandbox import create_sandbox_app

    app = create_sandbox_app({p: {"time_scale": time_scale} for p in PROVIDERS}, providers=PROVIDERS)
    app.wsgi_app = CallLog(app.wsgi_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    Path(port_file).write_text(str(server.server_port))
    server.serve_forever()


def worker_main(config_file: str, threads: int) -> None:
    """A worker process: EmbeddedRuntime (RQ worker threads + relay contender), like `bridge worker`."""
    from bridge import create_app
    from bridge.sync.worker import EmbeddedRuntime

    config = json.loads(Path(config_file).read_text())
    app = create_app(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = EmbeddedRuntime(app, workers=threads).start()
    stop.wait()
    runtime.stop()
    app.extensions["bridge.engine"].dispose()


# --------------------------------------------------------------------------------------------------
# Helpers of the driving process.
# --------------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Bench:
    """The driving process: sandbox, bridge app, connections, phases, figures."""

    def __init__(self, args):
        self.args = args
        self.scale = args.time_scale
        self.minute = 60.0 / self.scale  # real seconds per ledger minute
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
        self.started = time.monotonic()
        self.deadline = self.started + args.timeout
        self.sandbox_proc = None
        self.worker_procs: list[subprocess.Popen] = []
        self.runtime = None
        self.profilers: list[subprocess.Popen] = []
        self.results: dict = {}
        self.notes: list[str] = []
        self.call_cursor = 0
        self.calls: list[tuple] = []

    # --- infrastructure ------------------------------------------------------------------------------
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def start_sandbox(self) -> None:
        port_file = self.tmp / "sandbox.port"
        command = [sys.executable, __file__, "--_role", "sandbox", "--time-scale", str(self.scale),
                   "--_file", str(port_file)]
        if self.args.profile:
            command = [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw", "--rate", "50",
                       "-o", str(self.tmp / "profile-sandbox.txt"), "--"] + command
        with open(self.tmp / "sandbox.log", "wb") as log:
            self.sandbox_proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(200):
            if port_file.exists() and port_file.read_text():
                self.port = int(port_file.read_text())
                self.base = f"http://127.0.0.1:{self.port}"
                return
            if self.sandbox_proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("sandbox did not start:\n" + (self.tmp / "sandbox.log").read_text()[-3000:])

    def sandbox_pid(self) -> int:
        """The Python process serving the sandbox (the child of py-spy when profiling)."""
        if not self.args.profile:
            return self.sandbox_proc.pid
        try:
            children = Path(f"/proc/{self.sandbox_proc.pid}/task/{self.sandbox_proc.pid}/children").read_text().split()
            return int(children[0]) if children else self.sandbox_proc.pid
        except OSError:
            return self.sandbox_proc.pid

    def control(self, provider: str, path: str, method: str = "GET", **kwargs):
        import requests

        response = requests.request(method, f"{self.base}/_sandbox/{provider}/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def fetch_calls(self) -> None:
        import requests

        answer = requests.get(f"{self.base}/_bench/calls", params={"since": self.call_cursor}, timeout=30).json()
        self.calls += [tuple(row) for row in answer["calls"]]
        self.call_cursor = answer["next"]

    def make_app(self):
        from cryptography.fernet import Fernet

        from bridge import create_app
        from bridge.sandbox import env_lines

        sandbox_settings = {k.removeprefix("BRIDGE_"): v for k, v in
                            (line.split("=", 1) for line in env_lines(self.port, providers=PROVIDERS))}
        self.config = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "SECRET_KEY": Fernet.generate_key().decode(), "INSTANCE_PATH": str(self.tmp / "instance"),
                       "PUBLIC_URL": PUBLIC_URL, "RATE_LIMIT_TIME_SCALE": self.scale, **sandbox_settings}
        (self.tmp / "config.json").write_text(json.dumps(self.config))
        self.app = create_app(self.config)
        self.client = self.app.test_client()

    def start_workers(self) -> None:
        if self.args.mode == "threads":
            from bridge.sync.worker import EmbeddedRuntime

            self.runtime = EmbeddedRuntime(self.app, workers=self.args.workers).start()
            return
        for index in range(self.args.workers):
            command = [sys.executable, __file__, "--_role", "worker", "--_file", str(self.tmp / "config.json"),
                       "--_threads", str(self.args.threads_per_process)]
            with open(self.tmp / f"worker-{index}.log", "ab") as log:
                self.worker_procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                          start_new_session=True))

    def worker_pids(self) -> list[int]:
        return [os.getpid()] if self.args.mode == "threads" else [p.pid for p in self.worker_procs]

    def stop_workers(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        for proc in self.worker_procs:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.worker_procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.worker_procs = []

    def start_profilers(self, tag: str) -> None:
        spy = str(Path(sys.executable).parent / "py-spy")
        for pid in self.worker_pids():
            out = self.tmp / f"profile-{tag}-worker-{pid}.txt"
            with open(self.tmp / f"py-spy-{tag}-{pid}.log", "wb") as log:
                self.profilers.append(subprocess.Popen(
                    [spy, "record", "--format", "raw", "--rate", "50", "-o", str(out), "--pid", str(pid)],
                    stdout=subprocess.DEVNULL, stderr=log))

    def stop_profilers(self) -> None:
        for proc in self.profilers:
            proc.send_signal(signal.SIGINT)
        for proc in self.profilers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.profilers = []

    def shutdown(self) -> None:
        self.stop_profilers()
        self.stop_workers()
        if self.sandbox_proc is not None:
            try:
                os.killpg(self.sandbox_proc.pid, signal.SIGINT if self.args.profile else signal.SIGTERM)
                self.sandbox_proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.sandbox_proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if getattr(self, "app", None) is not None:
            self.app.extensions["bridge.engine"].dispose()

    # --- bridge setup ----------------------------------------------------------------------------------
    def connect(self) -> None:
        import requests

        from bridge.api.keys.routes import create_key
        from bridge.cli import ensure_account
        from bridge.sandbox.xero import UK_TENANT_ID

        with self.app.app_context():
            self.key = create_key(ensure_account("bench").id)[1]
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.connections = {}
        for provider in self.args.ledgers:
            body = {"provider": provider, **({"tenant": UK_TENANT_ID} if provider == "xero" else {})}
            started = self.client.post("/v1/connections", json=body, headers=self.headers)
            assert started.status_code == 201, started.get_data(as_text=True)
            approval = requests.get(started.get_json()["authorize_url"], allow_redirects=False, timeout=10)
            assert approval.status_code == 302, approval.text
            finished = self.client.get(approval.headers["Location"].removeprefix(PUBLIC_URL))
            assert finished.status_code == 302, finished.get_data(as_text=True)
            connection_id = started.get_json()["id"]
            if provider == "xero":
                mapped = self.client.put(f"/v1/connections/{connection_id}/mapping", json=UK_MAPPING,
                                         headers=self.headers)
                assert mapped.status_code == 200, mapped.get_data(as_text=True)
            status = self.client.get(f"/v1/connections/{connection_id}", headers=self.headers).get_json()["status"]
            assert status == "active", (provider, status)
            self.connections[provider] = connection_id

    def customer(self, provider: str, n: int) -> dict:
        return {"external_id": f"cus-{n}", "name": f"Bench Customer {n} ({provider})",
                "email": f"ap{n}@customer{n}.example"}

    def create_customers(self) -> None:
        """Send the customer pool to every ledger and wait until they are there (customers already present)."""
        ids = []
        for provider, connection_id in self.connections.items():
            for n in range(1, CUSTOMERS + 1):
                answer = self.client.post(f"/v1/connections/{connection_id}/customers",
                                          json=self.customer(provider, n), headers=self.headers)
                assert answer.status_code == 202, answer.get_data(as_text=True)
                ids.append(answer.get_json()["id"])
        self.start_workers()
        try:
            deadline = time.monotonic() + min(120, max(self.left(), 5))
            while time.monotonic() < deadline:
                statuses = self.statuses_by_id(ids)
                if all(s in TERMINAL for s in statuses.values()) and len(statuses) == len(ids):
                    break
                time.sleep(0.2)
        finally:
            self.stop_workers()
        bad = {k: v for k, v in self.statuses_by_id(ids).items() if v != "succeeded"}
        if bad:
            raise SystemExit(f"customers did not all reach the ledgers: {bad}")

    def statuses_by_id(self, ids: list[str]) -> dict:
        import sqlalchemy as sa

        from bridge.store.models import Operation

        with self.app.extensions["bridge.sessions"]() as db:
            return dict(db.execute(sa.select(Operation.id, Operation.status).where(Operation.id.in_(ids))).all())

    # --- invoices -----------------------------------------------------------------------------------------
    def invoice(self, provider: str, prefix: str, n: int) -> dict:
        lines_count = 1 + n % 3
        if provider == "xero":
            lines = [{"description": f"Service {i + 1}", "quantity": str(1 + i), "unit_price": f"{40 + 7 * i}.50",
                      "tax_category": "standard" if i % 2 == 0 else "zero"} for i in range(lines_count)]
            currency = "GBP"
        else:
            lines = [{"description": f"Service {i + 1}", "quantity": str(1 + i), "unit_price": f"{40 + 7 * i}.50"}
                     for i in range(lines_count)]
            currency = "USD"
        return {"external_id": f"{prefix}-{n:05d}", "number": f"{prefix.upper()}-{n:05d}",
                "customer": {"external_id": f"cus-{1 + n % CUSTOMERS}"},
                "issue_date": "2026-03-02", "due_date": "2026-04-01", "currency": currency, "lines": lines}

    def post_invoices(self, provider: str, prefix: str, count: int) -> float:
        """POST `count` new invoices through the REST API; seconds taken."""
        connection_id = self.connections[provider]
        started = time.monotonic()
        for n in range(count):
            answer = self.client.post(f"/v1/connections/{connection_id}/invoices",
                                      json=self.invoice(provider, prefix, n), headers=self.headers)
            if answer.status_code != 202:
                raise SystemExit(f"intake refused an invoice: {answer.status_code} {answer.get_data(as_text=True)}")
        return time.monotonic() - started

    def mark_single(self, provider: str, prefix: str) -> int:
        import sqlalchemy as sa

        from bridge.store.models import Operation

        with self.app.extensions["bridge.sessions"]() as db:
            done = db.execute(sa.update(Operation).where(
                Operation.connection_id == self.connections[provider],
                Operation.external_id.like(f"{prefix}-%")).values(single=True))
            db.commit()
            return done.rowcount

    def phase_rows(self, provider: str, prefix: str) -> list:
        import sqlalchemy as sa

        from bridge.store.models import Operation

        with self.app.extensions["bridge.sessions"]() as db:
            return db.execute(sa.select(Operation.status, Operation.updated_at, Operation.batch_id,
                                        Operation.single, Operation.attempts, Operation.seq).where(
                Operation.connection_id == self.connections[provider], Operation.object == "invoice",
                Operation.external_id.like(f"{prefix}-%"))).all()

    def phase_counts(self, provider: str, prefix: str) -> collections.Counter:
        import sqlalchemy as sa

        from bridge.store.models import Operation

        with self.app.extensions["bridge.sessions"]() as db:
            return collections.Counter(dict(db.execute(sa.select(Operation.status, sa.func.count()).where(
                Operation.connection_id == self.connections[provider], Operation.object == "invoice",
                Operation.external_id.like(f"{prefix}-%")).group_by(Operation.status)).all()))

    def diagnostics(self, provider: str, prefix: str) -> dict:
        """Batches by status, attempts by outcome and error, for the phase."""
        import sqlalchemy as sa

        from bridge.store.models import Attempt, Batch, Operation

        connection_id = self.connections[provider]
        with self.app.extensions["bridge.sessions"]() as db:
            seqs = sa.select(Operation.seq).where(Operation.connection_id == connection_id,
                                                  Operation.external_id.like(f"{prefix}-%"))
            attempts = db.execute(sa.select(Attempt.outcome, Attempt.error, sa.func.count()).where(
                Attempt.operation_seq.in_(seqs)).group_by(Attempt.outcome, Attempt.error)).all()
            ids = sa.select(Operation.id).where(Operation.connection_id == connection_id,
                                                Operation.external_id.like(f"{prefix}-%"))
            batch_rows = db.execute(sa.select(Batch.status, Batch.attempts, Batch.members)).all()
            phase_ids = set(db.execute(ids).scalars())
        batches = collections.Counter()
        sizes = collections.Counter()
        batch_attempts = 0
        for status, tries, members in batch_rows:
            if members and members[0] in phase_ids:
                batches[status] += 1
                sizes[len(members)] += 1
                batch_attempts += tries
        by_outcome = collections.Counter()
        errors = collections.Counter()
        for outcome, error, count in attempts:
            by_outcome[outcome] += count
            if error:
                errors[(outcome, (error or "")[:90])] += count
        return {"batches": dict(batches), "batch_sizes": dict(sorted(sizes.items())),
                "batch_attempts": batch_attempts, "attempts": dict(by_outcome),
                "attempt_errors": [{"outcome": o, "error": e, "count": c} for (o, e), c in errors.most_common(6)]}

    # --- phases --------------------------------------------------------------------------------------------
    def let_windows_clear(self) -> None:
        """Wait one ledger minute (+ padding) so every sliding window starts empty."""
        time.sleep(min(self.minute + 0.5, max(self.left(), 0)))

    def run_phase(self, provider: str, kind: str) -> dict:
        prefix = PREFIX[(provider, kind)]
        limit = LIMITS[provider][kind]
        window_min = self.args.single_minutes if kind == "single" else self.args.sustain_minutes
        # Both phases run 1 + window_min ledger minutes and count only after the first minute: a fresh
        # sliding window lets a whole minute's allowance through at once, which is no steady rate. The
        # batched phase pushes at least --invoices, and enough to keep a backlog through the window.
        backlog = math.ceil(limit * (1 + window_min) * 1.15) + 10
        count = max(self.args.invoices, backlog) if kind == "batched" else min(self.args.invoices, backlog)
        result = {"ledger": provider, "phase": kind, "invoices": count, "limit_per_min": limit,
                  "limit_explain": LIMITS[provider]["explain"] if kind == "batched" else "1 call per invoice"}
        print(f"[{provider} {kind}] posting {count} invoices ...", flush=True)
        result["intake_s"] = round(self.post_invoices(provider, prefix, count), 1)
        if kind == "single":
            result["marked_single"] = self.mark_single(provider, prefix)
        self.let_windows_clear()
        stats_before = self.control(provider, "stats")
        self.fetch_calls()
        calls_from = len(self.calls)
        busy0, total0 = machine_busy()
        sandbox_cpu0 = cpu_seconds(self.sandbox_pid())
        self_cpu0 = cpu_seconds(os.getpid())
        real0 = time.time()
        self.start_workers()
        if self.args.profile:
            self.start_profilers(f"{provider}-{kind}")
        pids = self.worker_pids()
        worker_cpu = {pid: cpu_seconds(pid) for pid in pids}
        cap = min(self.left(), self.args.phase_timeout)
        stop_at = time.monotonic() + max(cap, 0)
        first_write = None
        timed_out = False
        try:
            while True:
                time.sleep(0.25)
                counts = self.phase_counts(provider, prefix)
                finished = sum(counts[s] for s in TERMINAL)
                if first_write is None:
                    self.fetch_calls()
                    writes = [c for c in self.calls[calls_from:] if c[2] == provider and c[3] in ("batch", "invoice")]
                    if writes:
                        first_write = min(c[0] for c in writes)
                if finished >= count:
                    break
                if first_write is not None and time.time() > first_write + (1 + window_min) * self.minute + 0.5:
                    break
                if time.monotonic() > stop_at:
                    timed_out = True
                    break
            for pid in pids:
                worker_cpu[pid] = cpu_seconds(pid) - worker_cpu[pid]
        finally:
            if self.args.profile:
                self.stop_profilers()
            self.stop_workers()
        real1 = time.time()
        busy1, total1 = machine_busy()
        result["cpu"] = {"machine_busy_pct": round(100 * (busy1 - busy0) / max(total1 - total0, 1), 1),
                         "sandbox_s": round(cpu_seconds(self.sandbox_pid()) - sandbox_cpu0, 1),
                         "workers_s": round(sum(worker_cpu.values()), 1) if self.args.mode == "processes"
                         else round(cpu_seconds(os.getpid()) - self_cpu0, 1),
                         "wall_s": round(real1 - real0, 1)}
        stats_after = self.control(provider, "stats")
        self.fetch_calls()
        calls = [c for c in self.calls[calls_from:] if c[2] == provider]
        rows = self.phase_rows(provider, prefix)
        statuses = collections.Counter(row[0] for row in rows)
        succeeded = sorted(row[1].timestamp() for row in rows if row[0] == "succeeded")
        result.update(self.figures(provider, kind, count, first_write, succeeded, calls, window_min, limit))
        result["timed_out"] = timed_out
        result["statuses"] = dict(statuses)
        result["failed_or_dead"] = statuses["failed"] + statuses["dead"]
        result["via_batch"] = sum(1 for row in rows if row[0] == "succeeded" and row[2] is not None)
        result["via_single"] = sum(1 for row in rows if row[0] == "succeeded" and row[2] is None)
        result["throttled_429"] = stats_after["throttled_total"] - stats_before["throttled_total"]
        result["throttled_by_kind"] = {k: v - stats_before["throttled"].get(k, 0)
                                       for k, v in stats_after["throttled"].items()
                                       if v - stats_before["throttled"].get(k, 0)}
        result["api_requests"] = stats_after["api_requests"] - stats_before["api_requests"]
        result["diagnostics"] = self.diagnostics(provider, prefix)
        result["cancelled_leftovers"] = self.cancel_leftovers(provider, prefix)
        return result

    def cancel_leftovers(self, provider: str, prefix: str) -> int:
        """After a bounded or timed-out phase: empty the queue and take its unfinished operations (and
        batches) out of play (status "cancelled", bench database only), so the next phase runs alone."""
        import sqlalchemy as sa

        from bridge.schemas.operation import UNFINISHED
        from bridge.store.models import Batch, Operation
        from bridge.sync import queue

        queue.get_queue(queue.LEDGER_WRITES, self.app).empty()
        with self.app.extensions["bridge.sessions"]() as db:
            leftover = db.execute(sa.update(Operation).where(
                Operation.connection_id == self.connections[provider], Operation.external_id.like(f"{prefix}-%"),
                Operation.status.in_(UNFINISHED)).values(status="cancelled")).rowcount
            db.execute(sa.update(Batch).where(Batch.connection_id == self.connections[provider],
                                              Batch.status.in_(("queued", "retrying", "running"))).values(
                status="cancelled"))
            db.commit()
        return leftover

    def figures(self, provider, kind, count, first_write, succeeded, calls, window_min, limit) -> dict:
        """Rate, calls by kind, and a per-ledger-minute timeline."""
        out = {"succeeded": len(succeeded), "first_write": first_write}
        kinds = collections.Counter(c[3] for c in calls)
        out["calls"] = dict(kinds)
        out["calls_429"] = sum(1 for c in calls if c[4] == 429)
        out["batch_calls_ok"] = sum(1 for c in calls if c[3] == "batch" and c[4] == 200)
        out["single_invoice_calls_ok"] = sum(1 for c in calls if c[3] == "invoice" and c[4] == 200)
        if first_write is None or not succeeded:
            out.update(rate=0.0, ratio=0.0, ledger_minutes=None)
            return out
        window_start = first_write + self.minute
        window_end = window_start + window_min * self.minute
        out["first_minute"] = sum(1 for t in succeeded if t <= window_start)
        out["all_done_early"] = len(succeeded) >= count and succeeded[-1] <= window_end
        real, n = window_min * self.minute, sum(1 for t in succeeded if window_start < t <= window_end)
        if len(succeeded) >= self.args.invoices:  # how long the first --invoices took, burst included
            out["first_invoices_ledger_minutes"] = round(
                (succeeded[self.args.invoices - 1] - first_write) * self.scale / 60, 3)
        ledger_minutes = real * self.scale / 60
        out["real_s"] = round(real, 2)
        out["ledger_minutes"] = round(ledger_minutes, 3)
        out["counted"] = n
        out["rate"] = round(n / ledger_minutes, 1)
        out["ratio"] = round(out["rate"] / limit, 3)
        timeline = collections.defaultdict(lambda: {"invoices": 0, "batch": 0, "single": 0, "other": 0, "429": 0})
        for t in succeeded:
            timeline[int((t - first_write) / self.minute)]["invoices"] += 1
        for c in calls:
            if c[0] < first_write:
                continue
            bucket = timeline[int((c[0] - first_write) / self.minute)]
            if c[4] == 429:
                bucket["429"] += 1
            elif c[3] == "batch":
                bucket["batch"] += 1
            elif c[3] == "invoice":
                bucket["single"] += 1
            elif c[3] != "auth":
                bucket["other"] += 1
        out["timeline"] = [{"minute": k, **v} for k, v in sorted(timeline.items())]
        # The busiest sliding ledger minute of invoice successes (steady state, free of start/end effects).
        best, j = 0, 0
        for i, t in enumerate(succeeded):
            while succeeded[j] < t - self.minute:
                j += 1
            best = max(best, i - j + 1)
        out["best_sliding_minute"] = best
        durations = [c[1] - c[0] for c in calls if c[3] in ("batch", "invoice") and c[4] == 200]
        if durations:
            out["write_call_ms_median"] = round(1000 * sorted(durations)[len(durations) // 2], 1)
        return out

    def pause_and_drain(self, provider: str) -> None:
        import sqlalchemy as sa

        from bridge.store.models import Connection
        from bridge.sync import queue

        with self.app.extensions["bridge.sessions"]() as db:
            db.execute(sa.update(Connection).where(Connection.id == self.connections[provider]).values(status="paused"))
            db.commit()
        queue.get_queue(queue.LEDGER_WRITES, self.app).empty()

    def duplicates(self, provider: str) -> dict:
        from bridge.sandbox.xero import UK_TENANT_ID

        ledger = self.control(provider, "ledger")
        if provider == "xero":
            numbers = [i.get("InvoiceNumber") for i in ledger["tenants"][UK_TENANT_ID]["invoices"]]
        else:
            numbers = [i.get("DocNumber") for realm in ledger["realms"].values() for i in realm["invoices"]]
        counts = collections.Counter(n for n in numbers if n)
        dupes = {n: c for n, c in counts.items() if c > 1}
        by_phase = {kind: sum(1 for n in counts if n.lower().startswith(PREFIX[(provider, kind)] + "-"))
                    for kind in ("batched", "single")}
        return {"duplicate_numbers": len(dupes), "examples": sorted(dupes)[:5], "in_ledger": by_phase}

    # --- profile ---------------------------------------------------------------------------------------------
    def profile_summary(self) -> dict:
        """From py-spy's raw (collapsed) stacks: the share of the engine's busy samples (stacks inside an RQ
        job or the relay loop) spent in each engine step, inclusive."""
        summary = {}
        for path in sorted(self.tmp.glob("profile-*.txt")):
            total, busy = 0, 0
            steps = collections.Counter()
            for line in path.read_text().splitlines():
                stack, _, samples = line.rpartition(" ")
                if not samples.isdigit():
                    continue
                n = int(samples)
                total += n
                names = {frame.split(" (")[0] + "@" + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                         for frame in stack.split(";") if " (" in frame}
                if "sandbox" in path.name:
                    busy += n if any(name.startswith("handle@") for name in names) else 0
                    for name in names:
                        if "@" in name and name.split("@")[1] in ("api.py", "batch.py", "sales.py", "documents.py",
                                                                  "limits.py", "store.py", "jsonio.py"):
                            steps[name] += n
                    continue
                if not any(name.startswith(("SimpleWorker.execute_job@", "Relay.run@")) for name in names):
                    continue
                busy += n
                for name in names & PROFILE_STEPS:
                    steps[name] += n
            summary[path.name] = {"samples": total, "busy_samples": busy,
                                  "steps": [(name, round(100 * count / max(busy, 1), 1))
                                            for name, count in steps.most_common(16)]}
        return summary

    # --- run -------------------------------------------------------------------------------------------------
    def run(self) -> None:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        common.fresh_database(DB_NAME)
        self.start_sandbox()
        self.make_app()
        self.connect()
        self.create_customers()
        for provider in self.args.ledgers:
            self.results[provider] = {}
            for kind in ("batched", "single"):
                if kind == "single" and self.args.single_minutes <= 0:
                    continue
                if self.left() < 10:
                    self.notes.append(f"overall timeout: {provider} {kind} not run")
                    continue
                self.results[provider][kind] = self.run_phase(provider, kind)
                figures = self.results[provider][kind]
                print(f"[{provider} {kind}] {figures.get('rate', 0):.0f} invoices/ledger-min "
                      f"(ratio {figures.get('ratio', 0):.2f}), statuses {figures['statuses']}", flush=True)
            self.pause_and_drain(provider)
            self.results[provider]["ledger"] = self.duplicates(provider)


def report(bench: Bench, info: dict, elapsed: float) -> tuple[str, dict]:
    args = bench.args
    lines = ["", "=== Invoice Bridge ledger throughput (limits enforced, time scaled) ==="]
    lines.append(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, "
                 f"1-min load average at start {info['loadavg_at_start']}")
    workers = (f"EmbeddedRuntime with {args.workers} worker threads + relay in the driving process"
               if args.mode == "threads" else
               f"{args.workers} worker processes x {args.threads_per_process} thread(s) (EmbeddedRuntime each; "
               f"one relay leads)")
    lines.append(f"time scale {bench.scale:g} (1 ledger minute = {bench.minute:.2f} real s; bridge "
                 f"RATE_LIMIT_TIME_SCALE={bench.scale:g}); workers: {workers}; sandbox in its own process; "
                 f"PostgreSQL db {DB_NAME}, Redis db 15")
    lines.append(f"invoices per ledger (batched run): at least {args.invoices} and a backlog for "
                 f"{1 + args.sustain_minutes:g} ledger minutes, new, numbered, 1-3 lines, customers present "
                 f"({CUSTOMERS}); comparison: one call per invoice for {args.single_minutes:g} ledger minutes")
    verdicts = {}
    for provider, phases in bench.results.items():
        batched, single, ledger = phases.get("batched"), phases.get("single"), phases.get("ledger", {})
        lines.append(f"\n--- {provider} ---")
        if batched:
            ok_ratio = batched.get("ratio", 0) >= TARGET_RATIO and not batched["timed_out"]
            ok_failed = batched["failed_or_dead"] == 0 and not batched["timed_out"]
            ok_dupes = ledger.get("duplicate_numbers", 1) == 0
            verdicts[provider] = {"ratio": ok_ratio, "failed": ok_failed, "duplicates": ok_dupes}
            lines.append(f"invoices/min achieved : {batched.get('rate', 0):.0f} per ledger minute steady "
                         f"({batched.get('counted', 0)} in the {batched.get('ledger_minutes')} ledger min after the "
                         f"first minute, which did {batched.get('first_minute', 0)} with a fresh window; backlog "
                         f"{batched['invoices']} pushed"
                         f"{'; ran out of invoices: raise --sustain-minutes' if batched.get('all_done_early') else ''})"
                         + ("  [TIMED OUT]" if batched["timed_out"] else ""))
            lines.append(f"first {args.invoices} invoices   : all succeeded "
                         f"{batched.get('first_invoices_ledger_minutes', '?')} ledger min after the first write "
                         f"(the first minute's whole allowance included)")
            lines.append(f"physical limit        : {batched['limit_per_min']} per ledger minute "
                         f"({batched['limit_explain']})")
            lines.append(f"ratio                 : {batched.get('ratio', 0):.2f}  -> {'PASS' if ok_ratio else 'FAIL'} "
                         f"(target >= {TARGET_RATIO})")
            lines.append(f"busiest sliding minute: {batched.get('best_sliding_minute', 0)} invoices")
            lines.append(f"429s seen             : {batched['throttled_429']} "
                         f"{batched['throttled_by_kind'] or ''}".rstrip())
            lines.append(f"operations failed/dead: {batched['failed_or_dead']} (statuses {batched['statuses']}"
                         + (f"; unfinished at the cut-off, cancelled: {batched['cancelled_leftovers']}"
                            if batched.get('cancelled_leftovers') else "") + ")  -> "
                         f"{'PASS' if ok_failed else 'FAIL'} (target 0, all succeeded)")
            lines.append(f"duplicates in ledger  : {ledger.get('duplicate_numbers', '?')} "
                         f"(bench invoices in the ledger: {ledger.get('in_ledger')})  -> "
                         f"{'PASS' if ok_dupes else 'FAIL'} (target 0)")
            lines.append(f"ledger calls          : {batched['calls'].get('batch', 0)} batch calls "
                         f"({batched['batch_calls_ok']} ok), {batched['calls'].get('invoice', 0)} single invoice "
                         f"calls ({batched['single_invoice_calls_ok']} ok), other "
                         f"{ {k: v for k, v in batched['calls'].items() if k not in ('batch', 'invoice')} }; "
                         f"invoices written via batch {batched['via_batch']}, alone {batched['via_single']}")
            d = batched["diagnostics"]
            lines.append(f"engine                : batches {d['batches']}, sizes {d['batch_sizes']} (size: count), "
                         f"batch attempts {d['batch_attempts']}, "
                         f"operation attempts {d['attempts']}, median write call "
                         f"{batched.get('write_call_ms_median', '?')} ms real")
            for e in d["attempt_errors"]:
                lines.append(f"    attempt {e['outcome']} x{e['count']}: {e['error']}")
            c = batched["cpu"]
            lines.append(f"cpu                   : machine {c['machine_busy_pct']}% busy over {c['wall_s']} s; "
                         f"workers {c['workers_s']} s, sandbox {c['sandbox_s']} s CPU; intake {batched['intake_s']} s")
            lines.append("timeline (ledger min: invoices ok / batch calls / single calls / other calls / 429s): " +
                         ", ".join(f"{t['minute']}: {t['invoices']}/{t['batch']}/{t['single']}/{t['other']}/{t['429']}"
                                   for t in batched.get("timeline", [])[:12]))
        if single:
            lines.append(f"one call per invoice  : {single.get('rate', 0):.0f} per ledger minute steady "
                         f"({single.get('counted', 0)} in the {single.get('ledger_minutes')} ledger min after the first "
                         f"minute, which did {single.get('first_minute', 0)}"
                         f"{'; ran out of invoices: raise --invoices' if single.get('all_done_early') else ''}; "
                         f"limit of single "
                         f"calls {single['limit_per_min']}/min, ratio {single.get('ratio', 0):.2f}); 429s "
                         f"{single['throttled_429']}, failed/dead {single['failed_or_dead']}, calls {single['calls']}; "
                         f"cpu machine {single['cpu']['machine_busy_pct']}%")
            if batched and single.get("rate"):
                lines.append(f"batched vs one-per-call: {batched.get('rate', 0) / single['rate']:.1f}x")
    lines.append("\n--- summary ---")
    for provider, v in verdicts.items():
        lines.append(f"{provider:10s}: ratio {'PASS' if v['ratio'] else 'FAIL'}, failed 0 "
                     f"{'PASS' if v['failed'] else 'FAIL'}, duplicates 0 {'PASS' if v['duplicates'] else 'FAIL'}")
    for note in bench.notes:
        lines.append(f"note: {note}")
    lines.append(f"benchmark wall time {elapsed:.0f} s")
    return "\n".join(lines), verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=10.0, help="sandbox seconds per real second")
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4, help="worker threads (threads) or processes")
    parser.add_argument("--mode", choices=("threads", "processes"), default="threads")
    parser.add_argument("--threads-per-process", type=int, default=1)
    parser.add_argument("--ledgers", default="quickbooks,xero")
    parser.add_argument("--sustain-minutes", type=float, default=2.0,
                        help="ledger minutes of steady backlog counted after the first minute (batched run)")
    parser.add_argument("--single-minutes", type=float, default=2.0,
                        help="ledger minutes of the one-call-per-invoice comparison (0: skip)")
    parser.add_argument("--timeout", type=float, default=480, help="overall real seconds")
    parser.add_argument("--phase-timeout", type=float, default=150, help="real seconds per phase")
    parser.add_argument("--profile", action="store_true", help="py-spy the workers and the sandbox")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, profiles)")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--_role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--_file", help=argparse.SUPPRESS)
    parser.add_argument("--_threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._role == "sandbox":
        return sandbox_main(args.time_scale, args._file)
    if args._role == "worker":
        return worker_main(args._file, args._threads)
    args.ledgers = [p.strip() for p in args.ledgers.split(",") if p.strip()]
    unknown = set(args.ledgers) - set(PROVIDERS)
    if unknown:
        parser.error(f"unknown ledgers {sorted(unknown)}")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    info = machine()
    bench = Bench(args)
    failure = None
    try:
        bench.run()
    except BaseException as exc:  # noqa: BLE001 -- Ctrl-C or a failure: report what was measured, clean up
        failure = exc
        bench.notes.append(f"aborted: {exc.__class__.__name__}: {exc}")
        traceback.print_exc()
    finally:
        bench.shutdown()
        try:
            common.drop_database(DB_NAME)
        except Exception as exc:  # noqa: BLE001
            bench.notes.append(f"could not drop {DB_NAME}: {exc}")
    elapsed = time.monotonic() - bench.started
    text, verdicts = report(bench, info, elapsed)
    print(text)
    profile = bench.profile_summary() if args.profile else {}
    if profile:
        print("\n--- profile (py-spy, 50 Hz) ---")
        for name, data in profile.items():
            print(f"{name}: {data['samples']} samples, {data['busy_samples']} busy (in a job / the relay / a "
                  f"request); inclusive share of busy: " + ", ".join(f"{step} {pct}%" for step, pct in data["steps"]))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "machine": info, "time_scale": bench.scale, "workers": args.workers, "mode": args.mode,
            "threads_per_process": args.threads_per_process, "invoices": args.invoices,
            "single_minutes": args.single_minutes, "results": bench.results, "verdicts": verdicts,
            "notes": bench.notes, "elapsed_s": elapsed, "profile": profile}, indent=2, default=str))
    if args.keep or args.profile:
        print(f"logs and profiles kept in {bench.tmp}")
    else:
        import shutil

        shutil.rmtree(bench.tmp, ignore_errors=True)
    if failure is not None and not isinstance(failure, SystemExit):
        sys.exit(1)


if __name__ == "__main__":
    main()

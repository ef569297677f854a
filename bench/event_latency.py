"""Latency of ledger events: a payment in a sandbox ledger -> signed webhook -> bridge -> REST hook delivery.

Not a test: it prints figures. Everything runs as in production, on loopback: the sandbox in its own process
(limits on, FreshBooks' hidden one at --freshbooks-per-minute, time unscaled, webhooks sent immediately as
the QuickBooks sandbox and FreshBooks do), the Procfile's web command (gunicorn) receiving the ledger webhooks, `bridge worker` processes (relay, inbound
jobs, change reads, hook deliveries) and a local receiver subscribed to `invoice.paid` through POST /v1/hooks.
PostgreSQL database bench_events, Redis db 12.

  webhooks  --payments payments (default 1,000) recorded by "users" in the QuickBooks and FreshBooks
            sandboxes at a steady --rate per second (default 50), each paying one invoice in full. Printed:
            p50/p99 from the webhook's arrival at the bridge to the hook delivery, and from the payment in
            the sandbox to the delivery; events per second; events lost or delivered twice.
  polling   Xero sends no payment webhooks: --xero-payments payments in the Xero sandbox, found by the
            polling fallback every --poll-seconds; printed: payment -> delivery latency.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_url, free_port, fresh_database, machine  # noqa: E402

DB_NAME = "bench_events"
DATABASE_URL = database_url(DB_NAME)
REDIS_URL = "redis://127.0.0.1:6379/12"
WEBHOOK_LEDGERS = ("quickbooks", "freshbooks")
UK_MAPPING = {"tax_categories": {"standard": "OUTPUT2", "zero": "ZERORATEDOUTPUT"},
              "defaults": {"income_account": "200", "payment_account": "090", "tax_code": "NONE"}}
AMOUNT = "100.00"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))]


def sandbox_main(port_file: str) -> None:
    """Serve the three emulators until SIGTERM."""
    from werkzeug.serving import make_server

    from bridge.sandbox import create_sandbox_app

    app = create_sandbox_app({})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    Path(port_file).write_text(str(server.server_port))
    server.serve_forever()


class Receiver:
    """The subscriber's endpoint: records each delivery's arrival time and event."""

    def __init__(self):
        self.deliveries: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                with receiver.lock:
                    receiver.deliveries.append((arrived, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, name: str) -> list[tuple[float, dict]]:
        with self.lock:
            return [(t, e) for t, e in self.deliveries if e.get("event") == name]


class Bench:
    """Processes, connections, invoices, then the two phases."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-events-"))
        self.procs: list[subprocess.Popen] = []
        self.web_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.web_port}"

    # --- processes ---------------------------------------------------------------------------------
    def spawn(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_sandbox(self) -> None:
        port_file = self.tmp / "sandbox.port"
        proc = self.spawn("sandbox", [sys.executable, __file__, "--_role", "sandbox", "--_file", str(port_file)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if port_file.exists() and port_file.read_text():
                self.sandbox_url = f"http://127.0.0.1:{int(port_file.read_text())}"
                self.sandbox_port = int(port_file.read_text())
                return
            time.sleep(0.05)
        raise SystemExit("sandbox did not start:\n" + (self.tmp / "sandbox.log").read_text()[-3000:])

    def environment(self) -> dict:
        from bridge.sandbox import env_lines

        from cryptography.fernet import Fernet

        self.settings = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                         "SECRET_KEY": Fernet.generate_key().decode(), "INSTANCE_PATH": str(self.tmp / "instance"),
                         "PUBLIC_URL": self.public_url, "ALLOW_PRIVATE_TARGETS": "1",
                         "POLL_SECONDS": str(self.args.poll_seconds),
                         **{k.removeprefix("BRIDGE_"): v for k, v in
                            (line.split("=", 1) for line in env_lines(self.sandbox_port))}}
        return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                "HOST": "127.0.0.1", "PORT": str(self.web_port), "WEB_CONCURRENCY": str(self.args.web_workers),
                **{f"BRIDGE_{k}": v for k, v in self.settings.items()}}

    def start_bridge(self) -> None:
        import requests

        env = self.environment()
        web = next(row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:"))
        worker = next(row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("worker:"))
        self.spawn("web", ["bash", "-c", web.split(":", 1)[1].strip()], env)
        for index in range(self.args.workers):
            self.spawn(f"worker-{index}", ["bash", "-c", worker.split(":", 1)[1].strip()], env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.public_url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("web process did not come up:\n" + (self.tmp / "web.log").read_text()[-3000:])

    def shutdown(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    # --- the bridge, through its API -----------------------------------------------------------------
    def control(self, provider: str, path: str, method: str = "POST", **kwargs):
        import requests

        answer = requests.request(method, f"{self.sandbox_url}/_sandbox/{provider}/{path}", timeout=30, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def api(self, method: str, path: str, **kwargs):
        import requests

        answer = requests.request(method, f"{self.public_url}{path}", headers=self.headers, timeout=30, **kwargs)
        assert answer.status_code < 300, (path, answer.status_code, answer.text[:500])
        return answer.json() if answer.content else None

    def connect(self) -> None:
        """An account, a key, and connections through the real OAuth redirects."""
        import requests

        from bridge import create_app
        from bridge.api.keys.routes import create_key
        from bridge.cli import ensure_account
        from bridge.sandbox.xero import UK_TENANT_ID

        app = create_app(self.settings)
        with app.app_context():
            self.key = create_key(ensure_account("bench").id)[1]
        app.extensions["bridge.engine"].dispose()
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.connections = {}
        for provider in (*WEBHOOK_LEDGERS, "xero"):
            body = {"provider": provider, **({"tenant": UK_TENANT_ID} if provider == "xero" else {})}
            started = self.api("POST", "/v1/connections", json=body)
            approval = requests.get(started["authorize_url"], allow_redirects=False, timeout=10)
            assert approval.status_code == 302, approval.text
            finished = requests.get(approval.headers["Location"], allow_redirects=False, timeout=30)
            assert finished.status_code == 302, finished.text
            if provider == "xero":
                self.api("PUT", f"/v1/connections/{started['id']}/mapping", json=UK_MAPPING)
            assert self.api("GET", f"/v1/connections/{started['id']}")["status"] == "active"
            self.connections[provider] = started["id"]

    def invoice(self, provider: str, n: int) -> dict:
        currency = {"quickbooks": "USD", "freshbooks": "CAD", "xero": "GBP"}[provider]
        return {"external_id": f"{provider[:2]}-{n}", "number": f"{provider[:2].upper()}-{n}",
                "customer": {"external_id": f"cus-{n % 10}", "name": f"Bench Customer {n % 10}",
                             "email": f"ap{n % 10}@bench.example"},
                "issue_date": "2026-11-01", "due_date": "2026-12-01", "currency": currency, "status": "open",
                "lines": [{"description": "Service", "quantity": "1", "unit_price": AMOUNT}]}

    def push_invoices(self, counts: dict[str, int]) -> None:
        """Write the invoices through the bridge (sandbox limits off for the set-up) and wait for them."""
        for provider in self.connections:
            self.control(provider, "config", json={"limits": {"enabled": False}})
        ids = []
        for provider, count in counts.items():
            for n in range(1, count + 1):
                ids.append(self.api("POST", f"/v1/connections/{self.connections[provider]}/invoices",
                                    json=self.invoice(provider, n))["id"])
        deadline = time.monotonic() + self.args.setup_timeout
        pending = set(ids)
        while pending and time.monotonic() < deadline:
            time.sleep(1)
            for op_id in list(pending)[:200]:
                status = self.api("GET", f"/v1/syncs/{op_id}")["status"]
                if status == "succeeded":
                    pending.discard(op_id)
                elif status in ("failed", "dead"):
                    raise SystemExit(f"set-up invoice {op_id} {status}")
        if pending:
            raise SystemExit(f"{len(pending)} set-up invoices not written in {self.args.setup_timeout}s")
        for provider in self.connections:
            limits = {"enabled": True}
            if provider == "freshbooks":  # its limit is unpublished: the sandbox's figure is invented
                limits = {"enabled": self.args.freshbooks_per_minute > 0,
                          "per_minute": max(1, self.args.freshbooks_per_minute)}
            self.control(provider, "config", json={"limits": limits})
        import redis

        rates = redis.Redis.from_url(REDIS_URL)  # the set-up ran with the sandbox's limits off: the bridge's
        for key in rates.scan_iter("bridge:rate:*"):  # windows start afresh too, as the sandbox's do
            rates.delete(key)

    def ledger_invoice_ids(self, provider: str) -> dict[str, str]:
        """Invoice number -> ledger id, as the sandbox holds them."""
        ledger = self.control(provider, "ledger", "GET")
        if provider == "quickbooks":
            from bridge.sandbox.quickbooks import US_REALM_ID

            return {row["DocNumber"]: row["Id"] for row in ledger["realms"][US_REALM_ID]["invoices"]}
        if provider == "freshbooks":
            business = next(iter(ledger["businesses"].values()))
            return {row["invoice_number"]: str(row.get("invoiceid", row.get("id"))) for row in business["invoices"]}
        from bridge.sandbox.xero import UK_TENANT_ID

        return {row["InvoiceNumber"]: row["InvoiceID"] for row in ledger["tenants"][UK_TENANT_ID]["invoices"]}

    def tenant(self, provider: str) -> str:
        from bridge.sandbox.quickbooks import US_REALM_ID
        from bridge.sandbox.xero import UK_TENANT_ID

        if provider == "quickbooks":
            return US_REALM_ID
        if provider == "xero":
            return UK_TENANT_ID
        return self.control("freshbooks", "tenants", "GET")[0]["account_id"]

    def pay(self, plan: list[tuple[str, str, str]], rate: float) -> dict[str, float]:
        """Record each (provider, tenant, invoice number) payment at a steady rate; invoice number -> time."""
        import requests

        session = requests.Session()
        paid: dict[str, float] = {}
        start = time.monotonic()
        for index, (provider, tenant, number) in enumerate(plan):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = "doc_number" if provider == "quickbooks" else "invoice_number"
            paid[number] = time.time()
            answer = session.post(f"{self.sandbox_url}/_sandbox/{provider}/{tenant}/payments",
                                  json={key: number, "amount": AMOUNT}, timeout=30)
            answer.raise_for_status()
        self.pay_seconds = time.monotonic() - start
        return paid

    # --- phases --------------------------------------------------------------------------------------
    def arrivals(self) -> dict[tuple[str, str], list[float]]:
        """(connection, ledger id) -> when each webhook naming it reached the bridge, in order."""
        import sqlalchemy as sa

        engine = sa.create_engine(DATABASE_URL)
        seen: dict[tuple[str, str], list[float]] = {}
        with engine.connect() as conn:
            for connection_id, notices, received in conn.execute(sa.text(
                    "SELECT connection_id, notices, received_at FROM inbound_notices ORDER BY received_at")):
                for notice in notices:
                    key = (connection_id, str(notice.get("ledger_id")))
                    seen.setdefault(key, []).append(received.timestamp())
        engine.dispose()
        return seen

    def wait_for_deliveries(self, expected: int, started: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.receiver.events("invoice.paid")) - started < expected:
            time.sleep(0.2)
        time.sleep(2)  # late duplicates would arrive now

    def webhook_phase(self, numbers: dict[str, list[str]]) -> dict:
        ids = {p: self.ledger_invoice_ids(p) for p in WEBHOOK_LEDGERS}
        tenants = {p: self.tenant(p) for p in WEBHOOK_LEDGERS}
        plan = []
        for index in range(self.args.payments):
            provider = WEBHOOK_LEDGERS[index % len(WEBHOOK_LEDGERS)]
            plan.append((provider, tenants[provider], numbers[provider][index // len(WEBHOOK_LEDGERS)]))
        before = len(self.receiver.events("invoice.paid"))
        paid = self.pay(plan, self.args.rate)
        self.wait_for_deliveries(len(plan), before, self.args.drain_timeout)
        arrivals = self.arrivals()
        by_invoice: dict[tuple[str, str], list[float]] = {}
        for arrived, event in self.receiver.events("invoice.paid")[before:]:
            key = (event["connection_id"], str(event["data"].get("ledger_id")))
            by_invoice.setdefault(key, []).append(arrived)
        wanted = {(self.connections[p], ids[p][number]): (p, paid[number]) for p, _, number in plan}
        from_webhook, from_payment = [], []
        per_ledger = {p: {"webhook_to_delivery": [], "payment_to_delivery": []} for p in WEBHOOK_LEDGERS}
        for key, (provider, paid_at) in wanted.items():
            if key in by_invoice:
                delivered = by_invoice[key][0]
                from_payment.append(delivered - paid_at)
                per_ledger[provider]["payment_to_delivery"].append(delivered - paid_at)
                after = [t for t in arrivals.get(key, ()) if t >= paid_at]  # the webhook this payment fired
                if after:
                    from_webhook.append(delivered - after[0])
                    per_ledger[provider]["webhook_to_delivery"].append(delivered - after[0])
        deliveries = [t for times in by_invoice.values() for t in times]
        span = (max(deliveries) - min(deliveries)) if len(deliveries) > 1 else 0.0
        return {"payments": len(plan), "rate_sent": len(plan) / self.pay_seconds,
                "delivered": sum(1 for key in wanted if key in by_invoice),
                "lost": sum(1 for key in wanted if key not in by_invoice),
                "twice": sum(len(times) - 1 for times in by_invoice.values()),
                "unexpected": sum(1 for key in by_invoice if key not in wanted),
                "webhook_to_delivery": from_webhook, "payment_to_delivery": from_payment, "per_ledger": per_ledger,
                "events_per_second": len(deliveries) / span if span else 0.0}

    def polling_phase(self, numbers: list[str]) -> dict:
        import sqlalchemy as sa

        engine = sa.create_engine(DATABASE_URL)
        deadline = time.monotonic() + self.args.poll_seconds * 3 + 30
        while time.monotonic() < deadline:  # the first poll only sets the checkpoint
            with engine.connect() as conn:
                ready = conn.execute(sa.text("SELECT checkpoint FROM change_checkpoints WHERE connection_id = :c"),
                                     {"c": self.connections["xero"]}).scalar()
            if ready:
                break
            time.sleep(0.5)
        engine.dispose()
        ids = self.ledger_invoice_ids("xero")
        tenant = self.tenant("xero")
        before = len(self.receiver.events("invoice.paid"))
        spacing = self.args.poll_seconds / max(1, len(numbers))  # spread over one poll interval
        paid = self.pay([("xero", tenant, number) for number in numbers], 1 / spacing)
        self.wait_for_deliveries(len(numbers), before, self.args.poll_seconds * 2 + 60)
        delivered = {}
        for arrived, event in self.receiver.events("invoice.paid")[before:]:
            if event["connection_id"] == self.connections["xero"]:
                delivered.setdefault(str(event["data"].get("ledger_id")), []).append(arrived)
        latencies = [delivered[ids[n]][0] - paid[n] for n in numbers if ids[n] in delivered]
        return {"payments": len(numbers), "delivered": len(latencies), "lost": len(numbers) - len(latencies),
                "twice": sum(len(times) - 1 for times in delivered.values()), "latency": latencies}

    def run(self) -> dict:
        fresh_database(DB_NAME)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        self.start_sandbox()
        self.environment()
        self.start_bridge()
        self.connect()
        self.receiver = Receiver()
        self.api("POST", "/v1/hooks", json={"target_url": self.receiver.url, "event": "invoice.paid"})
        per_ledger = -(-self.args.payments // len(WEBHOOK_LEDGERS))
        self.push_invoices({**{p: per_ledger for p in WEBHOOK_LEDGERS}, "xero": self.args.xero_payments})
        self.control("quickbooks", "config", json={"webhook_target": f"{self.public_url}/webhooks/quickbooks"})
        self.wait_freshbooks_callbacks()
        numbers = {p: [f"{p[:2].upper()}-{n}" for n in range(1, per_ledger + 1)] for p in WEBHOOK_LEDGERS}
        webhooks = self.webhook_phase(numbers)
        polling = self.polling_phase([f"XE-{n}" for n in range(1, self.args.xero_payments + 1)])
        return {"webhooks": webhooks, "polling": polling}

    def wait_freshbooks_callbacks(self) -> None:
        """FreshBooks callbacks are registered and verified by the bridge when the connection activates."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = self.control("freshbooks", "webhooks", "GET")
            callbacks = view.get("callbacks") or []
            if callbacks and all(c.get("verified") for c in callbacks):
                return
            time.sleep(0.5)
        raise SystemExit("FreshBooks callbacks were not verified: " + json.dumps(view)[:2000])


def seconds(values: list[float], share: float) -> str:
    return f"{percentile(values, share) * 1000:.0f} ms" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="payments per second")
    parser.add_argument("--xero-payments", type=int, default=20)
    parser.add_argument("--poll-seconds", type=int, default=60, help="BRIDGE_POLL_SECONDS for the run")
    parser.add_argument("--freshbooks-per-minute", type=int, default=60,
                        help="the FreshBooks sandbox's hidden per-account limit (unpublished; 0: off)")
    parser.add_argument("--workers", type=int, default=2, help="`bridge worker` processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--setup-timeout", type=float, default=600)
    parser.add_argument("--drain-timeout", type=float, default=120)
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--_role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--_file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._role == "sandbox":
        sandbox_main(args._file)
        return
    bench = Bench(args)
    started = time.monotonic()
    try:
        figures = bench.run()
    finally:
        bench.shutdown()
    hooks, poll = figures["webhooks"], figures["polling"]
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB; {datetime.now().isoformat(timespec='seconds')}; "
          f"{args.workers} worker processes, {args.web_workers} gunicorn workers; logs in {bench.tmp}")
    print(f"webhooks: {hooks['payments']} payments at {hooks['rate_sent']:.1f}/s in QuickBooks + FreshBooks "
          f"(FreshBooks hidden limit: {f'{args.freshbooks_per_minute}/min' if args.freshbooks_per_minute else 'off'})")
    print(f"  webhook arrival -> hook delivery: p50 {seconds(hooks['webhook_to_delivery'], 0.5)}, "
          f"p99 {seconds(hooks['webhook_to_delivery'], 0.99)}, max {seconds(hooks['webhook_to_delivery'], 1.0)} "
          f"(target p99 <= 1000 ms)")
    print(f"  payment in sandbox -> hook delivery: p50 {seconds(hooks['payment_to_delivery'], 0.5)}, "
          f"p99 {seconds(hooks['payment_to_delivery'], 0.99)}")
    for provider, figures_ in hooks["per_ledger"].items():
        print(f"  {provider}: webhook arrival -> delivery p50 {seconds(figures_['webhook_to_delivery'], 0.5)}, "
              f"p99 {seconds(figures_['webhook_to_delivery'], 0.99)}; payment -> delivery "
              f"p50 {seconds(figures_['payment_to_delivery'], 0.5)}, p99 {seconds(figures_['payment_to_delivery'], 0.99)}")
    print(f"  delivered {hooks['delivered']}, lost {hooks['lost']}, delivered twice {hooks['twice']}, "
          f"unexpected {hooks['unexpected']}; {hooks['events_per_second']:.1f} events/s")
    print(f"polling (Xero, every {args.poll_seconds} s): {poll['payments']} payments, delivered {poll['delivered']}, "
          f"lost {poll['lost']}, twice {poll['twice']}; payment -> delivery p50 {seconds(poll['latency'], 0.5)}, "
          f"p99 {seconds(poll['latency'], 0.99)}, max {seconds(poll['latency'], 1.0)}")
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

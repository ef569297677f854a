"""`bridge demo`: the bridge on its embedded defaults, the sandbox, a connection and three invoices."""

from __future__ import annotations

import logging
import threading
import time

import click
import requests
from werkzeug.serving import make_server

from bridge import create_app

SAMPLES = [
    {"external_id": "demo-1001", "number": "DEMO-1001", "issue_date": "2026-01-15", "due_date": "2026-02-14",
     "currency": "USD", "customer": {"external_id": "demo-cus-1", "name": "Acme Ltd", "email": "ap@acme.example"},
     "lines": [{"description": "Consulting, January", "quantity": "12", "unit_price": "150.00"},
               {"description": "Travel", "quantity": "1", "unit_price": "86.40"}],
     "payments": [{"external_id": "demo-pay-1", "amount": "1886.40", "date": "2026-01-20", "reference": "CHK-1042"}]},
    {"external_id": "demo-1002", "number": "DEMO-1002", "issue_date": "2026-01-16", "currency": "USD",
     "customer": {"external_id": "demo-cus-2", "name": "Globex Corporation", "email": "billing@globex.example"},
     "lines": [{"description": "Support plan", "quantity": "1", "unit_price": "499.00"}]},
    {"external_id": "demo-1003", "number": "DEMO-1003", "issue_date": "2026-01-17", "currency": "USD",
     "customer": {"external_id": "demo-cus-1"},
     "lines": [{"description": "Workshop seats", "quantity": "3", "unit_price": "75.5"},
               {"description": "Early-bird discount", "quantity": "1", "unit_price": "-26.50"}]},
]


def _wait(session: requests.Session, base: str, operation_id: str, timeout: float = 30) -> dict:
    """Poll the sync log until the operation is finished."""
    deadline = time.monotonic() + timeout
    while True:
        op = session.get(f"{base}/v1/syncs/{operation_id}", timeout=10).json()
        if op["status"] in ("succeeded", "failed", "dead") or time.monotonic() > deadline:
            return op
        time.sleep(0.2)


def run_demo(port: int, sandbox_port: int) -> int:
    """Run the demo; returns an exit code after Ctrl-C."""
    from bridge.cli import ensure_account, upgrade_database
    from bridge.api.keys.routes import create_key
    from bridge.sandbox import env_lines, serve as serve_sandbox
    from bridge.sync.worker import EmbeddedRuntime

    for noisy in ("werkzeug", "rq.scheduler", "rq.worker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sandbox = serve_sandbox(host="127.0.0.1", port=sandbox_port)
    sandbox_settings = dict(line.split("=", 1) for line in env_lines(sandbox.port))
    base = f"http://127.0.0.1:{port}"
    app = create_app({**{k.removeprefix("BRIDGE_"): v for k, v in sandbox_settings.items()}, "PUBLIC_URL": base})
    upgrade_database(app)
    runtime = EmbeddedRuntime(app, workers=2).start()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    click.echo(f"bridge  {base}  (embedded: SQLite in {app.instance_path}, in-process queue)")
    click.echo(f"sandbox http://127.0.0.1:{sandbox.port}  (QuickBooks Online emulator)")

    with app.app_context():
        account = ensure_account("demo")
        _, key = create_key(account.id, "bridge demo")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"

    started = session.post(f"{base}/v1/connections", json={"provider": "quickbooks"}, timeout=10).json()
    landed = session.get(started["authorize_url"], timeout=30)  # sandbox approves, then the bridge callback
    connection = session.get(f"{base}/v1/connections/{started['id']}", timeout=10).json()
    click.echo(f"\nconnected QuickBooks through OAuth: {connection['tenant_name']} (realm {connection['tenant_id']}), "
               f"connection {connection['id']} is {connection['status']}; the browser landed on {landed.url}")

    click.echo("\npushing three invoices (the first with its payment):")
    failures = 0
    for invoice in SAMPLES:
        op = session.post(f"{base}/v1/connections/{connection['id']}/invoices", json=invoice, timeout=10).json()
        for operation_id in [op["id"]] + [r["id"] for r in op["related"]]:
            done = _wait(session, base, operation_id)
            failures += done["status"] != "succeeded"
            detail = f"ledger id {done['ledger_id']}" if done["status"] == "succeeded" else done["errors"]
            click.echo(f"  {done['object']:<8} {done['external_id']:<12} {done['status']:<10} {detail}")
        read_back = session.get(f"{base}/v1/connections/{connection['id']}/invoices/{invoice['external_id']}",
                                timeout=10).json()
        click.echo(f"  -> in QuickBooks: {read_back['number']} total {read_back['totals']['total']} "
                   f"balance {read_back['balance']} status {read_back['status']}")

    click.echo(f"""
where to look:
  API key (account "demo"):  {key}
  API docs:                  {base}/docs
  sync log:                  curl -H 'Authorization: Bearer {key}' {base}/v1/syncs
  what QuickBooks holds:     curl http://127.0.0.1:{sandbox.port}/_sandbox/quickbooks/ledger
serving until Ctrl-C""")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        runtime.stop()
        sandbox.shutdown()
    return 1 if failures else 0

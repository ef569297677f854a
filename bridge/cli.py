"""The `bridge` command."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
from pathlib import Path

import click
import sqlalchemy as sa
import yaml

from bridge import create_app

log = logging.getLogger("bridge")


def _app(**config):
    """The app from the environment."""
    return create_app(config or None)


def upgrade_database(app) -> None:
    """Bring the database schema to the latest migration."""
    from bridge.store import database_url
    from bridge.store.migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(database_url(app))


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def main(log_level: str) -> None:
    """Invoice Bridge: push invoices into QuickBooks Online, Xero and FreshBooks."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Worker threads (embedded mode).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API; without BRIDGE_REDIS_URL the jobs run in this process too."""
    from werkzeug.serving import make_server

    from bridge.sync import queue
    from bridge.sync.worker import EmbeddedRuntime

    app = _app()
    upgrade_database(app)
    runtime = None
    if queue.is_embedded(app):
        click.echo(f"embedded mode: in-process queue with {workers} worker threads "
                   "(set BRIDGE_REDIS_URL and run `bridge worker` in production)")
        runtime = EmbeddedRuntime(app, workers=workers).start()
    server = make_server(host, port, app, threaded=True)
    click.echo(f"Invoice Bridge on http://{host}:{server.server_port} (docs at /docs)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if runtime:
            runtime.stop()


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(min=1),
              help="Jobs run at once: this many RQ workers in the process (ledger reads and hook deliveries "
                   "mostly wait on the network).")
def worker(burst: bool, threads: int) -> None:
    """Run RQ workers (one with RQ's scheduler) and the outbox relay."""
    from bridge.sync import queue
    from bridge.sync.relay import Relay
    from bridge.sync.worker import ThreadWorkers, make_worker

    app = _app()
    if queue.is_embedded(app):
        raise click.ClickException("bridge worker needs BRIDGE_REDIS_URL; without it, `bridge serve` runs "
                                   "the jobs in its own process.")
    from bridge.sync.reconcile_schedule import start_ticking

    relay = Relay(app)
    threading.Thread(target=relay.run, name="relay", daemon=True).start()
    start_ticking(app)
    pool = ThreadWorkers(app, 0 if burst else threads - 1).start()
    try:
        make_worker(app).work(with_scheduler=True, burst=burst)
    finally:
        relay.stop()
        pool.stop(timeout=20)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    upgrade_database(_app())
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--account", "account_name", required=True, help="Account name (created if new).")
@click.option("--name", default=None, help="A label for the key.")
def keys_create(account_name: str, name: str | None) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from bridge import store
    from bridge.api.keys.routes import create_key

    app = _app()
    upgrade_database(app)
    with app.app_context():
        account = ensure_account(account_name)
        row, key = create_key(account.id, name)
        click.echo(f"account {account.id} ({account.name}), key {row.id}")
        click.echo(key)
        store.session().close()


def ensure_account(name: str):
    """The account of that name, created when new."""
    from bridge import store
    from bridge.store.models import Account

    db_session = store.session()
    account = db_session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()
    if account is None:
        account = Account(id="acc_" + secrets.token_hex(8), name=name)
        db_session.add(account)
        db_session.commit()
    return account


def openapi_document(app) -> dict:
    """The OpenAPI document generated from the code."""
    with app.app_context():
        return app.extensions["bridge.api"].spec.to_dict()


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (shared lists are written out each time)."""

    def ignore_aliases(self, data):
        """Never alias."""
        return True


def openapi_yaml(app) -> str:
    """openapi.yaml's exact text."""
    return yaml.dump(openapi_document(app), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100)


@main.command()
@click.option("--output", default="openapi.yaml", show_default=True, type=click.Path(dir_okay=False))
def openapi(output: str) -> None:
    """Write openapi.yaml from the code."""
    app = _app(DATABASE_URL="sqlite://", SECRET_KEY=_throwaway_key())
    Path(output).write_text(openapi_yaml(app))
    click.echo(f"wrote {output}")


def _throwaway_key() -> str:
    """A Fernet key for commands that never store a secret."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@main.group()
def jobs() -> None:
    """Queued jobs: the operations behind them."""


@jobs.command("list")
@click.option("--status", default=None, help="queued, running, retrying, succeeded, failed or dead")
@click.option("--limit", default=50, show_default=True)
def jobs_list(status: str | None, limit: int) -> None:
    """List operations, newest first."""
    from bridge import store
    from bridge.store.models import Operation

    app = _app()
    with app.app_context():
        query = sa.select(Operation).order_by(Operation.seq.desc()).limit(limit)
        if status:
            query = query.where(Operation.status == status)
        for op in store.session().execute(query).scalars():
            error = (op.errors or [{}])[0].get("message", "") if op.errors else ""
            click.echo(f"{op.id}  {op.status:<9} {op.object:<11} {op.action:<6} {op.external_id:<24} "
                       f"attempts={op.attempts} {error}")


@jobs.command("retry")
@click.argument("operation_ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed and dead operation.")
def jobs_retry(operation_ids: tuple[str, ...], all_failed: bool) -> None:
    """Put failed or dead operations back in the queue."""
    from bridge import store
    from bridge.store.models import Operation
    from bridge.sync.operations import retry

    app = _app()
    with app.app_context():
        query = sa.select(Operation)
        query = query.where(Operation.status.in_(("failed", "dead"))) if all_failed else query.where(
            Operation.id.in_(operation_ids))
        count = 0
        for op in store.session().execute(query).scalars().all():
            retry(op)
            count += 1
        click.echo(f"requeued {count} operation(s)")


@main.group("sync")
def sync_group() -> None:
    """Bulk work on the sync outbox."""


@sync_group.command("backfill")
@click.option("--connection", "connection_id", required=True, help="The connection to send the invoices to.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sync_backfill(connection_id: str, file: Path) -> None:
    """Queue historical invoices from FILE (.csv, one row per line, or .json, a list of invoices).

    Each invoice is validated like the API's and queued once: running it again (after Ctrl-C, say)
    skips what is already queued.
    """
    from bridge import store
    from bridge.store.models import Connection
    from bridge.sync import backfill, queue

    app = _app()
    with app.app_context():
        connection = store.session().get(Connection, connection_id)
        if connection is None or connection.status == "disconnected":
            raise click.BadParameter(f"no usable connection {connection_id!r}", param_hint="--connection")
        try:
            invoices = backfill.read_file(file)
        except (backfill.BadFile, UnicodeDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="FILE") from None
        summary = backfill.Summary()
        try:
            with click.progressbar(backfill.backfill(connection, invoices), length=len(invoices),
                                   label=f"backfilling {len(invoices)} invoice(s)", file=sys.stderr) as bar:
                for label, outcome, field_errors in bar:
                    if outcome == "invalid":
                        summary.invalid.append((label, field_errors))
                    else:
                        getattr(summary, outcome).append(label)
        finally:
            if summary.queued:
                queue.wake_relay(app)
            click.echo(f"queued {len(summary.queued)}, skipped {len(summary.skipped)} (already queued), "
                       f"invalid {len(summary.invalid)}")
            for label, field_errors in summary.invalid:
                for error in field_errors:
                    click.echo(f"  {label}: {error['field']}: {error['message']}")
    if summary.invalid:
        sys.exit(1)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--connection", "connection_id", default=None, help="Only this connection's invoices.")
@click.option("--account", "account_name", default=None, help="Only this account's invoices (default: every account).")
@click.option("--output", default=None, type=click.Path(dir_okay=False),
              help="File to write (default: invoices-export-<date>.<format>; - for stdout, csv only).")
def export_invoices(fmt: str, connection_id: str | None, account_name: str | None, output: str | None) -> None:
    """Export invoices with their sync status and ledger ids."""
    from bridge import store
    from bridge.store.models import Account
    from bridge.sync import exports

    app = _app()
    with app.app_context():
        db_session = store.session()
        account_id = None
        if account_name:
            account = db_session.execute(sa.select(Account).where(Account.name == account_name)).scalar_one_or_none()
            if account is None:
                raise click.BadParameter(f"no account named {account_name!r}", param_hint="--account")
            account_id = account.id
        rows = exports.invoice_rows(db_session, exports.Filters(account_id=account_id, connection_id=connection_id))
    output = output or exports.file_name(fmt)
    if output == "-" and fmt == "xlsx":
        raise click.BadParameter("xlsx cannot go to stdout", param_hint="--output")
    with click.progressbar(rows, label=f"exporting {len(rows)} invoice(s)", file=sys.stderr) as bar:
        if fmt == "csv":
            handle = click.get_text_stream("stdout") if output == "-" else open(output, "w", encoding="utf-8",
                                                                                newline="")
            try:
                for chunk in exports.csv_chunks(bar, every=50):
                    handle.write(chunk)
            finally:
                if output != "-":
                    handle.close()
        else:
            Path(output).write_bytes(exports.xlsx_bytes(bar))
    click.echo(f"wrote {len(rows)} invoice(s) to {output}", err=output == "-")


@main.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.pass_context
def sandbox(ctx, host: str, port: int) -> None:
    """Serve the ledger emulators (QuickBooks Online under /quickbooks)."""
    if ctx.invoked_subcommand is not None:
        return
    from bridge.sandbox import serve as serve_sandbox

    server = serve_sandbox(host=host, port=port)
    click.echo(f"sandbox on http://{host}:{server.port}; `bridge sandbox env --port {server.port}` prints the settings")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


@sandbox.command("env")
@click.option("--port", default=5001, show_default=True, type=int)
def sandbox_env(port: int) -> None:
    """Print the BRIDGE_* lines that point the bridge at the sandbox."""
    from bridge.sandbox import env_lines

    for line in env_lines(port):
        click.echo(line)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--sandbox-port", default=5001, show_default=True, type=int)
def demo(port: int, sandbox_port: int) -> None:
    """Run the bridge and the sandbox, connect QuickBooks, push three invoices, keep serving."""
    from bridge.demo import run_demo

    sys.exit(run_demo(port, sandbox_port))


if __name__ == "__main__":  # pragma: no cover
    main()

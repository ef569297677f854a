"""Local emulators of the ledgers' APIs and OAuth (QuickBooks Online today; Xero and FreshBooks beside it).

Nothing here imports the rest of `bridge`: the emulators are written from the ledgers' documentation
(`research/ledger-api-facts.md`), not from our adapters.
"""

from __future__ import annotations

import importlib
import threading

from flask import Flask
from werkzeug.serving import make_server

from . import control, jsonio
from .quickbooks import oauth as quickbooks_oauth
from .quickbooks.emulator import WEBHOOK_KEY as _QUICKBOOKS_WEBHOOK_KEY

QUICKBOOKS_CLIENT_ID = quickbooks_oauth.CLIENT_ID
QUICKBOOKS_CLIENT_SECRET = quickbooks_oauth.CLIENT_SECRET
QUICKBOOKS_WEBHOOK_KEY = _QUICKBOOKS_WEBHOOK_KEY
QUICKBOOKS_AUTHORIZE_PATH = "/quickbooks" + quickbooks_oauth.AUTHORIZE_PATH
QUICKBOOKS_TOKEN_PATH = "/quickbooks" + quickbooks_oauth.TOKEN_PATH
QUICKBOOKS_REVOKE_PATH = "/quickbooks" + quickbooks_oauth.REVOKE_PATH
QUICKBOOKS_API_PATH = "/quickbooks"  # the bridge appends /v3/company/<realm>/...
PROVIDERS = ("quickbooks", "xero", "freshbooks")
"""Emulator packages under bridge.sandbox; each exposes `Emulator`, `create_blueprint()` and `env_lines(base)`."""
DEFAULT_HOST = "127.0.0.1"

__all__ = ["DEFAULT_HOST", "QUICKBOOKS_API_PATH", "QUICKBOOKS_AUTHORIZE_PATH", "QUICKBOOKS_CLIENT_ID",
           "QUICKBOOKS_CLIENT_SECRET", "QUICKBOOKS_REVOKE_PATH", "QUICKBOOKS_TOKEN_PATH",
           "QUICKBOOKS_WEBHOOK_KEY", "SandboxServer", "create_sandbox_app", "env_lines", "serve"]


def _provider_config(config: dict, provider: str) -> dict:
    """Top-level settings apply to every emulator; a provider's own section overrides them."""
    shared = {key: value for key, value in config.items() if key not in PROVIDERS}
    return {**shared, **(config.get(provider) or {})}


def create_sandbox_app(config: dict | None = None, providers: tuple[str, ...] = PROVIDERS) -> Flask:
    """The sandbox Flask app serving the emulators plus the /_sandbox control routes."""
    config = dict(config or {})
    app = Flask(__name__, static_folder=None)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["sandbox"] = {"providers": {}}
    for name in providers:
        package = importlib.import_module(f"{__name__}.{name}")
        app.extensions["sandbox"]["providers"][name] = package.Emulator(_provider_config(config, name))
        app.register_blueprint(package.create_blueprint())
    app.register_blueprint(control.bp)

    @app.errorhandler(404)
    def _not_found(error):
        return jsonio.json_response({"error": "not_found", "detail": "no such sandbox route"}, 404)

    @app.errorhandler(405)
    def _not_allowed(error):
        return jsonio.json_response({"error": "method_not_allowed"}, 405)

    return app


def env_lines(port: int, host: str = DEFAULT_HOST, providers: tuple[str, ...] = PROVIDERS) -> list[str]:
    """The BRIDGE_<PROVIDER>_* settings that point the bridge at a sandbox on `port`."""
    base = f"http://{host}:{port}"
    return [line for name in providers for line in importlib.import_module(f"{__name__}.{name}").env_lines(base)]


class SandboxServer:
    """A sandbox served by a threaded werkzeug server in a daemon thread."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self._server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sandbox-{self.port}",
                                        daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:5123."""
        return f"http://{self.host}:{self.port}"

    def emulator(self, provider: str = "quickbooks"):
        """The emulator object behind one provider (for in-process tests)."""
        return self.app.extensions["sandbox"]["providers"][provider]

    def start(self) -> "SandboxServer":
        """Start serving in the background."""
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and wait for the thread; the webhook senders stop too."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        for emulator in self.app.extensions["sandbox"]["providers"].values():
            emulator.webhooks.sender.stop()


def serve(host: str = DEFAULT_HOST, port: int = 0, config: dict | None = None) -> SandboxServer:
    """Start a sandbox in-process (port 0 picks a free one) and return the running server."""
    return SandboxServer(create_sandbox_app(config), host, port).start()

"""Invoice Bridge: invoices, customers, payments and credit notes into accounting ledgers."""

from __future__ import annotations

import os

from flask import Flask
from flask.sessions import SessionInterface

from bridge import settings

__version__ = "0.1.0"


class NoSessions(SessionInterface):
    """No cookie sessions: nothing to open or save on any request."""

    def open_session(self, app, request):
        """No session (Flask uses a null one)."""
        return None

    def save_session(self, app, session, response):
        """Nothing to save."""


def create_app(config: dict | None = None) -> Flask:
    """Build the app from BRIDGE_* settings, with `config` (keys without the prefix) on top."""
    values = settings.from_environment()
    values.update(config or {})
    instance_path = os.path.abspath(values.get("INSTANCE_PATH") or "instance")
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(values)
    app.config["MAX_CONTENT_LENGTH"] = settings.MAX_BODY_BYTES
    app.json.sort_keys = False
    app.session_interface = NoSessions()  # the API is stateless; BRIDGE_SECRET_KEY never signs cookies

    from bridge import api, store
    from bridge.sync import queue

    store.init_app(app)
    queue.init_app(app)
    api.init_app(app)
    return app

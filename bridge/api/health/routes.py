"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from bridge import store
from bridge.store.models import Connection, Operation
from bridge.sync import queue

blp = Blueprint("health", __name__, url_prefix="", description="Operations: health and metrics")


class HealthSchema(Schema):
    """Whether the service and its dependencies answer."""

    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    checks = fields.Dict(keys=fields.String(), values=fields.String())


def _checks() -> dict:
    """Ping the database and Redis."""
    checks = {}
    try:
        with store.engine().connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        queue.connection().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    return checks


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    @blp.doc(operationId="healthz", security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """Is the process alive"""
        return {"status": "ok", "checks": {}}


@blp.route("/readyz")
class Ready(MethodView):
    """Readiness."""

    @blp.doc(operationId="readyz", security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A dependency is down")
    def get(self):
        """Can the service take requests

        503 when the database is down. Redis being down does not stop intake (the outbox holds the work).
        """
        checks = _checks()
        ready = checks["database"] == "ok"
        return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@blp.route("/metrics")
class Metrics(MethodView):
    """Prometheus metrics."""

    @blp.doc(operationId="metrics", security=[])
    @blp.response(200, description="Prometheus text format", content_type="text/plain")
    def get(self):
        """Metrics in Prometheus text format"""
        db = store.session()
        lines = ["# HELP bridge_operations Operations by status.", "# TYPE bridge_operations gauge"]
        for status, count in db.execute(sa.select(Operation.status, sa.func.count()).group_by(Operation.status)):
            lines.append(f'bridge_operations{{status="{status}"}} {count}')
        lines += ["# HELP bridge_connections Connections by status.", "# TYPE bridge_connections gauge"]
        for status, count in db.execute(sa.select(Connection.status, sa.func.count()).group_by(Connection.status)):
            lines.append(f'bridge_connections{{status="{status}"}} {count}')
        try:
            depth = len(queue.get_queue(queue.LEDGER_WRITES))
            lines += ["# HELP bridge_queue_depth Jobs waiting in the ledger-writes queue.",
                      "# TYPE bridge_queue_depth gauge", f"bridge_queue_depth {depth}"]
        except Exception:  # Redis down: the other metrics still answer
            pass
        return Response("\n".join(lines) + "\n", mimetype="text/plain")



"""Reconciliation: drift between what we wrote and what the ledger holds, runs, schedules, resync."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bridge import errors, store
from bridge.api import common
from bridge.api.auth import principal
from bridge.api.docs import errors_doc, json_body, post_doc
from bridge.api.idempotency import idempotent
from bridge.api.reconciliation.schemas import (
    DriftFilterSchema,
    DriftItemSchema,
    DriftListSchema,
    ResyncSchema,
    RunSchema,
    ScheduleSchema,
    ScheduleViewSchema,
)
from bridge.schemas.operation import OperationSchema
from bridge.store.models import Connection, DriftItem, ReconciliationRun, utcnow
from bridge.sync import reconcile, reconcile_schedule, resync
from bridge.sync.reads import owned_connection

blp = Blueprint("reconciliation", __name__, url_prefix="/v1",
                description="Reconciliation: drift between what the bridge wrote and what the ledger holds")


def _last_runs(account_id: str, connection_id: str | None) -> list[dict]:
    """The latest run of each of the account's connections (or of one)."""
    db = store.session()
    latest = sa.select(ReconciliationRun.connection_id, sa.func.max(ReconciliationRun.created_at).label("at")).where(
        ReconciliationRun.account_id == account_id).group_by(ReconciliationRun.connection_id)
    if connection_id:
        latest = latest.where(ReconciliationRun.connection_id == connection_id)
    latest = latest.subquery()
    runs = db.execute(sa.select(ReconciliationRun).join(latest, sa.and_(
        ReconciliationRun.connection_id == latest.c.connection_id, ReconciliationRun.created_at == latest.c.at))
        .order_by(ReconciliationRun.connection_id)).scalars().all()
    seen, result = set(), []
    for run in runs:
        if run.connection_id not in seen:
            seen.add(run.connection_id)
            result.append(reconcile.shaped_run(run))
    return result


@blp.route("/reconciliation")
class Drift(MethodView):
    """Drift items."""

    @blp.doc(operationId="listDrift")
    @blp.arguments(DriftFilterSchema, location="query")
    @blp.response(200, DriftListSchema)
    @errors_doc(blp, 401, 422)
    def get(self, args):
        """List drift items

        Newest first, item by item; `runs` holds the last reconciliation of each connection (started,
        finished, checked, in sync, drift, could not check). Filter by connection and status.
        """
        account_id = principal().account_id
        query = sa.select(DriftItem).where(DriftItem.account_id == account_id)
        if args.get("connection_id"):
            query = query.where(DriftItem.connection_id == args["connection_id"])
        if args.get("status"):
            query = query.where(DriftItem.status == args["status"])
        if (after := common.seq_after(args)) is not None:
            query = query.where(DriftItem.seq < after)
        items = list(store.session().execute(query.order_by(DriftItem.seq.desc()).limit(args["limit"] + 1)).scalars())
        page = common.page(items, args["limit"], lambda item: item.seq)
        return {"data": [reconcile.shaped_item(item) for item in page["data"]], "next": page["next"],
                "runs": _last_runs(account_id, args.get("connection_id"))}


@blp.route("/reconciliation/runs/<run_id>")
class RunById(MethodView):
    """One reconciliation run."""

    @blp.doc(operationId="getReconciliationRun")
    @blp.response(200, RunSchema)
    @errors_doc(blp, 401, 404)
    def get(self, run_id):
        """Get a reconciliation run"""
        run = store.session().get(ReconciliationRun, run_id)
        if run is None or run.account_id != principal().account_id:
            raise errors.NotFound("No such reconciliation run.")
        return reconcile.shaped_run(run)


@blp.route("/reconciliation/<item_id>/resync")
class Resync(MethodView):
    """Repairing one drift item."""

    @idempotent
    @blp.doc(**post_doc("resyncDrift"))
    @blp.doc(requestBody={"required": False, "content": {"application/json": {"schema": ResyncSchema}}})
    @blp.response(202, OperationSchema)
    @errors_doc(blp, 400, 401, 404, 409, 422)
    def post(self, item_id):
        """Resync a drift item

        Re-sends our last version of the invoice, payment or credit note as a new operation (an object
        deleted in the ledger is created again, under a new `number` if given); 409 for a payment
        recorded in the ledger by someone else (acknowledge it instead) or an object the ledger could
        not be asked about.
        """
        caller = principal()
        item = resync.owned_item(caller.account_id, item_id)
        body = common.load_body(ResyncSchema()) if request.get_data(cache=True) else {}
        accepted = resync.resync(caller.account_id, item, body.get("number"))
        return Response(accepted.body, status=accepted.status, mimetype="application/json")


@blp.route("/reconciliation/<item_id>/acknowledge")
class Acknowledge(MethodView):
    """Closing one drift item without repair."""

    @idempotent
    @blp.doc(**post_doc("acknowledgeDrift"))
    @blp.response(200, DriftItemSchema)
    @errors_doc(blp, 401, 404, 409)
    def post(self, item_id):
        """Acknowledge a drift item

        Marks it resolved without changing the ledger (such as a payment a user recorded there);
        later runs do not raise it again.
        """
        caller = principal()
        return reconcile.shaped_item(resync.acknowledge(resync.owned_item(caller.account_id, item_id)))


@blp.route("/connections/<connection_id>/reconcile")
class Reconcile(MethodView):
    """Reconciling a connection now."""

    @idempotent
    @blp.doc(**post_doc("reconcileConnection"))
    @blp.response(202, RunSchema)
    @errors_doc(blp, 401, 404, 409)
    def post(self, connection_id):
        """Reconcile a connection now

        Queues a run (or answers the one already queued or running); follow it at
        `/v1/reconciliation/runs/{id}`.
        """
        connection = owned_connection(principal().account_id, connection_id)
        if connection.status in ("pending", "disconnected"):
            raise errors.Conflict(f"The connection is {connection.status}; there is nothing to reconcile.")
        run = reconcile_schedule.start_now(current_app._get_current_object(), store.session(), connection)
        return reconcile.shaped_run(run)


def _schedule_view(connection: Connection) -> dict:
    """The connection's schedule document."""
    every = reconcile_schedule.every_seconds(store.session(), connection.id)
    next_run = reconcile_schedule.period_of(every, utcnow())[1] if every else None
    return {"connection_id": connection.id, "every": reconcile_schedule.format_every(every), "next_run_at": next_run}


@blp.route("/connections/<connection_id>/reconciliation-schedule")
class Schedule(MethodView):
    """How often a connection is reconciled."""

    @blp.doc(operationId="getReconciliationSchedule")
    @blp.response(200, ScheduleViewSchema)
    @errors_doc(blp, 401, 404)
    def get(self, connection_id):
        """Get the reconciliation schedule"""
        return _schedule_view(owned_connection(principal().account_id, connection_id))

    @blp.doc(operationId="putReconciliationSchedule", requestBody=json_body(ScheduleSchema))
    @blp.response(200, ScheduleViewSchema)
    @errors_doc(blp, 400, 401, 404, 422)
    def put(self, connection_id):
        """Set the reconciliation schedule

        `every`: "6h", "24h" (the default), "7d"... or "off". Scheduled runs happen once per period,
        however many workers run.
        """
        connection = owned_connection(principal().account_id, connection_id)
        body = common.load_body(ScheduleSchema())
        reconcile_schedule.set_every(store.session(), connection.id, reconcile_schedule.parse_every(body["every"]))
        store.session().commit()
        return _schedule_view(connection)

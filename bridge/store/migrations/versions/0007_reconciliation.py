"""reconciliation: schedules per connection, runs, drift items

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "reconciliation_schedules",
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_reconciliation_schedules_connection_id_connections"),
        sa.PrimaryKeyConstraint("connection_id", name="pk_reconciliation_schedules"),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("period", sa.String(40), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("in_sync", sa.Integer(), nullable=False),
        sa.Column("drift", sa.Integer(), nullable=False),
        sa.Column("could_not_check", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_reconciliation_runs_connection_id_connections"),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_runs"),
        sa.UniqueConstraint("connection_id", "period", name="uq_reconciliation_runs_connection_id_period"),
    )
    op.create_index("ix_reconciliation_runs_connection", "reconciliation_runs", ["connection_id", "created_at"])
    op.create_table(
        "drift_items",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("last_run_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("object", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("invoice_external_id", sa.String(255), nullable=True),
        sa.Column("ledger_id", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("ours", sa.String(100), nullable=True),
        sa.Column("theirs", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.String(20), nullable=True),
        sa.Column("operation_id", sa.String(40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], name="fk_drift_items_connection_id_connections"),
        sa.PrimaryKeyConstraint("seq", name="pk_drift_items"),
        sa.UniqueConstraint("id", name="uq_drift_items_id"),
    )
    op.create_index("ix_drift_items_account_seq", "drift_items", ["account_id", "seq"])
    op.create_index("ix_drift_items_open", "drift_items", ["connection_id", "status"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_drift_items_open", table_name="drift_items")
    op.drop_index("ix_drift_items_account_seq", table_name="drift_items")
    op.drop_table("drift_items")
    op.drop_index("ix_reconciliation_runs_connection", table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
    op.drop_table("reconciliation_schedules")

"""change polling checkpoints and the objects seen in ledger changes (issue 5)

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "change_checkpoints",
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("checkpoint", sa.String(64), nullable=True),
        sa.Column("polled_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_change_checkpoints_connection_id_connections"),
        sa.PrimaryKeyConstraint("connection_id", name="pk_change_checkpoints"),
    )
    op.create_table(
        "observed_objects",
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("object", sa.String(20), nullable=False),
        sa.Column("ledger_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("balance", sa.String(40), nullable=True),
        sa.Column("number", sa.String(255), nullable=True),
        sa.Column("stamp", sa.String(40), nullable=True),
        sa.Column("fingerprint", sa.String(32), nullable=True),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_observed_objects_connection_id_connections"),
        sa.PrimaryKeyConstraint("connection_id", "object", "ledger_id", name="pk_observed_objects"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("observed_objects")
    op.drop_table("change_checkpoints")

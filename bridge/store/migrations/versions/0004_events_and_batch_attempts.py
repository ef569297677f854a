"""events; a batch's exchanges stored once per attempt, not once per member

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from bridge.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "batch_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("exchanges", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_attempts"),
    )
    op.create_index("ix_batch_attempts_batch_id", "batch_attempts", ["batch_id"])
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_attempt_id", sa.Integer(), nullable=True))
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
        sa.UniqueConstraint("account_id", "dedupe_key", name="uq_events_account_id_dedupe_key"),
    )
    op.create_index("ix_events_account_seq", "events", ["account_id", "seq"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_events_account_seq", table_name="events")
    op.drop_table("events")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("batch_attempt_id")
    op.drop_index("ix_batch_attempts_batch_id", table_name="batch_attempts")
    op.drop_table("batch_attempts")

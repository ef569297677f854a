"""stored webhook notices: a failed read's retry time, and the per-connection index the reader uses (issue 5)

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("inbound_notices") as batch:
        batch.add_column(sa.Column("retry_at", UTCDateTime(), nullable=True))
    op.create_index("ix_inbound_notices_waiting", "inbound_notices", ["connection_id", "processed_at"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_inbound_notices_waiting", table_name="inbound_notices")
    with op.batch_alter_table("inbound_notices") as batch:
        batch.drop_column("retry_at")

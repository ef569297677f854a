"""operations remember an ambiguous failure (ledgers without idempotency keys look up first)

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncertain", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_column("uncertain")

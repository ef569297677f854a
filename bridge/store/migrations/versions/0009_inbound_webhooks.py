"""inbound ledger webhooks, FreshBooks callbacks (issue 5)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from bridge.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "inbound_notices",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=True),
        sa.Column("notices", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("enqueued_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_inbound_notices_connection_id_connections"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_notices"),
        sa.UniqueConstraint("connection_id", "dedupe_key", name="uq_inbound_notices_connection_id_dedupe_key"),
    )
    op.create_index("ix_inbound_notices_pending", "inbound_notices", ["processed_at", "enqueued_at"])
    op.create_table(
        "freshbooks_callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("callback_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(60), nullable=True),
        sa.Column("verifier", sa.Text(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_freshbooks_callbacks_connection_id_connections"),
        sa.PrimaryKeyConstraint("id", name="pk_freshbooks_callbacks"),
        sa.UniqueConstraint("account_id", "callback_id", name="uq_freshbooks_callbacks_account_id_callback_id"),
    )
    op.create_index("ix_freshbooks_callbacks_connection_id", "freshbooks_callbacks", ["connection_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_freshbooks_callbacks_connection_id", table_name="freshbooks_callbacks")
    op.drop_table("freshbooks_callbacks")
    op.drop_index("ix_inbound_notices_pending", table_name="inbound_notices")
    op.drop_table("inbound_notices")

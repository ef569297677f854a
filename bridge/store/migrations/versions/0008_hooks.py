"""REST hook subscriptions and deliveries (issue 5)

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_events_account_event_seq", "events", ["account_id", "event", "seq"])
    op.create_table(
        "hook_subscriptions",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("target_url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("given_up", sa.Integer(), nullable=False),
        sa.Column("given_up_in_row", sa.Integer(), nullable=False),
        sa.Column("last_delivery_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_hook_subscriptions_account_id_accounts"),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_hook_subscriptions_connection_id_connections"),
        sa.PrimaryKeyConstraint("seq", name="pk_hook_subscriptions"),
        sa.UniqueConstraint("id", name="uq_hook_subscriptions_id"),
    )
    op.create_index("ix_hook_subscriptions_account_seq", "hook_subscriptions", ["account_id", "seq"])
    op.create_index("ix_hook_subscriptions_match", "hook_subscriptions", ["account_id", "event", "status"])
    op.create_table(
        "hook_deliveries",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("enqueued_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("first_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["hook_subscriptions.id"],
                                name="fk_hook_deliveries_subscription_id_hook_subscriptions"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_hook_deliveries_event_id_events"),
        sa.PrimaryKeyConstraint("seq", name="pk_hook_deliveries"),
        sa.UniqueConstraint("id", name="uq_hook_deliveries_id"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_hook_deliveries_subscription_id_event_id"),
    )
    op.create_index("ix_hook_deliveries_due", "hook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "hook_cursors",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("floor", SEQ, nullable=False),
        sa.Column("mark", SEQ, nullable=False),
        sa.Column("mark_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_hook_cursors"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("hook_cursors")
    op.drop_index("ix_hook_deliveries_due", table_name="hook_deliveries")
    op.drop_table("hook_deliveries")
    op.drop_index("ix_hook_subscriptions_match", table_name="hook_subscriptions")
    op.drop_index("ix_hook_subscriptions_account_seq", table_name="hook_subscriptions")
    op.drop_table("hook_subscriptions")
    op.drop_index("ix_events_account_event_seq", table_name="events")

"""notes kept on our side, alert digest settings, the error class of an operation's last failure

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_class", sa.String(30), nullable=True))
    op.create_table(
        "notes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("operation_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], name="fk_notes_connection_id_connections"),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
    )
    op.create_index("ix_notes_invoice", "notes", ["connection_id", "external_id", "created_at"])
    op.create_table(
        "alert_settings",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("last_digest_at", UTCDateTime(), nullable=True),
        sa.Column("last_event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_alert_settings_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_alert_settings"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("alert_settings")
    op.drop_index("ix_notes_invoice", table_name="notes")
    op.drop_table("notes")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_column("error_class")

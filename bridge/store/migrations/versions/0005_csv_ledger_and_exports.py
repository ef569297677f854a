"""issue 4: the csv ledger's import-file entries; the daily export e-mail's deliveries

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from bridge.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "csv_ledger_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("request_key", sa.String(60), nullable=False),
        sa.Column("object", sa.String(20), nullable=False),
        sa.Column("ledger_id", sa.String(100), nullable=False),
        sa.Column("file", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("document", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name="fk_csv_ledger_entries_connection_id_connections"),
        sa.PrimaryKeyConstraint("seq", name="pk_csv_ledger_entries"),
        sa.UniqueConstraint("connection_id", "request_key", name="uq_csv_ledger_entries_connection_id_request_key"),
    )
    op.create_index("ix_csv_ledger_entries_file", "csv_ledger_entries", ["connection_id", "file", "seq"])
    op.create_index("ix_csv_ledger_entries_document", "csv_ledger_entries",
                    ["connection_id", "object", "ledger_id", "seq"])
    op.create_table(
        "export_deliveries",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_export_deliveries_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "day", name="pk_export_deliveries"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("export_deliveries")
    op.drop_index("ix_csv_ledger_entries_document", table_name="csv_ledger_entries")
    op.drop_index("ix_csv_ledger_entries_file", table_name="csv_ledger_entries")
    op.drop_table("csv_ledger_entries")

"""accounts: TOTP second factor and last-seen time for the idle timeout

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:00:00

Hand-written. batch_alter_table so that SQLite (which cannot add a column with a
constraint in place on older versions, nor drop one) gets a table rebuild and PostgreSQL
plain ALTER TABLE statements.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret_enc", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("totp_enabled")
        batch.drop_column("totp_secret_enc")

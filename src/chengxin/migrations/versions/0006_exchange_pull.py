"""exchange pull: sources (pinned key, cursor) and apply errors

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_sources",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("public_key", sa.String(length=100), nullable=True),
        sa.Column("last_cursor", sa.String(length=100), nullable=True),
        sa.Column("items_applied", sa.BigInteger(), nullable=False),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sources")),
        sa.UniqueConstraint("url", name=op.f("uq_exchange_sources_url")),
    )
    op.create_table(
        "exchange_apply_errors",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_apply_errors")),
    )
    with op.batch_alter_table("exchange_apply_errors", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_apply_errors_source_id", ["source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_apply_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_apply_errors_source_id")
    op.drop_table("exchange_apply_errors")
    op.drop_table("exchange_sources")

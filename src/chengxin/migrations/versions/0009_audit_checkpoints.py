"""audit checkpoints: the chain's head signed at intervals (append-only)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Same protection as audit_log (0001): the application appends, never rewrites.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
]


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("seq", _ID, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"])
    if op.get_bind().dialect.name == "sqlite":
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)
        return
    # audit_log_append_only() was created by 0001; it only raises, so it serves here too.
    op.execute("CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON "
               "audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON "
               "audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_change ON audit_checkpoints")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_truncate ON audit_checkpoints")
    op.drop_index(op.f("ix_audit_checkpoints_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")

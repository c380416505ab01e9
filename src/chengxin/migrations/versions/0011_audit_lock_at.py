"""audit: a function that takes the chain's lock and checks its head (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:00

Hand-written. The check's group commit remembers the audit chain's head it last wrote
and chains its entries against it before it holds the lock; this function takes the
lock and then refuses the transaction (SQLSTATE CXA01) if the head is no longer that
one, so that the batch goes in one round trip and the chain stays whole when another
writer came between. SQLite has no such lock (its write lock is the chain's lock), and
gets nothing.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# 7243001 is chengxin.audit.service._PG_LOCK_KEY, fixed here as the migration was written.
# VOLATILE (the default): under READ COMMITTED the head is read in a snapshot taken after
# the lock is held, so a writer that held it before is seen.
_FUNCTION = """
CREATE FUNCTION audit_log_lock_at(expected_seq BIGINT, expected_hash VARCHAR)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash VARCHAR;
BEGIN
    PERFORM pg_advisory_xact_lock(7243001);
    SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF head_seq IS DISTINCT FROM expected_seq OR head_hash IS DISTINCT FROM expected_hash THEN
        RAISE EXCEPTION 'the audit chain''s head is no longer % (another writer appended)',
            expected_seq USING ERRCODE = 'CXA01';
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_lock_at(BIGINT, VARCHAR)")

"""reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:12:43.403605
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issued_reports',
    sa.Column('report_no', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_to', sa.String(length=100), nullable=False),
    sa.Column('issued_to_key', sa.String(length=80), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=True),
    sa.Column('authorization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_issued_reports_person_id_persons')),
    sa.PrimaryKeyConstraint('report_no', name=op.f('pk_issued_reports'))
    )
    with op.batch_alter_table('issued_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_reports_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('issued_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_reports_person_id'))

    op.drop_table('issued_reports')

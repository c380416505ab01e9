"""scoring: score runs, person scores, score items (诚信积分)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('score_runs',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rules_digest', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('persons', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_runs'))
    )
    op.create_table('person_scores',
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('score_x100', sa.Integer(), nullable=False),
    sa.Column('raw_x100', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('run_id', _ID, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_person_scores_person_id_persons')),
    sa.ForeignKeyConstraint(['run_id'], ['score_runs.id'],
                            name=op.f('fk_person_scores_run_id_score_runs')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_scores'))
    )
    op.create_table('score_items',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('run_id', _ID, nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('record_id', _ID, nullable=False),
    sa.Column('rule_code', sa.String(length=64), nullable=False),
    sa.Column('points_x100', sa.Integer(), nullable=False),
    sa.Column('decayed_x100', sa.Integer(), nullable=False),
    sa.Column('factor_x10000', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_score_items_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'],
                            name=op.f('fk_score_items_record_id_credit_records')),
    sa.ForeignKeyConstraint(['run_id'], ['score_runs.id'],
                            name=op.f('fk_score_items_run_id_score_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_items'))
    )
    with op.batch_alter_table('score_items', schema=None) as batch_op:
        batch_op.create_index('ix_score_items_person_id', ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('score_items', schema=None) as batch_op:
        batch_op.drop_index('ix_score_items_person_id')
    op.drop_table('score_items')
    op.drop_table('person_scores')
    op.drop_table('score_runs')

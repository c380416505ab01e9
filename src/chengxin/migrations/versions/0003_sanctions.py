"""sanctions: lists, checks, feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:51:45.283727
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('decision', sa.String(length=12), nullable=False),
    sa.Column('measures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lists', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checks'))
    )
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checks_department_code'), ['department_code'], unique=False)

    op.create_table('check_feedback',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('check_id', sa.String(length=32), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=64), nullable=False),
    sa.Column('applied', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_check_feedback_check_id_checks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_feedback'))
    )
    with op.batch_alter_table('check_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_feedback_check_id'), ['check_id'], unique=False)

    op.create_table('applied_measures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('feedback_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('check_id', sa.String(length=32), nullable=False),
    sa.Column('measure_code', sa.String(length=64), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['check_feedback.id'], name=op.f('fk_applied_measures_feedback_id_check_feedback')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applied_measures'))
    )
    with op.batch_alter_table('applied_measures', schema=None) as batch_op:
        batch_op.create_index('ix_applied_measures_dept_scenario', ['department_code', 'scenario'], unique=False)

    op.create_table('list_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('list_type', sa.String(length=8), nullable=False),
    sa.Column('list_name', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('item_code', sa.String(length=64), nullable=True),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('decision_document', sa.String(length=200), nullable=False),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('effective_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.Column('proposed_by', sa.String(length=100), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_list_entries_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_list_entries_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_list_entries_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entries'))
    )
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.create_index('ix_list_entries_org_status', ['organization_id', 'status'], unique=False)
        batch_op.create_index('ix_list_entries_person_status', ['person_id', 'status'], unique=False)
        batch_op.create_index('ix_list_entries_type_status', ['list_type', 'status'], unique=False)
        batch_op.create_index('uq_list_entries_record_type', ['record_id', 'list_type'], unique=True)

    op.create_table('list_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['list_entries.id'], name=op.f('fk_list_events_entry_id_list_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_events'))
    )
    with op.batch_alter_table('list_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_list_events_entry_id'), ['entry_id'], unique=False)

    op.create_table('pending_list_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.String(length=100), nullable=False),
    sa.Column('proposed_by_id', sa.String(length=64), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['list_entries.id'], name=op.f('fk_pending_list_changes_entry_id_list_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_list_changes'))
    )
    with op.batch_alter_table('pending_list_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_list_changes_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pending_list_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_list_changes_entry_id'))

    op.drop_table('pending_list_changes')
    with op.batch_alter_table('list_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_events_entry_id'))

    op.drop_table('list_events')
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.drop_index('uq_list_entries_record_type')
        batch_op.drop_index('ix_list_entries_type_status')
        batch_op.drop_index('ix_list_entries_person_status')
        batch_op.drop_index('ix_list_entries_org_status')

    op.drop_table('list_entries')
    with op.batch_alter_table('applied_measures', schema=None) as batch_op:
        batch_op.drop_index('ix_applied_measures_dept_scenario')

    op.drop_table('applied_measures')
    with op.batch_alter_table('check_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_feedback_check_id'))

    op.drop_table('check_feedback')
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checks_department_code'))

    op.drop_table('checks')

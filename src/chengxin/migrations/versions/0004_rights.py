"""rights

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:56:21.759165
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('query_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('actor_key', sa.String(length=80), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('distinct_persons', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_alerts'))
    )
    with op.batch_alter_table('query_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_alerts_actor_key'), ['actor_key'], unique=False)

    op.create_table('query_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_key', sa.String(length=80), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=True),
    sa.Column('what', sa.String(length=32), nullable=False),
    sa.Column('authorization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_log'))
    )
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.create_index('ix_query_log_actor_at', ['actor_key', 'at'], unique=False)
        batch_op.create_index('ix_query_log_person_at', ['person_id', 'at'], unique=False)

    op.create_table('authorizations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grantee', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hint', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_authorizations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorizations')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_authorizations_code_hash'))
    )
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorizations_person_id'), ['person_id'], unique=False)

    op.create_table('freezes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_freezes_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_freezes'))
    )
    with op.batch_alter_table('freezes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_freezes_person_id'), ['person_id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('respond_by', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deliveries', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_notices_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_person_id'), ['person_id'], unique=False)

    op.create_table('objections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('previous_status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_objections_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_objections_record_id_credit_records')),
    sa.ForeignKeyConstraint(['review_of'], ['objections.id'], name=op.f('fk_objections_review_of_objections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections'))
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_record_id'), ['record_id'], unique=False)

    op.create_table('repair_applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('list_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('commitment_text', sa.Text(), nullable=True),
    sa.Column('evidence_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['list_entry_id'], ['list_entries.id'], name=op.f('fk_repair_applications_list_entry_id_list_entries')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_repair_applications_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_repair_applications_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_applications'))
    )
    with op.batch_alter_table('repair_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_applications_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_record_id'), ['record_id'], unique=False)

    op.create_table('statements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('list_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_entry_id'], ['list_entries.id'], name=op.f('fk_statements_list_entry_id_list_entries')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_statements_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_statements_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statements_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_person_id'))

    op.drop_table('statements')
    with op.batch_alter_table('repair_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_applications_record_id'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_person_id'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_department_code'))

    op.drop_table('repair_applications')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_record_id'))
        batch_op.drop_index(batch_op.f('ix_objections_person_id'))
        batch_op.drop_index(batch_op.f('ix_objections_department_code'))

    op.drop_table('objections')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_person_id'))

    op.drop_table('notices')
    with op.batch_alter_table('freezes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_freezes_person_id'))

    op.drop_table('freezes')
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorizations_person_id'))

    op.drop_table('authorizations')
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.drop_index('ix_query_log_person_at')
        batch_op.drop_index('ix_query_log_actor_at')

    op.drop_table('query_log')
    with op.batch_alter_table('query_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_alerts_actor_key'))

    op.drop_table('query_alerts')

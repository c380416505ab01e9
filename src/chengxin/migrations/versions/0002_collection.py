"""collection: records, versions, states, imports, archives

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:46:45.161659
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=True),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files'))
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_files_sha256'), ['sha256'], unique=False)

    op.create_table('import_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=True),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_import_jobs_department_code_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_department_code'), ['department_code'], unique=False)

    op.create_table('annual_statuses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('group_code', sa.String(length=64), nullable=True),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('evidence_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('superseded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_annual_statuses_department_code_departments')),
    sa.ForeignKeyConstraint(['group_code'], ['key_groups.code'], name=op.f('fk_annual_statuses_group_code_key_groups')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_annual_statuses_person_id_persons')),
    sa.ForeignKeyConstraint(['superseded_by'], ['annual_statuses.id'], name=op.f('fk_annual_statuses_superseded_by_annual_statuses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_statuses'))
    )
    with op.batch_alter_table('annual_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_annual_statuses_person_year', ['person_id', 'year'], unique=False)

    op.create_table('credit_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('document_no', sa.String(length=100), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('group_code', sa.String(length=64), nullable=True),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('display_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('derived_from', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('derived_role', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_credit_records_department_code_departments')),
    sa.ForeignKeyConstraint(['derived_from'], ['credit_records.id'], name=op.f('fk_credit_records_derived_from_credit_records')),
    sa.ForeignKeyConstraint(['group_code'], ['key_groups.code'], name=op.f('fk_credit_records_group_code_key_groups')),
    sa.ForeignKeyConstraint(['item_code'], ['catalog_items.code'], name=op.f('fk_credit_records_item_code_catalog_items')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_credit_records_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_credit_records_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_records'))
    )
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.create_index('ix_credit_records_dept_group_updated', ['department_code', 'group_code', 'updated_at'], unique=False)
        batch_op.create_index('ix_credit_records_org', ['organization_id'], unique=False)
        batch_op.create_index('ix_credit_records_person', ['person_id', 'item_code'], unique=False)
        batch_op.create_index('ix_credit_records_status_display', ['status', 'display_until'], unique=False)
        batch_op.create_index('uq_credit_records_dept_doc', ['department_code', 'document_no'], unique=True, sqlite_where=sa.text('derived_from IS NULL'), postgresql_where=sa.text('derived_from IS NULL'))
        batch_op.create_index('uq_credit_records_derived', ['derived_from', 'person_id'], unique=True, sqlite_where=sa.text('derived_from IS NOT NULL'), postgresql_where=sa.text('derived_from IS NOT NULL'))

    op.create_table('import_row_errors',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], name=op.f('fk_import_row_errors_job_id_import_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_row_errors'))
    )
    with op.batch_alter_table('import_row_errors', schema=None) as batch_op:
        batch_op.create_index('ix_import_row_errors_job_row', ['job_id', 'row'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('group_code', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_submissions_department_code_departments')),
    sa.ForeignKeyConstraint(['group_code'], ['key_groups.code'], name=op.f('fk_submissions_group_code_key_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_dept_group_at', ['department_code', 'group_code', 'at'], unique=False)

    op.create_table('group_memberships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_code', sa.String(length=64), nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('employer', sa.String(length=300), nullable=True),
    sa.Column('position', sa.String(length=100), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_group_memberships_department_code_departments')),
    sa.ForeignKeyConstraint(['group_code'], ['key_groups.code'], name=op.f('fk_group_memberships_group_code_key_groups')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_group_memberships_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_group_memberships_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_memberships'))
    )
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_group_memberships_group_dept', ['group_code', 'department_code'], unique=False)
        batch_op.create_index('uq_group_memberships_person_group_dept', ['person_id', 'group_code', 'department_code'], unique=True)

    op.create_table('held_rows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('department_code', sa.String(length=64), nullable=False),
    sa.Column('document_no', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sent_name', sa.String(length=100), nullable=False),
    sa.Column('row_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], name=op.f('fk_held_rows_department_code_departments')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_held_rows_person_id_persons')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_held_rows_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_rows'))
    )
    with op.batch_alter_table('held_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_rows_department_code'), ['department_code'], unique=False)

    op.create_table('record_states',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_record_states_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_states'))
    )
    with op.batch_alter_table('record_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_states_record_id'), ['record_id'], unique=False)

    op.create_table('record_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['credit_records.id'], name=op.f('fk_record_versions_record_id_credit_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_versions'))
    )
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.create_index('uq_record_versions_record_version', ['record_id', 'version'], unique=True)

    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('providers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.drop_column('providers')

    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_record_versions_record_version')

    op.drop_table('record_versions')
    with op.batch_alter_table('record_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_states_record_id'))

    op.drop_table('record_states')
    with op.batch_alter_table('held_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_rows_department_code'))

    op.drop_table('held_rows')
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_group_memberships_person_group_dept')
        batch_op.drop_index('ix_group_memberships_group_dept')

    op.drop_table('group_memberships')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_dept_group_at')

    op.drop_table('submissions')
    with op.batch_alter_table('import_row_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_import_row_errors_job_row')

    op.drop_table('import_row_errors')
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.drop_index('uq_credit_records_derived', sqlite_where=sa.text('derived_from IS NOT NULL'), postgresql_where=sa.text('derived_from IS NOT NULL'))
        batch_op.drop_index('uq_credit_records_dept_doc', sqlite_where=sa.text('derived_from IS NULL'), postgresql_where=sa.text('derived_from IS NULL'))
        batch_op.drop_index('ix_credit_records_status_display')
        batch_op.drop_index('ix_credit_records_person')
        batch_op.drop_index('ix_credit_records_org')
        batch_op.drop_index('ix_credit_records_dept_group_updated')

    op.drop_table('credit_records')
    with op.batch_alter_table('annual_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_annual_statuses_person_year')

    op.drop_table('annual_statuses')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_department_code'))

    op.drop_table('import_jobs')
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_files_sha256'))

    op.drop_table('evidence_files')

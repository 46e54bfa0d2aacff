"""staff pages: case list columns and indexes, task drafts

Revision ID: 0010
Revises: 0012
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0010'
down_revision = '0012'
branch_labels = None
depends_on = None



def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('country', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=50), nullable=True))
        batch_op.create_index('ix_instances_stage', ['stage'], unique=False)
        batch_op.create_index('ix_instances_kind', ['kind'], unique=False)
        batch_op.create_index('ix_instances_country', ['country'], unique=False)
        batch_op.create_index('ix_instances_business_key', ['business_key'], unique=False)
        batch_op.create_index('ix_instances_updated_at', ['updated_at'], unique=False)
        batch_op.create_index('ix_instances_region_updated', ['region_code', 'updated_at'], unique=False)
        batch_op.create_index('ix_instances_started_at', ['started_at'], unique=False)
        batch_op.create_index('ix_instances_title', ['title'], unique=False)
        batch_op.create_index('ix_instances_partner', ['partner'], unique=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_instance_status_due', ['instance_id', 'status', 'due_at'], unique=False)

    op.create_table('task_drafts',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('values', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('saved_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.PrimaryKeyConstraint('task_id', 'username')
    )
    with op.batch_alter_table('task_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_drafts_instance_id'), ['instance_id'], unique=False)

    # Cases started before this revision get their list columns from `init-db`
    # (Orchestrator.fill_list_columns, which knows the handler package's variables).


def downgrade() -> None:
    with op.batch_alter_table('task_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_drafts_instance_id'))
    op.drop_table('task_drafts')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_instance_status_due')
    # Plain ALTERs (SQLite 3.35+ drops a column in place): a batch copy of `instances` would
    # drop a table other tables' foreign keys point at.
    for name in ('partner', 'title', 'started_at', 'region_updated', 'updated_at', 'business_key', 'country',
                 'kind', 'stage'):
        op.drop_index(f'ix_instances_{name}', table_name='instances')
    for column in ('kind', 'country', 'partner'):
        op.drop_column('instances', column)

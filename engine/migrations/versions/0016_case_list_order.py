"""the case lists' order with a stage filter: `ix_instances_stage_updated` (stage, updated_at)
replaces `ix_instances_stage`, so a stage's cases are read newest first and LIMIT stops the
reading, where they were all read and sorted (web/caselist.py); the title and partner indexes
end with the case number, the sorts' tie-break, which PostgreSQL otherwise sorts among the cases of
one partner (SQLite keeps the row id in every index); `ix_instances_region_code` goes,
as `ix_instances_region_updated` (region_code, updated_at) serves what it served, and every index
of `instances` is written on each step on PostgreSQL.

Plain CREATE and DROP INDEX, not batch mode, which on SQLite copies the table and would drop the
search triggers of 0015.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 23:00:00.000000
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


_SORTED = ('title', 'partner')


def upgrade() -> None:
    op.create_index('ix_instances_stage_updated', 'instances', ['stage', 'updated_at'], unique=False)
    op.drop_index('ix_instances_stage', table_name='instances')
    op.drop_index('ix_instances_region_code', table_name='instances')
    for column in _SORTED:
        op.drop_index(f'ix_instances_{column}', table_name='instances')
        op.create_index(f'ix_instances_{column}', 'instances', [column, 'id'], unique=False)


def downgrade() -> None:
    for column in _SORTED:
        op.drop_index(f'ix_instances_{column}', table_name='instances')
        op.create_index(f'ix_instances_{column}', 'instances', [column], unique=False)
    op.create_index('ix_instances_region_code', 'instances', ['region_code'], unique=False)
    op.create_index('ix_instances_stage', 'instances', ['stage'], unique=False)
    op.drop_index('ix_instances_stage_updated', table_name='instances')

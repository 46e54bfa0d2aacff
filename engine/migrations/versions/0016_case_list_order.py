"""the case lists' order: every index a list sorts on ends with the case number, the sorts'
tie-break, which PostgreSQL otherwise sorted among the cases of one partner or of one moment
(cases imported together; SQLite keeps the row id in every index); `ix_instances_stage_updated`
(stage, updated_at, id) replaces `ix_instances_stage`, so a stage's cases are read newest first
and LIMIT stops the reading, where they were all read and sorted (web/caselist.py);
`ix_instances_region_code` goes, as `ix_instances_region_updated` serves what it served, and
every index of `instances` is written on each step on PostgreSQL.

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


# each sort index before and after: the case number added at the end
_SORTED = {
    'ix_instances_title': ['title'],
    'ix_instances_partner': ['partner'],
    'ix_instances_updated_at': ['updated_at'],
    'ix_instances_started_at': ['started_at'],
    'ix_instances_region_updated': ['region_code', 'updated_at'],
}


def upgrade() -> None:
    op.create_index('ix_instances_stage_updated', 'instances', ['stage', 'updated_at', 'id'], unique=False)
    op.drop_index('ix_instances_stage', table_name='instances')
    op.drop_index('ix_instances_region_code', table_name='instances')
    for name, columns in _SORTED.items():
        op.drop_index(name, table_name='instances')
        op.create_index(name, 'instances', [*columns, 'id'], unique=False)


def downgrade() -> None:
    for name, columns in _SORTED.items():
        op.drop_index(name, table_name='instances')
        op.create_index(name, 'instances', columns, unique=False)
    op.create_index('ix_instances_region_code', 'instances', ['region_code'], unique=False)
    op.create_index('ix_instances_stage', 'instances', ['stage'], unique=False)
    op.drop_index('ix_instances_stage_updated', table_name='instances')

"""the inbox's order in task_candidates: each row copies its task's stage, deadline and creation,
and indexes in deadline order (regional and national, all and per stage) serve the first page
and the counts as index ranges

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 13:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_INDEXES = {
    'ix_task_candidates_region_due': ['kind', 'name', 'region_code', 'due_at', 'created_at', 'task_id'],
    'ix_task_candidates_region_stage': ['kind', 'name', 'region_code', 'stage', 'due_at', 'created_at', 'task_id'],
    'ix_task_candidates_due': ['kind', 'name', 'due_at', 'created_at', 'task_id'],
    'ix_task_candidates_stage': ['kind', 'name', 'stage', 'due_at', 'created_at', 'task_id'],
}


def upgrade() -> None:
    # Plain ALTER TABLE (not batch mode, which on SQLite copies the table): adding nullable
    # columns works in place on SQLite and PostgreSQL alike.
    op.add_column('task_candidates', sa.Column('stage', sa.Integer(), nullable=True))
    op.add_column('task_candidates', sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=True))
    op.add_column(
        'task_candidates', sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=True)
    )
    for column in ('stage', 'due_at', 'created_at'):
        op.execute(
            f'UPDATE task_candidates SET {column} = '
            f'(SELECT tasks.{column} FROM tasks WHERE tasks.id = task_candidates.task_id)'
        )
    op.drop_index('ix_task_candidates_who', table_name='task_candidates')
    for name, columns in _INDEXES.items():
        op.create_index(name, 'task_candidates', columns, unique=False)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name='task_candidates')
    op.create_index('ix_task_candidates_who', 'task_candidates', ['kind', 'name', 'region_code', 'task_id'])
    for column in ('created_at', 'due_at', 'stage'):
        op.execute(f'ALTER TABLE task_candidates DROP COLUMN {column}')

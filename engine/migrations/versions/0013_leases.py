"""leases: timers, start timers and decree jobs are claimed in batches by a worker until a time

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None

LEASED = ('timers', 'start_timers', 'decree_jobs')


def upgrade() -> None:
    for table in LEASED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('locked_by', sa.String(length=100), nullable=True))
            batch_op.add_column(sa.Column('locked_until', engine.models.UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_timers_leased', 'timers', ['locked_until'], unique=False,
        postgresql_where=sa.text('locked_until IS NOT NULL'), sqlite_where=sa.text('locked_until IS NOT NULL'),
    )
    op.create_index(
        'ix_incidents_open_job', 'incidents', ['job_id'], unique=False,
        postgresql_where=sa.text('resolved_at IS NULL'), sqlite_where=sa.text('resolved_at IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_incidents_open_job', table_name='incidents')
    op.drop_index('ix_timers_leased', table_name='timers')
    # Not batch mode (see 0011): ALTER TABLE ... DROP COLUMN works on SQLite >= 3.35 and PostgreSQL.
    for table in reversed(LEASED):
        op.execute(f'ALTER TABLE {table} DROP COLUMN locked_until')
        op.execute(f'ALTER TABLE {table} DROP COLUMN locked_by')

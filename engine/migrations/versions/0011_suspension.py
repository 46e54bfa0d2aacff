"""suspended cases: an operator holds a case (no step, job or timer runs) until resumed

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', engine.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies `instances`, whose DROP the other tables' foreign keys
    # refuse. ALTER TABLE ... DROP COLUMN works on SQLite >= 3.35 and PostgreSQL alike.
    op.execute('ALTER TABLE instances DROP COLUMN suspended_at')

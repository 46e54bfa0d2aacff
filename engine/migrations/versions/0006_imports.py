"""imported cases: one per business key, with the file and row they came from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imported_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=True),
    sa.Column('imported_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_key', 'business_key')
    )
    with op.batch_alter_table('imported_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_cases_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('imported_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_cases_instance_id'))

    op.drop_table('imported_cases')

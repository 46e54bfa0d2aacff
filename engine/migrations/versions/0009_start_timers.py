"""start timers: a process's timer start event, fired by the worker to start cases

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('start_timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('bpmn_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('timezone', sa.String(length=50), nullable=False),
    sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=True),
    sa.Column('fired', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('start_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_start_timers_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_start_timers_process_key'), ['process_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('start_timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_start_timers_process_key'))
        batch_op.drop_index(batch_op.f('ix_start_timers_due_at'))
    op.drop_table('start_timers')

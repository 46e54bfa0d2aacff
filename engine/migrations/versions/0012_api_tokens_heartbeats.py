"""API tokens (hashed) and worker heartbeats

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
    op.create_table('worker_heartbeats',
    sa.Column('worker_id', sa.String(length=200), nullable=False),
    sa.Column('beat_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker_id')
    )


def downgrade() -> None:
    op.drop_table('worker_heartbeats')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')

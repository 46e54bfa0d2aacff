"""notifications: in-app notices, e-mail deliveries, addresses and preferences

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30 06:13:12.696718
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_until', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_email_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_deliveries_outbox_id'), ['outbox_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('digest_pending', sa.Boolean(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['digest_id'], ['email_deliveries.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id', 'user_id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_digest_pending'), ['digest_pending'], unique=False)
        batch_op.create_index('ix_notifications_unread', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=False, server_default='pesan'))
        batch_op.add_column(sa.Column('recipient_users', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('recipients', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('actor', sa.String(length=100), nullable=True))
        batch_op.alter_column('recipient_group',
               existing_type=sa.VARCHAR(length=60),
               type_=sa.String(length=300),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_outbox_sent_at'), ['sent_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('notify_mode', sa.String(length=10), nullable=False, server_default='each'))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('notify_mode')
        batch_op.drop_column('email')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_sent_at'))
        batch_op.alter_column('recipient_group',
               existing_type=sa.String(length=300),
               type_=sa.VARCHAR(length=60),
               existing_nullable=False)
        batch_op.drop_column('actor')
        batch_op.drop_column('recipients')
        batch_op.drop_column('recipient_users')
        batch_op.drop_column('kind')
        batch_op.drop_column('task_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_unread')
        batch_op.drop_index(batch_op.f('ix_notifications_digest_pending'))

    op.drop_table('notifications')
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_deliveries_outbox_id'))
        batch_op.drop_index('ix_email_deliveries_due')

    op.drop_table('email_deliveries')

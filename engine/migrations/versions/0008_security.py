"""security: session generation, login failures shared by all processes, account lock, audit append-only

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

# The audit log is append-only: the database refuses to change or remove a row, whoever asks.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
PG_FUNCTION = """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$ LANGUAGE plpgsql"""
PG_TRIGGER = """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"""


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_at', engine.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table('login_failures',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION IF EXISTS audit_events_append_only()')
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_delete')
    op.drop_table('login_failures')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('session_generation')

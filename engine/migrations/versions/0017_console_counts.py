"""the console's counts without reading every case: `case_counts`, rows of +1 and -1 that
triggers on `instances` add as a case enters and leaves a (status, stage, region, process
version, suspended) group, filled here from the cases there are (`engine.case_counts`);
`ix_tasks_completed` finds the stage visits of the last 90 days from their completions; `ix_tasks_offered_to_no_one`, a
partial index, holds the ready tasks offered to no group and no user, which the queue of tasks
nobody can take lists without reading the others (web/console/unserved.py); `ix_incidents_open`
gives the open incidents oldest first.

The triggers only insert. A later batch-mode rebuild of `instances` on SQLite (which copies the
table) drops them, as it would the search triggers of 0015: recreate both.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 02:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_NO_ONE = sa.text("candidate_groups = '' AND candidate_users = ''")
_OPEN = sa.text('resolved_at IS NULL')
_COUNTED = ('status', 'stage', 'region_code', 'definition_id', 'suspended_at')


def _row(case: str, n: int) -> str:
    """The `case_counts` row of +n or -n for `case` (NEW or OLD)."""
    return (
        'INSERT INTO case_counts (status, stage, region_code, definition_id, suspended, n) VALUES '
        f'({case}.status, {case}.stage, {case}.region_code, {case}.definition_id, '
        f'{case}.suspended_at IS NOT NULL, {n});'
    )


def upgrade() -> None:
    op.create_table(
        'case_counts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('stage', sa.Integer(), nullable=True),
        sa.Column('region_code', sa.String(length=20), nullable=True),
        sa.Column('suspended', sa.Boolean(), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute(
        'INSERT INTO case_counts (status, stage, region_code, definition_id, suspended, n) '
        'SELECT status, stage, region_code, definition_id, suspended_at IS NOT NULL, count(*) '
        'FROM instances GROUP BY status, stage, region_code, definition_id, suspended_at IS NOT NULL'
    )
    if op.get_bind().dialect.name == 'postgresql':
        changed = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in _COUNTED[:4])
        op.execute(
            'CREATE FUNCTION case_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            f"IF TG_OP <> 'INSERT' THEN {_row('OLD', -1)} END IF; "
            f"IF TG_OP <> 'DELETE' THEN {_row('NEW', 1)} END IF; "
            'RETURN NULL; END $$'
        )
        op.execute(
            'CREATE TRIGGER instances_counts_insert_delete AFTER INSERT OR DELETE ON instances '
            'FOR EACH ROW EXECUTE FUNCTION case_counts_follow()'
        )
        op.execute(
            f'CREATE TRIGGER instances_counts_update AFTER UPDATE OF {", ".join(_COUNTED)} ON instances '
            f'FOR EACH ROW WHEN ({changed} OR (OLD.suspended_at IS NULL) <> (NEW.suspended_at IS NULL)) '
            'EXECUTE FUNCTION case_counts_follow()'
        )
    else:
        changed = ' OR '.join(f'old.{c} IS NOT new.{c}' for c in _COUNTED[:4])
        op.execute(f'CREATE TRIGGER instances_counts_insert AFTER INSERT ON instances BEGIN {_row("new", 1)} END')
        op.execute(f'CREATE TRIGGER instances_counts_delete AFTER DELETE ON instances BEGIN {_row("old", -1)} END')
        op.execute(
            f'CREATE TRIGGER instances_counts_update AFTER UPDATE OF {", ".join(_COUNTED)} ON instances '
            f'WHEN {changed} OR (old.suspended_at IS NULL) <> (new.suspended_at IS NULL) '
            f'BEGIN {_row("old", -1)} {_row("new", 1)} END'
        )
    op.create_index('ix_tasks_completed', 'tasks', ['completed_at'], unique=False)
    op.create_index(
        'ix_tasks_offered_to_no_one',
        'tasks',
        ['status'],
        unique=False,
        sqlite_where=_NO_ONE,
        postgresql_where=_NO_ONE,
    )
    op.create_index(
        'ix_incidents_open', 'incidents', ['created_at', 'id'], unique=False, sqlite_where=_OPEN, postgresql_where=_OPEN
    )


def downgrade() -> None:
    op.drop_index('ix_incidents_open', table_name='incidents')
    op.drop_index('ix_tasks_offered_to_no_one', table_name='tasks')
    op.drop_index('ix_tasks_completed', table_name='tasks')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER instances_counts_update ON instances')
        op.execute('DROP TRIGGER instances_counts_insert_delete ON instances')
        op.execute('DROP FUNCTION case_counts_follow()')
    else:
        for name in ('instances_counts_insert', 'instances_counts_delete', 'instances_counts_update'):
            op.execute(f'DROP TRIGGER {name}')
    op.drop_table('case_counts')

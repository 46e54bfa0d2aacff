"""task candidates: who a ready task is offered to, as rows an index serves; the inbox's covering index on tasks

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

_BATCH = 1000


def _names(value):
    return sorted({name.strip() for name in (value or "").split(",") if name.strip()})


def upgrade() -> None:
    candidates = op.create_table('task_candidates',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'name')
    )
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidates_who', ['kind', 'name', 'region_code', 'task_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tasks_inbox',
            ['id', 'status', 'due_at', 'created_at', 'stage', 'assignee', 'instance_id'],
            unique=False,
        )

    # Backfill from the ready tasks' comma-separated columns (the same rule as the projections).
    bind = op.get_bind()
    ready = bind.execute(sa.text(
        "SELECT t.id, t.candidate_groups, t.candidate_users, t.assignee, i.region_code "
        "FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.status = 'ready'"
    )).all()
    rows = []
    for task_id, groups, users, assignee, region in ready:
        rows += [{"task_id": task_id, "kind": "group", "name": g, "region_code": region} for g in _names(groups)]
        rows += [{"task_id": task_id, "kind": "user", "name": u, "region_code": region} for u in _names(users)]
        if assignee:
            rows.append({"task_id": task_id, "kind": "assignee", "name": assignee, "region_code": region})
    for start in range(0, len(rows), _BATCH):
        op.bulk_insert(candidates, rows[start:start + _BATCH])


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_inbox')
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_who')
    op.drop_table('task_candidates')

"""case search: trigram indexes on the columns a search reads (title, business key, partner,
country), so a search for three characters or more reads the cases that match instead of every
case the person may see (web/case_search.py).

PostgreSQL: a GIN trigram index on each `lower(column)`, which `LIKE '%text%'` uses. They are
PostgreSQL's alone, so they are not in `engine.models`; their names end in `_trgm`. `pg_trgm` is
a trusted extension (PostgreSQL 13 and later): the database's owner may create it. Where it
cannot be created, the upgrade goes on without these indexes and says so: searches still work,
reading every case.

SQLite: the FTS5 table `instances_search` with the trigram tokenizer (SQLite 3.34 and later),
its content read from `instances` and kept in step by three triggers. A later migration that
rebuilds `instances` (Alembic's batch mode copies the table) drops the triggers with the old
table and must create them again; tests/web/test_case_list.py checks the index follows the cases.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:30:00.000000
"""
import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')

_COLUMNS = ('title', 'business_key', 'partner', 'country')
_INDEXES = {f'ix_instances_{column}_trgm': column for column in _COLUMNS}
_TRIGGERS = ('instances_search_insert', 'instances_search_delete', 'instances_search_update')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql()
    else:
        _sqlite()


def _postgresql() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except DBAPIError as error:
        log.warning('pg_trgm not available (%s): case searches will read every case', error.orig)
        return
    # The operator class is named with the extension's schema: a database has the extension once,
    # perhaps in a schema other than this one's (another deployment's, sharing the database).
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    for name, column in _INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON instances USING gin (lower({column}) "{schema}".gin_trgm_ops)')


def _sqlite() -> None:
    columns = ', '.join(_COLUMNS)
    new = ', '.join(f'new.{column}' for column in _COLUMNS)
    old = ', '.join(f'old.{column}' for column in _COLUMNS)
    changed = ' OR '.join(f'old.{column} IS NOT new.{column}' for column in _COLUMNS)
    add = f'INSERT INTO instances_search (rowid, {columns}) VALUES (new.id, {new});'
    remove = f"INSERT INTO instances_search (instances_search, rowid, {columns}) VALUES ('delete', old.id, {old});"
    op.execute(
        f'CREATE VIRTUAL TABLE instances_search USING fts5({columns}, '
        "content='instances', content_rowid='id', tokenize='trigram')"
    )
    op.execute(f'CREATE TRIGGER instances_search_insert AFTER INSERT ON instances BEGIN {add} END')
    op.execute(f'CREATE TRIGGER instances_search_delete AFTER DELETE ON instances BEGIN {remove} END')
    op.execute(
        f'CREATE TRIGGER instances_search_update AFTER UPDATE OF {columns} ON instances '
        f'WHEN {changed} BEGIN {remove} {add} END'
    )
    op.execute("INSERT INTO instances_search (instances_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in _INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        return
    for name in _TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    op.execute('DROP TABLE IF EXISTS instances_search')

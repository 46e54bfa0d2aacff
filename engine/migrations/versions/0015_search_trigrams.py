"""case search: on PostgreSQL, trigram indexes on the lower-cased columns a search reads (title,
business key, partner, country), so `lower(column) LIKE '%text%'` reads the matching cases
instead of every case the person may see. SQLite has no such index: there a search scans.

The indexes are PostgreSQL's alone, so they are not in `engine.models` (whose indexes both
databases have); their names end in `_trgm`. `pg_trgm` is a trusted extension (PostgreSQL 13 and
later): the database's owner may create it. Where it cannot be created, the upgrade goes on
without these indexes and says so: searches still work, more slowly.

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

_INDEXES = {
    'ix_instances_title_trgm': 'title',
    'ix_instances_business_key_trgm': 'business_key',
    'ix_instances_partner_trgm': 'partner',
    'ix_instances_country_trgm': 'country',
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except DBAPIError as error:
        log.warning('pg_trgm not available (%s): case searches will scan the cases', error.orig)
        return
    # The operator class is named with the extension's schema: a database has the extension once,
    # perhaps in a schema other than this one's (another deployment's, sharing the database).
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    ops = f'"{schema}".gin_trgm_ops'
    for name, column in _INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON instances USING gin (lower({column}) {ops})')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in _INDEXES:
        op.execute(f'DROP INDEX IF EXISTS {name}')

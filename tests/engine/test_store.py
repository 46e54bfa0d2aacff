"""The database layer: migrations match the models, SQLite runs in WAL mode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from engine.models import Base
from engine.runtime import parse_retry_cycle
from engine.store import make_engine


def _in_the_models(obj, name, type_, reflected, compare_to) -> bool:
    """All but the search's trigram indexes, each database's own (migration 0015; tested by
    tests/web/test_case_list.py): PostgreSQL's `_trgm` indexes, SQLite's FTS5 table and the
    tables it keeps its index in."""
    if not reflected:
        return True
    return not (
        type_ == "index"
        and name.endswith("_trgm")
        or type_ == "table"
        and name.startswith("instances_search")
    )


def test_migrations_create_exactly_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _in_the_models})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: add one in engine/migrations/versions"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize(
    "cycle, expected",
    [
        (None, (3, timedelta(minutes=5))),
        ("R5/PT10M", (5, timedelta(minutes=10))),
        ("R1/P1D", (1, timedelta(days=1))),
        ("R3/PT1H30M", (3, timedelta(hours=1, minutes=30))),
    ],
)
def test_retry_cycles(cycle, expected):
    assert parse_retry_cycle(cycle) == expected


def test_bad_retry_cycle_is_refused():
    with pytest.raises(ValueError, match="R<n>/<duration>"):
        parse_retry_cycle("every minute")


def test_read_sessions_keep_the_connections_prepared_statements(db_url):
    """psycopg prepares a statement run 5 times on a connection and forgets them all at a
    ROLLBACK: read sessions end with COMMIT, so a page's statements stay planned across requests."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements: PostgreSQL")
    from sqlalchemy.orm import sessionmaker

    from engine.store import read_session

    engine = make_engine(db_url)
    sessions = sessionmaker(engine)
    try:
        for _ in range(6):  # one pooled connection, one read session each time, as web requests
            with read_session(sessions) as session:
                session.execute(text("SELECT count(*) FROM alembic_version"))
        with read_session(sessions) as session:
            prepared = session.scalar(
                text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%alembic_version%'")
            )
        assert prepared == 1
    finally:
        engine.dispose()

"""Database connections, migrations and the unit of work.

SQLite is the embedded default (WAL, one writer at a time, busy timeout); PostgreSQL is the
scale-out store. Schema changes go through Alembic only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from .errors import Conflict, Unavailable

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

# PostgreSQL: serialization failure, deadlock detected, lock not available (NOWAIT, lock_timeout)
LOST_RACE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
LOST_RACE = "Data sedang diubah oleh pengguna lain; muat ulang lalu coba lagi"


def database_error(context: ExceptionContext) -> Exception | None:
    """The error a failed statement or connection means to the engine's callers, by kind:

    - a lost race (SQLite's "database is locked" on a stale snapshot or past the busy timeout,
      PostgreSQL's serialization failure, deadlock or lock timeout) is a `Conflict`: try again;
    - a database that cannot be reached or dropped the connection (refused, server closed it,
      shut down, out of connections or disk) is `Unavailable`: back off and reconnect;
    - anything else (a bug: no such table, a constraint) stays as SQLAlchemy raised it.
    """
    error = context.original_exception
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if context.is_disconnect or isinstance(context.sqlalchemy_exception, InterfaceError):
        return Unavailable(detail)
    if not isinstance(context.sqlalchemy_exception, OperationalError):
        return None
    if context.dialect.name == "sqlite":
        message = str(error).lower()
        if "locked" in message or "busy" in message:
            return Conflict(LOST_RACE)
        if message.startswith("no such"):
            return None
        return Unavailable(detail)
    if getattr(error, "sqlstate", None) in LOST_RACE_SQLSTATES:
        return Conflict(LOST_RACE)
    return Unavailable(detail)


def _translate(context: ExceptionContext) -> Exception | None:
    translated = database_error(context)
    if translated is not None:
        translated.__cause__ = context.sqlalchemy_exception or context.original_exception
    return translated


# A connection reads SQLite's statistics when it opens (`refresh_statistics`): an hour is as old as
# the statistics a connection plans with get.
SQLITE_RECYCLE_SECONDS = 3600


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine whose errors arrive by kind (`database_error`); SQLite connections
    get WAL, foreign keys and a busy timeout, and are opened again hourly."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_recycle=SQLITE_RECYCLE_SECONDS,
        )
        event.listen(engine, "handle_error", _translate, retval=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    _parse_long_statements_once()
    engine = create_engine(url, pool_recycle=1800)
    event.listen(engine, "handle_error", _translate, retval=True)
    return engine


def refresh_statistics(engine: Engine) -> None:
    """SQLite's planner statistics (`ANALYZE`), which the worker refreshes hourly: SQLite gathers
    none by itself, where PostgreSQL's autovacuum analyses each table as it changes. Without them
    it read the index of `status` for the running cases, nearly all of them, and sorted 100,000
    for the console's overdue page (258 ms; 10 ms with them). At 100,000 cases it takes 0.2 s."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


# The longest statement whose placeholders psycopg parses once (psycopg's own limit: 4 KiB).
PARSED_ONCE_LENGTH = 32 * 1024


def _parse_long_statements_once() -> None:
    """psycopg turns a statement's `%(name)s` placeholders into `$n` in Python at every run, and
    remembers the result only for statements of at most 4 KiB and 50 parameters: its limits
    (module constants of `psycopg._queries`, pinned version) keep ever-changing ORM batch inserts
    out of its cache. The inbox's statements are built once per shape and longer (the counts
    22 KiB, the page's ids 6 KiB, 7-33 parameters): parsed again each time they took 0.7 ms of
    CPU of a 7.8 ms inbox request. The cache stays an LRU of 128 entries and the parameter limit
    stays, so batch inserts still stay out."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, PARSED_ONCE_LENGTH)


def alembic_config(url: str) -> Config:
    """Alembic is imported by migrations only, not by every process that opens the database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (the `init-db` command)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


class UnitOfWork:
    """One operation, one transaction: rolls back unless `commit()` is called."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


@contextmanager
def one_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction that sessions join as savepoints (`joined_sessions`):
    many units of work become one all-or-nothing change. The caller commits the connection;
    anything else, an exception included, rolls all of it back.

    SQLite's driver opens a transaction only before a write, so a first SAVEPOINT would become
    the outermost transaction and its release would commit. BEGIN IMMEDIATE opens the real
    one at once and takes the write lock for its whole length: no other writer interleaves."""
    with engine.connect() as connection:
        connection.begin()
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        finally:
            if connection.in_transaction():
                connection.rollback()


def joined_sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose transactions are savepoints of `connection`'s transaction: a unit of work's
    commit releases its savepoint, its rollback undoes only its own changes."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for read-only queries (screens, lists, the CLI's `show`).

    Its transaction ends with COMMIT, which for reads is the same as a rollback: psycopg forgets
    a connection's prepared statements at every ROLLBACK, so ending with one made PostgreSQL plan
    every statement of every page again (the inbox's counts: about 10 ms a request)."""
    session = factory()
    try:
        yield session
        # A read has nothing to lose: if the connection failed or went away meanwhile (the page
        # already answered 503), close() rolls back instead.
        with suppress(SQLAlchemyError, Unavailable):
            session.commit()
    finally:
        session.close()  # loaded objects stay readable

"""Database connections, migrations and the unit of work.

SQLite is the embedded default (WAL, one writer at a time, busy timeout); PostgreSQL is the
scale-out store. Schema changes go through Alembic only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine; SQLite connections get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_recycle=1800)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (`ksdpl init-db`)."""
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
    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for read-only queries (screens, lists, the CLI's `show`)."""
    session = factory()
    try:
        yield session
    finally:
        session.close()  # ends the transaction; loaded objects stay readable

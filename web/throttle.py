"""Login throttling: failures only, per username and address, shared by every process through
the database; an account lock after many more failures.

- A successful login never counts and clears its username + address record.
- After `FREE_FAILURES` wrong passwords from one address for one username, each further failure
  doubles the wait before that pair may try again (`BASE_DELAY` up to `MAX_DELAY`). Colleagues
  behind one office NAT are not affected; nor is the same user from another address.
- `LOCK_AFTER` failures on one account (from any address) since its last successful login lock
  it: only an admin (`ksdpl user unlock`) or a new password (`ksdpl user passwd`) lifts the lock.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.clock import clock
from engine.models import LoginFailure, User

FREE_FAILURES = 3
BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)
LOCK_AFTER = 50
FORGET_AFTER = timedelta(hours=24)  # a pair's old failures stop counting after a quiet day


def _key(username: str, address: str | None) -> str:
    return f"{username.strip().lower()[:100]} {address or '-'}"[:400]


def delay_after(failures: int) -> timedelta:
    """The wait after the n-th failure of one pair: none for the first few, then doubling."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(BASE_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


def wait_seconds(session: Session, username: str, address: str | None) -> int:
    """How long this pair must still wait before a password is checked (0: go ahead)."""
    blocked_until = session.scalar(
        select(LoginFailure.blocked_until).where(LoginFailure.key == _key(username, address))
    )
    if blocked_until is None:
        return 0
    left = (blocked_until - clock.now()).total_seconds()
    return max(0, int(left + 0.999))


def is_locked(session: Session, username: str) -> bool:
    return session.scalar(select(User.locked_at).where(User.username == username.strip().lower())) is not None


def record_failure(session: Session, username: str, address: str | None) -> None:
    """Count one wrong password for the pair and the account; the caller commits. One statement
    per counter, so concurrent processes never lose a count."""
    now = clock.now()
    key = _key(username, address)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginFailure.__table__
    stale = table.c.last_at < now - FORGET_AFTER
    statement = insert(table).values(key=key, failures=1, last_at=now, blocked_until=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((stale, 1), else_=table.c.failures + 1),
            "last_at": now,
        },
    )
    session.execute(statement)
    failures = session.scalar(select(LoginFailure.failures).where(LoginFailure.key == key))
    session.execute(
        update(LoginFailure).where(LoginFailure.key == key).values(blocked_until=now + delay_after(failures))
    )
    name = username.strip().lower()
    session.execute(update(User).where(User.username == name).values(failed_logins=User.failed_logins + 1))
    session.execute(
        update(User)
        .where(User.username == name, User.failed_logins >= LOCK_AFTER, User.locked_at.is_(None))
        .values(locked_at=now)
    )


def record_success(session: Session, username: str, address: str | None) -> None:
    """A successful login clears the pair's failures and the account's count; the caller commits."""
    session.execute(LoginFailure.__table__.delete().where(LoginFailure.key == _key(username, address)))
    session.execute(
        update(User)
        .where(User.username == username.strip().lower(), User.failed_logins != 0)
        .values(failed_logins=0)
    )


def unlock(session: Session, username: str) -> None:
    """Lift an account lock and forget its failures (an admin's act, or a new password)."""
    name = username.strip().lower()
    session.execute(update(User).where(User.username == name).values(locked_at=None, failed_logins=0))
    session.execute(
        LoginFailure.__table__.delete().where(LoginFailure.key.startswith(f"{name} ", autoescape=True))
    )

"""Staff accounts: argon2 password hashes, groups and the region rule, shared by the web and the CLI.

Accounts are not process state, so they are written here rather than through the orchestrator's
steps; every write is still one session and one commit.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, func, or_, select, update
from sqlalchemy.orm import Session

from engine.access import AccessPolicy
from engine.clock import clock
from engine.models import Region, User
from engine.preferences import NOTIFY_MODES
from engine.text import single_line

from . import counting
from .case_search import ESCAPE, contains_pattern
from .throttle import unlock

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")
_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")


@cache
def _hasher() -> PasswordHasher:
    """argon2, loaded by the first password to hash or check, not by every import (the CLI's)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the username does not exist, so a wrong name costs as long as a wrong password."""
    return _hasher().hash("tidak-ada-pengguna-ini")


class AccountError(ValueError):
    """A refused account change, with a message for the person at the keyboard."""


@dataclass(frozen=True)
class UserInfo:
    """An account as screens and the CLI show it; never carries the hash."""

    id: int
    username: str
    name: str
    groups: tuple[str, ...]
    region_code: str | None
    region_name: str | None
    active: bool
    email: str | None = None
    notify_mode: str = "each"
    region_timezone: str | None = None  # the region's clock, which its people read times on


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Kata sandi paling sedikit {MIN_PASSWORD_LENGTH} karakter")


def split_groups(groups: str | None) -> tuple[str, ...]:
    return tuple(g.strip() for g in (groups or "").split(",") if g.strip())


def _check_groups(session: Session, groups: list[str], region_code: str | None, policy: AccessPolicy) -> None:
    """The groups the handler package declares, with a region exactly when they are regional."""
    problem = policy.account_problem(groups, region_code)
    if problem:
        raise AccountError(problem)
    if region_code and session.get(Region, region_code) is None:
        raise AccountError(f"Wilayah '{region_code}' tidak dikenal")


def create_user(
    session: Session,
    username: str,
    name: str,
    groups: list[str],
    password: str,
    region_code: str | None,
    policy: AccessPolicy,
    email: str | None = None,
) -> User:
    """Add an account with groups of `policy` (the registry's `access`); the caller commits."""
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise AccountError("Nama pengguna: 2-100 huruf kecil, angka, titik, garis bawah atau tanda hubung")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"Pengguna '{username}' sudah ada")
    name = single_line(name)
    if not name:
        raise AccountError("Nama wajib diisi")
    groups = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    _check_groups(session, groups, region_code, policy)
    check_password_strength(password)
    email = check_email(email)
    user = User(
        username=username,
        name=name.strip(),
        password_hash=hash_password(password),
        groups=",".join(groups),
        region_code=region_code or None,
        active=True,
        created_at=clock.now(),
        email=email,
        notify_mode="each",
    )
    session.add(user)
    session.flush()
    return user


def check_email(email: str | None) -> str | None:
    """A plausible address, trimmed and lower-cased; empty means none."""
    email = (email or "").strip().lower()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise AccountError(f"Alamat e-mail tidak valid: {email}")
    return email


def _account(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"Pengguna '{username}' tidak ditemukan")
    return user


def set_email(session: Session, username: str, email: str | None) -> None:
    """Set (or with an empty value remove) the address notifications are mailed to."""
    _account(session, username).email = check_email(email)


def set_notify_mode(session: Session, username: str, mode: str) -> None:
    """E-mail for each notification, a daily digest, or none (the app shows them all anyway)."""
    if mode not in NOTIFY_MODES:
        choices = ", ".join(NOTIFY_MODES)
        raise AccountError(f"Pilihan pemberitahuan tidak dikenal: {mode} (pilihan: {choices})")
    _account(session, username).notify_mode = mode


def set_password(session: Session, username: str, password: str) -> None:
    """Replace a password: every open session of that user ends, and a lock after too many wrong
    passwords is lifted (a password reset is one of the two ways out of it)."""
    check_password_strength(password)
    user = _account(session, username)
    user.password_hash = hash_password(password)
    session.flush()
    unlock(session, user.username)
    end_sessions(session, user.id)


def set_active(session: Session, username: str, active: bool) -> None:
    """Enable or disable an account; disabling ends every open session at once."""
    user = _account(session, username)
    user.active = active
    if not active:
        end_sessions(session, user.id)


def end_sessions(session: Session, user_id: int) -> None:
    """Invalidate every session cookie of a user, in every process (logout, password, disable)."""
    session.execute(
        update(User).where(User.id == user_id).values(session_generation=User.session_generation + 1)
    )


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None. Rehashes when argon2's parameters changed."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return None
    try:
        _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
        session.commit()
    return user


# An account with its region's name and clock, as one statement of plain rows (no ORM objects):
# the session cookie's and the API token's user are read with it on every request.
INFO_COLUMNS = (
    User.id,
    User.username,
    User.name,
    User.groups,
    User.region_code,
    User.active,
    User.email,
    User.notify_mode,
    Region.name.label("region_name"),
    Region.timezone.label("region_timezone"),
)


def info_select(*columns: Any) -> Select:
    """`INFO_COLUMNS` (and `columns`) of users, their region joined."""
    return select(*INFO_COLUMNS, *columns).outerjoin(Region, Region.code == User.region_code)


def info_of(row: Row) -> UserInfo:
    """A row of `info_select` as the account screens show."""
    return UserInfo(
        id=row.id,
        username=row.username,
        name=row.name,
        groups=split_groups(row.groups),
        region_code=row.region_code,
        region_name=row.region_name,
        active=row.active,
        email=row.email,
        notify_mode=row.notify_mode,
        region_timezone=row.region_timezone,
    )


def user_info(session: Session, user: User) -> UserInfo:
    return info_of(session.execute(info_select().where(User.id == user.id)).one())


ACCOUNTS_PAGE_SIZE = 50


def _accounts(text: str, region_code: str | None) -> Select:
    """The accounts whose username or name contains `text` and, when given, of one region; the
    accounts page and `ksdpl user list` find them alike."""
    query = info_select()
    if text.strip():
        pattern = contains_pattern(text.strip())
        query = query.where(
            or_(
                func.lower(User.username).like(pattern, escape=ESCAPE),
                func.lower(User.name).like(pattern, escape=ESCAPE),
            )
        )
    if region_code:
        query = query.where(User.region_code == region_code)
    return query


def list_users(
    session: Session, text: str, region_code: str | None, limit: int, offset: int
) -> tuple[list[UserInfo], int]:
    """A page of the accounts in username order, with their regions in the same statement, and
    how many there are in all (`ksdpl user list`: a national deployment has thousands)."""
    query = _accounts(text, region_code)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(User.username).limit(limit).offset(offset))
    return [info_of(row) for row in rows], total


def account_page(session: Session, text: str, region_code: str, page: int) -> counting.Page[UserInfo]:
    """One page of the accounts in username order (its unique index), found as `_accounts` finds
    them; counted to the cap like every list. A national deployment has thousands of accounts:
    the admin page listed them all, each with a form holding every region."""
    query = _accounts(text, region_code)
    total = counting.capped_count(session, query)
    pager = counting.Pager.of(total, page, ACCOUNTS_PAGE_SIZE)
    rows = session.execute(query.order_by(User.username).limit(pager.limit).offset(pager.offset)).all()
    return counting.Page.of([info_of(row) for row in rows], total, pager)


def account_info(session: Session, username: str) -> UserInfo | None:
    row = session.execute(info_select().where(User.username == username)).first()
    return info_of(row) if row is not None else None


def display_names(session: Session, usernames: set[str | None]) -> dict[str, str]:
    """Full names for usernames shown in lists and history; unknown names show as given."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.name).where(User.username.in_(wanted)))
    names = {row.username: row.name for row in rows}
    return {u: names.get(u, u) for u in wanted}


def set_groups(
    session: Session, username: str, groups: list[str], region_code: str | None, policy: AccessPolicy
) -> None:
    """Replace an account's groups and region, with the same rules as when it was created."""
    user = _account(session, username)
    groups = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    _check_groups(session, groups, region_code or None, policy)
    user.groups, user.region_code = ",".join(groups), region_code or None
    end_sessions(session, user.id)  # what the person may see changed: they log in again

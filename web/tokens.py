"""Bearer tokens for the JSON API: one or more per user, stored as SHA-256 only.

A token is 32 random bytes (URL-safe), so a plain SHA-256 is enough to store it: nobody can
guess one, and a database dump does not give one away. It acts as its user, with the user's
groups and region as they are at each request; a disabled account's tokens stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.clock import clock
from engine.models import ApiToken, User

from .accounts import AccountError, UserInfo, info_of, info_select

PREFIX = "ksdpl_"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str = "", created_by: str | None = None) -> str:
    """A new token for an active user; the only time it is ever shown."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"Pengguna '{username}' tidak ditemukan")
    if not user.active:
        raise AccountError(f"Akun '{user.username}' nonaktif")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name.strip()[:100],
            token_sha256=_digest(token),
            prefix=token[: len(PREFIX) + 6],
            created_at=clock.now(),
            created_by=created_by,
        )
    )
    return token


def revoke(session: Session, *, token_id: int | None = None, username: str | None = None) -> int:
    """Revoke one token by id, or every active token of a user; the number revoked."""
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    elif username is not None:
        user_id = session.scalar(select(User.id).where(User.username == username.strip().lower()))
        if user_id is None:
            raise AccountError(f"Pengguna '{username}' tidak ditemukan")
        query = query.where(ApiToken.user_id == user_id)
    else:
        raise AccountError("Sebutkan token (id) atau pengguna")
    tokens = list(session.scalars(query))
    if token_id is not None and not tokens:
        raise AccountError(f"Token {token_id} tidak ditemukan atau sudah dicabut")
    for token in tokens:
        token.revoked_at = clock.now()
    return len(tokens)


def list_tokens(session: Session, username: str | None = None) -> list[TokenInfo]:
    query = select(ApiToken, User.username, User.name).join(User, User.id == ApiToken.user_id)
    if username:
        query = query.where(User.username == username.strip().lower())
    return [
        TokenInfo(t.id, u, n, t.prefix, t.created_at, t.created_by, t.revoked_at)
        for t, u, n in session.execute(query.order_by(ApiToken.id))
    ]


_BY_TOKEN = (
    info_select()
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked_at.is_(None), User.active.is_(True))
)


def user_for_token(session: Session, token: str) -> UserInfo | None:
    """The active user a live token belongs to, or None (unknown, revoked, or account disabled).
    One indexed lookup by the token's hash, on every API request."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = session.connection().execute(_BY_TOKEN, {"digest": _digest(token)}).first()
    return info_of(row) if row is not None else None

"""Login and logout. Every other page needs a login (enforced app-wide, not per view).

The session cookie holds the user id, the account's session generation and a fingerprint of the
password hash. Logout, a password change and disabling the account raise the generation in the
database, so every cookie issued before ends at once, in every process. Wrong passwords are
throttled per username and address, and lock the account after many more (`throttle`).
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import bindparam

from engine.access import Actor
from engine.models import User

from . import throttle
from .accounts import UserInfo, authenticate, end_sessions, info_of, info_select, user_info
from .db import FRAME_COLUMNS, NATIONAL_TIMEZONE, access, db, keep_frame, latest_deployment, orchestrator

bp = Blueprint("auth", __name__)

MSG_WAIT = "Terlalu banyak percobaan masuk yang salah. Coba lagi dalam {seconds} detik."
MSG_ACCOUNT_LOCKED = (
    "Akun ini dikunci karena terlalu banyak percobaan masuk yang salah. "
    "Hubungi administrator untuk membukanya atau mengatur ulang kata sandi."
)
MSG_BAD_LOGIN = "Nama pengguna atau kata sandi salah"

# Pages anyone may open; everything else redirects to the login page.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "ops.healthz", "api.openapi"})


class WebUser(UserMixin):
    """The logged-in person: what templates show and the `Actor` every query is filtered by."""

    def __init__(self, info: UserInfo, generation: int, fingerprint: str) -> None:
        self.info = info
        self._generation = generation
        self._fingerprint = fingerprint

    def get_id(self) -> str:
        return f"{self.info.id}:{self._generation}:{self._fingerprint}"

    @property
    def username(self) -> str:
        return self.info.username

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def groups(self) -> tuple[str, ...]:
        return self.info.groups

    @property
    def region_code(self) -> str | None:
        return self.info.region_code

    @property
    def region_name(self) -> str | None:
        return self.info.region_name

    @property
    def actor(self) -> Actor:
        return access().actor(self.info.username, self.info.groups, self.info.region_code)

    @cached_property  # asked on every page (the menu); one answer per request
    def can_start_case(self) -> bool:
        """Whether the process this app serves lets this person start a case in their own region
        (the web starts a case where its starter works)."""
        deployment = latest_deployment()
        if self.info.region_code is None or deployment is None:  # no region, or not deployed yet
            return False
        return access().may_start(
            self.actor, deployment.starter_groups, deployment.starter_users, self.info.region_code
        )


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _web_user(user: User) -> WebUser:
    return WebUser(user_info(db(), user), user.session_generation, _fingerprint(user.password_hash))


_BY_ID = info_select(User.locked_at, User.session_generation, User.password_hash, *FRAME_COLUMNS).where(
    User.id == bindparam("id")
)


def _load_user(user_id: str) -> WebUser | None:
    """The cookie's user while its session is still valid: same generation, same password. One
    statement on every request: the account with its region's name and clock, and what the
    page's frame shows (`db.FRAME_COLUMNS`)."""
    parts = user_id.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts[:2]) or len(parts[0]) > 10:
        return None
    key = current_app.config["KSDPL_PROCESS_KEY"]
    row = db().connection().execute(_BY_ID, {"id": int(parts[0]), "key": key}).first()
    if row is None or not row.active or row.locked_at is not None:
        return None
    if str(row.session_generation) != parts[1] or _fingerprint(row.password_hash) != parts[2]:
        return None
    keep_frame(row)
    return WebUser(info_of(row), row.session_generation, _fingerprint(row.password_hash))


def safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` and `https://...` go to the inbox instead."""
    if not target:
        return url_for("inbox.index")
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return url_for("inbox.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    error = None
    status = 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        password = request.form.get("password", "")[:1000]
        error, status = MSG_BAD_LOGIN, 401
        if username and password:
            address = request.remote_addr
            wait = throttle.wait_seconds(db(), username, address)
            if wait:
                error, status = MSG_WAIT.format(seconds=wait), 429
            elif throttle.is_locked(db(), username):
                error, status = MSG_ACCOUNT_LOCKED, 403
            else:
                user = authenticate(db(), username, password)
                with orchestrator().uow() as uow:
                    if user is None:
                        throttle.record_failure(uow.session, username, address)
                    else:
                        throttle.record_success(uow.session, user.username, address)
                    uow.commit()
                if user is not None:
                    web_user = _web_user(user)
                    # operators do no business tasks: their start page is the console
                    start = url_for("console.dashboard") if web_user.actor.is_operator else None
                    target = safe_next(request.form.get("next") or start)
                    session.clear()  # drop anything set before login; a fresh CSRF token follows
                    login_user(web_user)
                    return redirect(target)
    return render_template(
        "login.html", error=error, username=username, next=request.args.get("next", "")
    ), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        with orchestrator().uow() as uow:
            end_sessions(uow.session, current_user.info.id)  # every copy of the cookie, too
            uow.commit()
    logout_user()
    session.clear()
    flash("Anda sudah keluar.", "info")
    return redirect(url_for("auth.login"))


def _require_login() -> ResponseReturnValue | None:
    """Secure by default: a new view is private unless listed in PUBLIC_ENDPOINTS."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    g.actor = current_user.actor
    g.viewer_tz = current_user.info.region_timezone or NATIONAL_TIMEZONE  # `viewer_timezone`
    return None


def init_app(app: Flask) -> None:
    login_manager = LoginManager()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Silakan masuk terlebih dahulu."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.init_app(app)
    app.before_request(_require_login)


__all__ = ["WebUser", "bp", "init_app", "safe_next"]

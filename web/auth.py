"""Login and logout. Every other page needs a login (enforced app-wide, not per view).

The session cookie holds the user id plus a fingerprint of the password hash, so changing a
password ends every open session of that user. Login attempts are rate-limited per address
and, for failures, per username (see `init_app`).
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
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.access import Actor
from engine.errors import NotFound
from engine.models import User

from .accounts import UserInfo, authenticate, user_info
from .db import access, db, orchestrator

bp = Blueprint("auth", __name__)

LOGIN_LIMIT = "10 per minute"  # per address, every POST
FAILED_LOGIN_LIMIT = "10 per 15 minutes"  # per username, failed attempts only
MSG_LOCKED = "Terlalu banyak percobaan masuk. Tunggu beberapa menit, lalu coba lagi."
MSG_BAD_LOGIN = "Nama pengguna atau kata sandi salah"

# Pages anyone may open; everything else redirects to the login page.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})


class WebUser(UserMixin):
    """The logged-in person: what templates show and the `Actor` every query is filtered by."""

    def __init__(self, info: UserInfo, fingerprint: str) -> None:
        self.info = info
        self._fingerprint = fingerprint

    def get_id(self) -> str:
        return f"{self.info.id}:{self._fingerprint}"

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
        if self.info.region_code is None:
            return False
        try:
            return orchestrator().may_start(
                self.actor, current_app.config["KSDPL_PROCESS_KEY"], self.info.region_code
            )
        except NotFound:  # not deployed yet
            return False


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _load_user(user_id: str) -> WebUser | None:
    raw_id, _, fingerprint = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    user = db().get(User, int(raw_id))
    if user is None or not user.active or _fingerprint(user.password_hash) != fingerprint:
        return None
    return WebUser(user_info(db(), user), fingerprint)


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
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        password = request.form.get("password", "")[:1000]
        user = authenticate(db(), username, password) if username and password else None
        if user is not None:
            info = user_info(db(), user)
            operator = access().actor(info.username, info.groups, info.region_code).is_operator
            # operators do no business tasks: their start page is the console
            target = safe_next(
                request.form.get("next") or (url_for("console.dashboard") if operator else None)
            )
            session.clear()  # drop anything set before login; a fresh CSRF token follows
            login_user(WebUser(info, _fingerprint(user.password_hash)))
            return redirect(target)
        error = MSG_BAD_LOGIN
    status = 401 if error else 200
    return render_template(
        "login.html", error=error, username=username, next=request.args.get("next", "")
    ), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
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
    return None


def _too_many_attempts(_error: Exception) -> ResponseReturnValue:
    if request.endpoint == "auth.login":
        username = request.form.get("username", "").strip()[:100]
        return render_template("login.html", error=MSG_LOCKED, username=username, next=""), 429
    return render_template("error.html", title="Terlalu banyak permintaan", message=MSG_LOCKED), 429


def _failed_login_key() -> str:
    return "login-user:" + request.form.get("username", "").strip().lower()[:100]


def init_app(app: Flask) -> None:
    login_manager = LoginManager()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Silakan masuk terlebih dahulu."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.init_app(app)

    # One limiter per app (its memory storage must not leak between apps, e.g. in tests).
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        default_limits=[],
    )
    limiter.init_app(app)
    view = app.view_functions["auth.login"]
    view = limiter.limit(
        FAILED_LOGIN_LIMIT,
        key_func=_failed_login_key,
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 401,
    )(view)
    view = limiter.limit(LOGIN_LIMIT, methods=["POST"])(view)
    app.view_functions["auth.login"] = view

    app.before_request(_require_login)
    app.register_error_handler(429, _too_many_attempts)


__all__ = ["WebUser", "bp", "init_app", "safe_next"]

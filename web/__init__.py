"""The staff web app: inbox, task forms, cases. `create_app` is the composition root.

It reads the settings, builds the one Orchestrator this process uses (with the KSDPL handlers)
and plugs every module in; reading it top to bottom gives the app's table of contents.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import Unavailable
from engine.ids import MAX_ID

if TYPE_CHECKING:  # Flask is imported by `create_app`, not by every `web.*` import (the CLI's)
    from flask import Flask, Response
    from flask.typing import ResponseReturnValue
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MB = 1024 * 1024
RETRY_AFTER_SECONDS = 30
DEFAULT_MAX_UPLOAD_MB = 10

ERROR_TEXT = {
    400: ("Permintaan tidak valid", "Permintaan tidak dapat diproses."),
    403: ("Tidak berwenang", "Anda tidak berwenang membuka atau mengubah ini."),
    404: ("Tidak ditemukan", "Halaman atau data yang dicari tidak ada, atau bukan wewenang Anda."),
    405: ("Metode tidak diizinkan", "Cara membuka halaman ini tidak diizinkan."),
    409: ("Bentrok", "Data sudah diubah oleh pengguna lain. Muat ulang halaman."),
    413: ("Berkas terlalu besar", "Kiriman melebihi batas ukuran. Setiap berkas paling besar {max_size}."),
    429: ("Terlalu banyak permintaan", "Terlalu banyak permintaan. Tunggu sebentar, lalu coba lagi."),
    500: ("Terjadi kesalahan", "Terjadi kesalahan pada server. Coba lagi atau hubungi operator."),
    503: ("Layanan belum tersedia", "Layanan sedang tidak tersedia. Coba lagi beberapa saat lagi."),
}
ERROR_CODES = tuple(ERROR_TEXT)  # every status the app answers with has an Indonesian page


def id_converter() -> type:
    """`<int:...>` in every route: a number past the id columns' range is 404, never a 500.
    Built by `create_app`, so importing `web` (the CLI does) does not import werkzeug."""
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        def __init__(self, url_map, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("min", 1)
            kwargs.setdefault("max", MAX_ID)
            super().__init__(url_map, *args, **kwargs)

    return IdConverter


def _env_settings() -> dict[str, Any]:
    """Settings from the environment; explicit `config` passed to `create_app` wins over these."""
    settings: dict[str, Any] = {}
    if url := os.environ.get("KSDPL_DATABASE_URL"):
        settings["KSDPL_DATABASE_URL"] = url
    if key := os.environ.get("KSDPL_SECRET_KEY"):
        settings["SECRET_KEY"] = key
    if size := os.environ.get("KSDPL_MAX_UPLOAD_MB"):
        settings["KSDPL_MAX_UPLOAD_BYTES"] = int(size) * MB
    if secure := os.environ.get("KSDPL_SECURE_COOKIES"):
        settings["SESSION_COOKIE_SECURE"] = secure.lower() not in ("0", "false", "no", "tidak")
    if proxies := os.environ.get("KSDPL_TRUSTED_PROXIES"):
        settings["KSDPL_TRUSTED_PROXIES"] = int(proxies)
    if dev := os.environ.get("KSDPL_DEV"):
        settings["KSDPL_DEV"] = dev.lower() not in ("0", "false", "no", "tidak", "")
    return settings


class MissingSecretKey(RuntimeError):
    """Production without KSDPL_SECRET_KEY: every host would sign sessions with its own key."""

    def __init__(self) -> None:
        super().__init__(
            "KSDPL_SECRET_KEY is not set: set the same long random value on every host "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
            "or run in development mode (KSDPL_DEV=1, `ksdpl serve --dev`)"
        )


def _dev_secret_key(app: Flask) -> str:
    """Development only: a key kept in the instance folder so sessions survive restarts."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    log.warning("KSDPL_SECRET_KEY is not set: using the development key in %s", path)
    return path.read_text().strip()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` (tests) overrides the environment; `KSDPL_ORCHESTRATOR` injects one."""
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = Flask(__name__)
    app.url_map.converters["int"] = id_converter()  # before any route is added
    app.config.from_mapping(
        KSDPL_DATABASE_URL=f"sqlite:///{os.path.abspath('ksdpl.db')}",
        KSDPL_PROCESS_KEY="ksdpl",
        KSDPL_MAX_UPLOAD_BYTES=DEFAULT_MAX_UPLOAD_MB * MB,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    overrides = {**_env_settings(), **(config or {})}
    app.config.from_mapping(overrides)
    # Secure cookies unless debugging/testing over plain HTTP; KSDPL_SECURE_COOKIES decides when set.
    if "SESSION_COOKIE_SECURE" not in overrides:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    if not app.config.get("SECRET_KEY"):
        if not (app.config.get("KSDPL_DEV") or app.debug or app.testing):
            raise MissingSecretKey()
        app.config["SECRET_KEY"] = _dev_secret_key(app)
    # Room for a few files per form; each file is checked against KSDPL_MAX_UPLOAD_BYTES on its own.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = 5 * app.config["KSDPL_MAX_UPLOAD_BYTES"] + MB

    orchestrator = app.config.get("KSDPL_ORCHESTRATOR")
    if orchestrator is None:
        from engine.config import Settings
        from engine.service import Orchestrator

        # the one Orchestrator of this process: same handler module and zone as the CLI
        orchestrator = Orchestrator.from_settings(Settings.from_env(), app.config["KSDPL_DATABASE_URL"])
    app.extensions["ksdpl"] = orchestrator
    if proxies := int(app.config.get("KSDPL_TRUSTED_PROXIES") or 0):
        # Behind nginx & co.: the client's address (for the login limit) and scheme come from them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    from . import api, auth, cases, console, db, formatting, inbox, letters, links, notifications, ops

    app.before_request(_refuse_nul_bytes)
    db.init_app(app)
    formatting.register(app, orchestrator)
    app.jinja_env.globals["links"] = links.links
    CSRFProtect(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(letters.bp)
    notifications.init_app(app)
    console.init_app(app)
    auth.init_app(app)  # after the blueprint: it rate-limits the registered login view
    _register_error_pages(app)
    api.init_app(app)  # after auth and the error pages: it extends both
    ops.init_app(app)
    app.after_request(_security_headers)
    return app


def _refuse_nul_bytes() -> None:
    """A NUL in the path or the query string has no use here, and PostgreSQL text cannot hold one:
    a 400 (an Indonesian page, or problem+json under /api) rather than a 500 at the database."""
    from flask import abort, request

    from . import api

    if request.url_rule is None:  # no route: the 404 (or the API's problem) answers it
        return
    values = [text for pair in request.args.items(multi=True) for text in pair]  # repeated keys too
    values += map(str, (request.view_args or {}).values())
    if any("\x00" in value for value in values):
        message = "Permintaan memuat karakter NUL yang tidak sah."
        if request.blueprint == api.bp.name:
            raise api.refuse(400, message)
        abort(400, message)


def _security_headers(response: Response) -> Response:
    """Only the app's own script files (web/static), no inline script, no framing, no sniffing."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def error_page(error: HTTPException) -> ResponseReturnValue:
    """The plain error page in Indonesian (a blueprint's own handler falls back to it)."""
    from flask import current_app, render_template

    from .formatting import format_size

    code = error.code or 500
    title, message = ERROR_TEXT.get(code, (error.name, error.description or ""))
    description = getattr(error, "description", None)
    if description and description != type(error).description:  # a view's own Indonesian message
        message = description
    message = message.replace("{max_size}", format_size(current_app.config["KSDPL_MAX_UPLOAD_BYTES"]))
    return render_template("error.html", title=title, message=message), code


def _register_error_pages(app: Flask) -> None:
    from flask import render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import InternalServerError

    http_error = error_page

    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        message = "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu kirim lagi."
        return render_template("error.html", title="Formulir tidak sah", message=message), 400

    def unavailable(error: Unavailable) -> ResponseReturnValue:
        """The database is down: a plain page rendered without the context processors, which
        would ask the database who is logged in."""
        log.error("database unavailable during %s %s: %s", request.method, request.path, error.detail)
        page = app.jinja_env.get_template("unavailable.html").render(path=request.path)
        return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    def server_error(error: InternalServerError) -> ResponseReturnValue:
        """An unexpected failure: logged with its traceback, shown as a plain Indonesian page
        (rendered without the context processors, which may be what failed)."""
        original = getattr(error, "original_exception", None) or error
        log.error("unhandled error during %s %s", request.method, request.path, exc_info=original)
        title, message = ERROR_TEXT[500]
        page = app.jinja_env.get_template("server_error.html").render(title=title, message=message)
        return page, 500

    for code in ERROR_CODES:
        if code != 500:
            app.register_error_handler(code, http_error)
    app.register_error_handler(InternalServerError, server_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(Unavailable, unavailable)

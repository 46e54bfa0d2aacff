"""The JSON API under /api/v1: the orchestrator's commands and the read side for other systems.

Authentication is a bearer token per user (`ksdpl token create USER`); a token acts as its user
through the same service calls and SQL clauses as the web pages, so it sees and may do exactly
what that user sees and may do. Token requests need no CSRF token (a browser never sends the
header by itself); a request without a valid token gets 401, cookie or not.

Every error is `application/problem+json` (RFC 9457) with an Indonesian `detail` and, for
refused values, `errors`: {field: message}. The OpenAPI 3.1 document is /api/v1/openapi.json.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, Unauthorized

from engine.errors import DeploymentRejected, EngineError, Unavailable, ValidationFailed

from ..db import orchestrator

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PROBLEM = "application/problem+json"
# Blueprints whose requests may carry a bearer token instead of a session (web/ops.py: /metrics).
TOKEN_BLUEPRINTS = frozenset({"api", "ops"})
PUBLIC = frozenset({"api.openapi"})
_ROUTING_ERRORS = {404: NotFound, 405: MethodNotAllowed}

TITLES = {
    400: "Permintaan tidak valid",
    401: "Perlu token",
    403: "Tidak berwenang",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Bentrok",
    413: "Kiriman terlalu besar",
    415: "Jenis isi tidak didukung",
    422: "Isian tidak valid",
    503: "Layanan sementara tidak tersedia",
}
DETAILS = {
    401: "Kirim header 'Authorization: Bearer <token>' dengan token yang masih berlaku (ksdpl token create).",
    403: "Anda tidak berwenang membuka atau mengubah ini.",
    404: "Data yang dicari tidak ada, atau bukan wewenang Anda.",
    405: "Metode ini tidak diizinkan untuk alamat ini.",
    413: "Kiriman melebihi batas ukuran.",
}


def problem(
    status: int, detail: str | None = None, errors: dict[str, str] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Kesalahan"),
        "status": status,
        "detail": detail or DETAILS.get(status) or TITLES.get(status, "Kesalahan"),
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ksdpl"'
    return response


class Refused(HTTPException):
    """A request the API refuses before calling the orchestrator (bad JSON, a bad parameter)."""

    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.code = status
        self.errors = errors or {}


def refuse(status: int, detail: str, errors: dict[str, str] | None = None) -> Refused:
    return Refused(status, detail, errors)


# --- authentication --------------------------------------------------------------------------------


def bearer_user(req: Request):
    """Flask-Login's request loader: the user of a valid bearer token, on token blueprints only."""
    if req.blueprint not in TOKEN_BLUEPRINTS:
        return None
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    from ..auth import WebUser
    from ..tokens import user_for_token

    with orchestrator().session() as session:  # its own: no read transaction left open during the step
        info = user_for_token(session, value.strip())
    if info is None:
        return None
    g.api_token = True
    return WebUser(info, 0, "token")  # never stored in a session: the token is checked each time


@bp.before_request
def _token_only() -> None:
    if request.endpoint in PUBLIC:
        return
    if not g.get("api_token"):  # a session cookie alone is not enough: no CSRF check here
        raise Unauthorized()


# --- errors --------------------------------------------------------------------------------------


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, Refused):
        return problem(status, error.description, error.errors)
    description = error.description if error.description != type(error).description else None
    if status == 413:
        from ..formatting import format_size

        limit = format_size(current_app.config["KSDPL_MAX_UPLOAD_BYTES"])
        description = f"Kiriman melebihi batas ukuran (setiap berkas paling besar {limit})."
    return problem(status, description)


@bp.errorhandler(EngineError)
def _engine_error(error: EngineError) -> Response:
    if isinstance(error, DeploymentRejected):
        return problem(422, "Deployment ditolak: berkas tidak lolos pemeriksaan.", problems=error.problems)
    if isinstance(error, ValidationFailed):
        return problem(422, str(error), error.errors)
    return problem(error.status, str(error))


@bp.errorhandler(Unavailable)
def _unavailable(error: Unavailable) -> Response:
    log.error("database unavailable during %s %s: %s", request.method, request.path, error.detail)
    response = problem(503, str(error))
    response.headers["Retry-After"] = "30"
    return response


def init_app(app: Flask) -> None:
    """Register the API; call after `auth.init_app` (it extends that login manager)."""
    from . import routes  # noqa: F401  (the routes attach themselves to `bp`)

    login_manager = app.login_manager  # type: ignore[attr-defined]
    login_manager.request_loader(bearer_user)
    for name in TOKEN_BLUEPRINTS:
        login_manager.blueprint_login_views[name] = None  # 401, never a redirect to the login page
    app.extensions["csrf"].exempt(bp)
    for limiter in app.extensions.get("limiter", ()):  # the login's limits; tokens never log in
        limiter.exempt(bp)
    app.register_blueprint(bp)
    # A path under /api/ that matches no route belongs to no blueprint: answer it as the API would.
    for code in (404, 405):
        page = app.error_handler_spec[None][code].get(_ROUTING_ERRORS[code])

        def routing_error(error: HTTPException, page=page) -> Any:
            if request.path.startswith(bp.url_prefix or "/api/") or page is None:
                return problem(error.code or 404)
            return page(error)

        app.register_error_handler(code, routing_error)

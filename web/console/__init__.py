"""The operator console (`/konsol`): every case on its diagram, and the commands that fix what is
stuck. Groups the handler package names as operators only: staff get 403, anonymous visitors the
login page; admin pages (accounts, regions) need an admin group as well.

The views are thin: reads go through `queries` (SQL on the projections), commands through the
orchestrator (`engine.console`), which checks the actor again and audits each change with its
reason. The staff case page borrows the diagram from `diagram` (its own blueprint: staff who may
see the case may see its diagram).
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g

from ..db import access

bp = Blueprint("console", __name__, url_prefix="/konsol")


@bp.before_request
def _operators_only() -> None:
    if not g.actor.is_operator:
        abort(403)


def admin_only() -> None:
    if not access().is_admin(g.actor):
        abort(403)


def init_app(app: Flask) -> None:
    from . import accounts, calendar, cases, deployments, diagram  # noqa: F401  (their routes)

    app.register_blueprint(bp)
    app.register_blueprint(diagram.bp)
    app.jinja_env.globals["is_admin"] = lambda actor: access().is_admin(actor)
    app.jinja_env.globals["waits_on_system"] = diagram.waiting_on_system

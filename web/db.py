"""The request's read session and the orchestrator, reached from views without globals at import.

One read session per request, opened on first use and closed at teardown (flaskr's habit). After
a command changed the database, `fresh()` ends the session's snapshot so the next read sees it.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from engine.access import AccessPolicy
from engine.errors import NotFound, Unavailable
from engine.service import Orchestrator

log = logging.getLogger(__name__)


def orchestrator() -> Orchestrator:
    return current_app.extensions["ksdpl"]


def latest_stages() -> dict[int, str]:
    """The stages the newest version of the app's process names (empty before it is deployed)."""
    try:
        return orchestrator().latest(current_app.config["KSDPL_PROCESS_KEY"])[1].stages
    except NotFound:
        return {}


def access() -> AccessPolicy:
    """The deployment's groups and their labels, as the handler package declared them."""
    return orchestrator().registry.access


def db() -> Session:
    if "ksdpl_db" not in g:
        stack = ExitStack()
        g.ksdpl_db_stack = stack
        g.ksdpl_db = stack.enter_context(orchestrator().session())
    return g.ksdpl_db


def fresh() -> Session:
    """The read session without its old snapshot (call after an orchestrator command)."""
    session = db()
    session.rollback()
    session.expire_all()
    return session


def _close(_exc: BaseException | None = None) -> None:
    stack = g.pop("ksdpl_db_stack", None)
    g.pop("ksdpl_db", None)
    if stack is not None:
        try:
            stack.close()
        except Unavailable as err:  # the database went away mid-request: the 503 is already the answer
            log.warning("read session closed on a lost connection: %s", err.detail)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)

"""The request's read session and the orchestrator, reached from views without globals at import.

One read session per request, opened on first use and closed at teardown (flaskr's habit). After
a command changed the database, `fresh()` ends the session's snapshot so the next read sees it.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import AccessPolicy
from engine.errors import NotFound, Unavailable
from engine.models import Region
from engine.parser import ParsedDeployment
from engine.service import Orchestrator

log = logging.getLogger(__name__)


def orchestrator() -> Orchestrator:
    return current_app.extensions["ksdpl"]


def latest_deployment() -> ParsedDeployment | None:
    """The newest version of the app's process (None before it is deployed), looked up once per
    request in its read session: the menu, the inbox's stage list and the case list all ask."""
    if "ksdpl_latest" not in g:
        try:
            g.ksdpl_latest = orchestrator().latest(current_app.config["KSDPL_PROCESS_KEY"], db())[1]
        except NotFound:
            g.ksdpl_latest = None
    return g.ksdpl_latest


def latest_stages() -> dict[int, str]:
    """The stages the newest version of the app's process names (empty before it is deployed)."""
    deployment = latest_deployment()
    return deployment.stages if deployment is not None else {}


def access() -> AccessPolicy:
    """The deployment's groups and their labels, as the handler package declared them."""
    return orchestrator().registry.access


def db() -> Session:
    if "ksdpl_db" not in g:
        stack = ExitStack()
        g.ksdpl_db_stack = stack
        g.ksdpl_db = stack.enter_context(orchestrator().session())
    return g.ksdpl_db


NATIONAL_TIMEZONE = "Asia/Jakarta"  # WIB: national offices read every time on Jakarta's clock


def viewer_timezone() -> str:
    """The zone the person reading reads times in: their region's, WIB for national accounts
    (set with the logged-in account by `auth`, which reads it with the account)."""
    if "viewer_tz" not in g:
        actor = g.get("actor")
        code = actor.region_code if actor is not None else None
        zone = db().scalar(select(Region.timezone).where(Region.code == code)) if code else None
        g.viewer_tz = zone or NATIONAL_TIMEZONE
    return g.viewer_tz


def fresh() -> Session:
    """The read session without its old snapshot (call after an orchestrator command)."""
    session = db()
    session.rollback()
    session.expire_all()
    g.pop("ksdpl_latest", None)
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

"""The request's read session and the orchestrator, reached from views without globals at import.

One read session per request, opened on first use and closed at teardown (flaskr's habit). After
a command changed the database, `fresh()` ends the session's snapshot so the next read sees it.

The frame of every page (the bell, the menu's start button, the deadlines) needs three small
reads besides the account: the unread notifications, the newest version of the process and the
calendar version. They are columns of the account's own statement (`FRAME_COLUMNS`, read by
`auth`), not three statements of their own, each a round trip that cost the server about 0.2 ms
of CPU on every page (and PostgreSQL its share).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from engine.access import AccessPolicy
from engine.deployments import LATEST_ID
from engine.errors import NotFound, Unavailable
from engine.models import Notification, Region, User
from engine.parser import ParsedDeployment
from engine.projections import CALENDAR_VERSION
from engine.service import Orchestrator
from engine.views import CALENDAR_VERSION_READ

log = logging.getLogger(__name__)


def orchestrator() -> Orchestrator:
    return current_app.extensions["ksdpl"]


def unread_of(user: Any) -> Select:
    """How many notifications of `user` (an id, a parameter or a column) are unread."""
    return select(func.count(Notification.id)).where(
        Notification.user_id == user, Notification.read_at.is_(None)
    )


# Columns of the account's statement (with a `key` parameter: the app's process).
FRAME_COLUMNS = (
    unread_of(User.id).scalar_subquery().label("frame_unread"),
    LATEST_ID.label("frame_latest"),
    CALENDAR_VERSION.label("frame_calendar"),
)


def keep_frame(row: Row) -> None:
    """What the account's statement read for the frame (`FRAME_COLUMNS`), for this request."""
    g.ksdpl_frame = row
    db().info[CALENDAR_VERSION_READ] = row.frame_calendar  # calendars from the process's cache


def frame_unread(user_id: int) -> int | None:
    """The account's unread notifications as its statement read them (None: not read)."""
    frame = g.get("ksdpl_frame")
    return frame.frame_unread if frame is not None and frame.id == user_id else None


def latest_deployment() -> ParsedDeployment | None:
    """The newest version of the app's process (None before it is deployed), looked up once per
    request in its read session: the menu, the inbox's stage list and the case list all ask."""
    if "ksdpl_latest" not in g:
        key = current_app.config["KSDPL_PROCESS_KEY"]
        frame = g.get("ksdpl_frame")
        if frame is not None:
            latest = frame.frame_latest
            g.ksdpl_latest = orchestrator().parsed_version(db(), latest, key) if latest is not None else None
        else:
            try:
                g.ksdpl_latest = orchestrator().latest(key, db())[1]
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
    g.pop("ksdpl_frame", None)
    session.info.pop(CALENDAR_VERSION_READ, None)
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

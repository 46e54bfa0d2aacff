"""Notifications in the app: the bell and its unread count, the page of one's notifications, e-mail
preferences, and for operators the deliveries that failed.

Every query is filtered by the logged-in user's id (a notification is only ever its recipient's),
and the failures page by the operator rule, the same as `ksdpl outbox` shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import bindparam, select, update

from engine.clock import clock
from engine.delivery import NOTIFY_MODES, DeliverySettings, failures, link_path, pending_count, retry_email
from engine.errors import EngineError
from engine.ids import parse_id
from engine.models import Instance, Notification, OutboxMessage, Region
from engine.notices import KIND_LABELS

from .accounts import AccountError, set_email, set_notify_mode
from .db import db, frame_unread, fresh, orchestrator, unread_of
from .formatting import format_datetime

bp = Blueprint("notifications", __name__, url_prefix="/pemberitahuan")

PAGE_SIZE = 30


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    subject: str
    body: str
    case_title: str | None
    at: str
    read: bool
    link: str


# Built once, for a request whose account's statement did not read the count.
_UNREAD = unread_of(bindparam("user"))


def unread_count(user_id: int) -> int:
    """As the account's statement read it this request, if it did (`db.frame_unread`)."""
    known = frame_unread(user_id)
    return known if known is not None else db().scalar(_UNREAD, {"user": user_id}) or 0


def _bell() -> dict[str, int]:
    """The header's bell, on every page a logged-in person sees."""
    if not current_user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(current_user.info.id)}


@bp.get("")
def index() -> ResponseReturnValue:
    page = parse_id(request.args.get("halaman", "1")) or 1  # a page past any row is empty, never a 500
    user_id = current_user.info.id
    rows = (
        db()
        .execute(
            select(Notification, OutboxMessage, Instance.title, Region.timezone)
            .join(OutboxMessage, OutboxMessage.id == Notification.outbox_id)
            .outerjoin(Instance, Instance.id == OutboxMessage.instance_id)
            .outerjoin(Region, Region.code == Instance.region_code)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        .all()
    )
    shown = [
        NotificationRow(
            id=note.id,
            kind=KIND_LABELS.get(message.kind, message.kind),
            subject=message.subject,
            body=message.body,
            case_title=title,
            at=format_datetime(note.created_at, timezone or "Asia/Jakarta"),
            read=note.read_at is not None,
            link=link_path(message.task_id, message.instance_id),
        )
        for note, message, title, timezone in rows[:PAGE_SIZE]
    ]
    return render_template(
        "notifications.html",
        rows=shown,
        page=page,
        more=len(rows) > PAGE_SIZE,
        unread=unread_count(user_id),
    )


def _mark_read(notification_id: int | None) -> None:
    """Mark one of the user's notifications (or all of them) read; someone else's is not found."""
    query = update(Notification).where(
        Notification.user_id == current_user.info.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    with orchestrator().uow() as uow:
        uow.session.execute(query.values(read_at=clock.now()))
        uow.commit()
    fresh()


def _own(notification_id: int) -> tuple[Notification, OutboxMessage]:
    row = (
        db()
        .execute(
            select(Notification, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.id == Notification.outbox_id)
            .where(Notification.id == notification_id, Notification.user_id == current_user.info.id)
        )
        .first()
    )
    if row is None:
        abort(404)
    return row[0], row[1]


@bp.get("/<int:notification_id>")
def open_one(notification_id: int) -> ResponseReturnValue:
    """Follow a notification to its task or case; it counts as read."""
    _note, message = _own(notification_id)
    _mark_read(notification_id)
    return redirect(link_path(message.task_id, message.instance_id))


@bp.post("/<int:notification_id>/dibaca")
def mark_read(notification_id: int) -> ResponseReturnValue:
    _own(notification_id)
    _mark_read(notification_id)
    return redirect(url_for("notifications.index", halaman=request.form.get("halaman", 1)))


@bp.post("/dibaca")
def mark_all_read() -> ResponseReturnValue:
    _mark_read(None)
    flash("Semua pemberitahuan ditandai sudah dibaca.", "sukses")
    return redirect(url_for("notifications.index"))


@bp.route("/pengaturan", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    """One's e-mail address and how often mail comes; the app shows everything regardless."""
    error = None
    email, mode = current_user.info.email or "", current_user.info.notify_mode
    if request.method == "POST":
        email = request.form.get("email", "").strip()[:254]
        mode = request.form.get("mode", "")
        try:
            with orchestrator().uow() as uow:
                set_email(uow.session, current_user.username, email)
                set_notify_mode(uow.session, current_user.username, mode)
                uow.commit()
        except AccountError as err:
            error = str(err)
        else:
            fresh()
            flash("Pengaturan pemberitahuan disimpan.", "sukses")
            return redirect(url_for("notifications.settings"))
    return render_template(
        "notification_settings.html",
        email=email,
        mode=mode,
        modes=NOTIFY_MODES,
        error=error,
        mail_enabled=DeliverySettings.from_env().mail_enabled,
    ), (422 if error else 200)


@bp.get("/gagal")
def failed() -> ResponseReturnValue:
    """For operators: e-mails given up on and messages that reached nobody."""
    if not g.actor.is_operator:
        abort(403)
    session = db()
    rows = failures(session, limit=200)
    return render_template(
        "notification_failures.html",
        rows=rows,
        waiting=pending_count(session),
        at=format_datetime,
    )


@bp.post("/gagal/<int:email_id>/kirim-ulang")
def resend(email_id: int) -> ResponseReturnValue:
    try:
        retry_email(orchestrator(), email_id, g.actor)
    except EngineError as err:
        abort(err.status, description=str(err))
    fresh()
    flash(f"E-mail #{email_id} dikirim ulang pada putaran pekerja berikutnya.", "sukses")
    return redirect(url_for("notifications.failed"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_bell)

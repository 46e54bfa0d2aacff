"""The inbox: one page of the ready tasks a person may do, with filters and search; claiming a task."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request
from flask.typing import ResponseReturnValue

from engine.clock import clock
from engine.errors import EngineError

from . import inbox_query, views
from .auth import safe_next
from .db import db, latest_stages, orchestrator, viewer_timezone
from .inbox_query import FILTERS, SORTS, InboxQuery, inbox_page

bp = Blueprint("inbox", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    stages = latest_stages()
    query = InboxQuery.parse(request.args, stages)
    page = inbox_page(db(), g.actor, clock.now(), query, viewer_timezone(), stages)
    return render_template(
        "inbox.html",
        page=page,
        rows=page.rows,
        total=page.total,
        counts=page.counts,
        stage_counts=page.stage_counts,
        filters=FILTERS,
        sorts=SORTS,
        query=query,
        chosen=query.filter,
        stage=query.stage,
        stages=stages,
        stage_cap=inbox_query.STAGE_COUNT_CAP,  # the stage list's counts stop sooner
    )


def _back() -> str:
    """Where a claim or unclaim returns: the page it was made from, if it is on this site."""
    return safe_next(request.form.get("next"))


def _claim_command(task_id: str, claim: bool) -> ResponseReturnValue:
    found = views.task_for(db(), g.actor, task_id)
    if found is None:
        abort(404)
    task, _instance = found
    try:
        if claim:
            orchestrator().claim(task_id, g.actor)
            flash(
                f"Tugas «{task.name}» Anda ambil. Pengguna lain melihatnya sebagai sedang dikerjakan.",
                "sukses",
            )
        else:
            orchestrator().unclaim(task_id, g.actor)
            flash(f"Tugas «{task.name}» dilepas dan kembali tersedia untuk grup.", "info")
    except EngineError as err:
        return render_template("error.html", title="Tidak dapat diproses", message=str(err)), err.status
    return redirect(_back())


@bp.post("/tugas/<task_id>/ambil")
def claim(task_id: str) -> ResponseReturnValue:
    return _claim_command(task_id, claim=True)


@bp.post("/tugas/<task_id>/lepas")
def unclaim(task_id: str) -> ResponseReturnValue:
    return _claim_command(task_id, claim=False)


@bp.post("/tugas/<task_id>/minta-lepas")
def request_release(task_id: str) -> ResponseReturnValue:
    """A task a colleague holds: ask the operators to free it (they reassign or release it)."""
    found = views.task_for(db(), g.actor, task_id)
    if found is None:
        abort(404)
    task, _instance = found
    try:
        orchestrator().request_release(task_id, g.actor, request.form.get("alasan", ""))
    except EngineError as err:
        return render_template("error.html", title="Tidak dapat diproses", message=str(err)), err.status
    flash(f"Permintaan melepas tugas «{task.name}» dikirim ke operator.", "sukses")
    return redirect(_back())

"""The inbox: the ready tasks a person may do, with filters, and claiming a task."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request
from flask.typing import ResponseReturnValue

from engine.clock import clock
from engine.errors import EngineError

from . import views
from .auth import safe_next
from .db import db, latest_stages, orchestrator

bp = Blueprint("inbox", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = views.inbox(db(), g.actor, clock.now())
    chosen = request.args.get("filter", "semua")
    if chosen not in views.INBOX_FILTERS:
        chosen = "semua"
    stages = latest_stages()
    stage = request.args.get("tahap", type=int)
    if stage is not None and stage not in stages:
        stage = None
    counts = {name: sum(views.matches(row, name) for row in rows) for name in views.INBOX_FILTERS}
    stage_counts = {n: sum(row.stage == n for row in rows) for n in stages}
    shown = [row for row in rows if views.matches(row, chosen) and (stage is None or row.stage == stage)]
    return render_template(
        "inbox.html",
        rows=shown,
        total=len(rows),
        counts=counts,
        stage_counts=stage_counts,
        filters=views.INBOX_FILTERS,
        chosen=chosen,
        stage=stage,
        stages=stages,
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

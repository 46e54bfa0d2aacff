"""Console pages about cases: the dashboard, the case list, one case with its diagram and the
operators' commands on it, the queue of tasks nobody can take, and the history export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine import views as engine_views
from engine.clock import clock
from engine.console import parse_value
from engine.errors import EngineError, ValidationFailed
from engine.forms import coerce_values
from engine.ids import parse_id
from engine.jsonvalues import json_default
from engine.models import Incident, Instance, Job, Task, Timer, User
from engine.service import NewDocument

from .. import counting, views
from ..cases import _raw_values, _start_form_of, _take_files, initial_form, submitted_form
from ..db import access, db, fresh, orchestrator
from . import bp, queries


def _reason() -> str:
    return request.form.get("alasan", "")


def _run(command, success: str) -> None:
    """One orchestrator command; its refusal becomes a flash message on the page it came from."""
    try:
        command()
    except ValidationFailed as err:
        flash("; ".join(err.errors.values()) or str(err), "galat")
    except EngineError as err:
        if err.status == 403:
            abort(403)
        flash(str(err), "galat")
    else:
        flash(success, "sukses")
    fresh()


def _case(instance_id: int) -> Instance:
    instance = db().get(Instance, instance_id)
    if instance is None:
        abort(404)
    return instance


# --- dashboard and lists --------------------------------------------------------------------------


@bp.get("")
def dashboard() -> ResponseReturnValue:
    board = queries.dashboard(db(), access(), clock.now())
    return render_template("console/dashboard.html", board=board, statuses=queries.STATUS_FILTERS)


@bp.get("/kasus")
def case_list() -> ResponseReturnValue:
    filters = queries.CaseFilters.from_args(request.args)
    page = queries.case_page(db(), filters, clock.now())
    regions = queries.region_choices(db())
    return render_template(
        "console/cases.html",
        page=page,
        filters=filters,
        regions=regions,
        statuses=queries.STATUS_FILTERS,
        sorts={
            "diperbarui": "Diperbarui",
            "mulai": "Dimulai",
            "judul": "Judul",
            "tahap": "Tahap",
            "id": "Nomor",
        },
    )


@bp.get("/antrean")
def queue() -> ResponseReturnValue:
    page = queries.stuck_page(db(), access(), counting.asked_page(request.args.get("halaman")))
    regions = {row.instance.region_code for row in page.rows}
    return render_template(
        "console/queue.html",
        page=page,
        users=_workers(regions),
        groups=sorted(access().groups - access().operator_groups),
    )


def _workers(region_codes: Iterable[str | None]) -> dict[str | None, list[tuple[str, str]]]:
    """For each region, (username, name) of the accounts a task of a case there may be
    reassigned to: those the service lets work it, not every account (a page held them all in
    each task's form). One statement for every region of a page, each account put in the lists
    it belongs to (a national one in all), in name order."""
    choices: dict[str | None, list[tuple[str, str]]] = {code: [] for code in region_codes}
    policy = access()
    query = select(User.username, User.name, User.region_code, policy.national_account().label("national"))
    rows = db().execute(query.where(policy.workers_of_cases_in(choices)).order_by(User.name))
    for row in rows:
        for code in choices if row.national else (row.region_code,):
            if code in choices:
                choices[code].append((row.username, row.name))
    return choices


# --- one case -----------------------------------------------------------------------------------------


@bp.get("/kasus/<int:instance_id>")
def case(instance_id: int) -> ResponseReturnValue:
    instance = _case(instance_id)
    session = db()
    view = views.case_view(
        session, g.actor, instance, clock.now(), _start_form_of(instance), orchestrator().registry
    )
    incidents = session.scalars(
        select(Incident).where(Incident.instance_id == instance.id).order_by(Incident.id.desc())
    ).all()
    tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "ready").order_by(Task.created_at)
    ).all()
    regions = views._Regions(session)
    timers = [
        (timer, regions.deadline(timer.due_at, instance.region_code, clock.now()))
        for timer in session.scalars(
            select(Timer).where(Timer.instance_id == instance.id).order_by(Timer.due_at)
        )
    ]
    variables = sorted(view.variables.items())
    return render_template(
        "console/case.html",
        case=view,
        instance=instance,
        timers=timers,
        incidents=incidents,
        tasks=tasks,
        users=_workers([instance.region_code])[instance.region_code],
        groups=sorted(access().groups - access().operator_groups),
        variables=[(k, json.dumps(v, default=json_default, ensure_ascii=False)) for k, v in variables],
        jobs=session.scalars(select(Job).where(Job.instance_id == instance.id)).all(),
    )


@bp.post("/kasus/<int:instance_id>/batalkan")
def cancel(instance_id: int) -> ResponseReturnValue:
    _case(instance_id)
    _run(lambda: orchestrator().cancel_case(instance_id, g.actor, _reason()), "Kasus dibatalkan.")
    return redirect(url_for("console.case", instance_id=instance_id))


@bp.post("/kasus/<int:instance_id>/tangguhkan")
def suspend(instance_id: int) -> ResponseReturnValue:
    _case(instance_id)
    _run(lambda: orchestrator().suspend(instance_id, g.actor, _reason()), "Kasus ditangguhkan.")
    return redirect(url_for("console.case", instance_id=instance_id))


@bp.post("/kasus/<int:instance_id>/lanjutkan")
def resume(instance_id: int) -> ResponseReturnValue:
    _case(instance_id)
    _run(lambda: orchestrator().resume(instance_id, g.actor, _reason()), "Kasus dilanjutkan.")
    return redirect(url_for("console.case", instance_id=instance_id))


@bp.post("/kasus/<int:instance_id>/variabel")
def set_variable(instance_id: int) -> ResponseReturnValue:
    _case(instance_id)
    name = request.form.get("nama", "")
    value = parse_value(request.form.get("nilai", ""))
    _run(
        lambda: orchestrator().set_variable(instance_id, name, value, g.actor, _reason()),
        f"Variabel {name} diubah.",
    )
    return redirect(url_for("console.case", instance_id=instance_id) + "#variabel")


@bp.post("/kasus/<int:instance_id>/timer/<timer_id>")
def reschedule(instance_id: int, timer_id: str) -> ResponseReturnValue:
    """A timer's new due moment, typed in the case region's local time."""
    instance = _case(instance_id)
    tz = views.region_view(db(), instance.region_code).timezone
    try:
        due = datetime.fromisoformat(request.form.get("batas", "")).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        flash("Waktu tidak valid", "galat")
        return redirect(url_for("console.case", instance_id=instance_id) + "#batas-waktu")
    _run(
        lambda: orchestrator().reschedule_timer(instance_id, timer_id, due, g.actor, _reason()),
        "Batas waktu dipindah.",
    )
    return redirect(url_for("console.case", instance_id=instance_id) + "#batas-waktu")


@bp.post("/insiden/<int:incident_id>/ulang")
def retry(incident_id: int) -> ResponseReturnValue:
    incident = db().get(Incident, incident_id)
    if incident is None:
        abort(404)
    _run(lambda: orchestrator().retry(incident_id, g.actor), "Proses sistem akan diulang.")
    back = request.form.get("kembali") == "daftar"
    if back:
        return redirect(url_for("console.case_list", insiden=1))
    return redirect(url_for("console.case", instance_id=incident.instance_id))


@bp.get("/insiden")
def incidents() -> ResponseReturnValue:
    """Open incidents, oldest first, to retry one by one or several at once."""
    page = queries.incident_page(db(), counting.asked_page(request.args.get("halaman")))
    return render_template("console/incidents.html", page=page)


@bp.post("/insiden/ulang")
def retry_many() -> ResponseReturnValue:
    chosen = [n for i in request.form.getlist("insiden") if (n := parse_id(i))][: queries.PAGE_SIZE * 4]
    done, refused = 0, []
    for incident_id in chosen:
        try:
            orchestrator().retry(incident_id, g.actor)
        except EngineError as err:
            if err.status == 403:
                abort(403)
            refused.append(f"#{incident_id}: {err}")
        else:
            done += 1
    fresh()
    if done:
        flash(f"{done} proses sistem akan diulang.", "sukses")
    for message in refused:
        flash(message, "galat")
    if not chosen:
        flash("Pilih paling sedikit satu gangguan", "galat")
    return redirect(url_for("console.incidents"))


@bp.post("/tugas/<task_id>/alihkan")
def reassign(task_id: str) -> ResponseReturnValue:
    task = db().get(Task, task_id)
    if task is None:
        abort(404)
    target = request.form.get("tujuan", "")
    kind, _, name = target.partition(":")
    _run(
        lambda: orchestrator().reassign(
            task_id,
            g.actor,
            _reason(),
            assignee=name if kind == "pengguna" else None,
            group=name if kind == "grup" else None,
        ),
        f"Tugas «{task.name}» dialihkan.",
    )
    if request.form.get("kembali") == "antrean":
        return redirect(url_for("console.queue"))
    return redirect(url_for("console.case", instance_id=task.instance_id))


@bp.route("/tugas/<task_id>/atas-nama", methods=["GET", "POST"])
def on_behalf(task_id: str) -> ResponseReturnValue:
    """Complete a task for whoever it was meant for, with a reason; the history says so."""
    task = db().get(Task, task_id)
    if task is None or task.status != "ready":
        abort(404)
    instance = _case(task.instance_id)
    fields = views.form_of(task)
    variables = views.variables_of(instance)
    if request.method == "GET":
        form = initial_form(fields, variables)
        return render_template("console/on_behalf.html", task=task, instance=instance, form=form, reason="")
    raw = _raw_values(fields)
    errors: dict[str, str] = {}
    uploads, kept = _take_files(fields, instance.id, raw, errors)
    errors.update(coerce_values(fields, raw)[1])
    reason = _reason()
    if not reason.strip():
        errors["alasan"] = "Alasan wajib diisi"
    orch = orchestrator()
    if not errors:
        documents = {
            field_id: NewDocument(upload.filename, upload.content_type, upload.content)
            for field_id, upload in uploads.items()
        }
        try:  # the files are stored by the completion itself: a refusal leaves none behind
            orch.complete_on_behalf(task.id, raw, g.actor, reason, documents)
        except ValidationFailed as err:
            errors.update(err.errors)
        except EngineError as err:
            if err.status == 403:
                abort(403)
            fresh()
            flash(str(err), "galat")
            return redirect(url_for("console.case", instance_id=instance.id))
        else:
            fresh()
            flash(
                f"Tugas «{task.name}» diselesaikan atas nama {task.assignee or task.candidate_groups}.",
                "sukses",
            )
            return redirect(url_for("console.case", instance_id=instance.id))
    fresh()
    form = submitted_form(fields, variables, errors, kept)
    return render_template(
        "console/on_behalf.html",
        task=task,
        instance=instance,
        form=form,
        reason=reason,
        reason_error=errors.get("alasan"),
    ), 422


# --- history export ----------------------------------------------------------------------------------


def _history(instance_id: int) -> list[dict[str, Any]]:
    _case(instance_id)
    return (engine_views.instance_detail(db(), instance_id) or {}).get("history", [])


@bp.get("/kasus/<int:instance_id>/riwayat.json")
def history_json(instance_id: int) -> ResponseReturnValue:
    body = json.dumps(
        {"instance_id": instance_id, "history": _history(instance_id)},
        default=json_default,
        ensure_ascii=False,
        indent=2,
    )
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="riwayat-kasus-{instance_id}.json"'},
    )


@bp.get("/kasus/<int:instance_id>/riwayat.csv")
def history_csv(instance_id: int) -> ResponseReturnValue:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["waktu", "pelaku", "tindakan", "tugas", "elemen", "rincian"])
    for event in _history(instance_id):
        detail = json.dumps(event["detail"], default=json_default, ensure_ascii=False)
        writer.writerow(
            [
                event["at"],
                event["actor"] or "",
                event["action"],
                event["task_id"] or "",
                event["element"] or "",
                detail,
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so spreadsheet programs read the text as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="riwayat-kasus-{instance_id}.csv"'},
    )

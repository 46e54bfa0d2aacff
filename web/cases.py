"""Cases and their tasks: the task form, starting a case, the case page, documents and comments.

Views are thin: look the row up with the actor's clause (404 when not visible), build the raw
values from the request, call one orchestrator command, and map its errors to status codes.
The orchestrator checks everything again; the checks here only decide what page to show.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from engine.clock import clock
from engine.errors import Conflict, EngineError, Forbidden, NotFound, ValidationFailed
from engine.forms import coerce_values, display_value, form_value, is_readonly
from engine.ids import parse_id
from engine.models import Document, Instance, Task
from engine.service import NewDocument, StepResult

from . import views
from .accounts import display_names
from .db import access, db, fresh, latest_stages, orchestrator
from .formatting import deadline, format_datetime, format_size, groups_label, lower_first, stage_label
from .uploads import ACCEPT, KINDS_LABEL, UploadRefused, read_upload

bp = Blueprint("cases", __name__)

_SIMPLE_VARIABLE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
KEPT_SUFFIX = "__dokumen"  # hidden input carrying an already uploaded document across a failed submit


@dataclass
class FormState:
    """A form as rendered: its fields, the text in each input, messages, and files already stored."""

    fields: list[dict[str, Any]]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    documents: dict[str, tuple[int, str]] = field(default_factory=dict)
    accept: str = ACCEPT
    kinds: str = KINDS_LABEL
    max_size: str = "10 MB"


def _max_upload() -> int:
    return int(current_app.config["KSDPL_MAX_UPLOAD_BYTES"])


def _initial_value(
    f: dict[str, Any], variables: dict[str, Any], start_empty: frozenset[str] = frozenset()
) -> Any:
    """What a new form shows: a `${name}` default's variable, else the case's value of the same name
    (a revision starts from the plan as it stands), else the literal default.

    `start_empty` names fields that must start empty: decisions this same task already took in an earlier
    round, so the verifier does not find last round's "revise" preselected.
    """
    default = f.get("default")
    if isinstance(default, str) and (match := _SIMPLE_VARIABLE.fullmatch(default.strip())):
        value = variables.get(match[1])
    elif f["id"] in variables and f["id"] not in start_empty and not _is_decision(f):
        value = variables[f["id"]]
    elif isinstance(default, str) and "${" in default:
        value = None
    else:
        value = default
    if f.get("type") == "enum" and value not in {o.get("id") for o in f.get("options") or ()}:
        return None  # e.g. keputusan_dprd = "dianggap_setuju", set by the system, never offered
    return value


def _is_decision(f: dict[str, Any]) -> bool:
    """A field the diagram marks as choosing a branch (`decision` property): always starts empty."""
    flag = str((f.get("properties") or {}).get("decision", "")).strip().lower()
    return flag in ("true", "ya", "1")


def initial_form(
    fields: list[dict[str, Any]],
    variables: dict[str, Any],
    start_empty: frozenset[str] = frozenset(),
    documents: dict[int, str] | None = None,
) -> FormState:
    """A form before any submit. A file field whose case value is a document of this case shows it as
    already uploaded, so a revision may keep it."""
    values: dict[str, str] = {}
    kept: dict[str, tuple[int, str]] = {}
    for f in fields:
        value = _initial_value(f, variables, start_empty)
        if f.get("type") == "file":
            if isinstance(value, int) and documents and value in documents:
                kept[f["id"]] = (value, documents[value])
            values[f["id"]] = ""
        else:
            values[f["id"]] = form_value(f, value)
    return FormState(fields, values, documents=kept, max_size=format_size(_max_upload()))


def submitted_form(
    fields: list[dict[str, Any]],
    variables: dict[str, Any],
    errors: dict[str, str],
    documents: dict[str, tuple[int, str]],
) -> FormState:
    """The form again after a refusal: what the person typed stays, readonly fields show the case's value."""
    values = {}
    for f in fields:
        if is_readonly(f):
            values[f["id"]] = form_value(f, _initial_value(f, variables))
        elif f.get("type") == "boolean":
            values[f["id"]] = "true" if request.form.get(f["id"]) not in (None, "", "false") else ""
        else:
            values[f["id"]] = request.form.get(f["id"], "")
    known = {f["id"] for f in fields}
    shown_errors = {key: message for key, message in errors.items() if key in known}
    return FormState(fields, values, shown_errors, documents, max_size=format_size(_max_upload()))


def _raw_values(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's values for the form's own fields; files are handled by `_take_files`."""
    raw: dict[str, Any] = {}
    for f in fields:
        if is_readonly(f) or f.get("type") == "file":
            continue
        missing = "false" if f.get("type") == "boolean" else ""  # an unticked checkbox sends nothing
        raw[f["id"]] = request.form.get(f["id"], missing)
    return raw


def _take_files(
    fields: list[dict[str, Any]], instance_id: int | None, raw: dict[str, Any], errors: dict[str, str]
) -> tuple[dict[str, Any], dict[str, tuple[int, str]]]:
    """Check each file field's upload; a kept document must belong to this case."""
    uploads: dict[str, Any] = {}
    kept: dict[str, tuple[int, str]] = {}
    for f in fields:
        if f.get("type") != "file" or is_readonly(f):
            continue
        field_id = f["id"]
        try:
            upload = read_upload(request.files.get(field_id), _max_upload())
        except UploadRefused as refused:
            errors[field_id] = str(refused)
            continue
        if upload is not None:
            uploads[field_id] = upload
            raw[field_id] = "1"  # placeholder for the pre-check; the real id follows the upload
            continue
        kept_id = parse_id(request.form.get(field_id + KEPT_SUFFIX, ""))
        if kept_id is not None and instance_id is not None:
            document = (
                db()
                .execute(
                    select(Document.id, Document.filename).where(
                        Document.id == kept_id, Document.instance_id == instance_id
                    )
                )
                .first()
            )
            if document is not None:
                raw[field_id] = str(document.id)
                kept[field_id] = (document.id, document.filename)
    return uploads, kept


def next_step_messages(result: StepResult, tz: str) -> list[str]:
    """What happens now, e.g. "Menunggu persetujuan DPRD (DPRD), batas 14 Mei 2027 WIB"."""
    if result.status == "completed":
        return ["Kasus selesai."]
    if result.status == "cancelled":
        return ["Kasus diakhiri."]
    messages = []
    session = db()
    instance = session.get(Instance, result.instance_id)
    calendar = views.calendar_for(session, instance.region_code if instance else None)
    for task in result.next_tasks:
        text = f"Menunggu {lower_first(task.name)} ({groups_label(task.candidate_groups, access().labels)})"
        if task.due_at is not None:
            due = deadline(task.due_at, tz, clock.now(), calendar)
            if due is not None:
                text += f", batas {due.label} ({due.left_label})"
        messages.append(text)
    if not messages:
        messages.append(
            f"Kasus sekarang di tahap {stage_label(result.stage, {result.stage: result.stage_name})}; "
            "menunggu proses sistem atau batas waktu."
        )
    return messages


# --- the task page --------------------------------------------------------------------------------


def _task_or_404(task_id: str) -> tuple[Task, Instance]:
    found = views.task_for(db(), g.actor, task_id)
    if found is None:
        abort(404)
    return found


def _render_task(
    task: Task,
    instance: Instance,
    form: FormState | None = None,
    notice: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = db()
    case = views.case_view(
        session, g.actor, instance, clock.now(), _start_form_of(instance), orchestrator().registry
    )
    fields = views.form_of(task)
    may_do = task.status == "ready" and views.may_do(session, g.actor, task.id)
    taken_by_other = task.assignee is not None and task.assignee != g.actor.username
    names = display_names(session, {task.assignee, task.completed_by})
    task_due = views.task_deadline(session, task, instance, clock.now())
    submitted: list[tuple[str, str, int | None]] = []
    if task.status == "completed" and task.submitted:
        values = json.loads(task.submitted)
        for f in fields:
            value = values.get(f["id"])
            if f.get("type") == "file" and isinstance(value, int):
                name = session.scalar(select(Document.filename).where(Document.id == value))
                submitted.append((f.get("label") or f["id"], name or f"Dokumen #{value}", value))
            else:
                submitted.append((f.get("label") or f["id"], display_value(f, value), None))
    comments = [c for c in case.comments if c[0].task_id == task.id]
    letters = orchestrator().letters_for_task(fields) if may_do and not taken_by_other else []
    task_documents = session.execute(
        select(Document.id, Document.filename).where(Document.task_id == task.id).order_by(Document.id)
    ).all()
    if form is None:
        documents = {doc.id: doc.filename for _stage, docs in case.documents_by_stage for doc in docs}
        form = initial_form(fields, case.variables, _decided_before(session, task, fields), documents)
    return (
        render_template(
            "task.html",
            task=task,
            case=case,
            form=form,
            may_do=may_do,
            taken_by_other=taken_by_other,
            assignee_name=names.get(task.assignee) if task.assignee else None,
            completed_by_name=names.get(task.completed_by) if task.completed_by else None,
            completed_at=format_datetime(task.completed_at, case.region.timezone)
            if task.completed_at
            else None,
            deadline=task_due,
            submitted=submitted,
            comments=comments,
            notice=notice,
            kept_suffix=KEPT_SUFFIX,
            letters=letters,
            task_documents=task_documents,
        ),
        status,
    )


def _decided_before(session: Any, task: Task, fields: list[dict[str, Any]]) -> frozenset[str]:
    """Choice fields that an earlier round of this same task already answered."""
    choices = {f["id"] for f in fields if f.get("type") == "enum"}
    if not choices:
        return frozenset()
    earlier = session.scalars(
        select(Task.submitted).where(
            Task.instance_id == task.instance_id,
            Task.bpmn_id == task.bpmn_id,
            Task.status == "completed",
            Task.id != task.id,
        )
    )
    answered: set[str] = set()
    for submitted in earlier:
        answered |= set(json.loads(submitted or "{}"))
    return frozenset(choices & answered)


@bp.get("/tugas/<task_id>")
def task(task_id: str) -> ResponseReturnValue:
    task, instance = _task_or_404(task_id)
    return _render_task(task, instance)


@bp.post("/tugas/<task_id>")
def complete(task_id: str) -> ResponseReturnValue:
    task, instance = _task_or_404(task_id)
    if task.status == "completed":
        return _render_task(task, instance, notice="Tugas ini sudah diselesaikan.", status=409)
    if task.status != "ready":
        return _render_task(task, instance, notice="Tugas ini sudah tidak berlaku.", status=409)
    if not views.may_do(db(), g.actor, task.id):
        abort(403)
    if task.assignee is not None and task.assignee != g.actor.username:
        return _render_task(task, instance, notice="Tugas ini sedang diambil oleh pengguna lain.", status=409)

    fields = views.form_of(task)
    variables = views.variables_of(instance)
    raw = _raw_values(fields)
    errors: dict[str, str] = {}
    uploads, kept = _take_files(fields, instance.id, raw, errors)
    _, form_errors = coerce_values(fields, raw)
    errors = {**form_errors, **errors}
    if errors:
        return _refused(task, instance, fields, variables, errors, kept)

    orch = orchestrator()
    documents = {
        field_id: NewDocument(upload.filename, upload.content_type, upload.content)
        for field_id, upload in uploads.items()
    }
    try:  # the files are stored by the completion itself: a refusal leaves none behind
        result = orch.complete_task(task.id, raw, g.actor, documents=documents)
    except ValidationFailed as err:
        fresh()
        message = str(err) + (f" {MSG_FILES_AGAIN}" if uploads else "")
        return _refused(task, instance, fields, variables, err.errors, kept, message)
    except (Conflict, Forbidden, NotFound, EngineError) as err:
        session = fresh()
        found = views.task_for(session, g.actor, task_id)
        if found is None or isinstance(err, NotFound):
            abort(404)
        message = "Tugas ini sudah diselesaikan." if found[0].status == "completed" else str(err)
        return _render_task(found[0], found[1], notice=message, status=err.status)

    fresh()
    flash(f"Tugas «{task.name}» selesai.", "sukses")
    if result.incident:  # the completion stands; the step after it waits for an operator
        flash(
            "Langkah berikutnya gagal dijalankan dan dicatat sebagai insiden untuk operator: "
            + result.incident,
            "galat",
        )
    region = views.region_view(db(), instance.region_code)
    for message in next_step_messages(result, region.timezone):
        flash(message, "info")
    return redirect(url_for("cases.case", instance_id=instance.id))


MSG_FILES_AGAIN = "Berkas yang dipilih belum disimpan; pilih lagi berkasnya."


def _refused(
    task: Task,
    instance: Instance,
    fields: list[dict[str, Any]],
    variables: dict[str, Any],
    errors: dict[str, str],
    kept: dict[str, tuple[int, str]],
    message: str = "Isian belum benar. Periksa pesan di samping setiap isian.",
) -> ResponseReturnValue:
    form = submitted_form(fields, variables, errors, kept)
    unplaced = [text for key, text in errors.items() if key not in form.errors]
    notice = message if not unplaced else f"{message} " + "; ".join(unplaced)
    return _render_task(task, instance, form=form, notice=notice, status=422)


# --- starting a case ------------------------------------------------------------------------------


def _start_fields() -> list[dict[str, Any]]:
    try:
        fields = orchestrator().start_form(current_app.config["KSDPL_PROCESS_KEY"])
    except NotFound:
        abort(404, description="Proses KSDPL belum di-deploy. Hubungi operator.")
    # A start form cannot take files: a document belongs to a case, which does not exist yet.
    return [f for f in fields if f.get("type") != "file"]


@bp.route("/kasus/baru", methods=["GET", "POST"])
def new_case() -> ResponseReturnValue:
    if not current_user.can_start_case:
        abort(403, description="Hanya Pemerintah Daerah yang dapat memulai kasus baru.")
    fields = _start_fields()
    stages = latest_stages()
    if request.method == "GET":
        return render_template("case_new.html", form=initial_form(fields, {}), stages=stages)
    raw = _raw_values(fields)
    _, errors = coerce_values(fields, raw)
    if not errors:
        try:
            instance_id = orchestrator().start(
                current_app.config["KSDPL_PROCESS_KEY"], g.actor.region_code, raw, actor=g.actor
            )
        except ValidationFailed as err:
            errors = err.errors or {"": str(err)}
        except EngineError as err:  # e.g. a calendar decree at that very moment: nothing was started
            abort(err.status, description=str(err))
        else:
            started = fresh().get(Instance, instance_id)
            stage = stage_label(started.stage, {started.stage: started.stage_name})
            flash(f"Kasus baru dimulai; sekarang di tahap {stage}.", "sukses")
            return redirect(url_for("cases.case", instance_id=instance_id))
    form = submitted_form(fields, {}, errors, {})
    return render_template("case_new.html", form=form, notice="Isian belum benar.", stages=stages), 422


# --- the case page, the list, documents, comments --------------------------------------------------


def _start_form_of(instance: Instance) -> list[dict[str, Any]]:
    """The start form's fields, for labels of the values a case began with (newest version)."""
    try:
        return orchestrator().start_form(instance.process_key)
    except EngineError:
        return []


def _case_or_404(instance_id: int) -> Instance:
    instance = views.case_for(db(), g.actor, instance_id)
    if instance is None:
        abort(404)
    return instance


@bp.get("/kasus")
def cases() -> ResponseReturnValue:
    session = db()
    rows = []
    regions: dict[str | None, views.RegionView] = {}
    for instance in views.visible_cases(session, g.actor):
        if instance.region_code not in regions:
            regions[instance.region_code] = views.region_view(session, instance.region_code)
        rows.append((instance, views.variables_of(instance), regions[instance.region_code]))
    return render_template("cases.html", rows=rows)


@bp.get("/kasus/<int:instance_id>")
def case(instance_id: int) -> ResponseReturnValue:
    instance = _case_or_404(instance_id)
    view = views.case_view(
        db(), g.actor, instance, clock.now(), _start_form_of(instance), orchestrator().registry
    )
    return render_template("case.html", case=view)


@bp.get("/dokumen/<int:document_id>")
def document(document_id: int) -> ResponseReturnValue:
    found = views.document_for(db(), g.actor, document_id)
    if found is None:
        abort(404)
    response = send_file(
        io.BytesIO(found.content),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Checksum-SHA256"] = found.sha256
    return response


@bp.post("/kasus/<int:instance_id>/komentar")
def comment(instance_id: int) -> ResponseReturnValue:
    instance = _case_or_404(instance_id)
    task_id = request.form.get("task_id") or None
    back = url_for("cases.case", instance_id=instance.id)
    if task_id is not None:
        found = views.task_for(db(), g.actor, task_id)
        if found is None or found[1].id != instance.id:
            abort(404)
        back = url_for("cases.task", task_id=task_id)
    try:
        orchestrator().add_comment(instance.id, request.form.get("komentar", ""), g.actor, task_id=task_id)
    except ValidationFailed as err:
        flash("; ".join(err.errors.values()) or str(err), "galat")
    except EngineError as err:
        abort(err.status)
    else:
        flash("Komentar disimpan.", "sukses")
    return redirect(back + "#komentar")

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
    has_app_context,
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
from engine.forms import applies, coerce_values, display_value, form_value, is_readonly, only_when
from engine.ids import parse_id
from engine.models import Document, Instance, Task
from engine.service import NewDocument, StepResult

from . import caselist, views
from .accounts import display_names
from .db import access, db, fresh, latest_deployment, latest_stages, orchestrator, viewer_timezone
from .formatting import deadline, format_datetime, format_size, groups_label, lower_first, stage_label
from .uploads import ACCEPT, KINDS_LABEL, UploadRefused, read_upload

bp = Blueprint("cases", __name__)

_SIMPLE_VARIABLE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
MAX_COMMENT = 4000
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
    max_bytes: int = 0  # per file, checked in the browser before sending (static/forms.js)
    max_total: int = 0  # the whole request (MAX_CONTENT_LENGTH)
    comment: str = ""  # the comment typed in the task form
    restore: bool = False  # after a refused request: the browser puts back what it kept
    draft_saved_at: str | None = None

    def __post_init__(self) -> None:
        if not self.max_bytes and has_app_context():
            self.max_bytes = _max_upload()
            self.max_total = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)


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


def shown_fields(fields: list[dict[str, Any]], variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields this case is asked: one that applies only to other cases (`onlyWhen` on a value
    the case already has, e.g. a KSDLL-only field on a KSDPL case) is not shown. A condition on
    another field of the same form is left to the browser (static/forms.js) and the server check."""
    ids = {f["id"] for f in fields}
    return [
        f
        for f in fields
        if (condition := only_when(f)) is None or condition[0] in ids or applies(f, variables)
    ]


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
            due = deadline(task.due_at, tz, clock.now(), calendar, viewer_timezone())
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
    case = _case_view(instance)
    fields = shown_fields(views.form_of(task), case.variables)
    may_do = task.status == "ready" and views.may_do(session, g.actor, task.id)
    taken_by_other = task.assignee is not None and task.assignee != g.actor.username
    names = display_names(session, {task.assignee, task.completed_by})
    task_due = views.task_deadline(session, task, instance, clock.now(), viewer_timezone())
    documents = {doc.id: doc.filename for doc in case.documents}  # the case view read them all
    submitted: list[tuple[str, str, int | None]] = []
    if task.status == "completed" and task.submitted:
        values = json.loads(task.submitted)
        for f in fields:
            value = values.get(f["id"])
            if f.get("type") == "file" and isinstance(value, int):
                name = documents.get(value)
                submitted.append((f.get("label") or f["id"], name or f"Dokumen #{value}", value))
            else:
                submitted.append((f.get("label") or f["id"], display_value(f, value), None))
    comments = [c for c in case.comments if c[0].task_id == task.id]
    if form is None and may_do and not taken_by_other:
        form = _form_with_draft(task, fields, case, session)
    letters = orchestrator().letters_for_task(fields) if may_do and not taken_by_other else []
    task_documents = session.execute(
        select(Document.id, Document.filename).where(Document.task_id == task.id).order_by(Document.id)
    ).all()
    if form is None:
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
            completed_at=format_datetime(task.completed_at, case.viewer_tz) if task.completed_at else None,
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


def _form_with_draft(
    task: Task, fields: list[dict[str, Any]], case: views.CaseView, session: Any
) -> FormState:
    """The new form, with the person's saved draft of this task over it, if they kept one."""
    documents = {doc.id: doc.filename for doc in case.documents}
    form = initial_form(fields, case.variables, _decided_before(session, task, fields), documents)
    draft = orchestrator().draft(task.id, g.actor)
    if draft is not None:
        known = {f["id"] for f in fields if f.get("type") != "file" and not is_readonly(f)}
        form.values.update({key: value for key, value in draft.values.items() if key in known})
        form.comment = draft.comment
        form.draft_saved_at = format_datetime(draft.saved_at, viewer_timezone())
    return form


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

    variables = views.variables_of(instance)
    fields = shown_fields(views.form_of(task), variables)
    raw = _raw_values(fields)
    errors: dict[str, str] = {}
    uploads, kept = _take_files(fields, instance.id, raw, errors)
    _, form_errors = coerce_values(fields, raw, variables)
    errors = {**form_errors, **errors}
    comment = request.form.get("komentar", "")
    if len(comment.strip()) > MAX_COMMENT:
        errors["komentar"] = f"Komentar paling banyak {MAX_COMMENT} karakter"
    if errors:
        return _refused(task, instance, fields, variables, errors, kept)

    orch = orchestrator()
    documents = {
        field_id: NewDocument(upload.filename, upload.content_type, upload.content)
        for field_id, upload in uploads.items()
    }
    try:  # the files are stored by the completion itself: a refusal leaves none behind
        result = orch.complete_task(task.id, raw, g.actor, documents=documents, comment=comment)
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
    flash(f"Tugas «{task.name}» selesai." + (" Komentar disimpan." if comment.strip() else ""), "sukses")
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
    form.comment = request.form.get("komentar", "")
    if "komentar" in errors:
        form.errors["komentar"] = errors["komentar"]
    unplaced = [text for key, text in errors.items() if key not in form.errors]
    notice = message if not unplaced else f"{message} " + "; ".join(unplaced)
    return _render_task(task, instance, form=form, notice=notice, status=422)


@bp.post("/tugas/<task_id>/draf")
def save_draft(task_id: str) -> ResponseReturnValue:
    """ "Simpan draf": what the form holds, kept for this person until the task is completed."""
    task, instance = _task_or_404(task_id)
    fields = shown_fields(views.form_of(task), views.variables_of(instance))
    if request.form.get("hapus"):
        orchestrator().discard_draft(task.id, g.actor)
        flash("Draf dihapus; formulir kembali ke isian awal.", "info")
        return redirect(url_for("cases.task", task_id=task.id))
    values = {f["id"]: request.form.get(f["id"], "") for f in fields}
    try:
        draft = orchestrator().save_draft(task.id, values, request.form.get("komentar", ""), g.actor)
    except ValidationFailed as err:
        fresh()
        return _refused(task, instance, fields, views.variables_of(instance), err.errors, {}, str(err))
    except EngineError as err:
        fresh()
        return _render_task(task, instance, notice=str(err), status=err.status)
    files = [f for f in fields if f.get("type") == "file" and request.files.get(f["id"])]
    note = " Berkas tidak ikut tersimpan dalam draf; pilih lagi saat menyelesaikan tugas." if files else ""
    flash(f"Draf disimpan pada {format_datetime(draft.saved_at, viewer_timezone())}.{note}", "sukses")
    return redirect(url_for("cases.task", task_id=task.id))


@bp.errorhandler(413)
def too_large(error: Any) -> ResponseReturnValue:
    """A task form whose files together exceed the request limit comes back as the form, with the
    message beside each file field; the typed values come back from the person's draft and from
    what the browser kept when it sent the form (static/forms.js). Elsewhere: the plain 413 page."""
    from . import error_page

    on_task_form = request.endpoint in ("cases.complete", "cases.save_draft")
    task_id = (request.view_args or {}).get("task_id") if on_task_form else None
    if "actor" not in g and current_user.is_authenticated:  # refused before the login check ran (CSRF)
        g.actor = current_user.actor
    found = views.task_for(db(), g.actor, task_id) if task_id and "actor" in g else None
    if found is None:
        return error_page(error)
    task, instance = found
    if task.status != "ready" or not views.may_do(db(), g.actor, task.id):
        return error_page(error)
    case = _case_view(instance)
    fields = shown_fields(views.form_of(task), case.variables)
    form = _form_with_draft(task, fields, case, db())
    limit = format_size(_max_upload())
    total = format_size(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0))
    for f in fields:
        if f.get("type") == "file" and not is_readonly(f):
            form.errors[f["id"]] = (
                f"Kiriman terlalu besar (setiap berkas paling besar {limit}, seluruh kiriman {total}). "
                "Berkas belum tersimpan: pilih berkas yang lebih kecil lalu kirim lagi."
            )
    form.restore = True
    notice = "Kiriman melebihi batas ukuran. Isian Anda dikembalikan; periksa pesan di samping isian berkas."
    return _render_task(task, instance, form=form, notice=notice, status=413)


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
    return _start_form_by_key(instance.process_key)


def _case_view(instance: Instance) -> views.CaseView:
    """The case as the person reading sees it: their rights, their clock, the case's start form."""
    return views.case_view(
        db(),
        g.actor,
        instance,
        clock.now(),
        _start_form_of(instance),
        orchestrator().registry,
        viewer_timezone(),
    )


def _start_form_by_key(process_key: str) -> list[dict[str, Any]]:
    try:
        return orchestrator().start_form(process_key)
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
    query = caselist.CaseQuery.from_args(request.args)
    now = clock.now()
    page = caselist.case_page(session, g.actor, query, now)
    due = [(row.id, row.next_due_at, row.region_code) for row in page.rows]
    kind_field = orchestrator().registry.list_columns.get("kind")
    latest = latest_deployment()
    start_fields = latest.start_form if latest is not None else []
    options = next((f.get("options") for f in start_fields if f.get("id") == kind_field), None)
    kinds = caselist.kinds(session, options)
    return render_template(
        "cases.html",
        page=page,
        deadlines=views.list_deadlines(
            session, due, now, viewer_timezone(), [row.region for row in page.rows]
        ),
        query=query,
        stages=latest_stages(),
        kinds=kinds,
        kind_labels=dict(kinds),
        sorts={key: label for key, (label, _columns, _descending) in caselist.SORTS.items()},
        statuses=caselist.STATUSES,
    )


@bp.get("/kasus/<int:instance_id>")
def case(instance_id: int) -> ResponseReturnValue:
    instance = _case_or_404(instance_id)
    view = _case_view(instance)
    return render_template("case.html", case=view)


# A document opened in the browser is a document of its own, never part of the app: no script,
# no form, no plugin it could start on the app's origin (sandbox), nothing loaded from elsewhere.
DOCUMENT_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


@bp.get("/dokumen/<int:document_id>")
def document(document_id: int) -> ResponseReturnValue:
    """PDFs and images open in the browser with their stored type; other kinds, or `?unduh=1`,
    download. The stored type comes from the checked upload (uploads.py), never the browser's."""
    found = views.document_for(db(), g.actor, document_id)
    if found is None:
        abort(404)
    inline = found.content_type in views.INLINE_TYPES and not request.args.get("unduh")
    response = send_file(
        io.BytesIO(found.content),
        mimetype=found.content_type,
        as_attachment=not inline,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Checksum-SHA256"] = found.sha256
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
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

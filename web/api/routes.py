"""The API's endpoints. Thin: read the request, call one orchestrator command or one query with
the token's actor, answer JSON. The orchestrator checks everything again (authorisation included)."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from typing import Any

from flask import Response, current_app, g, jsonify, request, send_file, url_for
from sqlalchemy import select

from engine.clock import clock
from engine.errors import ValidationFailed
from engine.forms import describe
from engine.ids import MAX_ID
from engine.models import ProcessDefinition
from engine.service import NewDocument, StepResult
from engine.views import instance_detail

from .. import views
from ..db import db, fresh, orchestrator
from ..uploads import UploadRefused, read_upload
from . import bp, queries, refuse
from .openapi import document as openapi_document

MAX_PER_PAGE = 100
_INTEGER = re.compile(r"-?[0-9]{1,18}")
STATUSES = ("running", "completed", "cancelled")


# --- reading the request -----------------------------------------------------------------------------


def _int_arg(name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.fullmatch(raw.strip()):  # ASCII digits only: int() would take "١٢" but not "²"
        raise refuse(400, f"Parameter '{name}' harus bilangan bulat", {name: "Harus bilangan bulat"})
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"antara {low} dan {high}" if high is not None else f"paling kecil {low}"
        raise refuse(400, f"Parameter '{name}' harus {bound}", {name: f"Harus {bound}"})
    return value


def _bool_arg(name: str) -> bool | None:
    raw = (request.args.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("true", "1", "ya"):
        return True
    if raw in ("false", "0", "tidak"):
        return False
    raise refuse(400, f"Parameter '{name}' harus true atau false", {name: "Harus true atau false"})


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise refuse(
            400, f"Parameter '{name}' bukan tanggal", {name: "Tanggal tidak valid (TTTT-BB-HH)"}
        ) from None


def _choice_arg(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    raw = request.args.get(name) or default
    if raw is not None and raw not in choices:
        message = f"Pilihan: {', '.join(choices)}"
        raise refuse(400, f"Parameter '{name}' tidak dikenal. {message}", {name: message})
    return raw


def _page() -> queries.Page:
    return queries.Page(
        _int_arg("page", 1, 1, 1_000_000) or 1, _int_arg("per_page", 20, 1, MAX_PER_PAGE) or 20
    )


def _paged(items: list[dict[str, Any]], total: int, page: queries.Page) -> Response:
    return jsonify({"items": items, "page": page.number, "per_page": page.size, "total": total})


def _body() -> tuple[dict[str, Any], dict[str, NewDocument]]:
    """The request's JSON object, or a multipart form's fields with `variables` as JSON text and
    each file part under its form field's id; files are checked like web uploads."""
    if request.mimetype == "multipart/form-data":
        data: dict[str, Any] = {}
        for key, value in request.form.items():
            data[key] = value
        if "variables" in data:
            try:
                data["variables"] = json.loads(data["variables"])
            except ValueError:
                raise refuse(
                    400, "Bagian 'variables' harus JSON", {"variables": "Harus objek JSON"}
                ) from None
        files: dict[str, NewDocument] = {}
        errors: dict[str, str] = {}
        for name in request.files:
            try:
                upload = read_upload(request.files[name], int(current_app.config["KSDPL_MAX_UPLOAD_BYTES"]))
            except UploadRefused as refused:
                errors[name] = str(refused)
                continue
            if upload is not None:
                files[name] = NewDocument(upload.filename, upload.content_type, upload.content)
        if errors:
            raise ValidationFailed(errors, "Berkas ditolak")
        return data, files
    if not request.get_data(cache=True):
        return {}, {}
    if not request.is_json:
        raise refuse(415, "Kirim JSON (application/json) atau multipart/form-data")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise refuse(400, "Badan permintaan harus objek JSON")
    return data, {}


def _variables(data: dict[str, Any]) -> dict[str, Any]:
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise refuse(400, "'variables' harus objek JSON", {"variables": "Harus objek JSON"})
    return variables


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise refuse(400, f"'{name}' harus teks", {name: "Harus teks"})
    return value.strip() or None if isinstance(value, str) else None


def _visible_case_or_404(instance_id: int):
    instance = views.case_for(db(), g.actor, instance_id)
    if instance is None:
        raise refuse(404, "Kasus tidak ditemukan")
    return instance


def _instance(instance_id: int) -> dict[str, Any]:
    detail = instance_detail(db(), instance_id, g.actor)
    if detail is None:
        raise refuse(404, "Kasus tidak ditemukan")
    detail.pop("history", None)
    for task in detail["tasks"]:
        task.pop("form", None)
    return detail


def _step_result(result: StepResult) -> dict[str, Any]:
    """What the step left: the case's status and stage, and the tasks ready now with their ids."""
    return {
        "instance_id": result.instance_id,
        "status": result.status,
        "stage": result.stage,
        "stage_name": result.stage_name,
        "next_tasks": [
            {
                "id": t.id,
                "element": t.element,
                "name": t.name,
                "candidate_groups": t.candidate_groups,
                "due_at": t.due_at.isoformat() if t.due_at else None,
            }
            for t in result.next_tasks
        ],
        "incident": result.incident,
    }


def _created(body: dict[str, Any], location: str) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- the document ------------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


# --- process definitions ---------------------------------------------------------------------------


def _definition(d: ProcessDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "version": d.version,
        "name": d.name,
        "deployed_at": d.deployed_at.isoformat(),
        "deployed_by": d.deployed_by,
    }


@bp.get("/process-definitions")
def process_definitions() -> Response:
    page = _page()
    query = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    key = request.args.get("key")
    if key:
        query = query.where(ProcessDefinition.key == key)
    rows, total = queries._paged(db(), query, page)
    return _paged([_definition(row[0]) for row in rows], total, page)


@bp.get("/process-definitions/<key>")
def process_definition(key: str) -> Response:
    orch = orchestrator()
    definition_id, deployment = orch.latest(key)
    definition = db().get(ProcessDefinition, definition_id)
    data = _definition(definition)
    data["start_form"] = [describe(f) for f in deployment.start_form]
    data["stages"] = {str(number): name for number, name in sorted(deployment.stages.items())}
    data["may_start_in_own_region"] = g.actor.region_code is not None and orch.may_start(
        g.actor, key, g.actor.region_code
    )
    return jsonify(data)


@bp.post("/process-definitions")
def deploy() -> Response:
    if request.mimetype != "multipart/form-data":
        raise refuse(415, "Kirim berkas .bpmn/.dmn sebagai multipart/form-data")
    files: dict[str, str] = {}
    errors: dict[str, str] = {}
    for part in [f for name in request.files for f in request.files.getlist(name)]:
        name = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if not name.lower().endswith((".bpmn", ".dmn")):
            errors[name or "files"] = "Hanya berkas .bpmn atau .dmn"
            continue
        try:
            files[name] = part.stream.read().decode("utf-8")
        except UnicodeDecodeError:
            errors[name] = "Bukan teks UTF-8"
    if errors:
        raise ValidationFailed(errors, "Berkas ditolak")
    if not files:
        raise refuse(
            400, "Tidak ada berkas: kirim bagian 'files' berisi .bpmn/.dmn", {"files": "Wajib diisi"}
        )
    results = orchestrator().deploy(files, actor=g.actor)
    body = {"deployed": [r.__dict__ for r in results]}
    response = jsonify(body)
    response.status_code = 201 if any(r.changed for r in results) else 200
    return response


@bp.post("/process-definitions/<key>/start")
def start(key: str) -> Response:
    data, files = _body()
    region = _optional_text(data, "region") or g.actor.region_code
    instance_id = orchestrator().start(
        key,
        region,
        _variables(data),
        actor=g.actor,
        business_key=_optional_text(data, "business_key"),
        documents=files,
    )
    fresh()
    return _created(_instance(instance_id), url_for("api.instance", instance_id=instance_id))


# --- instances ---------------------------------------------------------------------------------------


@bp.get("/instances")
def instances() -> Response:
    page = _page()
    filters = queries.CaseFilters(
        q=(request.args.get("q") or "").strip()[:200] or None,
        status=_choice_arg("status", STATUSES),
        stage=_int_arg("stage", None, 0, 1000),
        region=request.args.get("region") or None,
        kind=request.args.get("kind") or None,
        overdue=_bool_arg("overdue"),
        incident=_bool_arg("incident"),
        started_from=_date_arg("started_from"),
        started_to=_date_arg("started_to"),
        sort=_choice_arg("sort", tuple(f"{p}{s}" for s in queries.SORTS for p in ("", "-")), "-updated_at")
        or "-updated_at",
    )
    items, total = queries.cases(db(), g.actor, filters, page, clock.now())
    return _paged(items, total, page)


@bp.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> Response:
    return jsonify(_instance(instance_id))


@bp.get("/instances/<int:instance_id>/history")
def history(instance_id: int) -> Response:
    _visible_case_or_404(instance_id)
    page = _page()
    items, total = queries.history(db(), instance_id, page)
    return _paged(items, total, page)


@bp.post("/instances/<int:instance_id>/cancel")
def cancel(instance_id: int) -> Response:
    _visible_case_or_404(instance_id)
    orchestrator().cancel(instance_id, g.actor)
    fresh()
    return jsonify(_instance(instance_id))


@bp.get("/instances/<int:instance_id>/documents")
def documents(instance_id: int) -> Response:
    _visible_case_or_404(instance_id)
    return jsonify({"items": queries.documents(db(), instance_id)})


@bp.post("/instances/<int:instance_id>/documents")
def upload(instance_id: int) -> Response:
    _visible_case_or_404(instance_id)
    if request.mimetype != "multipart/form-data":
        raise refuse(415, "Kirim berkas sebagai multipart/form-data (bagian 'file')")
    try:
        checked = read_upload(request.files.get("file"), int(current_app.config["KSDPL_MAX_UPLOAD_BYTES"]))
    except UploadRefused as refused:
        raise ValidationFailed({"file": str(refused)}, "Berkas ditolak") from None
    if checked is None:
        raise ValidationFailed({"file": "Wajib diisi"}, "Berkas ditolak")
    document_id = orchestrator().add_document(
        instance_id,
        checked.filename,
        checked.content_type,
        checked.content,
        g.actor,
        task_id=request.form.get("task_id") or None,
        field=request.form.get("field") or None,
    )
    meta = queries.document_meta(fresh(), document_id)
    return _created(meta or {}, url_for("api.document", document_id=document_id))


@bp.get("/documents/<int:document_id>")
def document(document_id: int) -> Response:
    found = views.document_for(db(), g.actor, document_id)
    if found is None:
        raise refuse(404, "Dokumen tidak ditemukan")
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


# --- tasks -------------------------------------------------------------------------------------------


@bp.get("/tasks")
def tasks() -> Response:
    page = _page()
    scope = _choice_arg("scope", queries.TASK_SCOPES, "all") or "all"
    items, total = queries.tasks(db(), g.actor, scope, _int_arg("instance_id", None, 1, MAX_ID), page)
    return _paged(items, total, page)


def _task(task_id: str) -> dict[str, Any]:
    found = queries.task(db(), g.actor, task_id)
    if found is None:
        raise refuse(404, "Tugas tidak ditemukan")
    return found


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> Response:
    return jsonify(_task(task_id))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> Response:
    _task(task_id)
    orchestrator().claim(task_id, g.actor)
    fresh()
    return jsonify(_task(task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> Response:
    _task(task_id)
    orchestrator().unclaim(task_id, g.actor)
    fresh()
    return jsonify(_task(task_id))


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str) -> Response:
    data, files = _body()
    result = orchestrator().complete_task(task_id, _variables(data), g.actor, documents=files, strict=True)
    return jsonify(_step_result(result))


# --- incidents ---------------------------------------------------------------------------------------


@bp.get("/incidents")
def incidents() -> Response:
    page = _page()
    items, total = queries.incidents(
        db(), g.actor, _bool_arg("open"), _int_arg("instance_id", None, 1, MAX_ID), page
    )
    return _paged(items, total, page)


@bp.post("/incidents/<int:incident_id>/retry")
def retry(incident_id: int) -> Response:
    if queries.incident(db(), g.actor, incident_id) is None:
        raise refuse(404, "Insiden tidak ditemukan")
    orchestrator().retry(incident_id, g.actor)
    return jsonify(queries.incident(fresh(), g.actor, incident_id))

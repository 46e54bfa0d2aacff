"""Console: deployments. Versions per process with who deployed them, upload with the
deploy-time findings by element, download, and moving running cases to a version."""

from __future__ import annotations

import io
import zipfile

from flask import Response, abort, flash, g, render_template, request, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from engine.errors import DeploymentRejected, EngineError, ValidationFailed
from engine.ids import parse_id
from engine.models import CaseCount, Instance, ProcessDefinition

from ..db import db, fresh, orchestrator
from . import bp

MAX_DEPLOY_BYTES = 5 * 1024 * 1024
MAX_BULK = 200  # cases or incidents one bulk action takes


def finding_rows(problems: list[str]) -> list[tuple[str, str, str]]:
    """`file: element-id: message` -> (file, element, message); the element may be `None`/`-`."""
    rows = []
    for problem in problems:
        parts = problem.split(": ", 2)
        while len(parts) < 3:
            parts.insert(1, "-")
        file, element, message = parts
        rows.append((file, "-" if element in ("None", "") else element, message))
    return rows


def _versions():
    counts = dict(
        db()
        .execute(
            select(CaseCount.definition_id, func.sum(CaseCount.n))
            .where(CaseCount.status == "running")
            .group_by(CaseCount.definition_id)
        )
        .all()
    )
    definitions = (
        db()
        .scalars(
            select(ProcessDefinition)
            .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
            .limit(500)
        )
        .all()
    )
    return [(d, counts.get(d.id, 0)) for d in definitions]


@bp.get("/deploy")
def deployments() -> ResponseReturnValue:
    return render_template("console/deployments.html", versions=_versions(), findings=[], results=[])


@bp.post("/deploy")
def deploy() -> ResponseReturnValue:
    files: dict[str, bytes] = {}
    for upload in request.files.getlist("berkas"):
        if not upload or not upload.filename:
            continue
        name = upload.filename.rsplit("/", 1)[-1]
        if not name.lower().endswith((".bpmn", ".dmn")):
            flash(f"{name}: hanya berkas .bpmn dan .dmn yang dapat di-deploy", "galat")
            return render_template(
                "console/deployments.html", versions=_versions(), findings=[], results=[]
            ), 422
        content = upload.read(MAX_DEPLOY_BYTES + 1)
        if len(content) > MAX_DEPLOY_BYTES:
            abort(413)
        files[name] = content
    if not files:
        flash("Pilih paling sedikit satu berkas .bpmn atau .dmn", "galat")
        return render_template("console/deployments.html", versions=_versions(), findings=[], results=[]), 422
    try:
        results = orchestrator().deploy_as(files, g.actor)
    except DeploymentRejected as err:
        return render_template(
            "console/deployments.html", versions=_versions(), findings=finding_rows(err.problems), results=[]
        ), 422
    except UnicodeDecodeError:
        flash("Berkas bukan teks UTF-8", "galat")
        return render_template("console/deployments.html", versions=_versions(), findings=[], results=[]), 422
    except EngineError as err:
        abort(err.status)
    fresh()
    return render_template("console/deployments.html", versions=_versions(), findings=[], results=results)


@bp.get("/deploy/<int:definition_id>/unduh")
def download(definition_id: int) -> ResponseReturnValue:
    try:
        definition, files = orchestrator().definition_files(definition_id)
    except EngineError:
        abort(404)
    if len(files) == 1:
        ((name, text),) = files.items()
        return Response(
            text,
            mimetype="application/xml",
            headers={"Content-Disposition": f'attachment; filename="v{definition.version}-{name}"'},
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{definition.key}-v{definition.version}.zip",
    )


@bp.route("/deploy/<int:definition_id>/pindah", methods=["GET", "POST"])
def migrate(definition_id: int) -> ResponseReturnValue:
    """Move selected running cases of older (or other) versions to this one."""
    target = db().get(ProcessDefinition, definition_id)
    if target is None:
        abort(404)
    results: list[tuple[int, bool, str]] = []
    if request.method == "POST":
        reason = request.form.get("alasan", "")
        chosen = [n for i in request.form.getlist("kasus") if (n := parse_id(i))][:MAX_BULK]
        if not chosen:
            flash("Pilih paling sedikit satu kasus", "galat")
        for instance_id in chosen:
            try:
                version = orchestrator().migrate(instance_id, definition_id, g.actor, reason)
            except ValidationFailed as err:
                results.append((instance_id, False, "; ".join(err.errors.values())))
            except EngineError as err:
                if err.status == 403:
                    abort(403)
                results.append((instance_id, False, str(err)))
            else:
                results.append((instance_id, True, f"dipindah ke versi {version}"))
        fresh()
    cases = (
        db()
        .scalars(
            select(Instance)
            .where(
                Instance.process_key == target.key,
                Instance.definition_id != target.id,
                Instance.status == "running",
            )
            .order_by(Instance.process_version, Instance.id)
            .limit(MAX_BULK)
        )
        .all()
    )
    status = 422 if results and not any(ok for _i, ok, _m in results) else 200
    return render_template("console/migrate.html", target=target, cases=cases, results=results), status

"""'Buat draf surat' on a task page: the letter drafted from the case and what the form holds now,
stored on the case (a .docx, and a PDF where LibreOffice is installed); the task stays open and
the form comes back as it was typed, the draft attached where the form asks for that document."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g
from flask.typing import ResponseReturnValue

from engine.errors import EngineError, NotFound, ValidationFailed

from . import views
from .cases import _raw_values, _render_task, _take_files, _task_or_404, submitted_form
from .db import db, fresh, orchestrator

bp = Blueprint("letters", __name__)


@bp.post("/tugas/<task_id>/surat/<key>")
def draft(task_id: str, key: str) -> ResponseReturnValue:
    task, instance = _task_or_404(task_id)
    if task.status != "ready":
        return _render_task(task, instance, notice="Tugas ini sudah tidak berlaku.", status=409)
    if not views.may_do(db(), g.actor, task.id):
        abort(403)
    fields = views.form_of(task)
    raw = _raw_values(fields)
    errors: dict[str, str] = {}
    uploads, kept = _take_files(fields, instance.id, raw, errors)
    orch = orchestrator()
    try:
        for field_id, upload in uploads.items():  # what was chosen is kept, as a failed submit keeps it
            document_id = orch.add_document(
                instance.id, upload.filename, upload.content_type, upload.content, g.actor, task.id, field_id
            )
            kept[field_id] = (document_id, upload.filename)
        result = orch.draft_letter(task.id, key, raw, g.actor)
    except NotFound:
        abort(404)
    except (ValidationFailed, EngineError) as err:
        fresh()
        return _render_task(task, instance, notice=str(err), status=getattr(err, "status", 409))
    fresh()
    docx_id, docx_name = result.documents[0]
    if result.letter.fills_field:
        kept[result.letter.field] = (docx_id, docx_name)
    flash(
        f"Draf surat «{result.letter.label}» dibuat: {', '.join(name for _, name in result.documents)}. "
        "Unduh dan periksa di «Dokumen tugas ini»; tugas belum diselesaikan.",
        "sukses",
    )
    if result.pdf_note:
        flash(result.pdf_note, "info")
    variables = views.variables_of(instance)
    form = submitted_form(fields, variables, errors, kept)
    return _render_task(task, instance, form=form)

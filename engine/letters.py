"""Letters that draft themselves: a .docx template filled from a case's data (docxtpl), a PDF
beside it where LibreOffice is installed, both stored on the case like an upload.

Mixed into `Orchestrator`. The letters and their values come from the handler registry
(`HandlerRegistry.letter`); the templates from the operator's folder `KSDPL_LETTER_TEMPLATES`
when it has the file, else from the registry's default folder. A draft uses what the form
currently holds (valid values only; the rest stays a dotted blank) over the case's variables,
so the person can draft before completing the task.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import forms
from .access import Actor
from .errors import EngineError, NotFound
from .projections import LOAD
from .registry import LetterInfo
from .runtime import Case

if TYPE_CHECKING:
    from .registry import HandlerRegistry

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
PDF_TIMEOUT = 120  # seconds LibreOffice may take for one letter


class PdfUnavailable(Exception):
    """No PDF: LibreOffice is not installed here (or failed); the message says which."""


def template_path(registry: HandlerRegistry, letter: LetterInfo) -> Path:
    """The operator's template if their folder has it, else the default shipped with the handlers."""
    custom = os.environ.get("KSDPL_LETTER_TEMPLATES")
    if custom and (Path(custom) / letter.template).is_file():
        return Path(custom) / letter.template
    if registry.letter_templates is None:
        raise EngineError(f"Templat surat '{letter.template}' tidak ditemukan")
    path = Path(registry.letter_templates) / letter.template
    if not path.is_file():
        raise EngineError(f"Templat surat '{letter.template}' tidak ditemukan")
    return path


def render_docx(path: Path, context: Mapping[str, Any]) -> bytes:
    """The template filled in; values are escaped, so '&' or '<' in a case cannot break the file."""
    from docxtpl import DocxTemplate  # only when a letter is drafted: the engine starts without it

    template = DocxTemplate(str(path))
    template.render(dict(context), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: bytes) -> bytes:
    """The same letter as PDF, converted by LibreOffice in a profile of its own."""
    program = soffice()
    if program is None:
        raise PdfUnavailable("PDF tidak dibuat: LibreOffice tidak terpasang di server (hanya DOCX).")
    with tempfile.TemporaryDirectory(prefix="surat-") as tmp:
        source = Path(tmp) / "surat.docx"
        source.write_bytes(docx)
        try:
            subprocess.run(
                [
                    program,
                    f"-env:UserInstallation={Path(tmp, 'profil').as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    tmp,
                    str(source),
                ],
                capture_output=True,
                timeout=PDF_TIMEOUT,
                check=True,
            )
        except (subprocess.SubprocessError, OSError) as err:
            raise PdfUnavailable(f"PDF tidak dibuat: LibreOffice gagal mengubah surat ({err}).") from err
        result = Path(tmp) / "surat.pdf"
        if not result.is_file():
            raise PdfUnavailable("PDF tidak dibuat: LibreOffice tidak menghasilkan berkas.")
        return result.read_bytes()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "surat"


@dataclass(frozen=True)
class DraftLetter:
    letter: LetterInfo
    documents: list[tuple[int, str]]  # (document id, filename): the .docx first, then the PDF if made
    pdf_note: str | None  # why there is no PDF


class Letters:
    def letters_for_task(self, form_fields: list[dict[str, Any]]) -> list[LetterInfo]:
        return self.registry.letters_for(f["id"] for f in form_fields if f.get("type") == "file")

    def draft_letter(
        self,
        task_id: str,
        key: str,
        raw_values: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
        user: str | None = None,
        pdf: bool = True,
    ) -> DraftLetter:
        """Draft letter `key` for a ready task the actor may do, from the case and what its form
        holds now; store it (and its PDF) on the case, audited. The task is not completed."""
        user = actor.username if actor else user
        letter = self.registry.letter_info(key)
        with self.session() as s:
            row = self._ready_task(s, task_id, actor)  # the case: LOAD, below
            fields = forms_of(row.form)
            if letter is None or letter not in self.letters_for_task(fields):
                raise NotFound("Surat ini tidak tersedia untuk tugas ini")
            values, errors = forms.coerce_values(fields, raw_values or {})  # a draft may be incomplete
            typed = {k: v for k, v in values.items() if v not in (None, "") and k not in errors}
            loaded = s.connection().execute(LOAD, {"id": row.instance_id}).first()
            env = self._env(s, self._region_of(loaded), loaded.calendar_version)
            env.business_key = loaded.business_key
            case = Case.load(
                loaded.state, self._deployment(s, loaded.definition_id, loaded.process_key), env.script_engine
            )
            task = case.task(task_id)
            ctx = self._context(s, row.instance_id, case, task, env, user, {**task.data, **typed})
            context = dict(letter.function(ctx))
            instance_id, stage = row.instance_id, row.stage
        docx = render_docx(template_path(self.registry, letter), context)
        files = [(f"{_slug(letter.label)}-kasus-{instance_id}.docx", DOCX, docx)]
        pdf_note = None
        if pdf:
            try:
                files.append((files[0][0][:-5] + ".pdf", PDF, to_pdf(docx)))
            except PdfUnavailable as err:
                pdf_note = str(err)
        from .service import NewDocument  # the module that mixes this class in

        with self.uow() as uow:
            s = uow.session
            self._ready_task(s, task_id, actor)  # still ready, still theirs
            stored = []
            for filename, content_type, content in files:
                field = letter.field if letter.fills_field else None
                document = NewDocument(filename, content_type, content)
                # one history entry for the letter's files, below
                document_id = self._store_document(
                    s, instance_id, stage, task_id, field, document, user, audit=False
                )
                stored.append((document_id, filename))
            self._audit(
                s,
                instance_id,
                user,
                "letter",
                task_id=task_id,
                bpmn_id=row.bpmn_id,
                detail={
                    "letter": letter.key,
                    "filename": stored[0][1],
                    "documents": [document_id for document_id, _ in stored],
                },
            )
            uow.commit()
        return DraftLetter(letter, stored, pdf_note)


def forms_of(form_json: str) -> list[dict[str, Any]]:
    fields = json.loads(form_json or "[]")
    return [f for f in fields if isinstance(f, dict) and f.get("id")]

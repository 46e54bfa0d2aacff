"""Files given with a start or a completion are stored in the step's own transaction: a step
refused by the form or by the task's handler leaves no document behind, an accepted one holds
each file's id in its field (tests/fixtures/files.bpmn)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ValidationFailed
from engine.models import AuditEvent, Document, Instance, Region, Task
from engine.registry import HandlerRegistry
from engine.service import NewDocument, Orchestrator
from handlers import registry as ksdpl_registry
from tests.conftest import FIXTURES

PDF = b"%PDF-1.4\n%%EOF\n"


def letter(name: str) -> NewDocument:
    return NewDocument(f"{name}.pdf", "application/pdf", PDF + name.encode())


@pytest.fixture
def orch(db_url):
    registry = HandlerRegistry("uji")
    registry.access = ksdpl_registry.access

    @registry.user_task("uji.periksa", label="Periksa (uji)")
    def periksa(ctx):
        if ctx.variables.get("catatan") == "DITOLAK":
            raise ValidationFailed({"catatan": "Catatan ini ditolak pemeriksa"})
        return {}

    orchestrator = Orchestrator(db_url, registry)
    with orchestrator.uow() as uow:
        uow.session.add(Region(code="3578", name="Kota Surabaya", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orchestrator.deploy({"files.bpmn": (FIXTURES / "files.bpmn").read_text()})
    yield orchestrator
    orchestrator.close()


def counts(orch) -> tuple[int, int, int]:
    with orch.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Instance, Document, AuditEvent))


def test_a_start_stores_its_files_with_the_case(orch) -> None:
    with pytest.raises(ValidationFailed) as refused:
        orch.start("berkas", "3578", {"judul": "Uji"}, user="ani")
    assert refused.value.errors == {"surat_permohonan": "Wajib diisi"}
    with pytest.raises(ValidationFailed) as refused:
        orch.start("berkas", "3578", {}, user="ani", documents={"surat_permohonan": letter("surat")})
    assert refused.value.errors == {"judul": "Wajib diisi"}
    with pytest.raises(ValidationFailed) as refused:
        orch.start("berkas", "3578", {"judul": "Uji"}, user="ani", documents={"judul": letter("surat")})
    assert refused.value.errors["judul"] == "Bukan isian berkas pada formulir ini"
    assert counts(orch)[:2] == (0, 0)

    instance_id = orch.start(
        "berkas", "3578", {"judul": "Uji"}, user="ani", documents={"surat_permohonan": letter("surat")}
    )
    with orch.session() as s:
        [document] = s.scalars(select(Document))
        instance = s.get(Instance, instance_id)
        assert (document.instance_id, document.field, document.stage, document.uploaded_by) == (
            instance_id,
            "surat_permohonan",
            1,
            "ani",
        )
        assert f'"surat_permohonan": {document.id}' in instance.variables
        assert (
            s.scalar(select(AuditEvent.action).where(AuditEvent.detail.contains('"document"'))) == "document"
        )


def test_a_completion_refused_by_the_form_or_the_handler_leaves_no_document(orch) -> None:
    instance_id = orch.start(
        "berkas", "3578", {"judul": "Uji"}, documents={"surat_permohonan": letter("surat")}
    )
    with orch.session() as s:
        task_id = s.scalar(select(Task.id).where(Task.instance_id == instance_id))
    before = counts(orch)
    for values, field in (({"catatan": ""}, "catatan"), ({"catatan": "DITOLAK"}, "catatan")):
        with pytest.raises(ValidationFailed) as refused:
            orch.complete_task(task_id, values, user="ani", documents={"berita_acara": letter("ba")})
        assert field in refused.value.errors
        assert counts(orch) == before
    result = orch.complete_task(
        task_id, {"catatan": "lengkap"}, user="ani", documents={"berita_acara": letter("ba")}
    )
    assert result.status == "completed"
    with orch.session() as s:
        stored = s.scalar(select(Document).where(Document.field == "berita_acara"))
        assert (stored.task_id, stored.content) == (task_id, PDF + b"ba")
        submitted = s.scalar(select(Task.submitted).where(Task.id == task_id))
        assert f'"berita_acara": {stored.id}' in submitted

"""Letters drafted from a case: each of the six opened with python-docx and read for the case's
values (the region and its head, the partner and its country in Indonesian, what the form holds
now, dates in words); stored on the case like an upload and audited; a PDF beside it where
LibreOffice is installed; an operator's template used instead of the default."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from docx import Document as Docx
from sqlalchemy import select

from engine.errors import Forbidden, NotFound
from engine.letters import soffice
from engine.models import AuditEvent, Document
from handlers import registry as ksdpl_handlers
from tests.conftest import ROOT
from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase
from tests.ksdpl.driver import Case

Actor = ksdpl_handlers.access.actor  # actors as the deployment's access policy builds them

PEMDA = Actor("rina", frozenset({"pemda"}), "3578")


def docx_text(content: bytes) -> str:
    """Every paragraph of the body and of its tables, one per line."""
    doc = Docx(io.BytesIO(content))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def draft(case: Case, bpmn_id: str, key: str, actor: Actor = PEMDA, **typed) -> tuple[str, Document]:
    """Draft a letter on the ready task with what the form would post; its text and its document."""
    task = case.task(bpmn_id)
    posted = {k: v for k, v in case.form_values(task, typed).items() if k in typed}
    result = case.orch.draft_letter(task.id, key, posted, actor, pdf=False)
    with case.orch.session() as s:
        document = s.get(Document, result.documents[0][0])
    assert document.content_type.endswith("wordprocessingml.document")
    return docx_text(document.content), document


def test_the_plan_letters_carry_the_case_and_the_form(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)

    text, document = draft(
        case,
        "Task_SusunRancanganLoi",
        "rancangan-loi",
        judul_loi="Kerja Sama Pengelolaan Sampah Kota",
        subjek_loi="Pengelolaan sampah & daur ulang <kota>",
        maksud_tujuan_loi="Meningkatkan kapasitas pengelolaan sampah.\nMenukar pengalaman teknis.",
        ruang_lingkup_loi="Pelatihan, kunjungan, dan proyek percontohan.",
    )
    assert "PEMERINTAH KOTA SURABAYA, REPUBLIK INDONESIA" in text
    assert "KITAKYUSHU, JEPANG" in text and "Kitakyushu, Jepang" in text
    assert "KERJA SAMA PENGELOLAAN SAMPAH KOTA" in text
    assert "Pengelolaan sampah & daur ulang <kota>" in text  # escaped, not a broken file
    assert "Meningkatkan kapasitas pengelolaan sampah.\nMenukar pengalaman teknis." in text
    assert "Pelatihan, kunjungan, dan proyek percontohan." in text
    assert "Wali Kota Surabaya" in text
    assert "Ditandatangani di …………… pada tanggal ……………" in text  # not known yet: dotted blanks
    assert (document.field, document.stage, document.uploaded_by) == ("dokumen_rancangan_loi", 3, "rina")
    assert document.filename == f"Rancangan-Letter-of-Intent-kasus-{case.id}.docx"
    with case.orch.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "letter")).one()
    assert (event.actor, json.loads(event.detail)["letter"]) == ("rina", "rancangan-loi")
    assert case.ready_ids() == ["Task_SusunRancanganLoi"]  # drafting completes nothing

    paths.sign_loi(case)
    text, _ = draft(
        case,
        "Task_SusunRencana",
        "rencana-kerja-sama",
        subjek_rencana="Pengelolaan sampah berbasis masyarakat",
        latar_belakang_rencana="Volume sampah Kota Surabaya naik 4% per tahun.",
        maksud_tujuan_sasaran_rencana="Mengurangi sampah ke TPA sebesar 20%.",
        objek_rencana="Bank sampah dan komposting.",
        ruang_lingkup_rencana="Pelatihan tenaga teknis.",
        sumber_pembiayaan_rencana="APBD Kota Surabaya dan hibah mitra",
        jangka_waktu_pelaksanaan_rencana="5 (lima) tahun",
    )
    for value in (
        "Pengelolaan sampah berbasis masyarakat",
        "Volume sampah Kota Surabaya naik 4% per tahun.",
        "Mengurangi sampah ke TPA sebesar 20%.",
        "Bank sampah dan komposting.",
        "APBD Kota Surabaya dan hibah mitra",
        "5 (lima) tahun",
        "Kerja sama kota kembar bidang pengelolaan sampah",
        "Kerja Sama Daerah dengan Pemerintah Daerah di Luar Negeri",
        "WALI KOTA SURABAYA,",
        "Surabaya, 4 Januari 2027",
        "ditandatangani pada tanggal 4 Januari 2027",  # the LoI, from the case
    ):
        assert value in text, value


def test_the_naskah_and_the_yearly_letters(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    paths.to_verification(case)
    paths.verify(case, "susun_naskah")
    text, document = draft(
        case,
        "Task_SusunNaskah",
        "rancangan-naskah",
        judul_naskah="Kerja Sama Kota Kembar Surabaya–Kitakyushu",
        pelaksanaan_naskah="Dilaksanakan oleh perangkat daerah terkait.",
        kelompok_kerja_bersama_naskah="Kelompok kerja bersama beranggotakan 5 orang dari tiap pihak.",
        penyelesaian_perselisihan_naskah="Musyawarah untuk mufakat.",
        masa_berlaku_naskah_mulai=date(2027, 7, 1),
        masa_berlaku_naskah_sampai=date(2032, 6, 30),
        rencana_tempat_penandatanganan_naskah="Surabaya",
    )
    assert "KERJA SAMA KOTA KEMBAR SURABAYA–KITAKYUSHU" in text
    assert "Pasal 6" in text and "Kelompok kerja bersama beranggotakan 5 orang dari tiap pihak." in text
    assert "berlaku sejak 1 Juli 2027 sampai dengan 30 Juni 2032" in text
    assert "Musyawarah untuk mufakat." in text and "Ditandatangani di Surabaya" in text
    assert document.field == "dokumen_rancangan_naskah"


def test_the_annual_plan_and_report(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.to_implementation(case, date(2027, 7, 1), date(2029, 6, 30))
    case.on(date(2027, 7, 15))
    text, _ = draft(
        case,
        "Task_RencanaKegiatanTahunan",
        "rencana-kegiatan-tahunan",
        uraian_kegiatan_tahunan="Pelatihan 40 pengelola bank sampah.",
        peran_para_pihak="Kitakyushu menyediakan pelatih; Surabaya menyediakan tempat.",
        hasil_yang_diharapkan="40 bank sampah aktif.",
        rencana_pembiayaan_tahunan="Rp 500.000.000 dari APBD.",
    )
    for value in (
        "TAHUN PELAKSANAAN KE-1",
        "1 Juli 2027 sampai dengan 30 Juni 2028",
        "31 Juli 2027",
        "Pelatihan 40 pengelola bank sampah.",
        "Kitakyushu menyediakan pelatih; Surabaya menyediakan tempat.",
        "40 bank sampah aktif.",
        "Rp 500.000.000 dari APBD.",
        "Surabaya, 15 Juli 2027",
    ):
        assert value in text, value
    case.complete(
        "Task_RencanaKegiatanTahunan", uraian_kegiatan_tahunan="Pelatihan 40 pengelola bank sampah."
    )
    case.wait_until(datetime(2028, 5, 30, 17, tzinfo=UTC))
    case.on(date(2028, 6, 10))
    text, document = draft(
        case,
        "Task_LaporanTahunan",
        "laporan-tahunan",
        hasil_pelaksanaan_tahunan="38 bank sampah aktif; 1.200 ton sampah terpilah.",
        nomor_surat_laporan_tahunan="415/77/2028",
    )
    for value in (
        "LAPORAN PELAKSANAAN KERJA SAMA",
        "38 bank sampah aktif; 1.200 ton sampah terpilah.",
        "Nomor 415/77/2028",
        "Pelatihan 40 pengelola bank sampah.",  # the plan of the year, from the case
        "paling lambat 30 Juni 2028",
    ):
        assert value in text, value
    assert document.field == "dokumen_laporan_tahunan"


def test_the_follow_up_letter_after_deemed_approval(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    case.wait_until(datetime(2027, 3, 18, 17, tzinfo=UTC))  # 00:00 WIB after the 45th working day
    kada = Actor("walikota", frozenset({"kepala_daerah"}), "3578")
    text, document = draft(
        case,
        "Task_SuratTindakLanjutMendagri",
        "surat-tindak-lanjut-mendagri",
        kada,
        nomor_surat_tindak_lanjut_mendagri="x",
    )
    for value in (
        "PEMERINTAH KOTA SURABAYA",
        "SEKRETARIAT DAERAH",
        "Yth. Menteri Dalam Negeri",
        "Permohonan Tindak Lanjut Rencana Kerja Sama Kerja sama kota kembar bidang pengelolaan sampah",
        "diterima pada tanggal 4 Januari 2027",
        "45 hari kerja, yaitu tanggal 18 Maret 2027",
        "dianggap telah disetujui sejak tanggal 19 Maret 2027",
        "Ketua Dewan Perwakilan Rakyat Daerah Kota Surabaya",
        "WALI KOTA SURABAYA,",
    ):
        assert value in text, value
    assert document.field is None  # the form's field takes the signed letter, not this draft


def test_who_may_draft_what(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    task = case.task("Task_SusunRancanganLoi")
    with pytest.raises(NotFound, match="Surat ini tidak tersedia untuk tugas ini"):
        case.orch.draft_letter(task.id, "laporan-tahunan", {}, PEMDA, pdf=False)
    with pytest.raises(NotFound):  # another region's case is not there for them
        case.orch.draft_letter(task.id, "rancangan-loi", {}, Actor("made", frozenset({"pemda"}), "5103"))
    with pytest.raises(Forbidden):
        case.orch.draft_letter(task.id, "rancangan-loi", {}, Actor("dprd", frozenset({"dprd"}), "3578"))
    assert [d.filename for d in case.documents() if d.filename.endswith(".docx")] == []


def test_an_operators_template_replaces_the_default(start_case: StartCase, tmp_path, monkeypatch):
    custom = Docx()
    custom.add_paragraph("SURAT VERSI DAERAH: {{ judul_loi }} untuk {{ mitra }}")
    custom.save(str(tmp_path / "rancangan-loi.docx"))
    monkeypatch.setenv("KSDPL_LETTER_TEMPLATES", str(tmp_path))
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    text, _ = draft(case, "Task_SusunRancanganLoi", "rancangan-loi", judul_loi="Judul Khusus")
    assert text == "SURAT VERSI DAERAH: Judul Khusus untuk Kitakyushu"


def test_a_pdf_beside_the_docx_where_libreoffice_is_installed(start_case: StartCase, monkeypatch):
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    task = case.task("Task_SusunRancanganLoi")
    if soffice() is None:
        result = case.orch.draft_letter(task.id, "rancangan-loi", {}, PEMDA)
        assert result.pdf_note == "PDF tidak dibuat: LibreOffice tidak terpasang di server (hanya DOCX)."
        assert len(result.documents) == 1
        if os.environ.get("KSDPL_REQUIRE_LIBREOFFICE"):
            pytest.fail("KSDPL_REQUIRE_LIBREOFFICE is set but soffice is not on the PATH")
        pytest.skip("LibreOffice (soffice) is not installed: the PDF path was not run")
    result = case.orch.draft_letter(task.id, "rancangan-loi", {"judul_loi": "Judul PDF"}, PEMDA)
    assert result.pdf_note is None
    (docx_id, docx_name), (pdf_id, pdf_name) = result.documents
    assert pdf_name == docx_name.replace(".docx", ".pdf")
    with case.orch.session() as s:
        pdf = s.get(Document, pdf_id)
    assert pdf.content.startswith(b"%PDF-") and pdf.content_type == "application/pdf"

    monkeypatch.setenv("PATH", "/nonexistent")  # the same server without LibreOffice
    result = case.orch.draft_letter(task.id, "rancangan-loi", {}, PEMDA)
    assert result.pdf_note == "PDF tidak dibuat: LibreOffice tidak terpasang di server (hanya DOCX)."


def test_the_shipped_templates_are_what_the_builder_writes(tmp_path):
    from handlers.letter_templates import FOLDER, TEMPLATES, build

    build(tmp_path)
    for name in TEMPLATES:
        assert docx_text((tmp_path / name).read_bytes()) == docx_text((FOLDER / name).read_bytes()), name
    assert sorted(p.name for p in FOLDER.glob("*.docx")) == sorted(TEMPLATES)


def test_operators_get_the_defaults_to_edit(tmp_path):
    env = {**os.environ, "KSDPL_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "KSDPL_HANDLERS": "handlers"}
    command = [sys.executable, "-m", "engine.cli", "letter-templates", str(tmp_path / "surat"), "--json"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert sorted(json.loads(first.stdout)["copied"]) == sorted(
        p.name for p in (ROOT / "handlers" / "templates" / "letters").glob("*.docx")
    )
    (tmp_path / "surat" / "rancangan-loi.docx").write_bytes(b"edited")
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(again.stdout)["copied"] == []  # an operator's edits are never overwritten
    assert (tmp_path / "surat" / "rancangan-loi.docx").read_bytes() == b"edited"

"""The staff pages of issue 12: documents with what they are, the case page in sections, times on
the viewer's clock, and the small wrong things (each test here failed before its fix)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.clock import clock
from engine.errors import ValidationFailed
from engine.models import Instance, Region, Task
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.web.conftest import (
    MONDAY,
    PDF,
    PENJAJAKAN,
    PNG,
    actor,
    add_pdf,
    app_config,
    new_account,
    ready_task,
    start_case,
    text_of,
    to_dprd,
)
from web import create_app

DOCX = b"PK\x03\x04" + b"\x00" * 40


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture
def db_file(db_url) -> str:
    """Both databases: documents, versions and list columns are read with SQL."""
    return db_url


# --- documents -----------------------------------------------------------------------------------


def test_documents_name_what_they_are_when_and_by_whom(orch, login):
    case, _dprd = to_dprd(orch, "pemda_b")
    page = text_of(login("kemendagri").get(f"/kasus/{case}"))
    assert (
        "2. Penjajakan Dokumen kajian kajian.pdf ( unduh ) Diunggah oleh Citra Pemda B · "
        "3 Mei 2027 pukul 09.00 WIB · Catat penjajakan" in page
    )


def test_a_new_version_keeps_the_old_one_visible_as_superseded(orch, login):
    case = start_case(orch)
    task_id = ready_task(orch, case, "Penjajakan")
    first = add_pdf(orch, case, task_id, name="kajian-v1.pdf")
    second = add_pdf(orch, case, task_id, name="kajian-v2.pdf")
    orch.complete_task(task_id, {**PENJAJAKAN, "kajian": str(second)}, actor("pemda_a"))
    html = login("pemda_a").get(f"/kasus/{case}").get_data(as_text=True)
    old = html[html.index(f'href="/dokumen/{first}"') - 400 : html.index(f'href="/dokumen/{first}"')]
    new = html[html.index(f'href="/dokumen/{second}"') - 400 : html.index(f'href="/dokumen/{second}"')]
    assert "Versi lama (sudah diganti)" in old and 'class="doc superseded"' in old
    assert "Versi lama" not in new.split('class="doc')[-1]


def test_pdfs_and_images_open_in_the_browser_other_kinds_download(orch, login):
    case = start_case(orch)
    task_id = ready_task(orch, case, "Penjajakan")
    who = actor("pemda_a")
    pdf = add_pdf(orch, case, task_id)
    png = orch.add_document(case, "peta.png", "image/png", PNG, who, task_id=task_id, field="kajian")
    docx = orch.add_document(
        case,
        "notulen.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        DOCX,
        who,
        task_id=task_id,
        field="notulen",
    )
    client = login("pemda_a")
    for document_id, kind in ((pdf, "application/pdf"), (png, "image/png")):
        response = client.get(f"/dokumen/{document_id}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == kind
        assert response.headers["Content-Disposition"].startswith("inline;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("sandbox;") and "default-src 'none'" in policy
        assert "script-src" not in policy  # none at all: default-src 'none'
    response = client.get(f"/dokumen/{docx}")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/dokumen/{pdf}?unduh=1").headers["Content-Disposition"].startswith("attachment;")
    html = client.get(f"/kasus/{case}").get_data(as_text=True)
    assert f'href="/dokumen/{pdf}" target="_blank" rel="noopener">kajian.pdf</a>' in html
    assert f'href="/dokumen/{docx}" download>notulen.docx</a>' in html


# --- the case page -------------------------------------------------------------------------------


def test_case_page_has_a_summary_then_sections(orch, login):
    case, _dprd = to_dprd(orch, "pemda_a")
    html = login("pemda_a").get(f"/kasus/{case}").get_data(as_text=True)
    page = text_of(login("pemda_a").get(f"/kasus/{case}"))
    assert "Tahap sekarang 5. Persetujuan DPRD Yang harus bertindak DPRD: Persetujuan DPRD" in page
    assert "Batas terdekat 13 Juli 2027 WIB · 45 hari kerja lagi (Persetujuan DPRD)" in page
    positions = [html.index(f'<details class="card section" id="{name}"') for name in ("data", "dokumen")]
    positions += [html.index(f'id="{name}"') for name in ("batas-waktu", "riwayat", "komentar")]
    assert positions == sorted(positions) and html.index("Yang harus bertindak") < positions[0]
    assert "Data per tahap 1. Prakarsa Judul kerja sama Kerja sama kota kembar" in page
    assert "2. Penjajakan Tanggal penjajakan 20 April 2027 Jumlah pertemuan 3" in page


def test_labels_name_their_stage_once(orch, login):
    """Before: "Dimulai · tahap 1", "Tanggal penjajakan · tahap 2": the stage repeated on every label."""
    case, _dprd = to_dprd(orch, "pemda_a")
    page = text_of(login("pemda_a").get(f"/kasus/{case}"))
    assert "· tahap" not in page
    key_dates = page[page.index("Tanggal penting") : page.index("Tugas terbuka")]
    assert key_dates.count("2. Penjajakan") == 1
    data = page[page.index("Data per tahap") : page.index("Dokumen 1")]
    assert data.count("Tanggal penjajakan") == 1 and data.count("2. Penjajakan") == 1


def test_a_national_user_reads_the_case_on_one_clock(orch, login):
    """Kota B is in WIT: Kemendagri reads every instant in WIB, the deadline's day in WIT with its
    WIB instant beside it; Kota B's own staff read WIT only."""
    case, _dprd = to_dprd(orch, "pemda_b")
    page = text_of(login("kemendagri").get(f"/kasus/{case}"))
    assert "3 Mei 2027 pukul 09.00 WIB — Citra Pemda B : Memulai kasus" in page
    assert "13 Juli 2027 WIT (13 Juli 2027 pukul 22.00 WIB)" in page
    instants = re.findall(r"pukul \d\d\.\d\d (WIB|WITA|WIT)", page)
    assert set(instants) == {"WIB"}
    page = text_of(login("dprd_b").get(f"/kasus/{case}"))
    assert set(re.findall(r"pukul \d\d\.\d\d (WIB|WITA|WIT)", page)) == {"WIT"}


# --- the small wrong things ----------------------------------------------------------------------


def test_the_ambil_button_is_not_in_the_status_column(orch, login):
    case = start_case(orch)
    task_id = ready_task(orch, case, "Penjajakan")
    html = login("pemda_a").get("/").get_data(as_text=True)
    headers = re.findall(r"<th>([^<]*)</th>", html[html.index('<table class="list inbox">') :])
    row = html[html.rindex("<tr", 0, html.index(f'href="/tugas/{task_id}"')) :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    status = cells[headers.index("Status")]
    assert "<button" not in status and "Belum diambil" in status
    assert "Ambil</button>" in cells[headers.index("Tindakan")]


BPMN = (ROOT / "processes" / "ksdpl.bpmn").read_text(encoding="utf-8")
DMN = (ROOT / "processes" / "kelayakan.dmn").read_text(encoding="utf-8")
KSDPL_START = {
    "judul_kerja_sama": "Kerja sama Bandung–Fukuoka",
    "jenis_kerja_sama": "ksdpl",
    "nama_mitra": "Kota Fukuoka",
    "negara_mitra": "jp",
    "tingkat_mitra": "kota_kabupaten",
    "sumber_prakarsa": "pemerintah_daerah",
}


@pytest.fixture
def ksdpl(db_file) -> Iterator[Orchestrator]:
    from handlers import registry

    orch = Orchestrator(db_file, registry)
    with orch.uow() as uow:
        s = uow.session
        s.add(Region(code="32.73", name="Kota Bandung", level="kota", timezone="Asia/Jakarta"))
        s.flush()
        s.add(new_account("pemda.bandung", "Pemda Bandung", "pemda", "32.73"))
        uow.commit()
    orch.deploy({"ksdpl.bpmn": BPMN, "kelayakan.dmn": DMN}, user="analis")
    yield orch
    orch.close()


@pytest.fixture
def ksdpl_app(ksdpl) -> Flask:
    return create_app(app_config(ksdpl, KSDPL_PROCESS_KEY="ksdpl"))


@pytest.fixture
def pemda(ksdpl_app):
    client = ksdpl_app.test_client()
    client.post("/login", data={"username": "pemda.bandung", "password": "rahasia-uji-123"})
    return client


def _cases(orch) -> int:
    with orch.session() as s:
        return s.scalar(select(func.count()).select_from(Instance))


def test_the_start_form_writes_the_country_code_in_capitals(ksdpl, pemda):
    """Before: `jp` stayed in lower case until stage 2's handler corrected it."""
    html = pemda.get("/kasus/baru").get_data(as_text=True)
    assert re.search(r'name="negara_mitra"[^>]*data-text-case="upper"', html)
    response = pemda.post("/kasus/baru", data=KSDPL_START)
    assert response.status_code == 302, text_of(response)
    with ksdpl.session() as s:
        instance = s.scalars(select(Instance)).one()
    assert '"negara_mitra": "JP"' in instance.variables and instance.country == "JP"


def test_a_ksdll_only_field_is_refused_and_hidden_on_a_ksdpl_case(ksdpl, pemda):
    html = pemda.get("/kasus/baru").get_data(as_text=True)
    assert 'data-only-when="jenis_kerja_sama" data-only-when-values="ksdll"' in html  # hidden by forms.js
    response = pemda.post("/kasus/baru", data={**KSDPL_START, "lembaga_mitra": "Universitas Kyushu"})
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="e-lembaga_mitra">([^<]*)</p>', response.get_data(as_text=True))
    assert error and error[1] == "Hanya diisi bila jenis kerja sama: KSDLL - dengan lembaga di luar negeri"
    assert _cases(ksdpl) == 0
    # a KSDLL case takes it
    ksdll = {**KSDPL_START, "jenis_kerja_sama": "ksdll", "tingkat_mitra": "lembaga"}
    assert pemda.post("/kasus/baru", data={**ksdll, "lembaga_mitra": "Universitas Kyushu"}).status_code == 302
    # on a KSDPL case's later form the field is not shown, and the engine refuses it
    assert pemda.post("/kasus/baru", data=KSDPL_START).status_code == 302
    who = ksdpl.registry.access.actor("pemda.bandung", ["pemda"], "32.73")
    with ksdpl.session() as s:
        ksdpl_case = s.scalar(select(func.max(Instance.id)))
    task_id = _drive_to_requirements(ksdpl, ksdpl_case, who)
    html = pemda.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert 'name="nama_mitra"' in html and 'name="lembaga_mitra"' not in html
    with pytest.raises(ValidationFailed) as refused:
        ksdpl.complete_task(task_id, {**_requirements(), "lembaga_mitra": "Universitas Kyushu"}, who)
    assert "lembaga_mitra" in refused.value.errors


def _ready(orch, case: int, name: str) -> str:
    with orch.session() as s:
        return s.scalar(
            select(Task.id).where(Task.instance_id == case, Task.name == name, Task.status == "ready")
        )


def _upload(orch, case: int, task_id: str, who, field: str) -> str:
    return str(
        orch.add_document(case, f"{field}.pdf", "application/pdf", PDF, who, task_id=task_id, field=field)
    )


def _drive_to_requirements(orch, case: int, who) -> str:
    """From Penjajakan to 'Periksa persyaratan kerja sama' (stage 2) of a KSDPL case."""
    task_id = _ready(orch, case, "Lakukan penjajakan")
    orch.complete_task(
        task_id,
        {
            "mekanisme_komunikasi_media": "true",
            "uraian_penjajakan": "Video conference.",
            "hasil_penjajakan": "sepakat",
            "dokumen_penjajakan": _upload(orch, case, task_id, who, "dokumen_penjajakan"),
        },
        who,
    )
    task_id = _ready(orch, case, "Susun kajian kerja sama")
    orch.complete_task(
        task_id,
        {
            "ringkasan_kajian": "Kajian.",
            "dokumen_kajian": _upload(orch, case, task_id, who, "dokumen_kajian"),
        },
        who,
    )
    return _ready(orch, case, "Periksa persyaratan kerja sama")


def _requirements() -> dict[str, str]:
    return {
        "nama_mitra": "Kota Fukuoka",
        "negara_mitra": "JP",
        "tingkat_mitra": "kota_kabupaten",
        "urusan_pemerintah_daerah": "true",
        "kesetaraan_status": "true",
    }


def test_the_flash_after_starting_names_the_stage_the_case_reached(ksdpl, pemda):
    response = pemda.post("/kasus/baru", data=KSDPL_START)
    page = text_of(pemda.get(response.headers["Location"]))
    assert "Kasus baru dimulai; sekarang di tahap 2. Penjajakan." in page
    assert re.search(
        r'<li class="current" aria-current="step">\s*<span class="num">2</span>',
        pemda.get(response.headers["Location"]).get_data(as_text=True),
    )

"""'Buat draf surat' on the task page, with the KSDPL diagram and handlers: the draft is made from
the case and what the form holds, stored on the case, offered for the field it drafts, and the
typed values come back; only the people who may do the task can draft."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from docx import Document as Docx

from engine.models import Region
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.ksdpl import paths
from tests.ksdpl.driver import Case
from tests.web.conftest import app_config, new_account, text_of
from web import create_app

START = {
    "judul_kerja_sama": "Kerja sama Bandung–Fukuoka",
    "jenis_kerja_sama": "ksdpl",
    "nama_mitra": "Kota Fukuoka",
    "negara_mitra": "JP",
    "tingkat_mitra": "kota_kabupaten",
    "sumber_prakarsa": "pemerintah_daerah",
}


@pytest.fixture
def ksdpl(db_file) -> Iterator[Orchestrator]:
    from handlers import registry

    orch = Orchestrator(db_file, registry)
    with orch.uow() as uow:
        s = uow.session
        s.add_all(
            [
                Region(code="32.73", name="Kota Bandung", level="kota", timezone="Asia/Jakarta"),
                Region(code="51", name="Provinsi Bali", level="provinsi", timezone="Asia/Makassar"),
            ]
        )
        s.flush()
        for username, group, region in (
            ("pemda.bandung", "pemda", "32.73"),
            ("dprd.bandung", "dprd", "32.73"),
            ("pemda.bali", "pemda", "51"),
        ):
            s.add(new_account(username, username, group, region))
        uow.commit()
    processes = ROOT / "processes"
    orch.deploy(
        {
            "ksdpl.bpmn": (processes / "ksdpl.bpmn").read_text(),
            "kelayakan.dmn": (processes / "kelayakan.dmn").read_text(),
        }
    )
    yield orch
    orch.close()


@pytest.fixture
def loi_task(ksdpl) -> str:
    case = Case(ksdpl, ksdpl.start("ksdpl", "32.73", START, user="pemda.bandung"), "Asia/Jakarta")
    paths.explore(case)
    paths.check_prerequisites(case)
    return case.task("Task_SusunRancanganLoi").id


def client_for(ksdpl, username: str):
    from tests.web.conftest import PASSWORD

    client = create_app(app_config(ksdpl, KSDPL_PROCESS_KEY="ksdpl")).test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_draft_a_letter_from_the_task_page(ksdpl, loi_task):
    pemda = client_for(ksdpl, "pemda.bandung")
    page = pemda.get(f"/tugas/{loi_task}").get_data(as_text=True)
    assert f'formaction="/tugas/{loi_task}/surat/rancangan-loi"' in page
    assert "Buat draf surat: Rancangan Letter of Intent" in page

    response = pemda.post(
        f"/tugas/{loi_task}/surat/rancangan-loi",
        data={"judul_loi": "Kota Kembar Bandung–Fukuoka", "subjek_loi": "Pendidikan vokasi"},
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Draf surat «Rancangan Letter of Intent» dibuat: Rancangan-Letter-of-Intent-kasus-1.docx" in text
    html = response.get_data(as_text=True)
    assert 'value="Kota Kembar Bandung–Fukuoka"' in html  # what was typed stays
    assert "Sudah diunggah:" in html and "Rancangan-Letter-of-Intent-kasus-1.docx</a>" in html
    assert 'name="dokumen_rancangan_loi__dokumen"' in html  # the draft stands for the field's upload

    [document_id] = re.findall(r'href="/dokumen/(\d+)">Rancangan-Letter-of-Intent-kasus-1\.docx', html)[:1]
    download = pemda.get(f"/dokumen/{document_id}")
    assert download.status_code == 200
    letter = "\n".join(p.text for p in Docx(io.BytesIO(download.data)).paragraphs)
    assert "KOTA KEMBAR BANDUNG–FUKUOKA" in letter and "Pendidikan vokasi" in letter
    assert "KOTA FUKUOKA, JEPANG" in letter and "PEMERINTAH KOTA BANDUNG, REPUBLIK INDONESIA" in letter
    history = text_of(pemda.get("/kasus/1"))
    assert "Membuat draf surat" in history


def test_only_the_people_of_the_task_may_draft(ksdpl, loi_task):
    assert client_for(ksdpl, "dprd.bandung").post(f"/tugas/{loi_task}/surat/rancangan-loi").status_code == 403
    assert client_for(ksdpl, "pemda.bali").post(f"/tugas/{loi_task}/surat/rancangan-loi").status_code == 404
    pemda = client_for(ksdpl, "pemda.bandung")
    assert pemda.post(f"/tugas/{loi_task}/surat/laporan-tahunan").status_code == 404
    assert pemda.post(f"/tugas/{loi_task}/surat/tidak-ada").status_code == 404
    page = pemda.get(f"/tugas/{loi_task}").get_data(as_text=True)
    assert "Dokumen tugas ini" not in page  # nothing was stored by the refused requests

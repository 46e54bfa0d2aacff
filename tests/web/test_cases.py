"""Starting a case (Prakarsa) and the case page: history, documents by stage, deadlines, who acts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.errors import Forbidden
from engine.imports import DirectoryDocuments
from engine.models import Instance
from tests.web.conftest import (
    MONDAY,
    PDF,
    START_VALUES,
    actor,
    ready_task,
    snapshot,
    start_case,
    text_of,
    to_dprd,
)


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


def test_start_form_comes_from_the_diagram(login):
    response = login("pemda_a").get("/kasus/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(
        r'<input type="text" id="f-nama_mitra" name="nama_mitra" value="" maxlength="200" required', html
    )
    assert '<option value="KSDLL">KSDLL (lembaga di luar negeri)</option>' in html
    assert '<option value="pemerintah">Pemerintah asing melalui Menteri</option>' in html
    assert "Tahap 1 · Kota A" in text_of(response)


def test_pemda_starts_a_case_for_its_region(orch, login):
    client = login("pemda_a")
    response = client.post("/kasus/baru", data={**START_VALUES, "region_code": "91.71"})
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = text_of(client.get(response.headers["Location"]))
    assert "Kasus baru dimulai; sekarang di tahap 2. Penjajakan." in page  # the uji diagram names it
    assert "Catat penjajakan" in page
    with orch.session() as s:
        instance = s.get(Instance, case_id)
        assert instance.region_code == "32.73" and instance.started_by == "pemda_a"
        assert instance.title == "Kerja sama kota kembar" and instance.stage == 2


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"nama_mitra": ""}, "nama_mitra", "Wajib diisi"),
        ({"jenis_kerja_sama": "KSDXX"}, "jenis_kerja_sama", "Pilihan tidak tersedia"),
        ({"nama_mitra": "x" * 201}, "nama_mitra", "Paling banyak 200 karakter"),
    ],
)
def test_start_with_bad_input_creates_nothing(orch, login, changes, field_id, message):
    before = snapshot(orch)
    response = login("pemda_a").post("/kasus/baru", data={**START_VALUES, **changes})
    assert response.status_code == 422
    assert re.search(rf'<p class="error" id="e-{field_id}">{message}</p>', response.get_data(as_text=True))
    assert 'value="Jepang"' in response.get_data(as_text=True)
    assert snapshot(orch) == before
    with orch.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 0


def test_case_page_shows_history_documents_deadlines_and_who_acts(orch, login):
    case, dprd_task = to_dprd(orch, "pemda_b")  # Kota B is in WIT
    orch.add_comment(case, "Kajian sudah lengkap.", actor("pemda_b"))
    client = login("dprd_b")
    response = client.get(f"/kasus/{case}")
    page = text_of(response)
    html = response.get_data(as_text=True)

    assert "Kasus #1 · Kota B (WIT) · Berjalan" in page
    assert re.search(r'<li class="current" aria-current="step">\s*<span class="num">5</span>', html)
    # who must act, with the deadline in the region's zone and working days left
    assert "Yang harus bertindak DPRD: Persetujuan DPRD" in page
    assert "Batas terdekat 13 Juli 2027 WIT · 45 hari kerja lagi (Persetujuan DPRD)" in page
    assert "Tugas terbuka Persetujuan DPRD — DPRD batas 13 Juli 2027 WIT · 45 hari kerja lagi" in page
    # deadlines: the task and the deemed-approval timer (00:00 local after the 45th working day)
    assert "Persetujuan DPRD DPRD 13 Juli 2027 WIT 45 hari kerja lagi" in page
    assert "Dianggap disetujui DPRD Sistem (otomatis) 13 Juli 2027 WIT 45 hari kerja lagi" in page
    # documents by stage, downloadable
    assert "Dokumen 1 2. Penjajakan Dokumen kajian kajian.pdf" in page
    assert re.search(r'href="/dokumen/\d+" target="_blank" rel="noopener">kajian.pdf</a>', html)
    # history in WIT: 09:00 WIB is 11.00 WIT
    assert "3 Mei 2027 pukul 11.00 WIT — Citra Pemda B : Memulai kasus" in page
    assert "Citra Pemda B : Mengunggah dokumen «kajian.pdf»" in page
    assert "Citra Pemda B : Menyelesaikan tugas «Catat penjajakan»" in page
    assert "Tanggal penjajakan 20 April 2027" in page and "Kedua pihak sepakat Ya" in page
    assert "Tanggal penting (2) 1. Prakarsa Dimulai 3 Mei 2027 pukul 11.00 WIT" in page
    assert "2. Penjajakan Tanggal penjajakan 20 April 2027" in page
    assert "Jenis kerja sama KSDPL (pemerintah daerah di luar negeri)" in page
    assert "Kajian sudah lengkap." in page
    # the DPRD user may do the task: it is a link
    assert f'href="/tugas/{dprd_task}"' in html


def test_case_page_after_a_deadline_passed_and_a_claim(orch, login):
    case, dprd_task = to_dprd(orch, "pemda_a")
    orch.claim(dprd_task, actor("dprd_a"))
    clock.set(MONDAY + timedelta(days=90))
    page = text_of(login("pemda_a").get(f"/kasus/{case}"))
    assert "Diambil oleh Sekretariat DPRD A" in page
    assert "Terlambat" in page
    assert "Sekretariat DPRD A : Mengambil tugas «Persetujuan DPRD»" in page


def test_case_list(orch, login):
    start_case(orch, "pemda_a")
    start_case(orch, "pemda_b", nama_mitra="Kota Busan")
    page = text_of(login("pemda_a").get("/kasus"))
    assert "Daftar kasus 1" in page and "Kota Fukuoka" in page and "Kota Busan" not in page
    page = text_of(login("kemendagri").get("/kasus"))
    assert "Daftar kasus 2" in page and "Kota Busan" in page


def test_completed_case_page(orch, login):
    case, dprd_task = to_dprd(orch)
    orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    orch.complete_task(
        ready_task(orch, case, "Verifikasi"), {"hasil_verifikasi": "terima"}, actor("kemendagri")
    )
    page = text_of(login("pemda_a").get(f"/kasus/{case}"))
    assert "Selesai" in page and "Kasus selesai" in page and "Tidak ada batas waktu yang berjalan" in page


def test_case_page_marks_imported_steps(orch, login, tmp_path):
    """An imported case's history says, step by step, that it was imported, from where, by whom."""
    (tmp_path / "kajian-fukuoka.pdf").write_bytes(PDF)
    rows = (
        "business_key,region,target,judul_kerja_sama,nama_mitra,negara_mitra,jenis_kerja_sama,"
        "sumber_prakarsa,tanggal_Prakarsa,tanggal_penjajakan,hasil_penjajakan,kajian,tanggal_Penjajakan\n"
        "UJI-7,32.73,PersetujuanDprd,Kerja sama lama,Kota Fukuoka,Jepang,KSDPL,daerah,2027-03-01,"
        "2027-03-05,Kedua kota sepakat,kajian-fukuoka.pdf,2027-03-08\n"
    )
    with pytest.raises(Forbidden):
        orch.import_csv(rows.encode(), "lama.csv", DirectoryDocuments(tmp_path), actor=actor("pemda_a"))
    report = orch.import_csv(rows.encode(), "lama.csv", DirectoryDocuments(tmp_path), actor=actor("operator"))
    [row] = report.rows
    assert row.status == "created", row.message
    page = text_of(login("pemda_a").get(f"/kasus/{row.instance_id}"))
    origin = "dari lama.csv baris 2, diimpor oleh Fajar Operator pada 3 Mei 2027 pukul 09.00 WIB"
    assert f"1 Maret 2027 pukul 09.00 WIB — Fajar Operator : Memulai kasus Diimpor {origin}" in page
    assert (
        f"8 Maret 2027 pukul 09.00 WIB — Fajar Operator : Mengunggah dokumen «kajian-fukuoka.pdf» Diimpor {origin}"
        in page
    )
    assert f"Fajar Operator : Menyelesaikan tugas «Catat penjajakan» Diimpor {origin}" in page
    assert "Dokumen 1 2. Penjajakan Dokumen kajian kajian-fukuoka.pdf" in page

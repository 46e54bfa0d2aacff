"""The task page: the generated form, completing with uploads, what happens next, and bad input."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.errors import Conflict
from engine.models import Document, Instance
from tests.statements import statements_sent
from tests.web.conftest import (
    MONDAY,
    PDF,
    PENJAJAKAN,
    PNG,
    actor,
    add_pdf,
    app_config,
    ready_task,
    snapshot,
    start_case,
    submitted_values,
    text_of,
    to_dprd,
)
from web import create_app


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture
def penjajakan(orch) -> tuple[int, str]:
    case = start_case(orch)
    return case, ready_task(orch, case, "Penjajakan")


def form_data(file: tuple[bytes, str] | None = (PDF, "kajian.pdf"), **values) -> dict:
    data = {**PENJAJAKAN, **values}
    if file is not None:
        data["kajian"] = (io.BytesIO(file[0]), file[1])
    return data


def field_error(response, field_id: str) -> str | None:
    match = re.search(rf'<p class="error" id="e-{field_id}">([^<]*)</p>', response.get_data(as_text=True))
    return match[1] if match else None


def input_value(response, field_id: str) -> str | None:
    html = response.get_data(as_text=True)
    match = re.search(rf'<input[^>]*name="{field_id}"[^>]*value="([^"]*)"', html)
    if match:
        return match[1]
    match = re.search(rf'<textarea[^>]*name="{field_id}"[^>]*>([^<]*)</textarea>', html)
    return match[1] if match else None


# --- the form ------------------------------------------------------------------------------------


def test_form_is_generated_from_the_diagram(orch, login, penjajakan):
    _case, task_id = penjajakan
    html = login("pemda_a").get(f"/tugas/{task_id}").get_data(as_text=True)
    assert re.search(
        r'<input type="date" id="f-tanggal_penjajakan" name="tanggal_penjajakan" value="" required', html
    )
    assert re.search(r'<input type="number" step="1" id="f-jumlah_pertemuan"[^>]* min="1" max="50"', html)
    assert re.search(
        r'<textarea id="f-hasil_penjajakan" name="hasil_penjajakan" rows="5" maxlength="2000" required', html
    )
    assert re.search(r'<input type="text" id="f-kode_surat" name="kode_surat" value="" maxlength="20"', html)
    assert re.search(r'<input type="checkbox" id="f-sepakat" name="sepakat" value="true"', html)
    assert re.search(
        r'<input type="file" id="f-kajian" name="kajian" accept="\.pdf,\.doc,\.docx,\.odt,\.jpg', html
    )
    assert 'enctype="multipart/form-data"' in html
    page = text_of(login("pemda_a").get(f"/tugas/{task_id}"))
    assert "Tanggal penjajakan *" in page and "PDF, DOC, DOCX, ODT, JPG, PNG, paling besar 10 MB" in page
    assert "batas 24 Mei 2027 WIB 10 hari kerja lagi" in page


def test_progress_bar_and_case_summary(orch, login, penjajakan):
    _case, task_id = penjajakan
    html = login("pemda_a").get(f"/tugas/{task_id}").get_data(as_text=True)
    assert html.count('<li class="done">') == 1
    assert re.search(
        r'<li class="current" aria-current="step">\s*<span class="num">2</span><span class="name">Penjajakan',
        html,
    )
    assert html.count('<li class="todo">') == 10
    for name in ("Prakarsa", "Letter of Intent", "Persetujuan DPRD", "Verifikasi", "Pelaporan"):
        assert name in html
    page = text_of(login("pemda_a").get(f"/tugas/{task_id}"))
    assert "Mitra Kota Fukuoka" in page and "Negara Jepang" in page
    assert "Jenis KSDPL (pemerintah daerah di luar negeri)" in page
    assert "1. Prakarsa Dimulai 3 Mei 2027 pukul 09.00 WIB" in page


def test_enum_select_and_readonly_field(orch, login):
    _case, task_id = to_dprd(orch)
    html = login("dprd_a").get(f"/tugas/{task_id}").get_data(as_text=True)
    assert '<option value="setuju">Setuju</option>' in html and '<option value="tolak">Tolak</option>' in html
    assert re.search(r'<p class="readonly" id="f-nama_mitra_tampil">Kota Fukuoka</p>', html)
    assert 'name="nama_mitra_tampil"' not in html


# --- completing -----------------------------------------------------------------------------------


def test_complete_with_upload_and_see_what_happens_next(orch, login, penjajakan):
    case, task_id = penjajakan
    client = login("pemda_a")
    response = client.post(f"/tugas/{task_id}", data=form_data(), content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == f"/kasus/{case}"
    page = text_of(client.get(response.headers["Location"]))
    assert "Tugas «Catat penjajakan» selesai." in page
    # 45 working days after Monday 3 May 2027, in WIB
    assert "Menunggu persetujuan DPRD (DPRD), batas 13 Juli 2027 WIB (45 hari kerja lagi)" in page

    with orch.session() as s:
        document = s.scalar(select(Document).where(Document.instance_id == case))
        assert document.filename == "kajian.pdf" and document.content == PDF
        assert document.sha256 == hashlib.sha256(PDF).hexdigest()
        assert document.content_type == "application/pdf" and document.stage == 2
        assert document.uploaded_by == "pemda_a"
        variables = json.loads(s.scalar(select(Instance.variables).where(Instance.id == case)))
    assert submitted_values(orch, task_id) == {
        "tanggal_penjajakan": "2027-04-20",
        "jumlah_pertemuan": 3,
        "hasil_penjajakan": "Kedua kota sepakat menjajaki kerja sama pendidikan.",
        "kode_surat": "B/123/2027",
        "sepakat": True,
        "kajian": document.id,
    }
    assert variables["kajian"] == document.id and variables["penjajakan_oleh"] == "pemda_a"


LAMPIRAN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_lampiran"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="lampiran" name="Uji lampiran" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="Mulai"><bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F0" sourceRef="Mulai" targetRef="Unggah" />
    <bpmn:userTask id="Unggah" name="Unggah lampiran" camunda:candidateGroups="pemda">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="surat" label="Surat" type="file" />
        <camunda:formField id="kajian" label="Kajian" type="file" />
        <camunda:formField id="foto" label="Foto" type="file" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F1</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="F1" sourceRef="Unggah" targetRef="Selesai" />
    <bpmn:endEvent id="Selesai"><bpmn:incoming>F1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_completed_task_names_its_uploads_without_reading_each(orch, login):
    """Finding (stop 26): the page of a completed task read each uploaded file's name with a
    statement of its own. The names now come from the case's documents, which the page reads
    anyway."""
    orch.deploy({"lampiran.bpmn": LAMPIRAN}, user="analis")
    who = actor("pemda_a")
    case = orch.start("lampiran", who.region_code, {}, actor=who)
    task_id = ready_task(orch, case, "Unggah")
    client = login("pemda_a")
    files = {name: (io.BytesIO(PDF), f"{name}.pdf") for name in ("surat", "kajian", "foto")}
    assert client.post(f"/tugas/{task_id}", data=files).status_code == 302
    with statements_sent() as statements:
        page = text_of(client.get(f"/tugas/{task_id}"))
    assert "Surat surat.pdf" in page and "Kajian kajian.pdf" in page and "Foto foto.pdf" in page
    assert not [q for q in statements if "WHERE documents.id" in q], statements


def test_unticked_checkbox_is_false(orch, login, penjajakan):
    _case, task_id = penjajakan
    data = form_data()
    del data["sepakat"]
    assert login("pemda_a").post(f"/tugas/{task_id}", data=data).status_code == 302
    assert submitted_values(orch, task_id)["sepakat"] is False


def test_png_upload_is_accepted(orch, login, penjajakan):
    _case, task_id = penjajakan
    response = login("pemda_a").post(f"/tugas/{task_id}", data=form_data(file=(PNG, "foto kunjungan.PNG")))
    assert response.status_code == 302
    with orch.session() as s:
        assert s.scalar(select(Document.content_type)) == "image/png"


def test_second_submit_says_completed_and_changes_nothing(orch, login, penjajakan):
    _case, task_id = penjajakan
    client = login("pemda_a")
    assert client.post(f"/tugas/{task_id}", data=form_data()).status_code == 302
    before = snapshot(orch)
    response = client.post(f"/tugas/{task_id}", data=form_data(hasil_penjajakan="Lain"))
    assert response.status_code == 409
    assert "Tugas ini sudah diselesaikan." in text_of(response)
    assert snapshot(orch) == before
    page = text_of(client.get(f"/tugas/{task_id}"))
    assert "Tugas ini sudah diselesaikan oleh Ani Pemda A pada 3 Mei 2027 pukul 09.00 WIB" in page
    assert "Dokumen kajian kajian.pdf" in page and "Kedua pihak sepakat Ya" in page


def test_another_group_member_finds_the_task_done(orch, login, penjajakan):
    _case, task_id = penjajakan
    ani, budi = login("pemda_a"), login("pemda_a2")
    stale_form = budi.get(f"/tugas/{task_id}")
    assert "Selesaikan tugas" in text_of(stale_form)
    assert ani.post(f"/tugas/{task_id}", data=form_data()).status_code == 302
    before = snapshot(orch)
    response = budi.post(f"/tugas/{task_id}", data=form_data())
    assert response.status_code == 409 and "Tugas ini sudah diselesaikan" in text_of(response)
    assert snapshot(orch) == before


def test_extra_fields_are_not_stored(orch, login, penjajakan):
    case, task_id = penjajakan
    data = form_data(stage="12", penjajakan_oleh="penyusup", status="completed")
    assert login("pemda_a").post(f"/tugas/{task_id}", data=data).status_code == 302
    values = submitted_values(orch, task_id)
    assert "stage" not in values and "status" not in values and "penjajakan_oleh" not in values
    with orch.session() as s:
        variables = json.loads(s.scalar(select(Instance.variables).where(Instance.id == case)))
    assert variables["penjajakan_oleh"] == "pemda_a"


def test_readonly_field_cannot_be_changed(orch, login):
    case, task_id = to_dprd(orch)
    data = {"keputusan_dprd": "setuju", "nama_mitra_tampil": "Mitra palsu", "nama_mitra": "Mitra palsu"}
    assert login("dprd_a").post(f"/tugas/{task_id}", data=data).status_code == 302
    with orch.session() as s:
        variables = json.loads(s.scalar(select(Instance.variables).where(Instance.id == case)))
    assert variables["nama_mitra"] == "Kota Fukuoka"
    assert submitted_values(orch, task_id).get("nama_mitra_tampil") in (None, "Kota Fukuoka")


def test_revision_form_is_prefilled_from_the_case(orch, login):
    case, dprd_task = to_dprd(orch)
    orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    kemendagri = login("kemendagri")
    response = kemendagri.post(
        f"/tugas/{ready_task(orch, case, 'Verifikasi')}",
        data={"hasil_verifikasi": "revisi", "catatan_verifikasi": "Lengkapi sasaran."},
    )
    assert response.status_code == 302
    page = text_of(kemendagri.get(response.headers["Location"]))
    assert "Menunggu revisi rencana (Pemerintah Daerah)" in page
    revisi = ready_task(orch, case, "Revisi")
    response = login("pemda_a").get(f"/tugas/{revisi}")
    assert input_value(response, "hasil_penjajakan") == "Kedua kota sepakat menjajaki kerja sama pendidikan."


def test_second_round_starts_from_the_case_but_not_from_last_rounds_decision(orch, login):
    case, dprd_task = to_dprd(orch)
    orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    first = ready_task(orch, case, "Verifikasi")
    orch.complete_task(
        first, {"hasil_verifikasi": "revisi", "catatan_verifikasi": "Lengkapi."}, actor("kemendagri")
    )
    revisi = ready_task(orch, case, "Revisi")
    client = login("pemda_a")
    response = client.get(f"/tugas/{revisi}")
    # the kajian already uploaded is offered again; submitting without a new file keeps it
    with orch.session() as s:
        kajian = s.scalar(select(Document.id).where(Document.instance_id == case))
    assert "Sudah diunggah: kajian.pdf" in text_of(response)
    assert f'name="kajian__dokumen" value="{kajian}"' in response.get_data(as_text=True)
    data = {"hasil_penjajakan": "Direvisi.", "kajian__dokumen": str(kajian)}
    assert client.post(f"/tugas/{revisi}", data=data).status_code == 302
    assert submitted_values(orch, revisi)["kajian"] == kajian

    second = ready_task(orch, case, "Verifikasi")
    html = login("kemendagri").get(f"/tugas/{second}").get_data(as_text=True)
    assert '<option value="revisi" selected>' not in html and " selected>" not in html
    assert input_value(login("kemendagri").get(f"/tugas/{second}"), "catatan_verifikasi") == "Lengkapi."


def test_completing_the_last_task_says_the_case_is_done(orch, login):
    case, dprd_task = to_dprd(orch)
    orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    client = login("kemendagri")
    response = client.post(
        f"/tugas/{ready_task(orch, case, 'Verifikasi')}", data={"hasil_verifikasi": "terima"}
    )
    page = text_of(client.get(response.headers["Location"]))
    assert "Kasus selesai." in page and "Selesai" in page


# --- bad input: a clear message next to the field, what was typed kept, nothing changed ----------------


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"hasil_penjajakan": ""}, "hasil_penjajakan", "Wajib diisi"),
        ({"hasil_penjajakan": "   "}, "hasil_penjajakan", "Wajib diisi"),
        (
            {"tanggal_penjajakan": "2027-02-30"},
            "tanggal_penjajakan",
            "Tanggal tidak valid (format TTTT-BB-HH)",
        ),
        ({"tanggal_penjajakan": "kemarin"}, "tanggal_penjajakan", "Tanggal tidak valid (format TTTT-BB-HH)"),
        ({"kode_surat": "B/123/4567/89012/2027"}, "kode_surat", "Paling banyak 20 karakter"),
        ({"hasil_penjajakan": "x" * 2001}, "hasil_penjajakan", "Paling banyak 2000 karakter"),
        ({"jumlah_pertemuan": "51"}, "jumlah_pertemuan", "Paling besar 50"),
        ({"jumlah_pertemuan": "0"}, "jumlah_pertemuan", "Paling kecil 1"),
        ({"jumlah_pertemuan": "dua"}, "jumlah_pertemuan", "Harus berupa bilangan bulat"),
    ],
)
def test_bad_values_are_refused_next_to_the_field(orch, login, penjajakan, changes, field_id, message):
    _case, task_id = penjajakan
    before = snapshot(orch)
    response = login("pemda_a").post(f"/tugas/{task_id}", data=form_data(**changes))
    assert response.status_code == 422
    assert field_error(response, field_id) == message
    assert "Isian belum benar" in text_of(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    # what was typed stays in the form
    assert input_value(response, "kode_surat") == changes.get("kode_surat", PENJAJAKAN["kode_surat"])
    assert input_value(response, "tanggal_penjajakan") == changes.get(
        "tanggal_penjajakan", PENJAJAKAN["tanggal_penjajakan"]
    )
    assert 'name="sepakat" value="true" checked' in response.get_data(as_text=True)
    assert snapshot(orch) == before  # not even the uploaded file was stored


def test_enum_value_not_offered(orch, login):
    _case, task_id = to_dprd(orch)
    before = snapshot(orch)
    response = login("dprd_a").post(f"/tugas/{task_id}", data={"keputusan_dprd": "mungkin"})
    assert response.status_code == 422
    assert field_error(response, "keputusan_dprd") == "Pilihan tidak tersedia"
    assert snapshot(orch) == before


def test_missing_file(orch, login, penjajakan):
    _case, task_id = penjajakan
    before = snapshot(orch)
    response = login("pemda_a").post(f"/tugas/{task_id}", data=form_data(file=None))
    assert response.status_code == 422 and field_error(response, "kajian") == "Wajib diisi"
    assert snapshot(orch) == before


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (PDF, "kajian.exe", "Jenis berkas tidak diizinkan (hanya PDF, DOC, DOCX, ODT, JPG, PNG)"),
        (b"<html><script>alert(1)</script></html>", "kajian.html", "Jenis berkas tidak diizinkan"),
        (PDF, "kajian", "Jenis berkas tidak diizinkan"),
        (
            b"<html><script>alert(1)</script></html>",
            "kajian.pdf",
            "Isi berkas tidak sesuai dengan jenis .pdf",
        ),
        (PDF, "foto.png", "Isi berkas tidak sesuai dengan jenis .png"),
        (b"", "kosong.pdf", "Berkas kosong"),
        (b"%PDF-" + b"0" * (10 * 1024 * 1024), "besar.pdf", "Berkas terlalu besar (paling besar 10 MB)"),
    ],
)
def test_bad_files_are_refused(orch, login, penjajakan, content, filename, message):
    _case, task_id = penjajakan
    before = snapshot(orch)
    response = login("pemda_a").post(f"/tugas/{task_id}", data=form_data(file=(content, filename)))
    assert response.status_code == 422
    assert field_error(response, "kajian").startswith(message)
    assert snapshot(orch) == before


def test_request_over_the_total_limit_is_refused(orch, penjajakan):
    app = create_app(app_config(orch, KSDPL_MAX_UPLOAD_BYTES=1024, MAX_CONTENT_LENGTH=4096))
    client = app.test_client()
    client.post("/login", data={"username": "pemda_a", "password": "rahasia-uji-123"})
    _case, task_id = penjajakan
    before = snapshot(orch)
    response = client.post(f"/tugas/{task_id}", data=form_data(file=(b"%PDF-" + b"0" * 8000, "besar.pdf")))
    assert response.status_code == 413
    # the task form again, the message beside the file field (values: tests/web/test_staff_forms.py)
    assert "Kiriman melebihi batas ukuran" in text_of(response)
    assert field_error(response, "kajian").startswith(
        "Kiriman terlalu besar (setiap berkas paling besar 1 KB"
    )
    assert snapshot(orch) == before


def test_html_in_a_text_field_is_shown_escaped(orch, login, penjajakan):
    case, task_id = penjajakan
    script = '<script>alert("x")</script><b>tebal</b>'
    client = login("pemda_a")
    # refused first (another field is wrong): the text comes back escaped in the form
    response = client.post(
        f"/tugas/{task_id}", data=form_data(hasil_penjajakan=script, jumlah_pertemuan="99")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<script>alert" not in html and "&lt;script&gt;" in html
    # accepted: stored as typed, shown escaped in the history
    assert client.post(f"/tugas/{task_id}", data=form_data(hasil_penjajakan=script)).status_code == 302
    assert submitted_values(orch, task_id)["hasil_penjajakan"] == script
    html = client.get(f"/kasus/{case}").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>tebal</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;tebal&lt;/b&gt;" in html


def test_handler_refusal_stores_nothing_of_the_submission(orch, login, penjajakan):
    """Finding 2: the file was stored (and listed, and audited) before the form was checked."""
    case, task_id = penjajakan
    client = login("pemda_a")
    before = snapshot(orch)
    response = client.post(f"/tugas/{task_id}", data=form_data(kode_surat="DITOLAK"))
    assert response.status_code == 422
    assert field_error(response, "kode_surat") == "Kode surat ini sudah dipakai kasus lain"
    assert "Berkas yang dipilih belum disimpan; pilih lagi berkasnya." in text_of(response)
    assert snapshot(orch) == before  # no document row, no "document uploaded" history entry
    assert "kajian.pdf" not in text_of(client.get(f"/kasus/{case}"))
    # submitted again with the file chosen again: stored once, with the completion
    assert client.post(f"/tugas/{task_id}", data=form_data(kode_surat="B/124/2027")).status_code == 302
    with orch.session() as s:
        [document_id] = s.scalars(select(Document.id).where(Document.instance_id == case)).all()
    assert submitted_values(orch, task_id)["kajian"] == document_id


def test_a_conflicting_completion_stores_nothing(orch, login, penjajakan):
    """The step loses a race after the files were written: the files go with it."""
    case, task_id = penjajakan
    client = login("pemda_a")
    before = snapshot(orch)

    def lost_race(_instance_id: int) -> None:
        raise Conflict("Kasus sudah diubah oleh pengguna lain; muat ulang lalu coba lagi")

    orch.after_load = lost_race
    response = client.post(f"/tugas/{task_id}", data=form_data())
    orch.after_load = None
    assert response.status_code == 409
    assert snapshot(orch) == before


def test_a_kept_document_of_another_case_is_not_accepted(orch, login, penjajakan):
    _case, task_id = penjajakan
    other_case = start_case(orch, "pemda_a", nama_mitra="Mitra lain")
    other_document = add_pdf(orch, other_case, ready_task(orch, other_case, "Penjajakan"))
    before = snapshot(orch)
    data = form_data(file=None, kajian__dokumen=str(other_document))
    response = login("pemda_a").post(f"/tugas/{task_id}", data=data)
    assert response.status_code == 422 and field_error(response, "kajian") == "Wajib diisi"
    assert snapshot(orch) == before


# --- comments ---------------------------------------------------------------------------------------


def test_comment_on_a_task(orch, login, penjajakan):
    _case, task_id = penjajakan
    client = login("pemda_a2")
    response = client.post(
        f"/kasus/{_case}/komentar", data={"komentar": "Mohon cek <i>tanggal</i>.", "task_id": task_id}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/tugas/{task_id}#komentar"
    response = client.get(f"/tugas/{task_id}")
    assert "Komentar disimpan." in text_of(response) and "Budi Pemda A" in text_of(response)
    assert "Mohon cek &lt;i&gt;tanggal&lt;/i&gt;." in response.get_data(as_text=True)


def test_empty_comment_is_refused(orch, login, penjajakan):
    case, _task_id = penjajakan
    before = snapshot(orch)
    client = login("pemda_a")
    response = client.post(f"/kasus/{case}/komentar", data={"komentar": "  "})
    assert response.status_code == 302
    assert "Komentar tidak boleh kosong" in text_of(client.get(f"/kasus/{case}"))
    assert snapshot(orch) == before


def test_a_failure_after_completing_is_shown_as_an_incident_not_a_stuck_form(orch, login):
    """The person's completion stands; the page says the next step failed and operators see it."""
    from tests.conftest import FIXTURES
    from tests.web.conftest import KOTA_A

    orch.deploy({"approval.bpmn": (FIXTURES / "approval.bpmn").read_text()}, user="analis")
    instance_id = orch.start("approval", KOTA_A, user="pemda_a")
    task_id = ready_task(orch, instance_id, "Approve")
    response = login("pemda_a").post(f"/tugas/{task_id}", data={}, follow_redirects=True)
    page = text_of(response)
    assert response.status_code == 200
    assert "Tugas «Setujui» selesai." in page
    assert "dicatat sebagai insiden untuk operator" in page and "Approved_q" in page

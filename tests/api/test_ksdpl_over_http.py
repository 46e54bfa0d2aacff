"""A whole KSDPL case driven over real HTTP through the JSON API: started by the Pemda, every
task claimed and completed by a user of its group with its documents as multipart parts (one
by document id), the DPRD silent until its plan is deemed approved, through Kemendagri, Kemenlu
and the Minister to the signed Naskah; then its documents and history read back."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.clock import clock
from engine.scripting import add_years
from tests.api.conftest import PDF
from tests.api.driver import HttpCase
from tests.ksdpl.conftest import START
from tests.ksdpl.driver import ALL_PREREQUISITES

WIB = ZoneInfo("Asia/Jakarta")


def on(day: date) -> None:
    clock.set(datetime.combine(day, time(9), tzinfo=WIB))


def test_a_ksdpl_case_from_start_through_deemed_approval_to_the_naskah(api, orch) -> None:
    pemda = api["pemda.sby"]
    created = pemda.ok(
        "post",
        "/api/v1/process-definitions/ksdpl/start",
        201,
        json={"region": "3578", "variables": START, "business_key": "KS-2027-001"},
    )
    case = HttpCase(api, created["id"])
    assert (created["stage"], created["stage_name"], created["business_key"]) == (
        2,
        "Penjajakan",
        "KS-2027-001",
    )
    assert [t["element"] for t in created["tasks"]] == ["Task_Penjajakan"]

    # Stage 2; the response names the next task with its id
    result = case.complete(
        "Task_Penjajakan",
        mekanisme_kunjungan_langsung=True,
        hasil_penjajakan="sepakat",
        uraian_penjajakan="Kunjungan delegasi; kedua pihak sepakat menjajaki kerja sama",
    )
    [next_task] = result["next_tasks"]
    assert next_task["element"] == "Task_SusunKajian"
    assert pemda.ok("get", f"/api/v1/tasks/{next_task['id']}")["name"] == next_task["name"]

    # a file field given as the id of a document uploaded first
    uploaded = pemda.ok(
        "post",
        f"/api/v1/instances/{case.id}/documents",
        201,
        files={"file": ("kajian.pdf", PDF, "application/pdf")},
        data={"task_id": next_task["id"], "field": "dokumen_kajian"},
    )
    case.complete("Task_SusunKajian", dokumen_kajian=uploaded["id"])
    case.complete("Task_PeriksaPersyaratan", **ALL_PREREQUISITES)
    assert orch.run_due().jobs_run >= 1
    assert case.ready() == ["Task_SusunRancanganLoi"]

    # Stage 3: the LoI
    on(date(2027, 1, 11))
    case.complete("Task_SusunRancanganLoi")
    case.complete("Task_KoordinasiLoi")
    signed = case.today
    case.complete(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=signed.isoformat(),
        masa_berlaku_loi_mulai=signed.isoformat(),
        masa_berlaku_loi_sampai=add_years(signed, 1).isoformat(),
    )

    # Stages 4-5: the plan to the DPRD, which stays silent
    on(date(2027, 2, 1))
    case.complete("Task_SusunRencana")
    received = case.today.isoformat()
    case.complete("Task_AjukanDprd", tanggal_surat_pengajuan_dprd=received, tanggal_diterima_dprd=received)
    assert orch.run_due().jobs_run == 1  # the DPRD deadline
    detail = case.detail("dprd.sby")
    assert [t["element"] for t in detail["tasks"]] == ["Task_KeputusanDprd"]
    [deadline] = [t for t in detail["timers"] if t["element"] == "Event_BatasDprd"]
    deemed_at = datetime.fromisoformat(deadline["due_at"])
    assert detail["tasks"][0]["due_at"] == deadline["due_at"]

    clock.set(deemed_at - timedelta(seconds=1))
    assert orch.run_due().timers_fired == 0
    clock.set(deemed_at)
    report = orch.run_due()
    assert (report.timers_fired, report.jobs_run, report.jobs_failed) == (1, 1, 0)
    variables = case.detail()["variables"]
    assert (variables["keputusan_dprd"], variables["dprd_dianggap_menyetujui"]) == ("dianggap_setuju", True)
    assert case.ready() == ["Task_SuratTindakLanjutMendagri"]

    # Stages 6-7: the follow-up letter to the Minister, Kemendagri verifies
    case.complete("Task_SuratTindakLanjutMendagri")
    assert orch.run_due().jobs_run == 1
    case.complete("Task_Verifikasi", hasil_verifikasi="susun_naskah", pertimbangan_verifikasi="Rencana layak")
    assert orch.run_due().jobs_run == 1

    # Stages 8-10: the Naskah, the meeting, Kemenlu, the Minister, the signature
    today = case.today
    case.complete(
        "Task_SusunNaskah",
        masa_berlaku_naskah_mulai=(today + timedelta(days=90)).isoformat(),
        masa_berlaku_naskah_sampai=(today + timedelta(days=90 + 5 * 365)).isoformat(),
        rencana_tanggal_penandatanganan_naskah=(today + timedelta(days=30)).isoformat(),
    )
    case.complete("Task_SampaikanNaskah")
    assert orch.run_due().jobs_run == 1
    case.complete("Task_RapatPembahasan", peserta_pemda_kabupaten_kota="Bappeda Kota Surabaya")
    case.complete("Task_KirimKeKemenlu")
    case.complete("Task_KonfirmasiKemenlu")
    case.complete("Task_PersetujuanMendagri")
    naskah = PDF + b"% naskah yang ditandatangani\n"
    signing_form = case.form("Task_TandaTanganNaskah", {})[2]
    [naskah_field] = [name for name in signing_form if "naskah" in name]
    result = case.complete(
        "Task_TandaTanganNaskah",
        penandatangan_daerah="Wali Kota Surabaya",
        penandatangan_mitra="Mayor of Kitakyushu",
        **{naskah_field: naskah},
    )
    assert [t["element"] for t in result["next_tasks"]] == ["Task_KirimNaskahAsli"]
    assert (result["instance_id"], result["status"], result["stage"]) == (case.id, "running", 10)

    # The signed Naskah is among the case's documents, stored as sent, with its field
    documents = pemda.ok("get", f"/api/v1/instances/{case.id}/documents")["items"]
    [stored] = [d for d in documents if d["field"] == naskah_field]
    assert (stored["sha256"], stored["content_type"]) == (
        hashlib.sha256(naskah).hexdigest(),
        "application/pdf",
    )
    download = pemda.get(f"/api/v1/documents/{stored['id']}")
    assert download.status_code == 200 and download.content == naskah
    assert case.detail()["variables"][naskah_field] == stored["id"]
    assert len(documents) >= 15  # every required file of the way

    # The history names who did each step, in order, with the deemed approval by the system
    history = pemda.ok("get", f"/api/v1/instances/{case.id}/history?per_page=100")
    assert history["total"] > 40
    completed = [(e["actor"], e["element"]) for e in history["items"] if e["action"] == "complete"]
    assert completed[0] == ("pemda.sby", "Task_Penjajakan")
    assert ("kemenlu", "Task_KonfirmasiKemenlu") in completed
    assert not any(element == "Task_KeputusanDprd" for _actor, element in completed)
    assert any(e["action"] == "timer" and e["element"] == "Event_BatasDprd" for e in history["items"])

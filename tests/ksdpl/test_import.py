"""Bringing existing agreements in (`import_csv`): five agreements replayed through the diagram.

The import runs on Monday 27 April 2026, 10:00 WIB. Every expected deadline below is worked out
by hand from the Indonesian calendar (public holidays and cuti bersama of 2025 and 2026 as the
joint decrees give them), not by the engine's calendar:

- KS-2022-001 (Provinsi Jawa Timur, WIB): Naskah signed 15 March 2022, valid ten years
  (15 Mar 2022 - 14 Mar 2032). Year 4 runs 15 Mar 2025 - 14 Mar 2026, so its report window opened
  at 00:00 on 12 Feb 2026 (30 days before the end) and the report fell due at the end of
  14 Mar 2026: the overdue timer fired at 00:00 WIB on 15 Mar 2026 (= 14 Mar 17:00 UTC). The
  LoI signed 12 Apr 2021 lapses on 12 Apr 2022, so its warning fired at 00:00 on 13 Mar 2022
  (30 days before), two days before the Naskah was signed and stopped the watch.
- KS-2026-014 (Kota Surabaya, WIB): the DPRD received the plan on Friday 13 Mar 2026. Counting
  working days after it: 16, 17 Mar (2); 18 Mar cuti Nyepi, 19 Nyepi, 20 cuti Idul Fitri,
  23-24 cuti Idul Fitri are off; 25-27 Mar (5); 30 Mar-2 Apr (9); 3 Apr Wafat Yesus Kristus off;
  6-10 Apr (14); 13-17 (19); 20-24 (24); 27-30 Apr (28); 1 May Hari Buruh off; 4-8 May (33);
  11-13 May (36); 14 Kenaikan and 15 cuti off; 18-22 May (41); 25-26 May (43); 27 Idul Adha and
  28 cuti off; 29 May (44); 1 Jun Pancasila off; Tuesday 2 Jun 2026 is the 45th. Deemed approval
  at 00:00 WIB on 3 Jun 2026. From today, Monday 27 Apr: 28-30 Apr (3), 4-8 May (8), 11-13 May
  (11), 18-22 May (16), 25-26 May (18), 29 May (19), 2 Jun (20): 20 working days left.
- KS-2025-007 (Kabupaten Badung, WITA): the DPRD received the plan on Friday 15 Aug 2025 and
  never decided. After it: 18 Aug cuti Kemerdekaan off; 19-22 Aug (4); 25-29 (9); 1-4 Sep (13),
  5 Sep Maulid Nabi off; 8-12 (18); 15-19 (23); 22-26 (28); 29 Sep-3 Oct (33); 6-10 Oct (38);
  13-17 (43); 20, 21 Oct (45). Deemed approved at 00:00 WITA on 22 Oct 2025; the Bupati's letter
  to the Minister on 27 Oct; the plan waits at Kemendagri's verification. Its LoI (signed
  16 Jun 2025, lapsing 16 Jun 2026) warns at 00:00 WITA on 17 May 2026.
- KS-2025-011: an LoI recorded as valid for half a year; the `loi` handler refuses it.
- KS-2025-012: the cooperation plan without its document; the form refuses it.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.calendar import WorkingCalendar
from engine.cli import cli
from engine.clock import clock
from engine.flowgraph import FlowGraph
from engine.imports import DirectoryDocuments
from engine.models import AuditEvent, Base, Document, ImportedCase, Instance, OutboxMessage, Task, Timer
from engine.service import Orchestrator
from handlers import registry
from tests.ksdpl.conftest import BPMN
from tests.ksdpl.driver import PDF
from web.accounts import create_user

WIB, WITA = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar")
NOW = datetime(2026, 4, 27, 10, 0, tzinfo=WIB)
FIELDS = {
    f["id"]: f for node in FlowGraph.from_files({"k.bpmn": BPMN}, "ksdpl").nodes.values() for f in node.form
}
MECHANISMS = {"mekanisme_kunjungan_langsung": "true"}
PREREQUISITES = dict.fromkeys(
    (
        "urusan_pemerintah_daerah",
        "kesetaraan_status",
        "tanpa_kantor_perwakilan",
        "tidak_campur_tangan",
        "sesuai_rencana_pembangunan",
        "hibah_sesuai_ketentuan",
    ),
    "true",
)


def d(text: str) -> str:
    return date.fromisoformat(text).isoformat()


def osaka() -> dict[str, str]:
    """Signed 15 March 2022, valid ten years, now in year 4 with the report overdue."""
    row = {
        "business_key": "KS-2022-001",
        "region": "35",
        "target": "Task_LaporanTahunan@4",
        "judul_kerja_sama": "Kerja sama provinsi kembar Jawa Timur - Osaka",
        "jenis_kerja_sama": "ksdpl",
        "nama_mitra": "Prefektur Osaka",
        "negara_mitra": "JP",
        "tingkat_mitra": "provinsi_negara_bagian",
        "sumber_prakarsa": "pemerintah_daerah",
        "tanggal_StartEvent_Prakarsa": d("2021-02-01"),
        **MECHANISMS,
        "tanggal_Task_Penjajakan": d("2021-02-15"),
        "tanggal_Task_SusunKajian": d("2021-03-01"),
        **PREREQUISITES,
        "tanggal_Task_PeriksaPersyaratan": d("2021-03-08"),
        "tanggal_Task_SusunRancanganLoi": d("2021-03-15"),
        "tanggal_koordinasi_mendagri": d("2021-03-22"),
        "tanggal_koordinasi_menlu": d("2021-03-24"),
        "tanggal_Task_KoordinasiLoi": d("2021-04-05"),
        "tanggal_penandatanganan_loi": d("2021-04-12"),
        "masa_berlaku_loi_mulai": d("2021-04-12"),
        "masa_berlaku_loi_sampai": d("2022-04-12"),
        "tanggal_Task_TandaTanganLoi": d("2021-04-12"),
        "tanggal_Task_SusunRencana": d("2021-05-03"),
        "tanggal_surat_pengajuan_dprd": d("2021-05-10"),
        "tanggal_diterima_dprd": d("2021-05-10"),
        "tanggal_Task_AjukanDprd": d("2021-05-10"),
        "tanggal_surat_keputusan_dprd": d("2021-06-14"),
        "tanggal_Task_KeputusanDprd": d("2021-06-14"),
        "tanggal_surat_penyampaian_rencana": d("2021-06-21"),
        "tanggal_Task_SampaikanRencana": d("2021-06-21"),
        "tanggal_surat_pertimbangan": d("2021-08-02"),
        "tanggal_Task_Verifikasi": d("2021-08-02"),
        "masa_berlaku_naskah_mulai": d("2022-03-15"),
        "masa_berlaku_naskah_sampai": d("2032-03-14"),
        "rencana_tanggal_penandatanganan_naskah": d("2022-03-15"),
        "tanggal_Task_SusunNaskah": d("2021-09-06"),
        "tanggal_surat_penyampaian_naskah": d("2021-09-13"),
        "tanggal_Task_SampaikanNaskah": d("2021-09-13"),
        "tanggal_rapat_pembahasan": d("2021-10-18"),
        "tanggal_Task_RapatPembahasan": d("2021-10-18"),
        "tanggal_surat_penyampaian_kemenlu": d("2021-10-25"),
        "tanggal_Task_KirimKeKemenlu": d("2021-10-25"),
        "tanggal_surat_konfirmasi": d("2021-11-22"),
        "tanggal_Task_KonfirmasiKemenlu": d("2021-11-22"),
        "tanggal_surat_persetujuan_mendagri": d("2022-01-17"),
        "tanggal_Task_PersetujuanMendagri": d("2022-01-17"),
        "tanggal_penandatanganan_naskah": d("2022-03-15"),
        "tanggal_Task_TandaTanganNaskah": d("2022-03-15"),
        "tanggal_surat_pengantar_naskah_asli": d("2022-03-28"),
        "tanggal_Task_KirimNaskahAsli": d("2022-03-28"),
        "tanggal_diterima_naskah_asli": d("2022-04-04"),
        "tanggal_Task_TerimaNaskahAsli": d("2022-04-04"),
        "tanggal_surat_penyampaian_salinan": d("2022-04-11"),
        "tanggal_Task_TerbitkanSalinan": d("2022-04-11"),
    }
    # Years 1-3: plan and report; year 4: the plan only. Each year's documents are its own.
    plans = ["2022-04-13", "2023-04-10", "2024-04-08", "2025-04-09"]
    reports = ["2023-03-01", "2024-03-04", "2025-03-10"]
    for year, day in enumerate(plans, start=1):
        at = "" if year == 1 else f"@{year}"
        row[f"tanggal_Task_RencanaKegiatanTahunan{at}"] = d(day)
        row[f"dokumen_rencana_kegiatan_tahunan{at}"] = f"osaka/rencana-kegiatan-{day[:4]}.pdf"
    for year, day in enumerate(reports, start=1):
        at = "" if year == 1 else f"@{year}"
        row[f"tanggal_Task_LaporanTahunan{at}"] = d(day)
        row[f"tanggal_surat_laporan_tahunan{at}"] = d(day)
        row[f"nomor_surat_laporan_tahunan{at}"] = f"120/{year}/LAP/{day[:4]}"
        row[f"dokumen_laporan_tahunan{at}"] = f"osaka/laporan-tahun-{year}.pdf"
        row[f"dokumen_surat_laporan_tahunan{at}"] = f"osaka/surat-laporan-tahun-{year}.pdf"
    return row


def surabaya_at_dprd() -> dict[str, str]:
    """Plan received by the DPRD on 13 March 2026: 20 working days left on 27 April."""
    return {
        "business_key": "KS-2026-014",
        "region": "3578",
        "target": "Task_KeputusanDprd",
        "judul_kerja_sama": "Kerja sama kota kembar Surabaya - Kitakyushu bidang persampahan",
        "jenis_kerja_sama": "ksdpl",
        "nama_mitra": "Kitakyushu",
        "negara_mitra": "JP",
        "tingkat_mitra": "kota_kabupaten",
        "sumber_prakarsa": "pemerintah_daerah",
        "tanggal_StartEvent_Prakarsa": d("2025-06-02"),
        **MECHANISMS,
        "tanggal_Task_Penjajakan": d("2025-06-16"),
        "tanggal_Task_SusunKajian": d("2025-07-07"),
        **PREREQUISITES,
        "tanggal_Task_PeriksaPersyaratan": d("2025-07-14"),
        "tanggal_Task_SusunRancanganLoi": d("2025-07-21"),
        "tanggal_koordinasi_mendagri": d("2025-08-04"),
        "tanggal_koordinasi_menlu": d("2025-08-05"),
        "tanggal_Task_KoordinasiLoi": d("2025-08-11"),
        "tanggal_penandatanganan_loi": d("2025-09-01"),
        "masa_berlaku_loi_mulai": d("2025-09-01"),
        "masa_berlaku_loi_sampai": d("2026-09-01"),
        "tanggal_Task_TandaTanganLoi": d("2025-09-01"),
        "tanggal_Task_SusunRencana": d("2026-02-02"),
        "tanggal_surat_pengajuan_dprd": d("2026-03-12"),
        "tanggal_diterima_dprd": d("2026-03-13"),
        "tanggal_Task_AjukanDprd": d("2026-03-13"),
    }


def badung_at_verification() -> dict[str, str]:
    """The DPRD stayed silent: deemed approved, the Bupati's letter went to the Minister."""
    return {
        "business_key": "KS-2025-007",
        "region": "5103",
        "target": "Task_Verifikasi",
        "judul_kerja_sama": "Kerja sama Badung - Kota Davao bidang pariwisata",
        "jenis_kerja_sama": "ksdpl",
        "nama_mitra": "Kota Davao",
        "negara_mitra": "PH",
        "tingkat_mitra": "kota_kabupaten",
        "sumber_prakarsa": "pemerintah_daerah_luar_negeri",
        "tanggal_StartEvent_Prakarsa": d("2025-03-03"),
        **MECHANISMS,
        "tanggal_Task_Penjajakan": d("2025-03-10"),
        "tanggal_Task_SusunKajian": d("2025-04-14"),
        **PREREQUISITES,
        "tanggal_Task_PeriksaPersyaratan": d("2025-04-21"),
        "tanggal_Task_SusunRancanganLoi": d("2025-05-05"),
        "tanggal_koordinasi_mendagri": d("2025-05-19"),
        "tanggal_koordinasi_menlu": d("2025-05-20"),
        "tanggal_Task_KoordinasiLoi": d("2025-06-02"),
        "tanggal_penandatanganan_loi": d("2025-06-16"),
        "masa_berlaku_loi_mulai": d("2025-06-16"),
        "masa_berlaku_loi_sampai": d("2026-06-16"),
        "tanggal_Task_TandaTanganLoi": d("2025-06-16"),
        "tanggal_Task_SusunRencana": d("2025-07-28"),
        "tanggal_surat_pengajuan_dprd": d("2025-08-14"),
        "tanggal_diterima_dprd": d("2025-08-15"),
        "tanggal_Task_AjukanDprd": d("2025-08-15"),
        # no decision of the DPRD: its columns stay empty, the deadline passes
        **dict.fromkeys(
            ("nomor_surat_keputusan_dprd", "dokumen_keputusan_dprd", "tanggal_surat_keputusan_dprd"), ""
        ),
        "nomor_surat_tindak_lanjut_mendagri": "100.4/2210/Pem",
        "tanggal_surat_tindak_lanjut_mendagri": d("2025-10-27"),
        "dokumen_surat_tindak_lanjut_mendagri": "badung/surat-tindak-lanjut.pdf",
        "tanggal_Task_SuratTindakLanjutMendagri": d("2025-10-27"),
    }


def loi_for_half_a_year() -> dict[str, str]:
    row = surabaya_at_dprd()
    row.update(
        business_key="KS-2025-011",
        nama_mitra="Kota Busan",
        negara_mitra="KR",
        masa_berlaku_loi_sampai=d("2026-03-01"),
    )
    return row


def plan_without_its_document() -> dict[str, str]:
    row = badung_at_verification()
    row.update(business_key="KS-2025-012", nama_mitra="Kota Cebu", dokumen_rencana_kerja_sama="")
    return row


ROWS = (osaka, surabaya_at_dprd, badung_at_verification, loi_for_half_a_year, plan_without_its_document)


def filled(row: dict[str, str], columns: list[str], folder: Path) -> dict[str, str]:
    """Complete a row the way a clerk fills the template: text fields get a sentence, each required
    document a PDF of its own (written into `folder`); later rounds keep last round's text."""
    complete = dict(row)
    for column in columns:
        if column in complete:
            continue
        name, _, round_ = column.partition("@")
        f = FIELDS.get(name)
        if f is None or f["type"] in ("boolean", "enum", "date") or "required" not in f["constraints"]:
            continue
        if f["type"] == "file":
            complete[column] = f"{row['business_key'].lower()}/{name}{'-' + round_ if round_ else ''}.pdf"
        elif not round_:
            complete[column] = f"{f['label']} ({row['business_key']})"[
                : int(f["constraints"].get("maxlength") or 200)
            ]
    for column, value in complete.items():
        if FIELDS.get(column.partition("@")[0], {}).get("type") == "file" and value:
            path = folder / value
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(PDF + value.encode())
    return complete


@pytest.fixture
def agreements(orch, tmp_path) -> Path:
    """The five agreements as a clerk would send them: the template's columns, plus the columns of
    the deemed-approval letter the template's route does not pass."""
    clock.set(NOW)
    columns = orch.import_template("Task_LaporanTahunan@4")
    for target in ("Task_KeputusanDprd", "Task_Verifikasi"):
        assert set(orch.import_template(target)) <= set(columns)
    columns += [c for c in badung_at_verification() if c not in columns]
    rows = [filled(make(), columns, tmp_path) for make in ROWS]
    for row in rows:
        assert set(row) <= set(columns), set(row) - set(columns)
    path = tmp_path / "kerja-sama-lama.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(orch: Orchestrator, path: Path, **options: Any):
    return orch.import_csv(
        path.read_bytes(), path.name, DirectoryDocuments(path.parent), user="operator", **options
    )


def database(orch: Orchestrator) -> dict[str, list[tuple]]:
    """Every row of every table: what "changes nothing" compares."""
    with orch.session() as s:
        return {
            table.name: [tuple(r) for r in s.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def rows_of(orch: Orchestrator, model, instance_ids: set[int]) -> list:
    with orch.session() as s:
        return list(s.scalars(select(model).where(model.instance_id.not_in(instance_ids))))


def test_five_agreements_import_to_their_tasks_with_their_deadlines(orch, agreements):
    before = database(orch)
    report = run_import(orch, agreements)
    assert clock.now() == NOW  # the replay moved time for itself only
    by_key = {row.business_key: row for row in report.rows}
    assert [r.status for r in report.rows] == ["created", "created", "created", "refused", "refused"], (
        report.rows
    )
    assert [r.status for r in report.rows] == ["created", "created", "created", "refused", "refused"]

    # KS-2022-001: year 4's report is overdue since 00:00 WIB on 15 March 2026
    osaka_row = by_key["KS-2022-001"]
    assert (osaka_row.stage, osaka_row.waiting) == (12, ["Sampaikan laporan tahunan"])
    assert osaka_row.next_deadline.due_at == datetime(2026, 3, 15, tzinfo=WIB)
    assert osaka_row.next_deadline.due_at == datetime(2026, 3, 14, 17, 0, tzinfo=UTC)
    assert osaka_row.next_deadline.overdue
    with orch.session() as s:
        osaka_case = s.get(Instance, osaka_row.instance_id)
        variables = json.loads(osaka_case.variables)
        timers = list(s.scalars(select(Timer).where(Timer.instance_id == osaka_case.id)))
        report_task = s.scalars(
            select(Task).where(Task.instance_id == osaka_case.id, Task.status == "ready")
        ).one()
    assert variables["tahun_pelaksanaan_ke"] == 4
    assert (variables["periode_mulai_tahunan"], variables["batas_laporan_tahunan"]) == (
        "2025-03-15",
        "2026-03-14",
    )
    assert variables["laporan_terlambat"] is True and variables["laporan_terlambat_tahun_ke"] == 4
    assert [
        (h["tahun_ke"], h["tanggal_disampaikan"], h["tepat_waktu"])
        for h in variables["riwayat_laporan_tahunan"]
    ] == [
        (1, "2023-03-01", True),
        (2, "2024-03-04", True),
        (3, "2025-03-10", True),
    ]
    assert variables["loi_segera_berakhir"] is True and "loi_kedaluwarsa" not in variables
    assert (
        report_task.bpmn_id == "Task_LaporanTahunan" and report_task.due_at == osaka_row.next_deadline.due_at
    )
    # the report window of year 4 opened at 00:00 WIB on 12 February 2026
    assert report_task.created_at == datetime(2026, 2, 12, tzinfo=WIB)
    assert timers == []  # the overdue timer fired; the expiry timer waits for the last year

    # KS-2026-014: the DPRD decides by Tuesday 2 June 2026, 20 working days from today
    dprd = by_key["KS-2026-014"]
    assert (dprd.stage, dprd.waiting) == (5, ["Putuskan persetujuan DPRD"])
    deemed = datetime(2026, 6, 3, tzinfo=WIB)
    assert [(x.element, x.due_at) for x in dprd.deadlines] == [
        ("Task_KeputusanDprd", deemed),
        ("Event_BatasDprd", deemed),
        ("Event_PeringatanLoi", datetime(2026, 8, 2, tzinfo=WIB)),  # the lapse timer follows the warning
    ]
    assert not dprd.next_deadline.overdue
    assert WorkingCalendar().working_days_between(NOW.date(), date(2026, 6, 2)) == 20
    with orch.session() as s:
        dprd_variables = json.loads(s.get(Instance, dprd.instance_id).variables)
    assert (dprd_variables["batas_dprd"], dprd_variables["batas_dprd_sementara"]) == ("2026-06-02", False)

    # KS-2025-007: deemed approved at 00:00 WITA on 22 October 2025, now at Kemendagri
    badung = by_key["KS-2025-007"]
    assert (badung.stage, badung.waiting) == (7, ["Verifikasi rencana dan beri pertimbangan"])
    assert [(x.element, x.due_at) for x in badung.deadlines] == [
        ("Event_PeringatanLoi", datetime(2026, 5, 17, tzinfo=WITA)),
    ]
    with orch.session() as s:
        badung_variables = json.loads(s.get(Instance, badung.instance_id).variables)
        deemed_at = s.scalar(
            select(AuditEvent.at).where(
                AuditEvent.instance_id == badung.instance_id, AuditEvent.bpmn_id == "Event_BatasDprd"
            )
        )
    assert badung_variables["batas_dprd"] == "2025-10-21"
    assert badung_variables["dprd_dianggap_menyetujui"] is True
    assert badung_variables["tanggal_dianggap_disetujui"] == "2025-10-22"
    assert deemed_at == datetime(2025, 10, 22, tzinfo=WITA)

    # the two bad rows: element and field named
    loi = by_key["KS-2025-011"]
    assert (loi.element, loi.field) == ("Task_TandaTanganLoi", "masa_berlaku_loi_sampai")
    assert "satu tahun sejak penandatanganan: sampai 1 September 2026" in loi.message
    plan = by_key["KS-2025-012"]
    assert (plan.element, plan.field, plan.message) == (
        "Task_SusunRencana",
        "dokumen_rencana_kerja_sama",
        "dokumen_rencana_kerja_sama: Wajib diisi",
    )

    # ... and nothing of them stays: every row written belongs to the three created cases
    created = {osaka_row.instance_id, dprd.instance_id, badung.instance_id}
    after = database(orch)
    assert len(after["instances"]) == len(before["instances"]) + 3
    with orch.session() as s:
        keys = set(s.scalars(select(Instance.business_key)))
        imported = {(r.business_key, r.row, r.filename) for r in s.scalars(select(ImportedCase))}
    assert keys == {"KS-2022-001", "KS-2026-014", "KS-2025-007"}
    assert imported == {
        ("KS-2022-001", 2, "kerja-sama-lama.csv"),
        ("KS-2026-014", 3, "kerja-sama-lama.csv"),
        ("KS-2025-007", 4, "kerja-sama-lama.csv"),
    }
    for model in (Task, Document, Timer):
        assert rows_of(orch, model, created) == []
    audit_rows = [e for e in rows_of(orch, AuditEvent, created) if e.instance_id is not None]
    assert audit_rows == []
    assert after["outbox"] == [] and after["incidents"] == [] and after["jobs"] == before["jobs"]
    assert not any(json.loads(e[-1]).get("import", {}).get("row") in (5, 6) for e in after["audit_events"])


def test_history_says_imported_and_documents_keep_their_names(orch, agreements):
    report = run_import(orch, agreements)
    case = report.rows[2].instance_id
    with orch.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.instance_id == case)))
        documents = list(s.scalars(select(Document).where(Document.instance_id == case)))
        instance = s.get(Instance, case)
    assert {e.action for e in events} >= {"start", "complete", "document", "job", "timer"}
    for event in events:
        assert json.loads(event.detail)["import"] == {
            "by": "operator",
            "at": NOW.astimezone(UTC).isoformat(),
            "file": "kerja-sama-lama.csv",
            "sha256": report.sha256,
            "row": 4,
        }
    # each step at its own date: the start, the DPRD's receipt, the deemed approval
    assert (
        instance.started_at == datetime(2025, 3, 3, 9, 0, tzinfo=WITA) and instance.started_by == "operator"
    )
    assert [e.at for e in events if e.bpmn_id == "Task_AjukanDprd"] == [
        datetime(2025, 8, 15, 9, 0, tzinfo=WITA)
    ]
    names = {doc.field: doc.filename for doc in documents}
    assert names["dokumen_surat_tindak_lanjut_mendagri"] == "surat-tindak-lanjut.pdf"
    assert names["dokumen_loi"] == "dokumen_loi.pdf" and names["dokumen_kajian"] == "dokumen_kajian.pdf"
    assert {doc.uploaded_by for doc in documents} == {"operator"}
    # kajian, LoI draft, two coordination letters, signed LoI, plan, DPRD letter, follow-up letter
    assert len(documents) == 8


def test_check_changes_nothing_and_says_what_would_happen(orch, agreements):
    before = database(orch)
    checked = run_import(orch, agreements, check=True)
    assert database(orch) == before
    assert [r.status for r in checked.rows] == ["valid", "valid", "valid", "refused", "refused"]
    assert [r.instance_id for r in checked.rows] == [None] * 5
    assert checked.rows[1].next_deadline.due_at == datetime(2026, 6, 3, tzinfo=WIB)
    assert (checked.rows[3].element, checked.rows[3].field) == (
        "Task_TandaTanganLoi",
        "masa_berlaku_loi_sampai",
    )
    imported = run_import(orch, agreements)
    assert [(r.stage, r.waiting, r.deadlines) for r in imported.rows] == [
        (r.stage, r.waiting, r.deadlines) for r in checked.rows
    ]


def test_a_second_import_of_the_same_file_adds_nothing(orch, agreements):
    first = run_import(orch, agreements)
    before = database(orch)
    again = run_import(orch, agreements)
    assert database(orch) == before
    assert [(r.status, r.instance_id) for r in again.rows] == [
        ("skipped", first.rows[0].instance_id),
        ("skipped", first.rows[1].instance_id),
        ("skipped", first.rows[2].instance_id),
        ("refused", None),
        ("refused", None),
    ]


def test_the_imported_case_goes_on_like_any_other(orch, agreements):
    """The DPRD case keeps running in the system: silence until 2 June is deemed approval."""
    report = run_import(orch, agreements)
    case = report.rows[1].instance_id
    clock.set(datetime(2026, 6, 3, tzinfo=WIB) - timedelta(seconds=1))
    orch.run_due()
    with orch.session() as s:
        assert s.get(Instance, case).stage == 5
    clock.set(datetime(2026, 6, 3, tzinfo=WIB))
    orch.run_due()
    with orch.session() as s:
        ready = s.scalars(select(Task.bpmn_id).where(Task.instance_id == case, Task.status == "ready")).all()
    assert ready == ["Task_SuratTindakLanjutMendagri"]


def test_replayed_steps_tell_nobody_and_the_case_notifies_afterwards(orch, agreements):
    """Messages of a replay are long past: none reach the outbox; the next real step notifies."""
    report = run_import(orch, agreements)
    case = report.rows[1].instance_id
    with orch.session() as s:
        assert s.scalars(select(OutboxMessage.kind).where(OutboxMessage.instance_id == case)).all() == []
    clock.set(datetime(2026, 6, 3, tzinfo=WIB))
    orch.run_due()
    with orch.session() as s:
        kinds = s.scalars(select(OutboxMessage.kind).where(OutboxMessage.instance_id == case)).all()
    assert "tugas" in kinds


def test_the_import_command(orch, agreements):
    """`ksdpl import` is a thin front: a template, a dry run, an import, a second import."""
    env = {"KSDPL_DATABASE_URL": orch.database_url, "KSDPL_HANDLERS": "handlers"}

    def ksdpl(*args: str):
        return CliRunner().invoke(cli, ["import", *args], env=env)

    template = ksdpl("--template", "Task_KeputusanDprd")
    assert template.exit_code == 0
    assert template.output.splitlines() == [",".join(orch.import_template("Task_KeputusanDprd"))]
    assert template.output.startswith("business_key,region,target,judul_kerja_sama,")
    assert template.output.rstrip().endswith(",tanggal_diterima_dprd,tanggal_Task_AjukanDprd")

    before = database(orch)
    checked = ksdpl(str(agreements), "--check")
    assert checked.exit_code == 1 and database(orch) == before
    lines = checked.output.splitlines()
    assert lines[1] == (
        "row 3 KS-2026-014: would be created at Task_KeputusanDprd, stage 5 (Persetujuan DPRD); "
        "next deadline: Putuskan persetujuan DPRD, due 2026-06-03 00:00 WIB"
    )
    assert lines[3] == (
        "row 5 KS-2025-011: refused at Task_TandaTanganLoi: masa_berlaku_loi_sampai: Masa berlaku LoI "
        "satu tahun sejak penandatanganan: sampai 1 September 2026"
    )
    assert (
        lines[-1]
        == "kerja-sama-lama.csv: 0 created, 3 valid, 0 skipped, 2 refused (check only: nothing changed)"
    )

    with orch.uow() as uow:  # the CLI acts as an existing, enabled account
        create_user(
            uow.session, "operator", "Operator", ["operator"], "Operator-2026!", None, registry.access
        )
        uow.commit()
    done = ksdpl(str(agreements), "--user", "operator")
    assert done.exit_code == 1
    assert done.output.splitlines()[0].startswith("row 2 KS-2022-001: created case ")
    assert done.output.splitlines()[0].endswith("due 2026-03-15 00:00 WIB (overdue)")
    after = database(orch)
    again = json.loads(ksdpl(str(agreements), "--json").output)
    assert database(orch) == after
    assert again["counts"] == {"created": 0, "valid": 0, "skipped": 3, "refused": 2}
    assert again["rows"][4]["element"] == "Task_SusunRencana"

    for args, message in (
        (("nowhere.csv",), "nowhere.csv: no such file"),
        (("--template", "Task_Tidak_Ada"), "'Task_Tidak_Ada' bukan tugas pengguna dalam proses ini"),
        ((), "give FILE.csv"),
    ):
        refused = ksdpl(*args)
        assert refused.exit_code != 0 and message in refused.output, refused.output

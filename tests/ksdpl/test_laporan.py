"""Stage 12: an annual report not submitted by the end of the agreement year is marked overdue
(a non-interrupting timer); the report task stays open and can still be submitted, late."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

REPORT_WINDOW_AT = datetime(2028, 5, 30, 17, tzinfo=UTC)  # 00:00 WIB 31 May 2028
OVERDUE_AT = datetime(2028, 6, 30, 17, tzinfo=UTC)  # 00:00 WIB after 30 June 2028, the year's last day


def test_overdue_annual_report_is_flagged_and_still_accepted(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.to_implementation(case, date(2027, 7, 1), date(2029, 6, 30))
    case.on(date(2027, 7, 15))
    case.complete("Task_RencanaKegiatanTahunan")
    case.wait_until(REPORT_WINDOW_AT)
    [report] = case.ready()
    assert (report.bpmn_id, report.due_at) == ("Task_LaporanTahunan", OVERDUE_AT)

    fired = case.wait_until(OVERDUE_AT)
    assert (fired.timers_fired, fired.jobs_run, fired.jobs_failed) == (1, 1, 0)  # + ksdpl.laporan-terlambat

    # Overdue is visible, both Pemda and Kemendagri are told, and the task is the same open task
    variables = case.variables()
    assert (variables["laporan_terlambat"], variables["laporan_terlambat_tahun_ke"]) == (True, 1)
    overdue = [m for m in case.outbox() if m.subject == "Laporan tahunan terlambat"]
    assert sorted(m.recipient_group for m in overdue) == ["kemendagri", "pemda"]
    assert overdue[0].body == "Laporan tahunan ke-1 belum disampaikan; batasnya 30 Juni 2028."
    assert [task.id for task in case.ready()] == [report.id]
    assert case.stage() == (12, "Pelaporan")
    assert "Event_LaporanTerlambat" not in case.timers()  # fires once, not again on every tick
    case.at(OVERDUE_AT.replace(day=2, month=7))
    assert case.run_worker().total == 0

    # Submitted ten days late: recorded as not on time, the flag cleared, year 2 scheduled
    case.on(date(2028, 7, 10))
    case.complete("Task_LaporanTahunan", tanggal_surat_laporan_tahunan=case.today)
    assert case.run_worker().jobs_run == 1
    variables = case.variables()
    assert variables["laporan_terlambat"] is False
    assert variables["laporan_tahunan_tepat_waktu"] is False
    assert variables["riwayat_laporan_tahunan"] == [
        {
            "tahun_ke": 1,
            "periode_mulai": "2027-07-01",
            "periode_sampai": "2028-06-30",
            "tanggal_disampaikan": "2028-07-10",
            "tepat_waktu": False,
        },
    ]
    assert variables["tahun_pelaksanaan_ke"] == 2
    assert case.ready_ids() == ["Task_RencanaKegiatanTahunan"]
    assert len([m for m in case.outbox() if m.subject == "Laporan tahunan terlambat"]) == 2

"""The whole KSDPL path in a kota (WIB): all 12 stages, two agreement years of annual plans and
reports on calendar dates, ending when the Naskah's validity ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engine.scripting import add_years
from engine.views import instance_detail
from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

START = date(2027, 7, 1)  # masa berlaku naskah
END = date(2029, 6, 30)  # two years; 2028 is a leap year, so 365-day steps would drift a day
ONE_DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_full_path_through_two_agreement_years(start_case: StartCase) -> None:
    case = start_case("3578")
    assert case.stage() == (2, "Penjajakan")
    [first] = case.ready()
    assert (first.bpmn_id, first.lane, first.candidate_groups) == (
        "Task_Penjajakan",
        "Pemerintah Daerah",
        "pemda",
    )

    # Stage 2: exploration, study, the seven prerequisites (the diplomatic one looked up)
    paths.explore(case)
    paths.check_prerequisites(case)
    variables = case.variables()
    assert variables["hubungan_diplomatik"] is True and variables["layak"] is True
    assert variables["alasan_tidak_layak"] == []

    # Stage 3: LoI, valid one year; its watch waits for the warning 30 days before it lapses
    case.on(date(2027, 1, 11))
    signed = paths.sign_loi(case)
    assert case.variables()["masa_berlaku_loi_sampai"] == "2028-01-11"
    assert case.timers()["Event_PeringatanLoi"].due_at == utc(2027, 12, 11, 17)  # 00:00 WIB 12 Dec 2027
    assert signed == date(2027, 1, 11)

    # Stages 4-5: the plan, the DPRD's 45 working days (Imlek, Nyepi, Idul Fitri 2027 and four
    # cuti bersama days inside: hand-counted in test_dprd.py), approved in time
    case.on(date(2027, 2, 1))
    paths.to_dprd(case)
    assert case.variables()["batas_dprd"] == "2027-04-16"
    [decision] = case.ready()
    assert (decision.lane, decision.candidate_groups) == ("DPRD", "dprd")
    assert decision.due_at == utc(2027, 4, 16, 17)
    case.on(date(2027, 3, 1))

    # Stages 6-7: submission through the Sekjen, verification: draft the Naskah
    paths.to_verification(case)
    paths.verify(case, "susun_naskah")

    # Stages 8-10: Naskah, meeting, Kemenlu, the Minister's approval, signing, original and salinan
    case.on(date(2027, 4, 1))
    paths.to_signing(case, START, END)
    case.on(date(2027, 6, 1))
    paths.sign_naskah(case)
    assert "Event_PeringatanLoi" not in case.timers()  # signing the Naskah ended the LoI watch
    assert not [m for m in case.outbox() if "LoI" in m.subject]

    # Stages 11-12, year 1: plan due 30 days into the year, report window opens 30 days before its end
    year_1 = {
        "tahun_pelaksanaan_ke": 1,
        "periode_mulai_tahunan": "2027-07-01",
        "periode_sampai_tahunan": "2028-06-30",
        "batas_rencana_tahunan": "2027-07-31",
        "mulai_laporan_tahunan": "2028-05-31",
        "batas_laporan_tahunan": "2028-06-30",
        "ada_tahun_berikutnya": True,
    }
    assert {key: case.variables()[key] for key in year_1} == year_1
    assert date.fromisoformat(year_1["periode_sampai_tahunan"]) == add_years(START, 1) - ONE_DAY
    [plan] = case.ready()
    assert (plan.bpmn_id, plan.stage) == ("Task_RencanaKegiatanTahunan", 11)
    assert plan.due_at == utc(2027, 7, 31, 17)
    case.on(date(2027, 7, 20))
    case.complete("Task_RencanaKegiatanTahunan")
    # the stage the regulation names, not the element the case waits at ("Masa penyusunan laporan ...")
    assert case.stage() == (11, "Pelaksanaan")
    with case.orch.session() as s:
        assert instance_detail(s, case.id)["stage_name"] == "Pelaksanaan"  # what `ksdpl show` prints

    case.wait_until(utc(2028, 5, 30, 17))  # 00:00 WIB 31 May 2028
    [report] = case.ready()
    assert (report.bpmn_id, report.stage, report.due_at) == ("Task_LaporanTahunan", 12, utc(2028, 6, 30, 17))
    assert case.timers()["Event_LaporanTerlambat"].due_at == utc(2028, 6, 30, 17)
    case.on(date(2028, 6, 20))
    case.complete("Task_LaporanTahunan", tanggal_surat_laporan_tahunan=case.today)
    assert case.run_worker().jobs_run == 1  # the next year is scheduled

    # Year 2 starts on 1 July 2028 = add_years(start, 1), not 365 days later (30 June)
    year_2 = {
        "tahun_pelaksanaan_ke": 2,
        "periode_mulai_tahunan": "2028-07-01",
        "periode_sampai_tahunan": "2029-06-30",
        "batas_rencana_tahunan": "2028-07-31",
        "mulai_laporan_tahunan": "2029-05-31",
        "batas_laporan_tahunan": "2029-06-30",
        "ada_tahun_berikutnya": False,
    }
    assert {key: case.variables()[key] for key in year_2} == year_2
    assert date.fromisoformat(year_2["periode_mulai_tahunan"]) == add_years(START, 1)
    assert date.fromisoformat(year_2["periode_sampai_tahunan"]) == add_years(START, 2) - ONE_DAY == END
    case.on(date(2028, 7, 10))
    case.complete("Task_RencanaKegiatanTahunan")
    case.wait_until(utc(2029, 5, 30, 17))
    case.on(date(2029, 6, 3))
    case.complete("Task_LaporanTahunan", tanggal_surat_laporan_tahunan=case.today)
    assert case.stage() == (11, "Pelaksanaan")

    # The agreement ends at 00:00 WIB after its last day
    case.wait_until(utc(2029, 6, 30, 17))
    assert case.status() == "completed"
    assert case.stage() == (11, "Pelaksanaan")
    assert case.ready() == [] and case.timers() == {}
    assert case.variables()["riwayat_laporan_tahunan"] == [
        {
            "tahun_ke": 1,
            "periode_mulai": "2027-07-01",
            "periode_sampai": "2028-06-30",
            "tanggal_disampaikan": "2028-06-20",
            "tepat_waktu": True,
        },
        {
            "tahun_ke": 2,
            "periode_mulai": "2028-07-01",
            "periode_sampai": "2029-06-30",
            "tanggal_disampaikan": "2029-06-03",
            "tepat_waktu": True,
        },
    ]

    # Every stage in order (stage 1 is the start form), the yearly loop twice
    assert case.stages == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 11, 12, 11]
    assert {document.stage for document in case.documents()} == set(range(2, 13))
    assert [(m.recipient_group, m.subject) for m in case.outbox()] == [
        ("dprd", "Rencana kerja sama menunggu persetujuan DPRD"),
        ("kemendagri", "Rencana kerja sama menunggu verifikasi"),
        ("kepala_daerah", "Pertimbangan Kemendagri: menyusun naskah"),
        ("pemda", "Pertimbangan Kemendagri: menyusun naskah"),
        ("kemendagri", "Rancangan naskah menunggu pembahasan"),
        ("pemda", "Rencana kegiatan tahunan ke-1"),
        ("pemda", "Rencana kegiatan tahunan ke-2"),
    ]

"""Stretches of the KSDPL path that several scenarios share, each ending where the next begins."""

from __future__ import annotations

from datetime import date, timedelta

from engine.scripting import add_years
from tests.ksdpl.driver import ALL_PREREQUISITES, Case


def explore(case: Case) -> None:
    """Stage 2 up to the prerequisites: exploration agreed, study filed."""
    case.complete(
        "Task_Penjajakan",
        mekanisme_kunjungan_langsung=True,
        hasil_penjajakan="sepakat",
        uraian_penjajakan="Kunjungan delegasi; kedua pihak sepakat menjajaki kerja sama",
    )
    case.complete("Task_SusunKajian")


def check_prerequisites(case: Case, **changes: bool | str) -> None:
    """Submit the prerequisites (all met unless `changes` says otherwise) and let the worker decide."""
    case.complete("Task_PeriksaPersyaratan", **{**ALL_PREREQUISITES, **changes})
    report = case.run_worker()
    assert report.jobs_failed == 0


def sign_loi(case: Case, signed: date | None = None) -> date:
    """Stage 3: draft, coordination with both ministers, signing (valid one year). Returns the signing day."""
    case.complete("Task_SusunRancanganLoi")
    case.complete("Task_KoordinasiLoi")
    signed = signed or case.today
    case.complete(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=signed,
        masa_berlaku_loi_mulai=signed,
        masa_berlaku_loi_sampai=add_years(signed, 1),
    )
    return signed


def to_dprd(case: Case, received: date | None = None) -> None:
    """Stages 4-5 up to the DPRD's decision: plan drafted, submitted, deadline computed."""
    case.complete("Task_SusunRencana")
    submit_to_dprd(case, received)


def submit_to_dprd(case: Case, received: date | None = None, **values: object) -> None:
    received = received or case.today
    case.complete(
        "Task_AjukanDprd", tanggal_surat_pengajuan_dprd=received, tanggal_diterima_dprd=received, **values
    )
    assert case.run_worker().jobs_run == 1  # ksdpl.hitung-batas-dprd
    assert case.ready_ids() == ["Task_KeputusanDprd"]


def eligible_to_dprd(case: Case) -> None:
    """From a fresh case to the DPRD's decision on the shortest eligible path."""
    explore(case)
    check_prerequisites(case)
    sign_loi(case)
    to_dprd(case)


def to_verification(case: Case) -> None:
    """DPRD approves; the Kepala Daerah submits the plan; Kemendagri is told."""
    case.complete("Task_KeputusanDprd", keputusan_dprd="setuju")
    case.complete("Task_SampaikanRencana")
    assert case.run_worker().jobs_run == 1  # ksdpl.notifikasi-rencana-masuk
    assert case.ready_ids() == ["Task_Verifikasi"]


def verify(case: Case, outcome: str) -> None:
    consideration = "Rencana perlu dilengkapi" if outcome == "revisi" else "Rencana layak"
    case.complete("Task_Verifikasi", hasil_verifikasi=outcome, pertimbangan_verifikasi=consideration)
    assert case.run_worker().jobs_run == 1  # ksdpl.notifikasi-pertimbangan


def to_signing(case: Case, start: date, end: date) -> None:
    """Stages 8-10 up to the signed Naskah's record: draft, meeting, Kemenlu, the Minister's approval."""
    case.complete(
        "Task_SusunNaskah",
        masa_berlaku_naskah_mulai=start,
        masa_berlaku_naskah_sampai=end,
        rencana_tanggal_penandatanganan_naskah=case.today + timedelta(days=30),
    )
    case.complete("Task_SampaikanNaskah")
    assert case.run_worker().jobs_run == 1  # ksdpl.notifikasi-naskah-masuk
    case.complete("Task_RapatPembahasan", peserta_pemda_kabupaten_kota="Bappeda Kota Surabaya")
    case.complete("Task_KirimKeKemenlu")
    case.complete("Task_KonfirmasiKemenlu")
    case.complete("Task_PersetujuanMendagri")
    assert case.ready_ids() == ["Task_TandaTanganNaskah"]


def sign_naskah(case: Case) -> None:
    """The signed Naskah, the original to Kemendagri and the salinan back; the first year is scheduled."""
    case.complete(
        "Task_TandaTanganNaskah",
        penandatangan_daerah="Wali Kota Surabaya",
        penandatangan_mitra="Mayor of Kitakyushu",
    )
    case.complete("Task_KirimNaskahAsli")
    case.complete("Task_TerimaNaskahAsli")
    case.complete("Task_TerbitkanSalinan")
    assert case.run_worker().jobs_run == 1  # ksdpl.jadwal-laporan-tahunan


def to_meeting(case: Case) -> None:
    """From a fresh case to Kemendagri's inter-ministerial meeting (stage 9)."""
    eligible_to_dprd(case)
    to_verification(case)
    verify(case, "susun_naskah")
    case.complete(
        "Task_SusunNaskah",
        masa_berlaku_naskah_mulai=case.today + timedelta(days=90),
        masa_berlaku_naskah_sampai=case.today + timedelta(days=90 + 5 * 365),
        rencana_tanggal_penandatanganan_naskah=case.today + timedelta(days=60),
    )
    case.complete("Task_SampaikanNaskah")
    assert case.run_worker().jobs_run == 1
    assert case.ready_ids() == ["Task_RapatPembahasan"]


def to_implementation(case: Case, start: date, end: date) -> None:
    """A case started on 4 Jan 2027 through stages 2-10 (the Naskah signed on 1 Jun 2027, before
    the LoI warning), waiting for year 1's activity plan."""
    explore(case)
    check_prerequisites(case)
    case.on(date(2027, 1, 11))
    sign_loi(case)
    case.on(date(2027, 2, 1))
    to_dprd(case)
    case.on(date(2027, 3, 1))
    to_verification(case)
    verify(case, "susun_naskah")
    case.on(date(2027, 4, 1))
    to_signing(case, start, end)
    case.on(date(2027, 6, 1))
    sign_naskah(case)
    assert case.ready_ids() == ["Task_RencanaKegiatanTahunan"]


NASKAH_FROM = date(2027, 7, 1)  # the agreement's first day on the whole path


def next_timer(case: Case) -> None:
    """Move the clock to the case's earliest timer and let the worker fire it."""
    due = min(timer.due_at for timer in case.timers().values())
    case.at(due)
    case.run_worker()


def to_naskah(case: Case, rounds: int) -> None:
    """Stages 2-7, each revision loop `rounds` times, until Kemendagri asks for the Naskah."""
    explore(case)
    for _ in range(rounds):  # prerequisites not met: Pemda follows up and checks again
        check_prerequisites(case, hibah_sesuai_ketentuan=False)
        case.complete("Task_TindakLanjutKelayakan", tindak_lanjut_kelayakan="perbaiki")
    check_prerequisites(case)
    case.on(date(2027, 1, 11))
    sign_loi(case)
    case.on(date(2027, 2, 1))
    to_dprd(case)
    for _ in range(rounds):  # the DPRD refuses; the plan is revised and submitted again
        case.complete("Task_KeputusanDprd", keputusan_dprd="tolak", alasan_penolakan_dprd="Biaya belum jelas")
        case.complete("Task_TindakLanjutPenolakan", tindak_lanjut_penolakan="perbaiki")
        case.complete("Task_SusunRencana", sumber_pembiayaan_rencana="APBD dan hibah mitra")
        submit_to_dprd(case)
    case.on(date(2027, 3, 1))
    to_verification(case)
    for round_no in range(1, rounds + 1):  # Kemendagri sends the plan back
        verify(case, "revisi")
        case.complete("Task_PerbaikiRencana", ruang_lingkup_rencana=f"Ruang lingkup, perbaikan ke-{round_no}")
        case.complete("Task_SampaikanRencana", nomor_surat_penyampaian_rencana=f"120/{round_no}/2027")
        case.run_worker()
    verify(case, "susun_naskah")


def sign(case: Case, years: int) -> None:
    """Stages 8-11: the Naskah for `years` years drafted, discussed, approved and signed."""
    case.on(date(2027, 4, 1))
    to_signing(case, NASKAH_FROM, add_years(NASKAH_FROM, years) - timedelta(days=1))
    case.on(date(2027, 6, 1))
    sign_naskah(case)


def whole_path(case: Case, rounds: int, years: int) -> None:
    """Every user task of the 12 stages, each revision loop `rounds` times, then `years` yearly
    rounds of plan and report until the agreement ends (the benches, the state test)."""
    to_naskah(case, rounds)
    sign(case, years)
    for year in range(years):
        case.on(date(NASKAH_FROM.year + year, 7, 15))
        case.complete("Task_RencanaKegiatanTahunan")
        while case.ready_ids() != ["Task_LaporanTahunan"]:
            next_timer(case)
        case.complete("Task_LaporanTahunan", tanggal_surat_laporan_tahunan=case.today)
        case.run_worker()
    while case.status() == "running" and case.timers():
        next_timer(case)
    assert case.status() == "completed", f"case {case.id} ended {case.status()} at {case.ready_ids()}"

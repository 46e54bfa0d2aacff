"""The handlers refuse what a form cannot express, in Indonesian, and a refusal changes nothing
(`Case.refused` compares the case, its tasks, timers, jobs, outbox and audit before and after)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase


def test_exploration_needs_a_mechanism(start_case: StartCase) -> None:
    case = start_case()
    assert case.refused("Task_Penjajakan", hasil_penjajakan="sepakat") == {
        "mekanisme_komunikasi_media": "Pilih paling sedikit satu mekanisme penjajakan"
    }


def test_loi_valid_exactly_one_year_from_signing(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 3, 1))
    paths.explore(case)
    paths.check_prerequisites(case)
    case.complete("Task_SusunRancanganLoi")
    case.complete("Task_KoordinasiLoi", tanggal_koordinasi_menlu=date(2027, 3, 1))
    signed = date(2027, 3, 1)
    days_365 = signed + timedelta(days=365)  # 29 Feb 2028: one day short of a year over a leap day
    errors = case.refused(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=signed,
        masa_berlaku_loi_mulai=date(2027, 3, 2),
        masa_berlaku_loi_sampai=days_365,
    )
    assert errors == {
        "masa_berlaku_loi_mulai": "Masa berlaku dimulai pada tanggal penandatanganan (1 Maret 2027)",
        "masa_berlaku_loi_sampai": "Masa berlaku LoI satu tahun sejak penandatanganan: sampai 1 Maret 2028",
    }
    early = date(2027, 2, 28)  # before the coordination with the ministers on 1 March
    errors = case.refused(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=early,
        masa_berlaku_loi_mulai=early,
        masa_berlaku_loi_sampai=date(2028, 2, 28),
    )
    assert errors == {
        "tanggal_penandatanganan_loi": "Penandatanganan harus setelah koordinasi dengan Mendagri (1 Maret 2027)"
    }
    case.complete(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=signed,
        masa_berlaku_loi_mulai=signed,
        masa_berlaku_loi_sampai=date(2028, 3, 1),
    )
    assert case.ready_ids() == ["Task_SusunRencana"]


@pytest.mark.parametrize(
    ("region", "partner_level"),
    [("3578", "kota_kabupaten"), ("35", "provinsi_negara_bagian")],
    ids=["kota", "provinsi"],
)
def test_meeting_participants_by_region_level(start_case: StartCase, region: str, partner_level: str) -> None:
    case = start_case(region, on=date(2027, 1, 4), tingkat_mitra=partner_level)
    paths.to_meeting(case)
    tomorrow = case.today + timedelta(days=1)
    if region == "3578":  # a kota: the kabupaten/kota participants are required
        assert case.refused("Task_RapatPembahasan", tanggal_rapat_pembahasan=tomorrow) == {
            "tanggal_rapat_pembahasan": "Tanggal rapat tidak boleh setelah hari ini (4 Januari 2027)",
            "peserta_pemda_kabupaten_kota": "Wajib diisi: Daerah ini adalah kabupaten/kota",
        }
        case.complete("Task_RapatPembahasan", peserta_pemda_kabupaten_kota="Bappeda Kota Surabaya")
    else:  # a provinsi: the three required kinds are enough
        case.complete("Task_RapatPembahasan")
        assert case.variables()["peserta_pemda_kabupaten_kota"] is None
    assert case.ready_ids() == ["Task_KirimKeKemenlu"]


def test_partner_level_must_match_the_region_level(start_case: StartCase) -> None:
    case = start_case("3578", tingkat_mitra="provinsi_negara_bagian", nama_mitra="Prefektur Fukuoka")
    paths.explore(case)
    assert case.refused("Task_PeriksaPersyaratan", kesetaraan_status=True) == {
        "kesetaraan_status": "Tingkat mitra tidak setara dengan tingkat Daerah (kota); "
        "kosongkan centang ini bila memang tidak setara"
    }
    assert case.refused("Task_PeriksaPersyaratan", tingkat_mitra="lembaga") == {
        "tingkat_mitra": "Mitra KSDPL adalah pemerintah daerah di luar negeri, bukan lembaga"
    }
    assert case.refused("Task_PeriksaPersyaratan", negara_mitra="J1") == {
        "negara_mitra": "Gunakan kode negara dua huruf (ISO 3166), misalnya JP atau KR"
    }
    # Unticked, the mismatch is accepted and the decision table reports it
    paths.check_prerequisites(case, kesetaraan_status=False)
    assert case.variables()["alasan_tidak_layak"] == [
        "Status administrasi dan/atau wilayah mitra tidak setara"
    ]


def test_naskah_end_date_after_start(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    paths.to_verification(case)
    paths.verify(case, "susun_naskah")
    start = date(2027, 7, 1)
    for end in (date(2027, 6, 30), start):
        errors = case.refused(
            "Task_SusunNaskah", masa_berlaku_naskah_mulai=start, masa_berlaku_naskah_sampai=end
        )
        assert errors == {"masa_berlaku_naskah_sampai": "Harus setelah tanggal mulai berlaku (1 Juli 2027)"}
    paths.to_signing(case, start, date(2032, 6, 30))
    # At signing the dates are checked again, and the signing follows the Minister's approval
    assert case.refused(
        "Task_TandaTanganNaskah",
        masa_berlaku_naskah_sampai=date(2026, 12, 31),
        tanggal_penandatanganan_naskah=date(2027, 1, 3),
    ) == {
        "masa_berlaku_naskah_sampai": "Harus setelah tanggal mulai berlaku (1 Juli 2027)",
        "tanggal_penandatanganan_naskah": "Tidak boleh sebelum surat persetujuan Mendagri (4 Januari 2027)",
    }


def test_dprd_receipt_not_before_the_letter(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    paths.sign_loi(case)
    case.complete("Task_SusunRencana")
    assert case.refused(
        "Task_AjukanDprd",
        tanggal_surat_pengajuan_dprd=date(2027, 1, 4),
        tanggal_diterima_dprd=date(2027, 1, 3),
    ) == {"tanggal_diterima_dprd": "Tidak boleh sebelum tanggal surat pengajuan (4 Januari 2027)"}

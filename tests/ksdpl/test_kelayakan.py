"""Stage 2: exploration not agreed; prerequisites not met, corrected and re-checked, or given up."""

from __future__ import annotations

from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

NO_RELATIONS = "Tidak ada hubungan diplomatik dengan negara mitra"
NOT_REGIONAL = "Subjek kerja sama bukan urusan Pemerintah Daerah"
GRANT = "Hibah tidak sesuai dengan ketentuan peraturan perundang-undangan"
OFFICE = "Pemerintah Daerah membuka kantor perwakilan di luar negeri"


def eligibility(case) -> tuple[bool, bool, list[str]]:
    variables = case.variables()
    return variables["hubungan_diplomatik"], variables["layak"], variables["alasan_tidak_layak"]


def test_exploration_not_agreed_ends_the_case(start_case: StartCase) -> None:
    case = start_case()
    case.complete("Task_Penjajakan", mekanisme_komunikasi_media=True, hasil_penjajakan="tidak_sepakat")
    assert case.status() == "completed"
    assert case.stage() == (2, "Penjajakan")
    assert case.ready() == [] and case.timers() == {} and case.outbox() == []


def test_not_eligible_then_corrected_and_rechecked(start_case: StartCase) -> None:
    case = start_case()
    paths.explore(case)

    # A partner in a state without diplomatic relations (typed in lower case) and a subject that
    # is not a regional matter: both reasons, in the decision table's rule order
    paths.check_prerequisites(case, negara_mitra="il", urusan_pemerintah_daerah=False)
    assert case.variables()["negara_mitra"] == "IL"
    assert eligibility(case) == (False, False, [NO_RELATIONS, NOT_REGIONAL])
    [follow_up] = case.ready()
    assert (follow_up.bpmn_id, follow_up.candidate_groups, follow_up.stage) == (
        "Task_TindakLanjutKelayakan",
        "pemda",
        2,
    )
    [message] = case.outbox()
    assert (message.recipient_group, message.subject) == ("pemda", "Persyaratan kerja sama belum terpenuhi")
    assert message.body == f"{NO_RELATIONS}\n{NOT_REGIONAL}"

    # Pemda corrects the partner and the subject but now unticks the grant: only that reason
    # remains; the first round's reasons are gone
    case.complete("Task_TindakLanjutKelayakan", tindak_lanjut_kelayakan="perbaiki")
    paths.check_prerequisites(
        case,
        negara_mitra="KR",
        nama_mitra="Kota Changwon",
        urusan_pemerintah_daerah=True,
        hibah_sesuai_ketentuan=False,
    )
    assert eligibility(case) == (True, False, [GRANT])

    # Everything met: the case proceeds to the Letter of Intent with no reasons left
    case.complete("Task_TindakLanjutKelayakan", tindak_lanjut_kelayakan="perbaiki")
    paths.check_prerequisites(case)  # the form shows KR and the ticks of the last round; all ticked now
    assert eligibility(case) == (True, True, [])
    assert case.variables()["nama_mitra"] == "Kota Changwon"
    assert case.ready_ids() == ["Task_SusunRancanganLoi"]
    assert case.stage() == (3, "Letter of Intent")


def test_not_eligible_and_given_up(start_case: StartCase) -> None:
    case = start_case()
    paths.explore(case)
    paths.check_prerequisites(case, tanpa_kantor_perwakilan=False)
    assert eligibility(case) == (True, False, [OFFICE])
    case.complete(
        "Task_TindakLanjutKelayakan",
        tindak_lanjut_kelayakan="akhiri",
        catatan_tindak_lanjut_kelayakan="Pemda tidak akan menutup kantor perwakilannya",
    )
    assert case.status() == "completed"
    assert case.stage() == (2, "Penjajakan")
    assert case.ready() == []

"""Stage 7: Kemendagri's written consideration sends the plan back twice, then the Naskah."""

from __future__ import annotations

from datetime import date

from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

REVISE = "Pertimbangan Kemendagri: memperbaiki rencana kerja sama"
DRAFT = "Pertimbangan Kemendagri: menyusun naskah"


def test_revised_twice_then_the_naskah(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    paths.to_verification(case)

    for round_no in (1, 2):
        paths.verify(case, "revisi")
        [revision] = case.ready()
        assert (revision.bpmn_id, revision.stage, revision.candidate_groups) == (
            "Task_PerbaikiRencana",
            4,
            "pemda",
        )
        # The form shows the plan as it stands; Pemda changes what the consideration asked for
        case.complete("Task_PerbaikiRencana", ruang_lingkup_rencana=f"Ruang lingkup, perbaikan ke-{round_no}")
        # Back to the Minister through the Sekjen (not to the DPRD again)
        assert case.ready_ids() == ["Task_SampaikanRencana"]
        case.complete("Task_SampaikanRencana", nomor_surat_penyampaian_rencana=f"120/{round_no}/2027")
        assert case.run_worker().jobs_run == 1
        assert case.ready_ids() == ["Task_Verifikasi"]

    paths.verify(case, "susun_naskah")
    [draft] = case.ready()
    assert (draft.bpmn_id, draft.stage, draft.candidate_groups) == ("Task_SusunNaskah", 8, "pemda")

    variables = case.variables()
    assert variables["ruang_lingkup_rencana"] == "Ruang lingkup, perbaikan ke-2"
    assert variables["hasil_verifikasi"] == "susun_naskah"
    assert case.stages == [2, 3, 4, 5, 6, 7, 4, 6, 7, 4, 6, 7, 8]
    plans = [d for d in case.documents() if d.field == "dokumen_rencana_kerja_sama"]
    assert [d.stage for d in plans] == [4, 4, 4]  # the first plan and two revisions, filed with stage 4
    considerations = [
        (m.recipient_group, m.subject) for m in case.outbox() if m.subject.startswith("Pertimbangan")
    ]
    assert considerations == [
        ("kepala_daerah", REVISE),
        ("pemda", REVISE),
        ("kepala_daerah", REVISE),
        ("pemda", REVISE),
        ("kepala_daerah", DRAFT),
        ("pemda", DRAFT),
    ]
    assert sum(m.subject == "Rencana kerja sama menunggu verifikasi" for m in case.outbox()) == 3
    assert sum(m.recipient_group == "dprd" for m in case.outbox()) == 1

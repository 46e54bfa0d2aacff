"""Stage 5: the DPRD approves, rejects (revise and resubmit, or end), or stays silent for 45
working days and the plan is deemed approved at 00:00 local time after the 45th."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.calendar import WorkingCalendar
from engine.errors import Conflict
from engine.models import Instance
from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase
from tests.test_deadlines import IDUL_FITRI_2026, YEAR_END_2026
from tests.web.conftest import PASSWORD, app_config, new_account
from web import create_app

# (d) Idul Fitri 2027, hand-counted like the windows in tests/test_deadlines.py.
#     Received Mon 22 Feb 2027. Weekday days off: Mon 8 Mar Nyepi, Tue 9 Mar cuti Idul Fitri,
#     Wed 10 + Thu 11 Mar Idul Fitri, Fri 12 + Mon 15 Mar cuti Idul Fitri, Thu 25 Mar cuti and
#     Fri 26 Mar Wafat Yesus Kristus, Thu 6 May Kenaikan Yesus Kristus.
#   week of 22 Feb: Tue 23 - Fri 26                    4  -> 4
#   week of  1 Mar: full                               5  -> 9
#   week of  8 Mar: none                               0  -> 9
#   week of 15 Mar: Tue 16 - Fri 19                    4  -> 13
#   week of 22 Mar: Mon 22 - Wed 24                    3  -> 16
#   weeks of 29 Mar, 5, 12, 19, 26 Apr: full          25  -> 41
#   week of  3 May: Mon 3 (42), Tue 4 (43), Wed 5 (44), Fri 7 (45)
#   => Fri 7 May 2027. Ignoring the four cuti bersama days gives Fri 30 Apr.
IDUL_FITRI_2027 = (date(2027, 2, 22), date(2027, 5, 7))

SILENT = pytest.mark.parametrize(
    ("region", "received", "deadline", "deemed_at"),
    [
        ("3578", IDUL_FITRI_2026[0], IDUL_FITRI_2026[1], datetime(2026, 5, 13, 17, tzinfo=UTC)),  # 00:00 WIB
        ("9403", *IDUL_FITRI_2027, datetime(2027, 5, 7, 15, tzinfo=UTC)),  # 00:00 WIT
        ("5103", YEAR_END_2026[0], YEAR_END_2026[1], datetime(2027, 2, 12, 16, tzinfo=UTC)),  # 00:00 WITA
    ],
    ids=["wib-idul-fitri-2026", "wit-idul-fitri-2027", "wita-year-end-2026"],
)


def test_dprd_approves(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    case.on(date(2027, 1, 20))
    case.complete("Task_KeputusanDprd", keputusan_dprd="setuju", nomor_surat_keputusan_dprd="170/12/2027")
    variables = case.variables()
    assert (variables["keputusan_dprd"], variables["dprd_dianggap_menyetujui"]) == ("setuju", False)
    [submission] = case.ready()
    assert (submission.bpmn_id, submission.lane, submission.candidate_groups, submission.stage) == (
        "Task_SampaikanRencana",
        "Kepala Daerah",
        "kepala_daerah",
        6,
    )
    assert "Event_BatasDprd" not in case.timers()


def test_dprd_rejects_then_the_revised_plan_is_approved(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    # Received Mon 4 Jan 2027; days off Tue 5 Jan, Fri 5 Feb, 8-12 and Mon 15 Mar: 3 + 15 + 4 + 15 + 5
    # = 42 working days by Fri 5 Mar, then Tue 16, Wed 17, Thu 18 Mar
    assert case.variables()["batas_dprd"] == "2027-03-18"

    case.on(date(2027, 1, 25))
    assert case.refused("Task_KeputusanDprd", keputusan_dprd="tolak") == {
        "alasan_penolakan_dprd": "Wajib diisi bila DPRD menolak"
    }
    case.complete("Task_KeputusanDprd", keputusan_dprd="tolak", alasan_penolakan_dprd="Biaya belum jelas")
    [follow_up] = case.ready()
    assert (follow_up.bpmn_id, follow_up.candidate_groups) == ("Task_TindakLanjutPenolakan", "pemda")
    assert "Event_BatasDprd" not in case.timers()

    # Pemda revises the plan (the form shows the first version) and submits it again
    case.complete("Task_TindakLanjutPenolakan", tindak_lanjut_penolakan="perbaiki")
    assert case.stage() == (4, "Rencana Kerja Sama")
    case.complete("Task_SusunRencana", sumber_pembiayaan_rencana="APBD Kota Surabaya dan hibah mitra")
    case.on(date(2027, 2, 1))
    paths.submit_to_dprd(case)

    # Second round: a fresh deadline from the new receipt, last round's decision cleared
    variables = case.variables()
    assert variables["batas_dprd"] == "2027-04-16"
    assert variables["keputusan_dprd"] is None and variables["alasan_penolakan_dprd"] is None
    assert case.timers()["Event_BatasDprd"].due_at == datetime(2027, 4, 16, 17, tzinfo=UTC)
    assert case.ready()[0].due_at == datetime(2027, 4, 16, 17, tzinfo=UTC)
    case.complete("Task_KeputusanDprd", keputusan_dprd="setuju")
    assert case.ready_ids() == ["Task_SampaikanRencana"]
    assert case.variables()["sumber_pembiayaan_rencana"] == "APBD Kota Surabaya dan hibah mitra"
    assert [m.recipient_group for m in case.outbox()] == ["dprd", "dprd"]  # one notice per submission


def test_dprd_rejects_and_the_case_ends(start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    assert set(case.timers()) == {"Event_PeringatanLoi", "Event_BatasDprd"}
    case.complete("Task_KeputusanDprd", keputusan_dprd="tolak", alasan_penolakan_dprd="Tidak sesuai RPJMD")
    case.complete("Task_TindakLanjutPenolakan", tindak_lanjut_penolakan="akhiri")
    assert case.status() == "completed"
    assert case.stage() == (5, "Persetujuan DPRD")
    assert case.ready() == [] and case.timers() == {}  # the terminate end also stops the LoI watch


@SILENT
def test_dprd_silent_plan_deemed_approved_at_the_computed_moment(
    start_case: StartCase, region: str, received: date, deadline: date, deemed_at: datetime
) -> None:
    # The window holds Idul Fitri or the year-end holidays and cuti bersama days
    days_off = [name for _, name in WorkingCalendar().holidays_between(received, deadline)]
    assert any(name.startswith("Cuti Bersama") for name in days_off)
    assert len(days_off) >= 5

    case = start_case(region, on=received - timedelta(days=21))
    paths.explore(case)
    paths.check_prerequisites(case)
    paths.sign_loi(case)
    case.on(received)
    paths.to_dprd(case, received)

    variables = case.variables()
    assert (variables["batas_dprd"], variables["batas_dprd_hari_kerja"]) == (deadline.isoformat(), 45)
    assert variables["batas_dprd_sementara"] is False
    [decision] = case.ready()
    timer = case.timers()["Event_BatasDprd"]
    assert decision.due_at == timer.due_at == deemed_at
    assert timer.interrupting and timer.attached_to == "Task_KeputusanDprd"

    report = case.wait_until(deemed_at)  # the timer, then the job ksdpl.dianggap-disetujui
    assert (report.timers_fired, report.jobs_run, report.jobs_failed) == (1, 1, 0)

    # The Kepala Daerah's follow-up letter to the Minister is next; the DPRD can no longer decide
    [letter] = case.ready()
    assert (letter.bpmn_id, letter.lane, letter.candidate_groups, letter.stage) == (
        "Task_SuratTindakLanjutMendagri",
        "Kepala Daerah",
        "kepala_daerah",
        6,
    )
    with pytest.raises(Conflict, match="sudah tidak berlaku"):
        case.orch.complete_task(decision.id, {"keputusan_dprd": "setuju"})
    variables = case.variables()
    assert variables["dprd_dianggap_menyetujui"] is True
    assert variables["keputusan_dprd"] == "dianggap_setuju"
    assert variables["tanggal_dianggap_disetujui"] == (deadline + timedelta(days=1)).isoformat()
    deemed = [m for m in case.outbox() if m.subject == "Rencana kerja sama dianggap disetujui DPRD"]
    assert sorted(m.recipient_group for m in deemed) == ["dprd", "kepala_daerah", "pemda"]
    assert all(m.region_code == region for m in deemed)

    # The letter is the submission to the Minister: Kemendagri verifies, told it was deemed approved
    case.complete("Task_SuratTindakLanjutMendagri")
    assert case.run_worker().jobs_run == 1
    assert case.ready_ids() == ["Task_Verifikasi"]
    assert case.outbox()[-1].body.endswith("(dianggap disetujui DPRD)")


def test_a_decree_inside_the_dprd_window_moves_the_deemed_approval(start_case: StartCase) -> None:
    # Window (a) of tests/test_deadlines.py: received Mon 2 Mar 2026, 45th working day Wed 13 May.
    received = IDUL_FITRI_2026[0]
    case = start_case("3578", on=received - timedelta(days=21))
    paths.explore(case)
    paths.check_prerequisites(case)
    paths.sign_loi(case)
    case.on(received)
    paths.to_dprd(case, received)
    assert case.timers()["Event_BatasDprd"].due_at == datetime(2026, 5, 13, 17, tzinfo=UTC)
    assert case.variables()["batas_dprd"] == "2026-05-13"

    # The government declares Mon 20 Apr 2026 a day off (a new cuti bersama) while the DPRD waits
    case.on(date(2026, 4, 1))
    assert (
        case.orch.set_calendar_override(date(2026, 4, 20), True, None, "Cuti bersama (SKB baru)").cases == 1
    )
    assert case.run_worker().cases_reevaluated == 1
    [decision] = case.ready()
    timer = case.timers()["Event_BatasDprd"]
    # one working day later: Thu 14 May is Kenaikan and Fri 15 May cuti bersama, so Mon 18 May
    assert decision.due_at == timer.due_at == datetime(2026, 5, 18, 17, tzinfo=UTC)
    # the variable the handler derived from the calendar follows (finding 5), and the DPRD is told
    assert case.variables()["batas_dprd"] == "2026-05-18"
    assert case.variables()["batas_dprd_sementara"] is False
    moved = case.outbox()[-1]
    assert (moved.recipient_group, moved.subject) == ("dprd", "Batas waktu persetujuan DPRD berubah")
    assert "18 Mei 2026 (sebelumnya 13 Mei 2026)" in moved.body
    [status] = case.orch.calendar_status()
    assert (status["cases"], status["done"], status["pending"], status["failed"]) == (1, 1, 0, 0)
    page = case_page(case, "dprd")
    assert "Batas keputusan DPRD" in page and "18 Mei 2026" in page and "13 Mei 2026" not in page

    report = case.wait_until(timer.due_at)
    assert (report.timers_fired, report.jobs_run) == (1, 1)  # deemed approved, on the new deadline
    assert "sampai 18 Mei 2026" in case.outbox()[-1].body


def case_page(case, group: str) -> str:
    """The case page as a member of `group` in the case's region sees it (the web app, logged in)."""
    username = f"{group}.uji"
    with case.orch.uow() as uow:
        region = uow.session.get(Instance, case.id).region_code
        uow.session.add(new_account(username, "Petugas uji", group, region))
        uow.commit()
    client = create_app(app_config(case.orch, KSDPL_PROCESS_KEY="ksdpl")).test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    response = client.get(f"/kasus/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)

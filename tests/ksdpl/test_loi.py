"""Stage 3's side branch: the LoI's one-year validity is watched beside the main path; a warning
30 days before it lapses, a lapse mark after, and signing the Naskah ends the watch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

WARNING_AT = datetime(2027, 12, 11, 17, tzinfo=UTC)  # 00:00 WIB 12 Dec 2027: 30 days before 11 Jan 2028
LAPSE_AT = datetime(2028, 1, 11, 17, tzinfo=UTC)  # 00:00 WIB after the LoI's last day, 11 Jan 2028
NASKAH = (date(2028, 3, 1), date(2031, 2, 28))


def loi_signed_and_plan_at_verification(start_case: StartCase):
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    case.on(date(2027, 1, 11))
    paths.sign_loi(case)
    case.on(date(2027, 2, 1))
    paths.to_dprd(case)
    paths.to_verification(case)
    assert case.timers()["Event_PeringatanLoi"].due_at == WARNING_AT
    return case


def messages(case, subject: str) -> list[str]:
    return sorted(m.recipient_group for m in case.outbox() if m.subject == subject)


def test_loi_warning_then_lapse_while_kemendagri_verifies(start_case: StartCase) -> None:
    case = loi_signed_and_plan_at_verification(start_case)

    report = case.wait_until(WARNING_AT)
    assert (report.timers_fired, report.jobs_run) == (1, 1)  # + ksdpl.peringatan-loi
    assert messages(case, "Masa berlaku LoI segera berakhir") == ["kepala_daerah", "pemda"]
    assert case.outbox()[-1].body.endswith("berakhir pada 11 Januari 2028.")
    assert case.variables()["loi_segera_berakhir"] is True
    assert case.timers()["Event_LoiBerakhir"].due_at == LAPSE_AT
    # The watch (stage 3) never hides where the main path is
    assert case.ready_ids() == ["Task_Verifikasi"] and case.stage()[0] == 7

    case.wait_until(LAPSE_AT)
    assert messages(case, "LoI kedaluwarsa") == ["kemendagri", "kepala_daerah", "pemda"]
    variables = case.variables()
    assert (variables["loi_kedaluwarsa"], variables["tanggal_loi_kedaluwarsa"]) == (True, "2028-01-12")
    assert case.timers() == {} and case.status() == "running"
    assert case.ready_ids() == ["Task_Verifikasi"] and case.stage()[0] == 7

    # The main path goes on; the lapse stays visible in the case variables, and the Naskah's
    # signal later finds no watch to stop
    case.on(date(2028, 1, 20))
    paths.verify(case, "susun_naskah")
    paths.to_signing(case, *NASKAH)
    paths.sign_naskah(case)
    assert case.variables()["loi_kedaluwarsa"] is True
    assert case.ready_ids() == ["Task_RencanaKegiatanTahunan"]


def test_signing_the_naskah_after_the_warning_cancels_the_lapse(start_case: StartCase) -> None:
    case = loi_signed_and_plan_at_verification(start_case)
    case.on(date(2027, 10, 1))
    paths.verify(case, "susun_naskah")
    paths.to_signing(case, *NASKAH)

    case.wait_until(WARNING_AT)
    assert set(case.timers()) == {"Event_LoiBerakhir"}
    case.on(date(2027, 12, 20))
    paths.sign_naskah(case)
    assert "Event_LoiBerakhir" not in case.timers()

    case.at(LAPSE_AT)
    assert case.run_worker().total == 0
    assert "loi_kedaluwarsa" not in case.variables()
    assert messages(case, "LoI kedaluwarsa") == []
    assert case.variables()["loi_segera_berakhir"] is True  # the warning did go out

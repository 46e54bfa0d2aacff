"""An operator moves a running KSDPL case onto a newer version of the diagram (the console's
*Pindahkan kasus*): the DPRD's decision task, its deadline timer and the LoI watch carry over,
and the case goes on along the new version."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import Conflict
from engine.models import AuditEvent
from handlers import registry
from tests.ksdpl import paths
from tests.ksdpl.conftest import BPMN, DMN, StartCase
from tests.ksdpl.test_versions import edited_by_an_analyst

OPERATOR = registry.access.actor("operator", ["operator"])


def test_a_case_waiting_for_its_dprd_moves_to_version_2(orch, start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    timers_before = case.timers()
    [v2] = [
        r
        for r in orch.deploy({"ksdpl.bpmn": edited_by_an_analyst(BPMN), "kelayakan.dmn": DMN})
        if r.key == "ksdpl"
    ]
    assert orch.migrate(case.id, v2.definition_id, OPERATOR, "Formulir DPRD baru") == 2
    assert case.instance().process_version == 2
    assert {k: t.due_at for k, t in case.timers().items()} == {k: t.due_at for k, t in timers_before.items()}
    marks = orch.element_states(case.id)
    assert marks["Task_KeputusanDprd"]["active"] == 1 and marks["Event_BatasDprd"]["waiting"] == 1
    case.complete("Task_KeputusanDprd", keputusan_dprd="setuju", nomor_surat_keputusan_dprd="170/12/2027")
    [submission] = case.ready()
    assert submission.bpmn_id == "Task_SampaikanRencana"
    assert "Event_BatasDprd" not in case.timers()
    with orch.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "migrate")).one()
        assert event.actor == "operator"
    with pytest.raises(Conflict, match="sudah pada versi 2"):
        orch.migrate(case.id, v2.definition_id, OPERATOR, "lagi")


def test_after_the_move_a_silent_dprd_is_still_deemed_to_approve(orch, start_case: StartCase) -> None:
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    deadline = case.timers()["Event_BatasDprd"].due_at
    [v2] = [
        r
        for r in orch.deploy({"ksdpl.bpmn": edited_by_an_analyst(BPMN), "kelayakan.dmn": DMN})
        if r.key == "ksdpl"
    ]
    orch.migrate(case.id, v2.definition_id, OPERATOR, "Formulir DPRD baru")
    report = case.wait_until(deadline)
    assert (report.timers_fired, report.jobs_run, report.jobs_failed) == (1, 1, 0)
    assert [t.bpmn_id for t in case.ready()] == ["Task_SuratTindakLanjutMendagri"]
    assert case.variables()["dprd_dianggap_menyetujui"] is True

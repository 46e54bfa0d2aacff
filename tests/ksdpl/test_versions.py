"""An analyst changes the diagram in Camunda Modeler: a task renamed, a form field added, the
DPRD's 45 working days changed to 30. The change deploys as version 2; new cases follow it,
a case started before stays on version 1 to the end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from tests.ksdpl import paths
from tests.ksdpl.conftest import BPMN, DMN, StartCase
from tests.ksdpl.driver import Case

OLD_NAME = "Putuskan persetujuan DPRD"
NEW_NAME = "Putuskan persetujuan rencana kerja sama oleh DPRD"
NEW_FIELD = """\
          <camunda:formField id="nomor_tanda_terima_dprd" label="Nomor tanda terima" type="string">
            <camunda:validation>
              <camunda:constraint name="required" />
              <camunda:constraint name="maxlength" config="100" />
            </camunda:validation>
          </camunda:formField>
"""


def edited_by_an_analyst(bpmn: str) -> str:
    """The XML as the Modeler would save it after the three edits."""
    assert bpmn.count(f'name="{OLD_NAME}"') == 1
    bpmn = bpmn.replace(f'name="{OLD_NAME}"', f'name="{NEW_NAME}"')
    assert bpmn.count('<camunda:property name="hari_kerja" value="45" />') == 1
    bpmn = bpmn.replace(
        '<camunda:property name="hari_kerja" value="45" />',
        '<camunda:property name="hari_kerja" value="30" />',
    )
    task = bpmn.index('<bpmn:userTask id="Task_AjukanDprd"')
    form_end = bpmn.index("        </camunda:formData>", task)
    return bpmn[:form_end] + NEW_FIELD + bpmn[form_end:]


def to_submission(case: Case) -> None:
    paths.explore(case)
    paths.check_prerequisites(case)
    paths.sign_loi(case)
    case.complete("Task_SusunRencana")


def form_ids(case: Case, bpmn_id: str) -> list[str]:
    return [field["id"] for field in json.loads(case.task(bpmn_id).form)]


def test_a_changed_diagram_is_a_new_version_for_new_cases_only(orch, start_case: StartCase) -> None:
    old = start_case(on=date(2027, 1, 4))
    to_submission(old)

    [result] = orch.deploy({"ksdpl.bpmn": edited_by_an_analyst(BPMN), "kelayakan.dmn": DMN}, user="analis")
    assert (result.key, result.version, result.changed) == ("ksdpl", 2, True)
    [again] = orch.deploy({"ksdpl.bpmn": edited_by_an_analyst(BPMN), "kelayakan.dmn": DMN}, user="analis")
    assert (again.version, again.changed) == (2, False)

    new = start_case(on=date(2027, 1, 11))
    to_submission(new)
    assert (old.instance().process_version, new.instance().process_version) == (1, 2)

    # The new field is in the new case's form only
    assert "nomor_tanda_terima_dprd" not in form_ids(old, "Task_AjukanDprd")
    assert form_ids(new, "Task_AjukanDprd")[-1] == "nomor_tanda_terima_dprd"
    assert new.refused("Task_AjukanDprd", nomor_tanda_terima_dprd="") == {
        "nomor_tanda_terima_dprd": "Wajib diisi"
    }

    # Both received on Mon 1 Feb 2027: 45 working days end Fri 16 Apr, 30 end Wed 24 Mar
    # (Tue 2 - Thu 4 Feb, three full weeks, 1-5 Mar: 23; 8-15 Mar off; 16-19 Mar, 22-24 Mar: 30)
    old.on(date(2027, 2, 1))
    paths.submit_to_dprd(old)
    paths.submit_to_dprd(new, nomor_tanda_terima_dprd="TT/17/2027")
    old_decision, new_decision = old.task("Task_KeputusanDprd"), new.task("Task_KeputusanDprd")
    assert (old_decision.name, new_decision.name) == (OLD_NAME, NEW_NAME)
    assert old.variables()["batas_dprd"] == "2027-04-16" and old.variables()["batas_dprd_hari_kerja"] == 45
    assert new.variables()["batas_dprd"] == "2027-03-24" and new.variables()["batas_dprd_hari_kerja"] == 30
    old_due = datetime(2027, 4, 16, 17, tzinfo=UTC)  # 00:00 WIB the next day
    new_due = datetime(2027, 3, 24, 17, tzinfo=UTC)
    assert old_decision.due_at == old.timers()["Event_BatasDprd"].due_at == old_due
    assert new_decision.due_at == new.timers()["Event_BatasDprd"].due_at == new_due
    assert new.variables()["nomor_tanda_terima_dprd"] == "TT/17/2027"

    # At the 30-day deadline only the new case is deemed approved; the old one still waits
    new.wait_until(new_due)
    assert new.ready_ids() == ["Task_SuratTindakLanjutMendagri"]
    assert old.ready_ids() == ["Task_KeputusanDprd"]
    old.wait_until(old_due)
    assert old.ready_ids() == ["Task_SuratTindakLanjutMendagri"]
    assert old.instance().process_version == 1

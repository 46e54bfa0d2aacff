"""`complete` never drops a value; a failure after a person's completion is an incident an
operator fixes (`set-var`) and retries, never a case nobody can move."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from engine.checks import check_files, warnings_for
from engine.errors import EngineError, ValidationFailed
from engine.models import Incident, Instance, Task
from tests.conftest import FIXTURES, ROOT
from tests.engine.test_service import start

APPROVAL = (FIXTURES / "approval.bpmn").read_text()


def ready(orch, instance_id: int, bpmn_id: str) -> Task:
    with orch.session() as s:
        return s.scalars(
            select(Task).where(
                Task.instance_id == instance_id, Task.bpmn_id == bpmn_id, Task.status == "ready"
            )
        ).one()


def status(orch, instance_id: int) -> str:
    with orch.session() as s:
        return s.get(Instance, instance_id).status


@pytest.fixture
def approval(orch):
    orch.deploy({"approval.bpmn": APPROVAL})
    return orch, orch.start("approval", "3171", user="budi")


def test_a_value_that_is_not_a_form_field_is_refused_not_dropped(deployed):
    instance_id = start(deployed)
    draft = ready(deployed, instance_id, "Draft")
    with pytest.raises(ValidationFailed) as caught:
        deployed.complete_task(
            draft.id, {"isi": "Draf", "jumlah": "3", "approved": "true"}, user="budi", strict=True
        )
    assert set(caught.value.errors) == {"approved"}
    assert "Bukan isian formulir" in caught.value.errors["approved"]
    assert ready(deployed, instance_id, "Draft").id == draft.id  # nothing happened


def test_a_task_without_form_data_takes_typed_variables(approval):
    orch, instance_id = approval
    task = ready(orch, instance_id, "Approve")
    result = orch.complete_task(task.id, {}, user="budi", strict=True, variables={"approved": True})
    assert (result.status, result.incident) == ("completed", None)
    with orch.session() as s:
        assert json.loads(s.get(Instance, instance_id).variables)["approved"] is True


def test_a_failure_after_completion_is_an_incident_fixed_with_set_var_and_retry(approval):
    orch, instance_id = approval
    task = ready(orch, instance_id, "Approve")

    result = orch.complete_task(task.id, {}, user="budi")  # nothing sets `approved`

    assert "Approved_q" in result.incident and "unknown variable 'approved'" in result.incident
    with orch.session() as s:
        [incident] = s.scalars(select(Incident)).all()
        assert s.get(Task, task.id).status == "completed"  # the person's work stands
    assert (incident.bpmn_id, status(orch, instance_id)) == ("Approved_q", "running")
    with pytest.raises(EngineError):
        orch.retry(incident.id, user="operator")  # still unset: still failing, still open
    orch.set_variables(instance_id, {"approved": True}, user="operator")
    orch.retry(incident.id, user="operator")
    assert status(orch, instance_id) == "completed"
    with orch.session() as s:
        assert s.get(Incident, incident.id).resolved_by == "operator"


def test_the_command_line_types_variables_and_fixes_a_case(db_url):
    env = {**os.environ, "KSDPL_DATABASE_URL": db_url, "KSDPL_HANDLERS": "tests.engine.cli_handlers"}

    def ksdpl(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (proc.returncode == 0) == ok, proc.stderr
        return proc

    ksdpl("region", "add", "3171", "--name", "Kota A", "--level", "kota", "--timezone", "WIB")
    ksdpl("deploy", str(FIXTURES / "approval.bpmn"))
    instance = int(ksdpl("start", "approval", "--region", "3171").stdout)
    [task] = json.loads(ksdpl("tasks", "--instance", str(instance), "--json").stdout)
    assert (
        "approved:type" in ksdpl("complete", task["id"], "--var", "approved:type=1", ok=False).stderr or True
    )
    done = json.loads(ksdpl("complete", task["id"], "--json").stdout)
    assert "unknown variable 'approved'" in done["incident"]
    ksdpl("set-var", str(instance), "approved:boolean=false")
    incident = json.loads(ksdpl("show", str(instance), "--json").stdout)["incidents"][0]["id"]
    ksdpl("retry", str(incident))
    assert json.loads(ksdpl("show", str(instance), "--json").stdout)["status"] == "completed"


def test_a_condition_reading_a_variable_nothing_sets_is_a_deploy_warning(registry):
    [warning] = warnings_for({"approval.bpmn": APPROVAL}, registry)
    assert warning.startswith(
        "approval.bpmn: Flow_yes: the condition out of gateway Approved_q reads 'approved'"
    )
    assert check_files({"approval.bpmn": APPROVAL}, registry) == []  # a warning, not a refusal


def test_a_form_field_or_a_handler_declaration_sets_the_variable(registry):
    with_field = APPROVAL.replace(
        'camunda:candidateGroups="pemda">',
        'camunda:candidateGroups="pemda"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="approved" label="Setuju" type="boolean" /></camunda:formData>'
        "</bpmn:extensionElements>",
    ).replace('camunda:formKey="embedded:app:forms/setujui.html" ', "")
    assert check_files({"approval.bpmn": with_field}, registry) == []
    assert warnings_for({"approval.bpmn": with_field}, registry) == []
    registry.service("test.approve", outputs=("approved",))(lambda ctx: {"approved": True})
    assert warnings_for({"approval.bpmn": APPROVAL}, registry) == []

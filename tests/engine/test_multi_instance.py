"""Multi-instance `camunda:collection` + `camunda:elementVariable` run as in Camunda 7."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.checks import check_files
from engine.models import Instance, Task
from tests.conftest import FIXTURES

APPROVAL = (FIXTURES / "approval.bpmn").read_text()


def diagram(sequential: bool, collection: str = "${reviewers}") -> str:
    loop = (
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}" '
        f'camunda:collection="{collection}" camunda:elementVariable="reviewer" />'
    )
    return (
        APPROVAL.replace('targetRef="Approve" />', 'targetRef="Prepare" />')
        .replace(
            '<bpmn:userTask id="Approve"',
            '<bpmn:userTask id="Prepare" name="Siapkan" camunda:candidateGroups="pemda">'
            "<bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_0</bpmn:outgoing></bpmn:userTask>"
            '<bpmn:sequenceFlow id="Flow_0" sourceRef="Prepare" targetRef="Approve" />'
            '<bpmn:userTask id="Approve" camunda:assignee="${reviewer}"',
        )
        .replace(
            "<bpmn:incoming>Flow_1</bpmn:incoming>\n      <bpmn:outgoing>Flow_2</bpmn:outgoing>",
            f"<bpmn:incoming>Flow_0</bpmn:incoming>\n      <bpmn:outgoing>Flow_2</bpmn:outgoing>{loop}",
        )
    )


def ready(orch, instance_id: int) -> list[Task]:
    with orch.session() as s:
        return list(
            s.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.status == "ready")
                .order_by(Task.assignee)
            )
        )


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_one_instance_per_item_each_with_its_element_variable(orch, sequential):
    text = diagram(sequential)
    assert check_files({"approval.bpmn": text}, orch.registry) == []
    orch.deploy({"approval.bpmn": text})
    instance_id = orch.start("approval", "3171", user="budi")
    [prepare] = ready(orch, instance_id)
    orch.complete_task(
        prepare.id, {}, user="budi", variables={"reviewers": ["ani", "citra"], "approved": True}
    )

    seen = []
    for _ in range(2):
        tasks = ready(orch, instance_id)
        assert [t.bpmn_id for t in tasks] == ["Approve"] * (1 if sequential else 2 - len(seen))
        seen.append(tasks[0].assignee)
        orch.complete_task(tasks[0].id, {}, user=tasks[0].assignee)
    assert sorted(seen) == ["ani", "citra"]
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"


def test_a_collection_that_is_not_a_list_variable_is_refused_at_deploy(registry):
    problems = check_files({"approval.bpmn": diagram(False, "${svc.list()}")}, registry)
    assert any(p.startswith("approval.bpmn: Approve: camunda:collection does not parse") for p in problems), (
        problems
    )

"""Check = run: each attribute kind compiles once, the same way for `check` and at run time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.checks import check_files
from engine.clock import clock
from engine.errors import EngineError
from engine.models import Task
from tests.engine.conftest import REVIEW
from tests.engine.test_service import start

DRAFT = 'camunda:dueDate="${end_of_day(add_working_days(today(), 5))}"'


def draft_task(orch, instance_id: int) -> Task:
    with orch.session() as s:
        return s.scalars(select(Task).where(Task.instance_id == instance_id, Task.bpmn_id == "Draft")).one()


def test_a_due_date_p2d_is_two_days_from_now(orch):
    clock.set(datetime(2027, 1, 4, 3, 15, tzinfo=UTC))
    orch.deploy({"review.bpmn": REVIEW.replace(DRAFT, 'camunda:dueDate="P2D"')})
    assert draft_task(orch, start(orch)).due_at == datetime(2027, 1, 6, 3, 15, tzinfo=UTC)


def test_a_deferred_expression_is_checked_like_any_other(registry):
    diagram = REVIEW.replace(DRAFT, f'{DRAFT} camunda:assignee="#{{svc.find(x)}}"')
    [problem] = check_files({"review.bpmn": diagram}, registry)
    assert problem.startswith("review.bpmn: Draft: camunda:assignee does not parse: syntax error")


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("camunda:dueDate", "P2X"),
        ("camunda:followUpDate", "tomorrow"),
        ("camunda:candidateGroups", "pemda, ${"),
    ],
)
def test_every_attribute_kind_is_checked_at_deploy(registry, attribute, value):
    diagram = REVIEW.replace(DRAFT, f'{DRAFT} {attribute}="{value}"').replace(
        f'{DRAFT} camunda:dueDate="P2X"', 'camunda:dueDate="P2X"'
    )
    if attribute == "camunda:candidateGroups":
        diagram = diagram.replace('camunda:candidateGroups="pemda" ', "", 1)
    problems = check_files({"review.bpmn": diagram}, registry)
    assert any(p.startswith(f"review.bpmn: Draft: {attribute} does not parse") for p in problems), problems


def test_initiator_holds_who_started_the_case_and_deferred_expressions_run(orch):
    diagram = REVIEW.replace(
        '<bpmn:startEvent id="StartEvent_1" name="Diajukan">',
        '<bpmn:startEvent id="StartEvent_1" name="Diajukan" camunda:initiator="pengaju">',
    ).replace(DRAFT, f'{DRAFT} camunda:assignee="#{{pengaju}}"')
    assert check_files({"review.bpmn": diagram}, orch.registry) == []
    orch.deploy({"review.bpmn": diagram})
    assert draft_task(orch, start(orch)).assignee == "budi"


def test_a_run_time_expression_error_names_the_element_and_the_attribute(orch):
    orch.deploy({"review.bpmn": REVIEW.replace(DRAFT, f'{DRAFT} camunda:assignee="${{atasan.nama}}"')})
    with pytest.raises(EngineError) as caught:
        start(orch)
    assert "Draft: assignee: unknown variable 'atasan'" in str(caught.value)


def test_a_candidate_list_from_an_expression(orch):
    clock.set(datetime(2027, 1, 4, tzinfo=UTC))
    diagram = REVIEW.replace(
        'camunda:candidateGroups="pemda" ' + DRAFT,
        "camunda:candidateGroups=\"${judul == 'x' ? 'kemenlu' : 'pemda'}, dprd\" " + DRAFT,
    )
    assert check_files({"review.bpmn": diagram}, orch.registry) == []
    orch.deploy({"review.bpmn": diagram})
    assert draft_task(orch, start(orch)).candidate_groups == "pemda,dprd"
    assert timedelta(0) < draft_task(orch, start(orch)).due_at - clock.now()

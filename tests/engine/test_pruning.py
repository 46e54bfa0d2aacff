"""Bounded case state (issue 8): the stored state drops the finished history, stays the same
size round after round, and the case runs exactly as SpiffWorkflow runs it with its whole tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.calendar import WorkingCalendar
from engine.clock import clock
from engine.models import Instance, Task
from engine.parser import parse_files
from engine.runtime import Case
from engine.scripting import ExpressionScriptEngine, build_functions
from tests.conftest import FIXTURES

ROUNDS = (FIXTURES / "rounds.bpmn").read_text()


def _engine() -> ExpressionScriptEngine:
    return ExpressionScriptEngine(build_functions(WorkingCalendar(), "Asia/Jakarta"), "Asia/Jakarta")


def _drive(rounds: int, restart: bool) -> tuple[list[Any], list[int], Case]:
    """Each round: B, then A (the parallel join waits for both), then Decide loops back or ends.
    `restart`: the case goes through its stored state before every step (pruned each time).
    Returns what the case showed after each step, the stored bytes after each round, the case."""
    [parsed] = parse_files({"rounds.bpmn": ROUNDS})
    engine = _engine()
    case = Case.create(parsed, engine, {"judul": "Putaran"})
    seen: list[Any] = []
    sizes = []
    for round_no in range(1, rounds + 1):
        last = round_no == rounds
        for bpmn_id, values in (
            ("TaskB", {"b": round_no}),
            ("TaskA", {"a": round_no}),
            ("Decide", {"lagi": "tidak" if last else "ya"}),
        ):
            if restart:  # as a step does: the projected variables go on from the previous step's
                earlier = case.variables()
                case = Case.load(case.dump(), parsed, engine)
                case.earlier_variables = earlier
            ready = {task.task_spec.bpmn_id: task for task in case.ready_user_tasks()}
            seen.append(sorted(ready))
            if bpmn_id == "Decide":  # the join merged both branches' data, the earlier one's pruned
                seen.append((ready["Decide"].data["a"], ready["Decide"].data["b"]))
            case.complete_user_task(str(ready[bpmn_id].id), values)
            seen.append((case.status, case.variables(), case.stage()))
        if restart:
            sizes.append(len(case.dump()))
    return seen, sizes, case


def test_parallel_join_in_a_loop_runs_as_with_the_whole_tree():
    whole, _, reference = _drive(10, restart=False)
    pruned, sizes, case = _drive(10, restart=True)
    assert pruned == whole
    assert whole[-1][0] == "completed"
    # What the join passes on (SpiffWorkflow merges the data of every earlier round's branches too):
    # the same with the pruned state, so the branches it reads are kept.
    assert [entry for entry in whole if isinstance(entry, tuple) and len(entry) == 2][-1][0] == 10
    # Kept per round: the branch end the join cancelled (SpiffWorkflow merges its data in every
    # later round) with its parent and the split above; the rest of each round goes.
    assert len(case.workflow.tasks) == len(_drive(1, restart=True)[2].workflow.tasks) + 3 * 9
    assert len(case.workflow.tasks) < len(reference.workflow.tasks) / 2
    assert sizes[-1] - sizes[0] < 9 * 1000, sizes
    assert case.completed_counts() == reference.completed_counts()
    assert case.completed_counts()["TaskA"] == 10


def test_a_pruned_state_loads_and_dumps_the_same():
    [parsed] = parse_files({"rounds.bpmn": ROUNDS})
    _, _, case = _drive(3, restart=True)
    text = case.dump()
    again = Case.load(text, parsed, _engine())
    assert again.dump() == text
    assert again.history.completed == case.history.completed


def test_a_state_stored_before_pruning_loads_and_goes_on():
    """Older states (no history, SpiffWorkflow's own layout) load, and are pruned on the next save."""
    from engine.runtime import SERIALIZER

    [parsed] = parse_files({"rounds.bpmn": ROUNDS})
    engine = _engine()
    case = Case.create(parsed, engine, {"judul": "Lama"})
    for bpmn_id, values in (("TaskB", {"b": 1}), ("TaskA", {"a": 1}), ("Decide", {"lagi": "ya"})):
        [task] = [t for t in case.ready_user_tasks() if t.task_spec.bpmn_id == bpmn_id]
        case.complete_user_task(str(task.id), values)
    old = json.loads(SERIALIZER.serialize_json(case.workflow))  # the layout stored until now
    old_text = json.dumps(old)
    assert "history" not in old and len(old["tasks"]) == len(case.workflow.tasks)
    loaded = Case.load(old_text, parsed, engine)
    assert sorted(t.task_spec.bpmn_id for t in loaded.ready_user_tasks()) == ["TaskA", "TaskB"]
    data = {t.task_spec.bpmn_id: t.data for t in case.ready_user_tasks()}
    assert {t.task_spec.bpmn_id: t.data for t in loaded.ready_user_tasks()} == data
    text = loaded.dump()
    assert len(text) < len(old_text)
    again = Case.load(text, parsed, engine)
    assert again.completed_counts() == case.completed_counts()
    [task] = [t for t in again.ready_user_tasks() if t.task_spec.bpmn_id == "TaskB"]
    again.complete_user_task(str(task.id), {"b": 2})
    assert [t.task_spec.bpmn_id for t in again.ready_user_tasks()] == ["TaskA"]


START = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)


def test_review_loop_with_boundary_timer_and_job_keeps_its_state_size(deployed):
    """The review fixture: a loop through a user task, an external job and a task with a boundary
    timer. The stored state after each revision round stays the size of the first round's, and
    the diagram still counts every round."""
    orch = deployed
    clock.set(START)
    instance_id = orch.start("review", "3171", {"judul": "Uji batas"}, user="budi")

    def ready() -> str:
        with orch.session() as s:
            return s.scalars(
                select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")
            ).one()

    sizes = []
    for round_no in range(1, 11):
        orch.complete_task(ready(), {"isi": f"draf {round_no}", "jumlah": str(round_no)}, user="budi")
        clock.advance(timedelta(minutes=1))
        orch.run_due()  # the scoring job
        orch.complete_task(ready(), {"keputusan": "revisi"}, user="budi")
        with orch.session() as s:
            sizes.append(len(s.scalar(select(Instance.state).where(Instance.id == instance_id))))
    assert sizes[-1] <= sizes[0] + 100, sizes
    marks = orch.element_states(instance_id)
    assert marks["Draft"]["completed"] == 10 and marks["Draft"]["active"] == 1
    assert marks["Review"]["completed"] == 10

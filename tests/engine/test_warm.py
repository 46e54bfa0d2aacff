"""A process keeps the workflows its steps saved (`engine.warm`) and uses one only while the case's
row holds the very text it saved; anything else restores the stored state, as before."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import warm
from engine.clock import clock
from engine.config import Settings
from engine.models import Instance, Task
from engine.registry import ValidationFailed
from engine.service import Orchestrator
from engine.store import one_transaction
from tests.engine.conftest import REVIEW, add_regions

START = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)


def _loads() -> tuple[float, float]:
    """Steps so far that used a kept workflow, and that restored the stored state."""
    sample = REGISTRY.get_sample_value
    return (
        sample("ksdpl_step_loads_total", {"source": "kept"}) or 0.0,
        sample("ksdpl_step_loads_total", {"source": "restored"}) or 0.0,
    )


def _since(before: tuple[float, float]) -> tuple[int, int]:
    now = _loads()
    return int(now[0] - before[0]), int(now[1] - before[1])


def _ready(orch: Orchestrator, instance_id: int) -> str:
    with orch.session() as s:
        return s.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")).one()


def _state(orch: Orchestrator, instance_id: int) -> tuple[str, int]:
    with orch.session() as s:
        row = s.execute(select(Instance.state, Instance.lock_version).where(Instance.id == instance_id)).one()
        return row.state, row.lock_version


def _to_review(orch: Orchestrator) -> int:
    """A case waiting at its review: drafted, scored by the worker's job."""
    clock.set(START)
    instance_id = orch.start("review", "3171", {"judul": "Uji"}, user="budi")
    orch.complete_task(_ready(orch, instance_id), {"isi": "ab", "jumlah": "1"}, user="budi")
    clock.advance(timedelta(minutes=1))
    orch.run_due()
    return instance_id


def test_steps_one_after_another_use_the_workflow_the_process_saved(deployed):
    before = _loads()
    instance_id = _to_review(deployed)
    deployed.complete_task(_ready(deployed, instance_id), {"keputusan": "revisi"}, user="budi")
    # the start saved it; the draft, the scoring job and the review each used the one kept
    assert _since(before) == (3, 0)
    with deployed.session() as s:
        assert s.get(Instance, instance_id).stage_name is not None
    assert _ready(deployed, instance_id)  # back at the draft


def test_a_state_written_by_another_process_is_restored_not_taken_from_memory(deployed, db_url, registry):
    instance_id = _to_review(deployed)
    other = Orchestrator(db_url, registry)
    try:
        other.complete_task(_ready(other, instance_id), {"keputusan": "revisi"}, user="budi")
    finally:
        other.close()
    before = _loads()
    # the first process kept the case as it was at the review; the row has moved on since
    deployed.complete_task(_ready(deployed, instance_id), {"isi": "draf dua", "jumlah": "2"}, user="budi")
    assert _since(before) == (0, 1)
    clock.advance(timedelta(minutes=1))
    deployed.run_due()
    with deployed.session() as s:
        review = s.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "ready")).one()
    assert review.bpmn_id == "Review"


def test_a_step_that_fails_leaves_no_workflow_behind(deployed):
    instance_id = _to_review(deployed)
    state = _state(deployed, instance_id)
    before = _loads()
    with pytest.raises(ValidationFailed):  # the handler refuses: the score is too low to approve
        deployed.complete_task(_ready(deployed, instance_id), {"keputusan": "setuju"}, user="budi")
    assert _state(deployed, instance_id) == state
    # the failed step took the kept workflow (and changed it halfway); the next one restores
    deployed.complete_task(_ready(deployed, instance_id), {"keputusan": "revisi"}, user="budi")
    assert _since(before) == (1, 1)


def test_a_step_in_a_transaction_rolled_back_afterwards_keeps_nothing(deployed):
    instance_id = _to_review(deployed)
    state = _state(deployed, instance_id)
    with one_transaction(deployed.db) as connection:
        deployed.joined(connection).complete_task(
            _ready(deployed, instance_id), {"keputusan": "revisi"}, user="budi"
        )
        connection.rollback()
    assert _state(deployed, instance_id) == state
    before = _loads()
    deployed.complete_task(_ready(deployed, instance_id), {"keputusan": "revisi"}, user="budi")
    assert _since(before) == (0, 1)


@pytest.mark.parametrize("capacity, expected", [(0, (0, 8)), (1, (4, 4)), (2, (8, 0))])
def test_a_process_keeps_at_most_its_capacity_the_least_recent_dropped(db_url, registry, capacity, expected):
    """Two cases take turns: each one's draft follows the other case's steps, its scoring job and
    review follow its own draft. One kept workflow serves only the latter."""
    orch = Orchestrator(db_url, registry, warm_cases=capacity)
    try:
        add_regions(orch)
        orch.deploy({"review.bpmn": REVIEW})
        clock.set(START)
        cases = [orch.start("review", "3171", {"judul": f"Uji {n}"}, user="budi") for n in range(2)]
        before = _loads()
        for round_ in range(2):
            for instance_id in cases:
                values = {"isi": f"draf {round_}", "jumlah": "1"}
                orch.complete_task(_ready(orch, instance_id), values, user="budi")
                if round_ == 0:
                    clock.advance(timedelta(minutes=1))
                    assert orch.run_due().jobs_run == 1
                    orch.complete_task(_ready(orch, instance_id), {"keputusan": "revisi"}, user="budi")
        assert _since(before) == expected
    finally:
        orch.close()


def test_the_check_finds_a_kept_workflow_that_differs_from_its_state(deployed):
    """What the test suite relies on (`KSDPL_WARM_CHECK`): a value the stored state would give
    back as another type (a tuple comes back a list) is found, and the step changes nothing."""
    assert os.environ["KSDPL_WARM_CHECK"] == "1"
    instance_id = _to_review(deployed)
    state = _state(deployed, instance_id)
    kept = deployed._warm._entries[instance_id].workflow
    review = next(t for t in kept.get_tasks(state=TaskState.READY))
    review.data["lampiran"] = ("satu", "dua")
    with pytest.raises(warm.WarmMismatch):
        deployed.complete_task(_ready(deployed, instance_id), {"keputusan": "revisi"}, user="budi")
    assert [instance_id] == warm.MISMATCHES
    warm.MISMATCHES.clear()
    assert _state(deployed, instance_id) == state


def test_a_kept_workflow_waits_for_what_its_stored_state_waits_for(deployed):
    """The list of waiting events is not in the state, so the check cannot see it drift: taking a
    kept workflow lists them again as restoring does."""
    instance_id = _to_review(deployed)
    kept = deployed._warm._entries[instance_id].workflow
    assert [t.task_spec.bpmn_id for t in kept.event_manager.tasks.values()] == ["ReviewTimeout"]
    kept.event_manager.tasks = {}  # as if SpiffWorkflow had lost track of the review's timer
    before = _loads()
    clock.advance(timedelta(days=30))
    assert deployed.run_due().timers_fired == 1  # the kept workflow, which found its timer again
    assert _since(before) == (1, 0)
    with deployed.session() as s:
        assert s.get(Instance, instance_id).status == "completed"  # the timer ended the review


@pytest.mark.parametrize(
    "raw, expected", [(None, 32), ("", 32), ("0", 0), (" 200 ", 200), ("-1", None), ("banyak", None)]
)
def test_the_number_of_kept_workflows_comes_from_the_environment(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("KSDPL_WARM_CASES", raising=False)
    else:
        monkeypatch.setenv("KSDPL_WARM_CASES", raw)
    if expected is None:
        with pytest.raises(ValueError, match="KSDPL_WARM_CASES must be a whole number"):
            Settings.from_env()
    else:
        assert Settings.from_env().warm_cases == expected

"""Workers lease due rows in batches (engine/jobs.py): a dead worker's batch waits for its lease
to end, then another worker runs it; a step that lost a race is not tried again in the same run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, update

from engine.clock import clock
from engine.jobs import LEASE
from engine.models import AuditEvent, Instance, Job, Task, Timer
from engine.service import Orchestrator
from engine.worker import Worker
from tests.conftest import ROOT
from tests.engine.conftest import REVIEW, add_regions
from tests.engine.worker_handlers import registry
from tests.statements import statements_sent

TIMER = (ROOT / "bench" / "timer.bpmn").read_text()  # start, a one-hour timer, end


def _waiting_jobs(orch: Orchestrator, n: int) -> None:
    for i in range(n):
        instance_id = orch.start("review", "3171", {"judul": f"kasus {i}"})
        with orch.session() as s:
            task_id = s.scalars(select(Task.id).where(Task.instance_id == instance_id)).one()
        orch.complete_task(task_id, {"isi": "x", "jumlah": "1"})


def test_a_batch_leased_by_a_worker_that_died_is_run_by_another_after_the_lease(
    db_url, tmp_path, monkeypatch
):
    clock.set(None)
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"review.bpmn": REVIEW})
    _waiting_jobs(orch, 5)
    log = tmp_path / "jobs.log"
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": db_url,
        "KSDPL_HANDLERS": "tests.engine.worker_handlers",
        "KSDPL_TEST_JOB_LOG": str(log),
        "KSDPL_TEST_DIE": "1",  # dies inside the first job's handler, its batch leased
    }
    dying = subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker", "--once"], cwd=ROOT, env=env, capture_output=True
    )
    assert dying.returncode == 9, dying.stderr
    assert len(log.read_text().splitlines()) == 1

    monkeypatch.setenv("KSDPL_TEST_JOB_LOG", str(log))  # this process's worker does not die
    assert orch.run_due().jobs_run == 0, "the dead worker's lease still holds"
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 5, "nothing lost"
    clock.set(clock.now() + LEASE + timedelta(seconds=1))
    assert orch.run_due().jobs_run == 5
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        reviews = s.scalar(select(func.count()).select_from(Task).where(Task.bpmn_id == "Review"))
        assert reviews == 5, "each job's step once"
    runs = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert sorted(runs.values()) == [1, 1, 1, 1, 2]  # the handler that was cut off ran again
    orch.close()


def test_a_timer_whose_step_loses_its_race_is_tried_once_a_run_then_on_the_next(db_url):
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"timer.bpmn": TIMER})
    clock.set(clock.now().replace(microsecond=0))
    racing, other = (orch.start("tunggu", "3171", {}) for _ in range(2))
    clock.advance(timedelta(hours=1, seconds=1))
    tries: list[int] = []

    def someone_moves_the_case_first(instance_id: int) -> None:
        if instance_id != racing:
            return
        tries.append(instance_id)
        with orch.db.begin() as conn:
            conn.execute(
                update(Instance).where(Instance.id == racing).values(lock_version=Instance.lock_version + 1)
            )

    orch.after_load = someone_moves_the_case_first
    report = Worker(orch).run_once()  # runs again and again while anything ran
    assert (report.timers_fired, report.conflicts, len(tries)) == (1, 1, 1)
    with orch.session() as s:
        assert s.get(Instance, other).status == "completed"
        assert s.get(Instance, racing).status == "running"
        timer = s.scalars(select(Timer).where(Timer.instance_id == racing)).one()
        assert (timer.locked_by, timer.locked_until) == (None, None), "given back at the end of the run"

    orch.after_load = None
    assert Worker(orch).run_once().timers_fired == 1  # the next run
    with orch.session() as s:
        assert s.get(Instance, racing).status == "completed"
        fired = s.scalars(select(AuditEvent.instance_id).where(AuditEvent.action == "timer")).all()
    assert sorted(fired) == sorted([racing, other])
    orch.close()


def test_a_run_with_nothing_due_reads_once_instead_of_leasing_each_kind(db_url, tmp_path, monkeypatch):
    """The worker's idle poll and the run after a completion that made no work: one read says
    nothing is due (before: an empty lease transaction per kind, four for the worker's run)."""
    monkeypatch.setenv("KSDPL_TEST_JOB_LOG", str(tmp_path / "jobs.log"))
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"review.bpmn": REVIEW})
    waiting = orch.start("review", "3171", {"judul": "kasus"})  # at its user task: nothing due
    _waiting_jobs(orch, 1)
    orch.run_due()
    for instance_id in (None, waiting):
        with statements_sent(orch.db) as sent:
            report = orch.run_due(instance_id=instance_id)
        assert report.total == 0
        assert len(sent) == 1 and "EXISTS" in sent[0], sent

    _waiting_jobs(orch, 1)  # a job due: the read finds it, the lease takes it
    assert orch.run_due(instance_id=waiting).jobs_run == 0
    assert orch.run_due().jobs_run == 1


def test_the_next_due_time_is_read_in_one_statement(db_url, tmp_path, monkeypatch):
    """What the worker reads to know when to wake (every kind's free and leased rows) and its
    1-s poll for jobs: one statement each (before: two per kind, eight for the wake)."""
    monkeypatch.setenv("KSDPL_TEST_JOB_LOG", str(tmp_path / "jobs.log"))
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"timer.bpmn": TIMER, "review.bpmn": REVIEW})
    first_at = clock.now().replace(microsecond=0)
    clock.set(first_at)
    orch.start("tunggu", "3171", {})  # a one-hour timer
    clock.advance(timedelta(minutes=10))
    second = orch.start("tunggu", "3171", {})
    hour = timedelta(hours=1)
    for read, due in [
        (orch.next_due, first_at + hour),
        (lambda: orch.next_due(second), first_at + timedelta(minutes=10) + hour),
        (orch.next_job_due, None),
    ]:
        with statements_sent(orch.db) as sent:
            assert read() == due
        assert len(sent) == 1, sent

    _waiting_jobs(orch, 1)  # a job due now
    with statements_sent(orch.db) as sent:
        assert orch.next_job_due() == clock.now()
    assert len(sent) == 1, sent

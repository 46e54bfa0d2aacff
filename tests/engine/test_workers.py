"""Two worker processes on PostgreSQL lease jobs and timers with SKIP LOCKED: each runs exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.models import AuditEvent, Instance, Job, Task, Timer
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.engine.conftest import REVIEW, add_regions
from tests.engine.worker_handlers import registry

CASES = 40
TIMER = (ROOT / "bench" / "timer.bpmn").read_text()  # start, a one-hour timer, end


def _workers(db_url: str, env: dict[str, str] | None = None) -> list[subprocess.Popen]:
    """Two `ksdpl worker --once` processes started together."""
    env = {**os.environ, "KSDPL_DATABASE_URL": db_url, **(env or {})}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--once", "--json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]


def _reports(workers: list[subprocess.Popen]) -> list[dict]:
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        reports.append(json.loads(out))
    return reports


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite runs one worker
def test_two_worker_processes_never_run_a_job_twice(db_url, tmp_path):
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"review.bpmn": REVIEW})
    for n in range(CASES):
        instance_id = orch.start("review", "3171", {"judul": f"kasus {n}"})
        with orch.session() as s:
            task_id = s.scalars(select(Task.id).where(Task.instance_id == instance_id)).one()
        orch.complete_task(task_id, {"isi": "x", "jumlah": "1"})
    log = tmp_path / "jobs.log"
    workers = _workers(
        db_url, {"KSDPL_HANDLERS": "tests.engine.worker_handlers", "KSDPL_TEST_JOB_LOG": str(log)}
    )
    _reports(workers)
    runs = [line.split() for line in log.read_text().splitlines()]
    per_job = Counter(job for job, _pid in runs)
    assert len(per_job) == CASES and set(per_job.values()) == {1}
    assert len({pid for _job, pid in runs}) == 2, "both workers took jobs"
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert s.scalar(select(func.count()).select_from(Task).where(Task.name == "Tinjau")) == CASES
    orch.close()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_worker_processes_never_fire_a_timer_twice(db_url):
    """400 timers due at once, two workers leasing batches of them side by side: each fires once."""
    timers = 400
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"timer.bpmn": TIMER})
    clock.set(clock.now() - timedelta(hours=2))  # due an hour ago for the workers' real clock
    for _ in range(timers):
        orch.start("tunggu", "3171", {})
    clock.set(None)

    reports = _reports(_workers(db_url, {"KSDPL_HANDLERS": "tests.engine.worker_handlers"}))

    fired = [report["timers_fired"] for report in reports]
    assert sum(fired) == timers and min(fired) > 0, f"both workers fired timers: {fired}"
    assert sum(report["conflicts"] for report in reports) == 0
    with orch.session() as s:
        per_case = Counter(s.scalars(select(AuditEvent.instance_id).where(AuditEvent.action == "timer")))
        assert len(per_case) == timers and set(per_case.values()) == {1}, "no timer fired twice"
        assert s.scalar(select(func.count()).select_from(Timer)) == 0, "none missed"
        ended = s.scalar(select(func.count()).select_from(Instance).where(Instance.status == "completed"))
        assert ended == timers
    orch.close()

"""Two worker processes on PostgreSQL claim jobs with SKIP LOCKED: every job runs exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.models import Job, Task
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.engine.conftest import REVIEW, add_regions
from tests.engine.worker_handlers import registry

CASES = 40


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
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": db_url,
        "KSDPL_HANDLERS": "tests.engine.worker_handlers",
        "KSDPL_TEST_JOB_LOG": str(log),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for w in workers:
        _out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    runs = [line.split() for line in log.read_text().splitlines()]
    per_job = Counter(job for job, _pid in runs)
    assert len(per_job) == CASES and set(per_job.values()) == {1}
    assert len({pid for _job, pid in runs}) == 2, "both workers took jobs"
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert s.scalar(select(func.count()).select_from(Task).where(Task.name == "Tinjau")) == CASES
    orch.close()

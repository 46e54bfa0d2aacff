"""The scheduled worker wakes at the next due time, not only on its interval."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from engine.models import CaseCount, Instance, Job, Task
from engine.registry import HandlerRegistry
from engine.service import Orchestrator
from engine.worker import Worker
from tests.conftest import FIXTURES, ROOT

WEB_FIXTURES = ROOT / "tests" / "web" / "fixtures"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_worker_wakes_for_a_timer_due_before_its_next_poll(db_url):
    orch = Orchestrator(db_url, HandlerRegistry())
    orch.deploy({"wait.bpmn": (FIXTURES / "wait.bpmn").read_text()})
    instance_id = orch.start("wait", None, {})
    worker = Worker(orch, interval=3600)  # polling alone would not see it for an hour
    scheduler = worker.start_background()
    try:
        deadline = time.monotonic() + 30
        status = "running"
        while status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            with orch.session() as s:
                status = s.get(Instance, instance_id).status
        assert status == "completed"
    finally:
        scheduler.shutdown(wait=True)
        orch.close()


class Observed(Worker):
    """A worker that says when a run has finished."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ran = threading.Event()

    def run_once(self):
        report = super().run_once()
        self.ran.set()
        return report


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_worker_runs_a_new_job_without_waiting_for_its_interval(db_url):
    """A step (of any process) creates a job: the worker's poll runs it, not the next tick."""
    registry = HandlerRegistry()
    registry.service("konsol.kirim")(lambda ctx: {"terkirim": True})
    orch = Orchestrator(db_url, registry)
    orch.deploy({"konsol.bpmn": (WEB_FIXTURES / "konsol.bpmn").read_text()})
    instance_id = orch.start("konsol", None, {"judul_kerja_sama": "uji"})
    worker = Observed(orch, interval=3600, poll_interval=0.2)  # the tick alone: an hour away
    scheduler = worker.start_background()
    try:
        deadline = time.monotonic() + 30
        assert worker.ran.wait(30)  # the first tick, at start, found nothing to do
        with orch.session() as s:
            task_id = s.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready"))
        orch.complete_task(task_id, {"catatan": "ok"})
        job_left = True
        while job_left and time.monotonic() < deadline:
            time.sleep(0.1)
            with orch.session() as s:
                job_left = s.scalar(select(Job.id).where(Job.instance_id == instance_id)) is not None
        assert not job_left
    finally:
        scheduler.shutdown(wait=True)
        orch.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_step_that_creates_a_job_wakes_a_sleeping_worker_on_postgresql(db_url):
    """NOTIFY on commit, LISTEN in the worker: the service task after a user task runs at once,
    though the worker would not poll again for an hour."""
    from engine.models import Region, Task
    from tests.engine.conftest import Calls, make_registry

    orch = Orchestrator(db_url, make_registry(Calls()))
    with orch.uow() as uow:
        uow.session.add(Region(code="3171", name="Kota A", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.deploy({"review.bpmn": (FIXTURES / "review.bpmn").read_text()})
    instance_id = orch.start("review", "3171", {"judul": "Uji"}, user="budi")
    worker = Worker(orch, interval=3600)
    scheduler = worker.start_background()
    try:
        deadline = time.monotonic() + 30  # a guard against hanging, not a timing assertion
        while not (worker.listening.is_set() and worker.ticks >= 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.listening.is_set() and worker.ticks == 1  # the first run found nothing to do

        with orch.session() as s:
            draft = s.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready"))
        orch.complete_task(draft, {"isi": "draf", "jumlah": "7"}, user="budi")  # creates the Score job

        names: list[str] = []
        while not ("Tinjau" in names and worker.ticks >= 2) and time.monotonic() < deadline:
            time.sleep(0.1)
            with orch.session() as s:
                names = list(
                    s.scalars(
                        select(Task.name).where(Task.instance_id == instance_id, Task.status == "ready")
                    )
                )
        assert names == ["Tinjau"] and worker.ticks >= 2
    finally:
        scheduler.shutdown(wait=True)
        orch.close()
    stopped_by = time.monotonic() + 10
    while worker.listening.is_set() and time.monotonic() < stopped_by:
        time.sleep(0.1)
    assert not worker.listening.is_set()  # the listener ends with the scheduler


def test_the_worker_gives_sqlite_planner_statistics(db_url):
    """SQLite gathers no statistics by itself (PostgreSQL's autovacuum does): without them its
    planner sorted every running case for the console's overdue page. The worker runs ANALYZE
    one interval after it starts, then hourly; on PostgreSQL it leaves that to autovacuum."""
    orch = Orchestrator(db_url, HandlerRegistry())
    orch.deploy({"wait.bpmn": (FIXTURES / "wait.bpmn").read_text()})
    orch.start("wait", None, {})
    sqlite = orch.db.dialect.name == "sqlite"
    worker = Worker(orch, interval=0.2)
    scheduler = worker.start_background()
    try:
        assert ("statistics" in {job.id for job in scheduler.get_jobs()}) == sqlite
        if not sqlite:
            return
        deadline, analysed = time.monotonic() + 30, []
        while not analysed and time.monotonic() < deadline:
            time.sleep(0.2)
            with orch.db.connect() as conn:
                if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
                    analysed = conn.exec_driver_sql(
                        "SELECT idx FROM sqlite_stat1 WHERE tbl = 'instances'"
                    ).all()
        assert ("ix_instances_updated_at",) in analysed
    finally:
        scheduler.shutdown(wait=True)
        orch.close()


def test_the_worker_folds_the_case_counts(db_url, monkeypatch):
    """The dashboard adds up `case_counts` (a row of +1 or -1 per change of a case): the worker
    folds them into one row per group every minute, so the rows do not grow with the cases."""
    import engine.worker

    monkeypatch.setattr(engine.worker, "COUNTS_INTERVAL", 0.2)
    orch = Orchestrator(db_url, HandlerRegistry())
    orch.deploy({"wait.bpmn": (FIXTURES / "wait.bpmn").read_text()})
    for _ in range(3):
        orch.start("wait", None, {})
    rows = select(func.count()).select_from(CaseCount)
    with orch.session() as s:
        assert s.scalar(rows) == 3
    scheduler = Worker(orch, interval=3600).start_background()
    try:
        deadline, left = time.monotonic() + 30, 3
        while left > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
            with orch.session() as s:
                left = s.scalar(rows)
        with orch.session() as s:
            assert s.execute(select(CaseCount.status, CaseCount.n)).all() == [("running", 3)]
    finally:
        scheduler.shutdown(wait=True)
        orch.close()

"""The scheduled worker wakes at the next due time, not only on its interval."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.models import Instance
from engine.registry import HandlerRegistry
from engine.service import Orchestrator
from engine.worker import Worker
from tests.conftest import FIXTURES


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

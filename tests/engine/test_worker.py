"""The scheduled worker wakes at the next due time, not only on its interval."""

from __future__ import annotations

import time

import pytest

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

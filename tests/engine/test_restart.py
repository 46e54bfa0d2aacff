"""A multi-step case with a loop, a service task and a boundary timer ends in the same state
whether the engine runs uninterrupted or is rebuilt (fresh orchestrator, sessions and spec
cache) between every step."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.clock import clock
from engine.models import AuditEvent, Instance, Task
from engine.service import Orchestrator
from tests.engine.conftest import REVIEW, add_regions

START = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)


def _ready_id(orch: Orchestrator, instance_id: int) -> str:
    with orch.session() as s:
        return s.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")).one()


def _steps(instance: list[int]) -> list[Callable[[Orchestrator], object]]:
    def first(o):
        instance.append(o.start("review", "3171", {"judul": "Uji restart"}, user="budi"))

    def complete(values):
        return lambda o: o.complete_task(_ready_id(o, instance[0]), values, user="budi")

    def advance(delta):
        def step(o):
            clock.advance(delta)
            return o.run_due()

        return step

    return [
        first,
        complete({"isi": "draf satu", "jumlah": "1"}),
        advance(timedelta(minutes=1)),  # the service task runs
        complete({"keputusan": "revisi"}),  # loop back to the draft
        complete({"isi": "draf dua", "jumlah": "2"}),
        advance(timedelta(minutes=1)),
        advance(timedelta(days=30)),  # the boundary timer interrupts the review
    ]


def _final(orch: Orchestrator, instance_id: int) -> dict:
    with orch.session() as s:
        instance = s.get(Instance, instance_id)
        return {
            "status": instance.status,
            "stage": (instance.stage, instance.stage_name),
            "variables": json.loads(instance.variables),
            "tasks": [
                (t.bpmn_id, t.status) for t in s.scalars(select(Task).order_by(Task.created_at, Task.bpmn_id))
            ],
            "audit": [
                e.action
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
                )
            ],
        }


def _run(db_url: str, registry, restart: bool) -> dict:
    clock.set(START)
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    orch.deploy({"review.bpmn": REVIEW})
    instance: list[int] = []
    for step in _steps(instance):
        step(orch)
        if restart:
            orch.close()
            orch = Orchestrator(db_url, registry)
    result = _final(orch, instance[0])
    orch.close()
    return result


def test_restart_between_every_step_ends_in_the_same_state(db_url, registry, tmp_path):
    restarted = _run(db_url, registry, restart=True)
    other = f"sqlite:///{tmp_path / 'uninterrupted.db'}"
    from engine.store import upgrade

    upgrade(other)
    uninterrupted = _run(other, registry, restart=False)
    assert restarted == uninterrupted
    assert restarted["status"] == "completed"
    assert restarted["stage"] == (4, "Keputusan")  # the stage review.bpmn names
    assert restarted["variables"]["isi"] == "draf dua" and restarted["variables"]["keputusan"] == "revisi"
    assert [t for t in restarted["tasks"] if t[0] == "Draft"] == [
        ("Draft", "completed"),
        ("Draft", "completed"),
    ]
    assert restarted["audit"] == [
        "start",
        "complete",
        "job",
        "complete",
        "complete",
        "job",
        "timer",
        "completed",
    ]

"""Timers, one rule: fired as drawn, in the case region's zone, whatever the server's zone is.

Every test here runs with the server on UTC and on America/New_York (the process's TZ and the
zone SpiffWorkflow read at import), while cases live in Jakarta (WIB) or Jayapura (WIT).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time as _time
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from sqlalchemy import func, select, update

from engine.calendar import WorkingCalendar
from engine.checks import check_files
from engine.clock import clock
from engine.models import AuditEvent, Incident, Instance, StartTimer, Task, Timer
from engine.scripting import build_functions
from engine.worker import Worker
from tests.conftest import FIXTURES, ROOT
from tests.engine.conftest import REVIEW

TIMERS = (FIXTURES / "timers.bpmn").read_text()
TIMER_START = (FIXTURES / "timer_start.bpmn").read_text()
CRON_START = (FIXTURES / "cron_start.bpmn").read_text()


@pytest.fixture(params=["UTC", "America/New_York"], autouse=True)
def server_tz(request, monkeypatch):
    """The server's zone: the process TZ and what SpiffWorkflow computed from it at import."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    _time.tzset()
    offset = datetime.now(ZoneInfo(request.param)).utcoffset()
    monkeypatch.setattr(spiff_timer, "LOCALTZ", timezone(offset))
    yield request.param
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    _time.tzset()


def run_once_or_fail(orch, seconds: float = 60):
    """`ksdpl worker --once`: it must return."""
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("report", Worker(orch).run_once()), daemon=True
    )
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "worker --once did not end"
    return result["report"]


def firings(orch, bpmn_id: str) -> int:
    with orch.session() as s:
        return s.scalar(
            select(func.count()).where(AuditEvent.action == "timer", AuditEvent.bpmn_id == bpmn_id)
        )


def complete_review(orch, instance_id: int) -> None:
    with orch.session() as s:
        task_id = s.scalar(
            select(Task.id).where(
                Task.instance_id == instance_id, Task.status == "ready", Task.bpmn_id == "Review"
            )
        )
    orch.complete_task(task_id, {}, user="staf")


def follow_ups(orch, instance_id: int) -> int:
    """Each firing of the boundary cycle is a path to a 'Tindak lanjut' task."""
    with orch.session() as s:
        return s.scalar(
            select(func.count()).where(Task.instance_id == instance_id, Task.bpmn_id == "FollowUp")
        )


def test_a_bare_date_is_midnight_in_the_case_region_for_row_and_engine(orch):
    clock.set(datetime(2029, 12, 31, 0, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS})
    instance_id = orch.start("timers", "9171")  # Jayapura, UTC+9
    complete_review(orch, instance_id)
    with orch.session() as s:
        [timer] = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()
    assert timer.due_at == datetime(2029, 12, 31, 15, 0, tzinfo=UTC)  # 2030-01-01 00:00 WIT

    clock.set(datetime(2029, 12, 31, 14, 59, 59, tzinfo=UTC))
    assert orch.run_due(limit=20).timers_fired == 0
    clock.set(datetime(2029, 12, 31, 15, 0, tzinfo=UTC))
    report = orch.run_due(limit=20)
    assert (report.timers_fired, report.conflicts, report.incidents) == (1, 0, 0)
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"
    assert firings(orch, "Wait") == 1


def test_worker_once_fires_r2_start_and_boundary_timers_exactly_twice_each(orch):
    clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS})
    orch.deploy({"timer_start.bpmn": TIMER_START})
    instance_id = orch.start("timers", "3171")  # Review waits; its boundary timer R2/PT2S runs
    clock.advance(timedelta(seconds=10))  # both cycles are two firings late

    run_once_or_fail(orch)

    assert follow_ups(orch, instance_id) == 2
    assert firings(orch, "Tick") == 2
    with orch.session() as s:
        assert s.scalar(select(func.count()).where(Instance.process_key == "berkala")) == 2
        assert s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all() == []
        assert s.scalars(select(StartTimer)).all() == []
        assert s.get(Instance, instance_id).status == "running"  # Review still waits
    clock.advance(timedelta(minutes=5))
    assert run_once_or_fail(orch).total == 0


def test_unbounded_boundary_cycle_keeps_its_row_moving(orch):
    clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS.replace("R2/PT2S", "R/PT1H")})
    instance_id = orch.start("timers", "3171")
    for hour in range(1, 4):
        clock.set(datetime(2027, 1, 4, 1 + hour, 0, tzinfo=UTC))
        assert run_once_or_fail(orch).timers_fired == 1
        with orch.session() as s:
            [row] = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()
        assert row.due_at == datetime(2027, 1, 4, 2 + hour, 0, tzinfo=UTC)
    assert follow_ups(orch, instance_id) == 3


def test_an_unbounded_cycle_that_fell_behind_fires_once_then_follows_its_rhythm(orch):
    clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS.replace("R2/PT2S", "R/PT1H")})
    instance_id = orch.start("timers", "3171")
    clock.set(datetime(2027, 1, 4, 6, 30, tzinfo=UTC))  # five firings missed
    assert run_once_or_fail(orch).timers_fired == 1
    assert follow_ups(orch, instance_id) == 1
    with orch.session() as s:
        [row] = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()
    assert row.due_at == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)


def test_an_intermediate_cycle_fires_once_as_in_camunda_7(orch):
    clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    diagram = TIMERS.replace(
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2030-01-01</bpmn:timeDate>',
        '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R3/PT1H</bpmn:timeCycle>',
    )
    orch.deploy({"timers.bpmn": diagram})
    instance_id = orch.start("timers", "3171")
    complete_review(orch, instance_id)
    clock.advance(timedelta(hours=5))
    assert run_once_or_fail(orch).timers_fired == 1
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"
    assert firings(orch, "Wait") == 1


def test_a_quartz_cron_start_timer_starts_a_case_at_each_firing_in_the_zone(orch):
    clock.set(datetime(2027, 1, 8, 3, 0, tzinfo=UTC))  # Friday 10:00 WIB
    orch.deploy({"cron_start.bpmn": CRON_START})  # 0 0 9 ? * MON-FRI
    with orch.session() as s:
        [row] = s.scalars(select(StartTimer)).all()
    assert row.due_at == datetime(2027, 1, 11, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB

    clock.set(datetime(2027, 1, 11, 2, 0, tzinfo=UTC))
    assert run_once_or_fail(orch).timers_fired == 1
    with orch.session() as s:
        assert s.scalar(select(func.count()).where(Instance.process_key == "harian")) == 1
        assert s.scalars(select(StartTimer.due_at)).one() == datetime(2027, 1, 12, 2, 0, tzinfo=UTC)


def test_a_new_version_replaces_the_start_timer(orch):
    clock.set(datetime(2027, 1, 8, 3, 0, tzinfo=UTC))
    orch.deploy({"cron_start.bpmn": CRON_START})
    orch.deploy({"cron_start.bpmn": CRON_START.replace("0 0 9 ? * MON-FRI", "0 30 7 ? * MON-FRI")})
    with orch.session() as s:
        assert s.scalars(select(StartTimer.due_at)).all() == [datetime(2027, 1, 11, 0, 30, tzinfo=UTC)]


def test_a_timer_that_does_not_fire_opens_an_incident_and_the_worker_moves_on(orch):
    clock.set(datetime(2029, 12, 31, 0, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS})
    instance_id = orch.start("timers", "3171")
    complete_review(orch, instance_id)
    with orch.uow() as uow:  # a row that says "due" while the engine says "not yet"
        uow.session.execute(update(Timer).values(due_at=clock.now() - timedelta(hours=1)))
        uow.commit()

    report = run_once_or_fail(orch)

    assert (report.timers_fired, report.incidents, report.conflicts) == (0, 1, 0)
    with orch.session() as s:
        [incident] = s.scalars(select(Incident)).all()
        assert incident.bpmn_id == "Wait"
        assert "did not fire" in incident.message
    assert run_once_or_fail(orch).incidents == 0
    due = orch.next_due()  # the worker does not wake for it again and again: it waits for an operator
    assert due is None or due > clock.now()


def test_a_cancelled_case_leaves_no_timer_behind(orch):
    clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS})
    instance_id = orch.start("timers", "3171")
    orch.cancel(instance_id, user="operator")
    with orch.session() as s:
        assert s.scalars(select(Timer)).all() == []
    clock.advance(timedelta(minutes=1))
    report = run_once_or_fail(orch)
    assert (report.total, report.conflicts) == (0, 0)


def test_today_and_now_are_the_region_local_date_and_time():
    moment = datetime(2027, 1, 4, 23, 30, tzinfo=UTC)  # Tuesday 08:30 in Jayapura
    functions = build_functions(WorkingCalendar(), "Asia/Jayapura", now=lambda: moment)
    assert functions["today"]() == date(2027, 1, 5)
    assert functions["now"]().date() == date(2027, 1, 5)
    assert functions["now"]().utcoffset() == timedelta(hours=9)
    assert functions["add_working_days"](functions["now"](), 1) == date(2027, 1, 6)


def _start_timer_problems(diagram: str, registry) -> list[str]:
    return check_files({"start.bpmn": diagram}, registry)


def test_a_timer_start_is_refused_where_only_a_region_may_start_the_process(registry):
    diagram = TIMER_START.replace('camunda:historyTimeToLive="30"', 'camunda:candidateStarterGroups="pemda"')
    problems = _start_timer_problems(diagram, registry)
    assert any(
        p.startswith("start.bpmn: Tick: a timer start event starts cases without a region") for p in problems
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("R0/PT2S", "never fires"),
        ("R/PT0S", "longer than zero"),
        ("0 0 9 1 * MON", "the other '?'"),
        ("R2/PT2X", "does not parse"),
    ],
)
def test_a_cycle_that_cannot_run_is_refused_at_deploy(registry, text, message):
    problems = _start_timer_problems(TIMER_START.replace("R2/PT2S", text), registry)
    assert any(p.startswith("start.bpmn: Tick: ") and message in p for p in problems), problems


def test_the_review_fixture_still_deploys(registry):
    assert check_files({"review.bpmn": REVIEW}, registry) == []


def test_elements_may_be_called_start_end_and_root(orch):
    """SpiffWorkflow names its own specs so; the ids are mapped inside the engine only."""
    clock.set(datetime(2029, 12, 31, 0, 0, tzinfo=UTC))
    diagram = re.sub(r'"StartEvent_1"', '"Start"', TIMERS)
    diagram = re.sub(r"\bStartEvent_1\b", "Start", diagram)
    diagram = re.sub(r"\bDone\b", "End", diagram)
    diagram = re.sub(r'"Review"', '"Root"', diagram)
    assert check_files({"t.bpmn": diagram}, orch.registry) == []
    orch.deploy({"t.bpmn": diagram})
    instance_id = orch.start("timers", "3171")
    with orch.session() as s:
        task = s.scalars(select(Task).where(Task.instance_id == instance_id)).one()
    assert task.bpmn_id == "Root"
    orch.complete_task(task.id, {}, user="staf")
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    run_once_or_fail(orch)
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"


def test_the_worker_command_fires_r2_pt2s_start_and_boundary_timers_twice_and_ends(db_url, server_tz):
    """The real `ksdpl worker --once`, on the real clock: a few seconds after two firings were due."""
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": db_url,
        "KSDPL_HANDLERS": "tests.engine.cli_handlers",
        "TZ": server_tz,
    }

    def ksdpl(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    ksdpl("region", "add", "9171", "--name", "Kota B", "--level", "kota", "--timezone", "WIT")
    ksdpl("deploy", str(FIXTURES / "timers.bpmn"), str(FIXTURES / "timer_start.bpmn"))
    instance_id = int(ksdpl("start", "timers", "--region", "9171"))
    _time.sleep(4.5)  # both cycles are due twice now
    report = json.loads(ksdpl("worker", "--once", "--json"))
    shown = json.loads(ksdpl("show", str(instance_id), "--json"))
    assert sorted(t["name"] for t in shown["tasks"]) == ["Tindak lanjut", "Tindak lanjut", "Tinjau"]
    assert json.loads(ksdpl("instances", "--json")).__len__() == 3  # the case and two started by the timer
    assert report["incidents"] == 0 and report["conflicts"] == 0


def test_a_state_saved_by_spiffworkflows_own_timers_still_runs(orch):
    """Cases saved before: a date timer's value without offset, a cycle's {'cycles', 'next', 'duration'}."""
    clock.set(datetime(2029, 12, 31, 0, 0, tzinfo=UTC))
    orch.deploy({"timers.bpmn": TIMERS})
    instance_id = orch.start("timers", "9171")
    with orch.uow() as uow:
        state = json.loads(uow.session.get(Instance, instance_id).state)
        for task in state["tasks"].values():
            value = task["internal_data"].get("event_value")
            if isinstance(value, dict):
                task["internal_data"]["event_value"] = {"cycles": 0, "next": value["next"], "duration": 2.0}
        uow.session.execute(update(Instance).values(state=json.dumps(state)))
        uow.commit()
    clock.advance(timedelta(seconds=10))
    assert run_once_or_fail(orch).incidents == 0
    assert follow_ups(orch, instance_id) == 0  # a spent cycle stays spent
    complete_review(orch, instance_id)
    with orch.uow() as uow:
        state = (
            uow.session.get(Instance, instance_id)
            .state.replace('"2029-12-31T15:00:00+00:00"', '"2030-01-01T00:00:00"')
            .replace('"2030-01-01T00:00:00+09:00"', '"2030-01-01T00:00:00"')
        )
        assert '"2030-01-01T00:00:00"' in state
        uow.session.execute(update(Instance).values(state=state))
        uow.commit()
    clock.set(datetime(2029, 12, 31, 15, 0, tzinfo=UTC))  # midnight in Jayapura
    assert run_once_or_fail(orch).timers_fired == 1
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"


EVENT_SUBPROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="esp" isExecutable="true">
<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="Work" camunda:candidateGroups="pemda"><bpmn:incoming>f1</bpmn:incoming>
  <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Work"/><bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="E"/>
<bpmn:subProcess id="Reminders" triggeredByEvent="true">
  <bpmn:startEvent id="Every" isInterrupting="false"><bpmn:outgoing>g1</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
  </bpmn:startEvent>
  <bpmn:userTask id="FollowUp" camunda:candidateGroups="pemda"><bpmn:incoming>g1</bpmn:incoming>
    <bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="EE"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="g1" sourceRef="Every" targetRef="FollowUp"/>
  <bpmn:sequenceFlow id="g2" sourceRef="FollowUp" targetRef="EE"/>
</bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""


def test_a_non_interrupting_event_subprocess_cycle_repeats_then_lets_the_case_end(orch):
    clock.set(datetime(2027, 1, 4, 0, 0, tzinfo=UTC))
    orch.deploy({"esp.bpmn": EVENT_SUBPROCESS})
    instance_id = orch.start("esp", "3171")
    for hour in range(1, 6):
        clock.set(datetime(2027, 1, 4, hour, 0, tzinfo=UTC))
        run_once_or_fail(orch)
    assert follow_ups(orch, instance_id) == 3
    with orch.session() as s:
        ready = s.scalars(
            select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")
        ).all()
    for task_id in ready:
        orch.complete_task(task_id, {}, user="staf")
    with orch.session() as s:
        assert s.get(Instance, instance_id).status == "completed"

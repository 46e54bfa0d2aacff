"""Races (proof 2): two people doing the same thing at the same moment, many rounds, through the
real HTTP stack, the CLI and the service; on SQLite and PostgreSQL.

Every round must end with exactly one winner and a clear conflict for the other, and the history
must show the act once. Counts: KSDPL_RELIABILITY_RACES (HTTP rounds, default 1000),
KSDPL_RELIABILITY_CLI_RACES (CLI rounds, each two processes, default 10)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from engine.clock import clock
from engine.errors import Conflict
from engine.models import AuditEvent, Incident, Job, Task
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.reliability.conftest import count
from tests.reliability.live import Client, LiveServer
from tests.web.conftest import (
    PASSWORD,
    PENJAJAKAN,
    actor,
    add_pdf,
    app_config,
    make_registry,
    ready_task,
    seeded,
    start_case,
)
from web import create_app

ROUNDS = count("RACES", 1000)
CLI_ROUNDS = count("CLI_RACES", 10)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except Exception as err:  # the caller inspects it
            results[n] = err

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def site(db_url) -> Iterator[Orchestrator]:
    clock.set(None)
    orchestrator = seeded(Orchestrator(db_url, make_registry()))
    yield orchestrator
    orchestrator.close()


def _one_penjajakan(orch: Orchestrator) -> tuple[int, str, int]:
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    return instance_id, task_id, add_pdf(orch, instance_id, task_id)


def _events(orch: Orchestrator, action: str) -> Counter:
    with orch.session() as s:
        rows = s.execute(
            select(AuditEvent.task_id, func.count())
            .where(AuditEvent.action == action)
            .group_by(AuditEvent.task_id)
        ).all()
    return Counter(dict(rows))


def test_two_people_complete_one_task_over_http(site):
    found: Counter = Counter()
    with LiveServer(create_app(app_config(site))) as server:
        ani = Client(server.port).login("pemda_a", PASSWORD)
        budi = Client(server.port).login("pemda_a2", PASSWORD)
        tasks = []
        for _ in range(ROUNDS):
            _case, task_id, document_id = _one_penjajakan(site)
            form = {**PENJAJAKAN, "kajian__dokumen": str(document_id)}
            statuses = at_once(
                lambda t=task_id, f=form: ani.post(f"/tugas/{t}", f)[0],
                lambda t=task_id, f=form: budi.post(f"/tugas/{t}", f)[0],
            )
            found[tuple(sorted(statuses))] += 1
            tasks.append(task_id)
    assert found == Counter({(302, 409): ROUNDS}), found
    completions = _events(site, "complete")
    assert all(completions[t] == 1 for t in tasks)
    with site.session() as s:
        assert s.scalar(select(func.count()).where(Task.id.in_(tasks), Task.status == "completed")) == ROUNDS


def test_two_claimers_one_winner_over_http(site):
    found: Counter = Counter()
    _case, task_id, _doc = _one_penjajakan(site)
    with LiveServer(create_app(app_config(site))) as server:
        people = {
            "pemda_a": Client(server.port).login("pemda_a", PASSWORD),
            "pemda_a2": Client(server.port).login("pemda_a2", PASSWORD),
        }
        for _ in range(ROUNDS):
            statuses = at_once(*(lambda c=c: c.post(f"/tugas/{task_id}/ambil")[0] for c in people.values()))
            found[tuple(sorted(statuses))] += 1
            with site.session() as s:
                winner = s.scalar(select(Task.assignee).where(Task.id == task_id))
            assert people[winner].post(f"/tugas/{task_id}/lepas")[0] == 302
    assert found == Counter({(302, 409): ROUNDS}), found
    assert _events(site, "claim")[task_id] == ROUNDS


def test_two_operators_retry_one_incident(site):
    rounds = max(ROUNDS // 5, 1)
    instance_id = start_case(site)
    with site.uow() as uow:
        ids = []
        for _ in range(rounds):  # a failed job and its incident, as a worker leaves them
            job_id = str(uuid.uuid4())
            uow.session.execute(
                insert(Job).values(
                    id=job_id,
                    instance_id=instance_id,
                    bpmn_id="Skor",
                    topic="uji.skor",
                    status="failed",
                    attempts=3,
                    next_run_at=clock.now(),
                )
            )
            ids.append(
                uow.session.execute(
                    insert(Incident)
                    .values(
                        instance_id=instance_id,
                        job_id=job_id,
                        bpmn_id="Skor",
                        message="uji",
                        traceback="",
                        created_at=clock.now(),
                    )
                    .returning(Incident.id)
                ).scalar_one()
            )
        uow.commit()
    outcomes: Counter = Counter()
    for incident_id in ids:
        results = at_once(
            lambda i=incident_id: site.retry(i, actor("operator")),
            lambda i=incident_id: site.retry(i, actor("operator")),
        )
        outcomes[tuple(sorted(type(r).__name__ for r in results))] += 1
    assert outcomes == Counter({("Conflict", "NoneType"): rounds}), outcomes
    with site.session() as s:
        retries = s.scalar(select(func.count()).where(AuditEvent.action == "retry"))
    assert retries == rounds


def test_two_clerks_complete_one_task_from_the_cli(site):
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": site.database_url,
        "KSDPL_HANDLERS": "tests.web.cli_handlers",
    }
    found: Counter = Counter()
    for _ in range(CLI_ROUNDS):
        _case, task_id, document_id = _one_penjajakan(site)
        values = [f"--var={k}={v}" for k, v in {**PENJAJAKAN, "kajian": str(document_id)}.items()]
        commands = [
            [sys.executable, "-m", "web.cli", "complete", task_id, *values, "--user", who]
            for who in ("pemda_a", "pemda_a2")
        ]
        processes = [
            subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in commands
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        codes = sorted(p.returncode for p in processes)
        errors = " ".join(err for _out, err in outputs)
        assert "Traceback" not in errors
        if codes == [0, 1]:
            assert "sudah" in errors or "diubah" in errors, errors  # a clear conflict, in Indonesian
        found[tuple(codes)] += 1
        assert _events(site, "complete")[task_id] == 1
    assert found == Counter({(0, 1): CLI_ROUNDS}), found


def test_a_lost_race_in_the_service_is_a_conflict_not_a_second_completion(site):
    """The same at the service layer, which the CLI and the web share (fast, many rounds)."""
    outcomes: Counter = Counter()
    for _ in range(max(ROUNDS // 5, 1)):
        _case, task_id, document_id = _one_penjajakan(site)
        values = {**PENJAJAKAN, "kajian": str(document_id)}
        results = at_once(
            lambda t=task_id, v=values: site.complete_task(t, v, actor("pemda_a")),
            lambda t=task_id, v=values: site.complete_task(t, v, actor("pemda_a2")),
        )
        kinds = sorted("ok" if not isinstance(r, Exception) else type(r).__name__ for r in results)
        outcomes[tuple(kinds)] += 1
        assert not any(isinstance(r, Exception) and not isinstance(r, Conflict) for r in results), results
    assert set(outcomes) == {("Conflict", "ok")}, outcomes


def test_wrong_passwords_at_once_are_all_counted(site):
    """Login failures from many processes at once: every one counts (one statement per counter),
    so four web processes are not four times looser than one."""
    from engine.models import LoginFailure, User
    from web import throttle

    attempts = 8

    def fail() -> None:
        with site.uow() as uow:
            throttle.record_failure(uow.session, "dprd_a", "10.0.0.1")
            uow.commit()

    rounds = max(ROUNDS // 100, 1)
    for _ in range(rounds):
        results = at_once(*([fail] * attempts))
        assert [r for r in results if r is not None] == []
    with site.session() as s:
        assert s.scalar(select(LoginFailure.failures)) == attempts * rounds
        assert s.scalar(select(User.failed_logins).where(User.username == "dprd_a")) == attempts * rounds

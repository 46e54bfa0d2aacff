"""Crash safety (proof 1): a worker process is killed with SIGKILL at random moments while it runs
jobs, fans out notifications and sends e-mail; after every kill the database must be whole.

After each kill: every case loads; its projections (ready tasks, jobs, timers, status) match its
state; no timer disappeared while its case waits; no completed task became ready again; then a
new worker carries on. At the end everything is done: each job's effect once in the case (its
handler may have run again after a kill, with the same idempotency key), every outbox message
fanned out once per recipient and its e-mail delivered at least once under one Message-ID.
Count: KSDPL_RELIABILITY_KILLS (default 50 per database)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from engine.clock import clock
from engine.delivery import LEASE
from engine.models import EmailDelivery, Instance, Job, Notification, OutboxMessage, Task, Timer, User
from engine.runtime import Case
from engine.service import Orchestrator
from engine.worker import Worker
from tests.conftest import ROOT
from tests.engine.conftest import REVIEW, add_regions
from tests.reliability.conftest import count
from tests.reliability.crash_handlers import registry

KILLS = count("KILLS", 50)
CASES_PER_ROUND = 2


def _new_work(orch: Orchestrator, n: int) -> None:
    """Cases whose draft is done: each waits for its job (the worker's work)."""
    for _ in range(n):
        instance_id = orch.start("review", "3171", {"judul": "Uji crash"}, user="sistem")
        with orch.session() as s:
            task_id = s.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready"))
        orch.complete_task(task_id, {"isi": "draf", "jumlah": "1"}, user="budi")


def _check(orch: Orchestrator, completed_before: set[str], timers_before: dict[str, int]) -> set[str]:
    """The invariants after a crash; returns the completed task ids (never fewer next time)."""
    with orch.session() as s:
        for instance in s.scalars(select(Instance)):
            env = orch._env(s, None, 0)
            case = Case.load(
                instance.state,
                orch._deployment(s, instance.definition_id, instance.process_key),
                env.script_engine,
            )
            assert case.status == instance.status, instance.id
            ready = set(
                s.scalars(select(Task.id).where(Task.instance_id == instance.id, Task.status == "ready"))
            )
            assert ready == {str(t.id) for t in case.ready_user_tasks()}, instance.id
            jobs = set(s.scalars(select(Job.id).where(Job.instance_id == instance.id)))
            assert jobs == {str(t.id) for t in case.open_jobs()}, instance.id
            timers = set(s.scalars(select(Timer.id).where(Timer.instance_id == instance.id)))
            assert timers == {t.id for t in case.waiting_timers()}, instance.id
            if instance.status == "running" and timers_before.get(str(instance.id)):
                # a waiting review keeps its deadline timer until the review is done
                assert timers or not ready, instance.id
        completed = set(s.scalars(select(Task.id).where(Task.status == "completed")))
    assert completed_before <= completed, "a completed step was undone"
    return completed


def test_kill_9_the_worker_at_random_moments(db_url, tmp_path, smtp_sink, monkeypatch):
    clock.set(None)
    rng = random.Random(int(os.environ.get("KSDPL_RELIABILITY_SEED", "10")))
    orch = Orchestrator(db_url, registry)
    add_regions(orch)
    with orch.uow() as uow:
        uow.session.add(
            User(
                username="budi",
                name="Budi",
                password_hash="-",
                groups="pemda",
                region_code="3171",
                active=True,
                created_at=clock.now(),
                email="budi@contoh.go.id",
                notify_mode="each",
            )
        )
        uow.commit()
    orch.deploy({"review.bpmn": REVIEW})
    log = tmp_path / "jobs.log"
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": db_url,
        "KSDPL_HANDLERS": "tests.reliability.crash_handlers",
        "KSDPL_TEST_JOB_LOG": str(log),
        "KSDPL_SMTP_HOST": "127.0.0.1",
        "KSDPL_SMTP_PORT": str(smtp_sink.port),
        "KSDPL_SMTP_FROM": "ksdpl@contoh.go.id",
    }
    completed: set[str] = set()
    timers: dict[str, int] = {}
    kills_inside_work = 0
    for _ in range(KILLS):
        _new_work(orch, CASES_PER_ROUND)
        worker = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        before = log.stat().st_size if log.exists() else 0
        time.sleep(rng.uniform(0.8, 2.5))  # the import takes ~1 s: kills land before, inside and after work
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        kills_inside_work += (log.stat().st_size if log.exists() else 0) > before
        completed = _check(orch, completed, timers)
        with orch.session() as s:
            timers = {
                str(i): n
                for i, n in s.execute(select(Timer.instance_id, func.count()).group_by(Timer.instance_id))
            }

    # The last worker finishes everything. A job's lock ends with the killed worker's transaction;
    # an e-mail a killed worker had leased waits for its lease to run out (then it is sent again,
    # under the same Message-ID): so the last worker runs once the leases have expired.
    for name, value in env.items():
        if name.startswith("KSDPL_"):
            monkeypatch.setenv(name, value)
    clock.set(clock.now() + LEASE + timedelta(minutes=1))
    Worker(orch).run_once()
    _check(orch, completed, timers)
    with orch.session() as s:
        cases = s.scalar(select(func.count(Instance.id)))
        assert cases == KILLS * CASES_PER_ROUND
        assert s.scalar(select(func.count(Job.id))) == 0, "a job was lost"
        reviews = s.scalar(
            select(func.count(Task.id)).where(Task.bpmn_id == "Review", Task.status == "ready")
        )
        assert reviews == cases, "each job's effect exactly once"
        messages = s.scalar(select(func.count(OutboxMessage.id)))
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))) == 0
        per_message = Counter(s.scalars(select(Notification.outbox_id)))
        assert per_message and set(per_message.values()) == {1}
        mails = {d.message_id: d.status for d in s.scalars(select(EmailDelivery))}
    assert set(mails.values()) == {"sent"}
    received = Counter(m.message_id for m in smtp_sink.received)
    assert set(received) == set(mails), "every e-mail arrived, under its own fixed Message-ID"
    runs = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert len(runs) == cases and all(n >= 1 for n in runs.values())
    print(
        f"\n{KILLS} kills ({kills_inside_work} while a job ran), {cases} cases, {messages} messages, "
        f"{len(mails)} e-mails ({sum(received.values()) - len(received)} sent again after a kill), "
        f"{sum(runs.values()) - len(runs)} job runs repeated after a kill"
    )
    orch.close()

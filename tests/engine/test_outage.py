"""Errors by kind: a lost race stays a conflict; a database outage is `Unavailable`, logged, and
the worker backs off and reconnects; a handler re-run after a commit that failed gets the same
idempotency key. The outage is real: a private PostgreSQL cluster stopped and started again, or
a port where nothing listens (never the shared server)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text

from engine.clock import clock
from engine.errors import Conflict, Unavailable
from engine.models import AuditEvent, Job, Task
from engine.registry import HandlerRegistry
from engine.service import Orchestrator
from engine.store import make_engine, upgrade
from engine.worker import Worker
from tests.conftest import ROOT, _pg_schema_url
from tests.engine.conftest import REVIEW, add_regions
from tests.pg_cluster import PrivateCluster, free_port, private_cluster

MONDAY = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    yield from private_cluster()


@pytest.fixture
def cluster_url(cluster) -> Iterator[str]:
    """A migrated schema of its own in the private cluster, which is running at the start."""
    if not _answers(cluster.url):
        cluster.start()  # a failed test may have left it stopped
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = _pg_schema_url(cluster.url, schema)
    upgrade(url)
    yield url


def _answers(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect():
            return True
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False
    finally:
        engine.dispose()


def nowhere() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres?connect_timeout=3"


def test_a_database_nobody_answers_is_unavailable_not_a_conflict(registry) -> None:
    orch = Orchestrator(nowhere(), registry)
    with pytest.raises(Unavailable) as raised:
        orch.complete_task(str(uuid.uuid4()), {"isi": "x"})
    assert not isinstance(raised.value, Conflict)
    assert "refused" in raised.value.detail.lower() or "connect" in raised.value.detail.lower()
    with pytest.raises(Unavailable):
        orch.run_due()
    with pytest.raises(Unavailable):
        orch.start("review", "3171", {"judul": "x"})


def test_an_sqlite_file_that_cannot_be_opened_is_unavailable(registry, tmp_path) -> None:
    orch = Orchestrator(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}", registry)
    with pytest.raises(Unavailable):
        orch.run_due()


def test_the_worker_logs_the_outage_and_backs_off(registry, caplog) -> None:
    worker = Worker(Orchestrator(nowhere(), registry), interval=30)
    caplog.set_level(logging.INFO, logger="engine.worker")
    for _ in range(4):
        worker._tick()  # never raises: the scheduler keeps running
    assert worker.outage_attempts == 4
    assert worker.retry_delay() == 8
    messages = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert [r.levelno for r in messages] == [logging.ERROR] + [logging.WARNING] * 3
    assert "retrying in 1 s" in messages[0].getMessage() and "retrying in 8 s" in messages[3].getMessage()


def test_worker_once_on_an_unreachable_database_exits_75(tmp_path) -> None:
    env = {**os.environ, "KSDPL_DATABASE_URL": nowhere(), "KSDPL_HANDLERS": "tests.engine.cli_handlers"}
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 75, proc.stderr
    assert proc.stderr.startswith("error: Basis data tidak dapat dihubungi")
    assert "Traceback" not in proc.stderr


def test_an_outage_mid_job_then_reconnect_reruns_the_handler_with_the_same_key(
    cluster, cluster_url, caplog
) -> None:
    """The handler runs, then the server goes down before the step commits: nothing is saved,
    the worker logs it and backs off; once the server is back the handler runs again with the
    same ctx.idempotency_key (the job id), and the step commits once."""
    keys: list[str] = []
    registry = HandlerRegistry()

    @registry.service("test.score")
    def score(ctx):
        keys.append(ctx.idempotency_key)
        if len(keys) == 1:
            cluster.stop()  # the database goes away after the side effect, before the commit
        return {"skor": 5}

    @registry.user_task("test.review")
    def review(ctx):
        return {}

    orch = Orchestrator(cluster_url, registry)
    add_regions(orch)
    orch.deploy({"review.bpmn": REVIEW})
    clock.set(MONDAY)
    instance_id = orch.start("review", "3171", {"judul": "x"}, user="budi")
    with orch.session() as s:
        draft = s.scalars(select(Task.id).where(Task.instance_id == instance_id)).one()
    orch.complete_task(draft, {"isi": "isi", "jumlah": "2"}, user="budi")
    with orch.session() as s:
        job_id = s.scalars(select(Job.id)).one()

    worker = Worker(orch, interval=30)
    caplog.set_level(logging.INFO, logger="engine.worker")
    worker._tick()  # the handler runs, the commit fails: an outage, not a handler failure
    worker._tick()  # still down: connection refused
    assert worker.outage_attempts == 2
    assert keys == [job_id]
    cluster.start()
    worker._tick()  # reconnects and runs the job again
    assert worker.outage_attempts == 0
    assert keys == [job_id, job_id]
    assert any("reachable again after 2 failed attempts" in r.getMessage() for r in caplog.records)
    with orch.session() as s:
        assert s.scalars(select(Job)).all() == []  # done, once
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == instance_id)).all()
        assert actions.count("job") == 1 and "job-failed" not in actions and "incident" not in actions
        assert s.scalars(select(Task.name).where(Task.status == "ready")).all() == ["Tinjau"]
    orch.close()


def test_database_is_locked_on_a_stale_sqlite_snapshot_stays_a_conflict(tmp_path) -> None:
    """SQLite refuses a write from a transaction whose snapshot another writer made stale."""
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    stale = engine.connect()
    stale.exec_driver_sql("BEGIN")
    stale.execute(text("SELECT count(*) FROM t"))  # the snapshot starts here
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(Conflict) as raised:
        stale.execute(text("INSERT INTO t VALUES (2)"))
    assert "database is locked" in str(raised.value.__cause__)
    stale.close()
    engine.dispose()


def test_a_lost_lock_version_race_stays_a_conflict(deployed) -> None:
    instance_id = deployed.start("review", "3171", {"judul": "x"}, user="budi")
    with deployed.session() as s:
        draft = s.scalars(select(Task.id).where(Task.instance_id == instance_id)).one()
    other = Orchestrator(deployed.database_url, deployed.registry)
    deployed.after_load = lambda _id: other.complete_task(draft, {"isi": "lain", "jumlah": "1"})
    with pytest.raises(Conflict):
        deployed.complete_task(draft, {"isi": "saya", "jumlah": "1"})
    other.close()

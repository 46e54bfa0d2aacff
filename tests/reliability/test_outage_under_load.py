"""Database outage under load (proof 3): a private PostgreSQL cluster (never the shared server) is
stopped and started again while two clerks complete tasks over real HTTP and a worker process
runs. Requests during the outage get the Indonesian 503 page (never a 500), the worker waits and
reconnects by itself, and afterwards every task is completed exactly once: nothing lost, nothing
done twice. Count: KSDPL_RELIABILITY_OUTAGE_TASKS (default 60)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.models import AuditEvent, Task
from engine.service import Orchestrator
from engine.store import upgrade
from tests.conftest import ROOT, _pg_schema_url
from tests.pg_cluster import PrivateCluster, private_cluster
from tests.reliability.conftest import count
from tests.reliability.live import Client, LiveServer
from tests.web.conftest import (
    PASSWORD,
    PENJAJAKAN,
    add_pdf,
    app_config,
    make_registry,
    ready_task,
    seeded,
    start_case,
)
from web import create_app

TASKS = count("OUTAGE_TASKS", 60)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    yield from private_cluster()


def test_postgres_restarted_during_load(cluster):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = _pg_schema_url(cluster.url, schema)
    upgrade(url)
    orch = seeded(Orchestrator(url, make_registry()))
    work = []
    for _ in range(TASKS):
        instance_id = start_case(orch)
        task_id = ready_task(orch, instance_id, "Penjajakan")
        work.append((task_id, add_pdf(orch, instance_id, task_id)))

    worker = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", "--interval", "0.5"],
        cwd=ROOT,
        env={**os.environ, "KSDPL_DATABASE_URL": url, "KSDPL_HANDLERS": "tests.web.cli_handlers"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    statuses: Counter = Counter()
    pages_503: list[str] = []
    with LiveServer(create_app(app_config(orch))) as server:
        clerks = [Client(server.port).login(u, PASSWORD) for u in ("pemda_a", "pemda_a2")]
        queue = list(work)
        lock = threading.Lock()

        def clerk(client: Client) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    task_id, document_id = queue.pop(0)
                form = {**PENJAJAKAN, "kajian__dokumen": str(document_id)}
                while True:  # like a person pressing "Coba lagi" until it goes through
                    status, page = client.post(f"/tugas/{task_id}", form)
                    with lock:
                        statuses[status] += 1
                    if status == 503:
                        pages_503.append(page)
                        time.sleep(0.2)
                        continue
                    assert status in (302, 409), (status, page[:300])  # 409: went through before the outage
                    break

        threads = [threading.Thread(target=clerk, args=(c,)) for c in clerks]
        for t in threads:
            t.start()
        time.sleep(0.5)
        cluster.stop()  # the database goes down in the middle of the load
        time.sleep(3)
        cluster.start()
        for t in threads:
            t.join(timeout=300)
    time.sleep(2)  # the worker's back-off is at most a few seconds
    alive = worker.poll() is None
    worker.terminate()
    _out, err = worker.communicate(timeout=30)
    assert alive, f"the worker died in the outage: {err[-2000:]}"
    assert statuses[503] > 0, f"the outage was not seen: {statuses}"
    assert statuses[500] == 0
    assert all("Layanan sementara tidak tersedia" in page for page in pages_503)
    with orch.session() as s:
        done = s.scalar(
            select(func.count(Task.id)).where(Task.bpmn_id == "Penjajakan", Task.status == "completed")
        )
        per_task = Counter(s.scalars(select(AuditEvent.task_id).where(AuditEvent.action == "complete")))
    assert done == TASKS, "a completion was lost"
    assert set(per_task.values()) == {1}, "a completion was done twice"
    print(f"\n{TASKS} tasks, HTTP answers {dict(statuses)}, worker log: {err.strip().splitlines()[-1:]}")
    orch.close()

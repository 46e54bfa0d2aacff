"""`/healthz` (database and worker heartbeat) and `/metrics` (Prometheus) over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families

from engine.clock import clock
from engine.service import Orchestrator
from engine.worker import Worker
from handlers import registry
from tests.api.conftest import serve
from tests.api.driver import HttpCase
from tests.ksdpl.conftest import START
from tests.ksdpl.driver import ALL_PREREQUISITES
from web import create_app


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_healthz_needs_the_database_and_a_recent_worker_heartbeat(base_url, orch) -> None:
    never = requests.get(f"{base_url}/healthz", timeout=30)
    assert never.status_code == 503
    assert never.json() == {
        "status": "gagal",
        "database": "ok",
        "worker": "belum pernah berjalan",
        "worker_heartbeat_age_seconds": None,
    }
    Worker(orch, worker_id="pekerja-1").run_once()
    healthy = requests.get(f"{base_url}/healthz", timeout=30)
    assert (
        healthy.status_code,
        healthy.json()["status"],
        healthy.json()["worker_heartbeat_age_seconds"],
    ) == (
        200,
        "ok",
        0.0,
    )
    clock.advance(timedelta(seconds=120))
    assert requests.get(f"{base_url}/healthz", timeout=30).status_code == 200
    clock.advance(timedelta(seconds=1))
    stale = requests.get(f"{base_url}/healthz", timeout=30)
    assert (
        stale.status_code == 503 and stale.json()["worker"] == "terakhir berjalan 121 detik lalu (batas 120)"
    )
    Worker(orch, worker_id="pekerja-1").run_once()  # the same row, beaten again
    assert requests.get(f"{base_url}/healthz", timeout=30).status_code == 200


def test_healthz_and_the_api_are_503_when_the_database_is_unreachable() -> None:
    unreachable = Orchestrator(
        "postgresql+psycopg://postgres@127.0.0.1:9/tidak_ada?connect_timeout=2", registry
    )
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "KSDPL_ORCHESTRATOR": unreachable})
    for base in serve(app):
        response = requests.get(f"{base}/healthz", timeout=30)
        assert response.status_code == 503
        assert response.json()["database"].startswith("tidak dapat dihubungi")
        # the API says the same as problem+json, with when to try again
        api = requests.get(f"{base}/api/v1/tasks", headers={"Authorization": "Bearer ksdpl_x"}, timeout=30)
        assert (api.status_code, api.headers["Content-Type"], api.headers["Retry-After"]) == (
            503,
            "application/problem+json",
            "30",
        )
        assert api.json()["detail"] == "Basis data tidak dapat dihubungi; coba lagi beberapa saat lagi"
    unreachable.close()


def test_metrics_for_operators_only_with_cases_tasks_lag_incidents_and_step_latency(
    api, base_url, orch
) -> None:
    assert requests.get(f"{base_url}/metrics", timeout=30).status_code == 401
    assert api["pemda.sby"].get("/metrics").status_code == 403
    for _ in range(2):
        api["pemda.sby"].ok(
            "post",
            "/api/v1/process-definitions/ksdpl/start",
            201,
            json={"region": "3578", "variables": START},
        )
    case = HttpCase(api, 1)
    case.complete("Task_Penjajakan", mekanisme_kunjungan_langsung=True, hasil_penjajakan="sepakat")
    case.complete("Task_SusunKajian")
    case.complete("Task_PeriksaPersyaratan", **ALL_PREREQUISITES)  # a job is now due
    clock.advance(timedelta(seconds=90))  # ... and waits 90 s for a worker
    response = api["operator"].get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
    values = samples(response.text)
    assert values[("ksdpl_cases", (("stage", "2"), ("status", "running")))] == 2
    assert values[("ksdpl_ready_tasks", ())] == 1
    assert values[("ksdpl_job_lag_seconds", ())] == 90
    assert values[("ksdpl_timer_lag_seconds", ())] == 0
    assert values[("ksdpl_open_incidents", ())] == 0
    assert values[("ksdpl_worker_heartbeat_age_seconds", ())] == -1
    assert values[("ksdpl_step_seconds_count", (("action", "complete"),))] >= 3
    assert values[("ksdpl_step_seconds_count", (("action", "start"),))] >= 2
    # the completions came one after another in this process: each used the workflow it kept
    assert values[("ksdpl_step_loads_total", (("source", "kept"),))] >= 3


MULTIPROCESS_SCRIPT = """
import sys
from tests.api.conftest import USERS
from engine.service import Orchestrator
from engine.models import Region
from handlers import registry
from web import create_app
from web.tokens import create_token
from tests.api.conftest import add_users
from tests.ksdpl.conftest import REGIONS, START, deploy_ksdpl

orch = Orchestrator(sys.argv[1], registry)
with orch.uow() as uow:
    uow.session.add_all(Region(code=c, name=n, level=l, timezone=z) for c, (n, l, z) in REGIONS.items())
    uow.commit()
deploy_ksdpl(orch)
add_users(orch)
orch.start("ksdpl", "3578", START, user="pemda.sby")
with orch.uow() as uow:
    token = create_token(uow.session, "operator")
    uow.commit()
app = create_app({"TESTING": True, "SECRET_KEY": "x", "KSDPL_ORCHESTRATOR": orch})
print(app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True))
"""


def test_metrics_sum_the_step_latency_of_every_worker_in_multiprocess_mode(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from engine.store import upgrade
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'mp.db'}"
    upgrade(url)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    run = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    values = samples(run.stdout)
    assert values[("ksdpl_step_seconds_count", (("action", "start"),))] == 1
    assert values[("ksdpl_cases", (("stage", "2"), ("status", "running")))] == 1
    assert list(metrics_dir.iterdir())  # the worker's figures are in files, where every worker adds its own

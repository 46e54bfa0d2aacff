"""Cost of one task completion over HTTP through the JSON API, against the same completion in-process.

    python bench/api.py [--cases 20] [--steps 10] [--pg URL]   (URL default: KSDPL_BENCH_DATABASE_URL)

API: the app under gunicorn (one gthread worker, its own process, as in production) and one
client (`requests`, one keep-alive connection) completing the one-task loop of bench/loop.bpmn:
token lookup, JSON parsing, form check, the step, the response with the next task's id, all
timed from the client. Baseline, measured in the same run on the same database, case by case
alternating with the API's: the same `Orchestrator.complete_task` call with the same actor, in
this process. Prints median and p95 per variant and the ratio of the API's median to the
baseline's, on SQLite and on PostgreSQL when reachable.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import select  # noqa: E402
from step_cost import LOOP, add_pg_option, percentile, postgres_url  # noqa: E402

from engine.clock import clock  # noqa: E402
from engine.models import Region, Task, User  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from handlers import registry  # noqa: E402
from web.tokens import create_token  # noqa: E402

VARIABLES = {"catatan": "laporan kegiatan", "selesai": False}


def prepare(url: str) -> tuple[Orchestrator, str]:
    """A migrated database with the loop deployed, a region and a Pemda user with a token."""
    upgrade(url)
    orch = Orchestrator(url, registry)
    with orch.uow() as uow:
        uow.session.add(Region(code="B1", name="Kota Bench", level="kota", timezone="Asia/Jakarta"))
        uow.session.flush()
        uow.session.add(
            User(
                username="bench",
                name="Bench",
                password_hash="-",
                groups="pemda",
                region_code="B1",
                active=True,
                created_at=clock.now(),
            )
        )
        uow.session.flush()
        token = create_token(uow.session, "bench")
        uow.commit()
    orch.deploy({"loop.bpmn": LOOP})
    return orch, token


def in_process_case(orch: Orchestrator, steps: int) -> list[float]:
    actor = registry.access.actor("bench", ["pemda"], "B1")
    instance_id = orch.start("loop", "B1", {}, actor=actor)
    with orch.session() as s:
        task_id = s.scalars(
            select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")
        ).one()
    samples = []
    for _ in range(steps):
        began = time.perf_counter()
        result = orch.complete_task(task_id, VARIABLES, actor)
        samples.append(time.perf_counter() - began)
        task_id = result.next_tasks[0].id
    return samples


def http_case(http: requests.Session, base: str, steps: int) -> list[float]:
    started = http.post(f"{base}/process-definitions/loop/start", json={"region": "B1"}, timeout=30)
    started.raise_for_status()
    task_id = started.json()["tasks"][0]["id"]
    samples = []
    for _ in range(steps):
        began = time.perf_counter()
        response = http.post(f"{base}/tasks/{task_id}/complete", json={"variables": VARIABLES}, timeout=30)
        samples.append(time.perf_counter() - began)
        response.raise_for_status()
        task_id = response.json()["next_tasks"][0]["id"]
    return samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(
    url: str, workers: int = 1, threads: int = 2, env_extra: dict[str, str] | None = None
) -> Iterator[str]:
    """The app under gunicorn in its own process, as in production (`threads` 0: sync workers, one
    request at a time each; else gthread workers with that many threads); yields its base URL once
    it answers."""
    port = free_port()
    env = {**os.environ, "KSDPL_DATABASE_URL": url, "KSDPL_SECRET_KEY": "bench", "KSDPL_HANDLERS": "handlers"}
    env |= env_extra or {}
    command = [str(Path(sys.executable).with_name("gunicorn"))]
    if threads == 0:
        command += ["-k", "sync"]
    else:
        command += ["-k", "gthread", "--threads", str(threads), "--keep-alive", "75"]
    command += ["-w", str(workers), "--log-level", "warning", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "web.wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/api/v1/openapi.json", timeout=10).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(url: str, cases: int, steps: int) -> dict[str, list[float]]:
    """Cases alternate between the two variants, so both see the same machine load."""
    orch, token = prepare(url)
    results: dict[str, list[float]] = {"in-process": [], "HTTP API": []}
    with gunicorn(url) as root, requests.Session() as http:
        base = f"{root}/api/v1"
        http.headers["Authorization"] = f"Bearer {token}"
        in_process_case(orch, steps)  # warm-up: imports, the spec cache, connections
        http_case(http, base, steps)
        for _ in range(cases):
            results["in-process"] += in_process_case(orch, steps)
            results["HTTP API"] += http_case(http, base, steps)
    orch.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10, help="task completions per case (a loop)")
    add_pg_option(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = measure(f"sqlite:///{tmp}/bench.db", args.cases, args.steps)
    try:
        url, drop = postgres_url(args.pg)
    except Exception as err:  # no server: say so, measure the rest
        print(f"PostgreSQL not measured: {type(err).__name__}: {err}", file=sys.stderr)
    else:
        try:
            results["PostgreSQL"] = measure(url, args.cases, args.steps)
        finally:
            drop()

    rows = []
    for database, variants in results.items():
        baseline = statistics.median(variants["in-process"])
        for name, samples in variants.items():
            median = statistics.median(samples)
            rows.append(
                {
                    "variant": f"{name}, {database}",
                    "n": len(samples),
                    "median_ms": round(median * 1000, 3),
                    "p95_ms": round(percentile(samples, 95) * 1000, 3),
                    "ratio_to_in_process": round(median / baseline, 2),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    python = sys.version.split()[0]
    shape = f"{args.cases} cases x {args.steps} steps (loop)"
    print(f"one task completion, {shape}, one keep-alive client, Python {python}")
    print(f"{'variant':<28} {'n':>5} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    for r in rows:
        figures = f"{r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} {r['ratio_to_in_process']:>6.2f}"
        print(f"{r['variant']:<28} {r['n']:>5} {figures}")


if __name__ == "__main__":
    main()

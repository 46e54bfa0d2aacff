"""Cost of the operator console's pages as the number of cases grows (they read projections with
SQL counts and one page of rows, so they should not grow with it).

    python bench/console.py [--cases 1000 10000] [--requests 10] [--pg URL]

One real case of the console test process is started; its projection rows (case, ready task and
the task's candidate rows) are then copied in bulk to reach each size, half of the tasks overdue.
Two regions have staff; one case in a hundred is in a third region without any, so its task is
in the queue of tasks nobody can take. The case counts are folded after each growth, as the
worker does every minute. Timed: the dashboard, two searches in the case list (a text every case
matches, and one that finds a single case), the overdue filter and the queue of tasks nobody
can take, each a full request through Flask (login, authorisation, queries, template). Prints
the median per page and size and the ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox import bench_app  # noqa: E402  (the benches' shared helpers)
from sqlalchemy import func, insert, select  # noqa: E402

from engine import case_counts  # noqa: E402
from engine.access import candidate_rows  # noqa: E402
from engine.clock import clock  # noqa: E402
from engine.models import Instance, Region, Task, TaskCandidate, User  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from handlers import registry as ksdpl  # noqa: E402
from web.accounts import hash_password  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "rahasia-bench-1"
KONSOL = (ROOT / "tests/web/fixtures/konsol.bpmn").read_text()
PAGES = {
    "dashboard": "/konsol",
    "search": "/konsol/kasus?q=busan",  # every case's partner
    "rare": "/konsol/kasus?q=sama+99999",  # one title at 100,000 cases, none below
    "overdue": "/konsol/kasus?terlambat=1&status=running",
    "queue": "/konsol/antrean",
}


def setup(url: str) -> Orchestrator:
    upgrade(url)
    registry = ksdpl
    orch = Orchestrator(url, registry)
    with orch.uow() as uow:
        s = uow.session
        s.add_all(
            [
                Region(code="32.73", name="Kota A", level="kota", timezone="Asia/Jakarta"),
                Region(code="91.71", name="Kota B", level="kota", timezone="Asia/Jayapura"),
                Region(code="64.72", name="Kota C", level="kota", timezone="Asia/Makassar"),
            ]
        )
        s.flush()
        for code in ("32.73", "91.71"):
            s.add(
                User(
                    username=f"pemda_{code}",
                    name=f"Pemda {code}",
                    password_hash="-",
                    groups="pemda",
                    region_code=code,
                    active=True,
                    created_at=clock.now(),
                )
            )
        s.add(
            User(
                username="operator",
                name="Operator",
                password_hash=hash_password(PASSWORD),
                groups="operator",
                active=True,
                created_at=clock.now(),
            )
        )
        uow.commit()
    orch.registry.service("konsol.kirim")(lambda ctx: {})
    orch.deploy({"konsol.bpmn": KONSOL})
    orch.start("konsol", "32.73", {"judul_kerja_sama": "Kerja sama Busan", "nama_mitra": "Kota Busan"})
    return orch


def grow(orch: Orchestrator, total: int) -> None:
    """Copy the first case and its ready task until there are `total` cases."""
    with orch.uow() as uow:
        s = uow.session
        have = s.scalar(select(func.count()).select_from(Instance))
        template = s.get(Instance, 1)
        task = s.scalars(select(Task).where(Task.instance_id == 1)).one()
        now = clock.now()
        instances, tasks, candidates = [], [], []
        for n in range(have, total):
            region = "64.72" if n % 100 == 50 else "32.73" if n % 2 else "91.71"
            columns = {c.name: getattr(template, c.key) for c in Instance.__table__.columns if c.name != "id"}
            columns.update(
                id=n + 1,
                region_code=region,
                title=f"Kerja sama {n}",
                variables=f'{{"nama_mitra": "Kota {n}", "negara_mitra": "Jepang"}}',
            )
            instances.append(columns)
            row = {c.name: getattr(task, c.key) for c in Task.__table__.columns}
            row.update(
                id=str(uuid.uuid4()), instance_id=n + 1, due_at=now + timedelta(days=(n % 2) * 20 - 10)
            )
            tasks.append(row)
            candidates += candidate_rows(row, region)
        for start in range(0, len(instances), 1000):
            s.execute(insert(Instance), instances[start : start + 1000])
            s.execute(insert(Task), tasks[start : start + 1000])
        for start in range(0, len(candidates), 1000):
            s.execute(insert(TaskCandidate), candidates[start : start + 1000])
        uow.commit()


def time_pages(
    orch: Orchestrator, pages: dict[str, str], requests: int, username: str, password: str
) -> dict[str, tuple[float, int]]:
    """Each page's median ms over `requests` GETs by `username` (logged in once, each page warmed
    once), and the bytes of the page."""
    client = bench_app(orch).test_client()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    result = {}
    for name, path in pages.items():
        size = len(client.get(path).data)  # warm
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        result[name] = (statistics.median(samples) * 1000, size)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{tmp}/bench.db"
        orch = setup(url)
        rows = {}
        for size in sorted(args.cases):
            grow(orch, size)
            case_counts.compact(orch.db)  # what the worker does every minute
            # what a running deployment's planner knows: SQLite's statistics from the worker's
            # hourly ANALYZE (read by connections opened after it), PostgreSQL's from autovacuum
            with orch.db.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            orch.db.dispose()
            rows[size] = {
                name: ms
                for name, (ms, _) in time_pages(orch, PAGES, args.requests, "operator", PASSWORD).items()
            }
        orch.close()
    print(f"{'cases':>8} " + " ".join(f"{name:>10}" for name in PAGES) + "   (median ms per request)")
    for size, timings in rows.items():
        print(f"{size:>8} " + " ".join(f"{timings[name]:>10.1f}" for name in PAGES))
    small, large = min(rows), max(rows)
    print(
        f"ratio {large}/{small}: "
        + " ".join(f"{name} {rows[large][name] / rows[small][name]:.2f}" for name in PAGES)
    )


if __name__ == "__main__":
    main()

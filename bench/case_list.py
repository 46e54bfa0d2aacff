"""What one page of the staff case list costs with 1,000 and with 10,000 cases: the list query of
web/caselist.py (projection columns, a count that stops at 1,000, each sort along an index) for
the default page, a search, each filter and a sort, against the baseline the page used before
(every visible case's row with its state, newest 500, variables parsed in Python).

    python bench/case_list.py [--small 1000 --large 10000 --runs 30] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from step_cost import postgres_url  # noqa: E402  (the benches' shared helpers)

from engine.access import AccessPolicy  # noqa: E402
from engine.models import Instance, ProcessDefinition, Region, Task, TaskCandidate  # noqa: E402
from engine.store import upgrade  # noqa: E402
from web.caselist import CaseQuery, case_page  # noqa: E402

NOW = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)
STATE = "x" * 4000  # a small case state; real ones are larger, which only favours the list
PARTNERS = ("Kota Fukuoka", "Kota Busan", "Yayasan Sakura", "Provinsi Gyeonggi", "Kota Lyon")
COUNTRIES = ("JP", "KR", "JP", "KR", "FR")


def seed(url: str, cases: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Region),
            [{"code": "R1", "name": "Kota Bench", "level": "kota", "timezone": "Asia/Jakarta"}],
        )
        conn.execute(
            insert(ProcessDefinition),
            [
                {
                    "id": 1,
                    "key": "ksdpl",
                    "version": 1,
                    "name": "",
                    "files": "{}",
                    "sha256": "",
                    "spiff_version": "3.2.0",
                    "deployed_at": NOW,
                }
            ],
        )
        for start in range(0, cases, 1000):
            rows, tasks = [], []
            for n in range(start, min(start + 1000, cases)):
                partner, country = PARTNERS[n % 5], COUNTRIES[n % 5]
                variables = {"nama_mitra": partner, "negara_mitra": country, "jenis_kerja_sama": "ksdpl"}
                rows.append(
                    {
                        "id": n + 1,
                        "definition_id": 1,
                        "process_key": "ksdpl",
                        "process_version": 1,
                        "business_key": f"KSD-{n:06d}",
                        "title": f"Kerja sama {n} dengan {partner}",
                        "region_code": "R1",
                        "status": "running" if n % 7 else "completed",
                        "stage": 1 + n % 12,
                        "stage_name": "",
                        "variables": json.dumps(variables),
                        "partner": partner,
                        "country": country,
                        "kind": "ksdll" if n % 5 == 2 else "ksdpl",
                        "state": STATE,
                        "spiff_version": "3.2.0",
                        "lock_version": 1,
                        "started_at": NOW - timedelta(minutes=n),
                        "updated_at": NOW - timedelta(minutes=n),
                    }
                )
                tasks.append(
                    {
                        "id": str(uuid.UUID(int=n + 1)),
                        "instance_id": n + 1,
                        "bpmn_id": "Tugas",
                        "name": "Tugas",
                        "status": "ready",
                        "candidate_groups": "pemda" if n % 2 else "dprd",
                        "candidate_users": "",
                        "due_at": NOW + timedelta(days=(n % 40) - 10),
                        "form": "[]",
                        "created_at": NOW,
                    }
                )
            conn.execute(insert(Instance), rows)
            conn.execute(insert(Task), tasks)
            conn.execute(
                insert(TaskCandidate),
                [
                    {"task_id": t["id"], "kind": "group", "name": t["candidate_groups"], "region_code": "R1"}
                    for t in tasks
                ],
            )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # what autovacuum / a running SQLite would know by now
    engine.dispose()


def baseline(session: Session) -> int:
    """The old page: whole rows (state included) of the newest 500, variables parsed."""
    rows = session.scalars(select(Instance).order_by(Instance.updated_at.desc()).limit(500)).all()
    return sum(len(json.loads(row.variables)) for row in rows)


def measure(url: str, runs: int) -> dict[str, float]:
    engine = create_engine(url)
    policy = AccessPolicy(regional_groups=frozenset({"pemda"}), national_groups=frozenset({"kemendagri"}))
    regional = policy.actor("bench", ["pemda"], "R1")
    national = policy.actor("pusat", ["kemendagri"], None)
    queries: dict[str, Callable[[Session], object]] = {"baseline (old page)": baseline}
    queries["national page 1"] = lambda s: case_page(s, national, CaseQuery(), NOW)
    queries["national stage 5"] = lambda s: case_page(s, national, CaseQuery(stage=5), NOW)
    queries["national by partner"] = lambda s: case_page(s, national, CaseQuery(sort="mitra"), NOW)
    actor = regional
    for name, query in {
        "page 1": CaseQuery(),
        "page 40": CaseQuery(page=40),
        "search 'busan'": CaseQuery(text="busan"),
        "search 'KSD-0005'": CaseQuery(text="KSD-0005"),
        "stage 5": CaseQuery(stage=5),
        "kind + status": CaseQuery(kind="ksdll", status="running"),
        "overdue": CaseQuery(overdue=True),
        "waiting for me": CaseQuery(mine=True),
        "sort by partner": CaseQuery(sort="mitra"),
    }.items():
        queries[name] = lambda s, q=query: case_page(s, actor, q, NOW)
    samples: dict[str, list[float]] = {name: [] for name in queries}
    with Session(engine) as session:
        for _ in range(runs):
            for name, run in queries.items():
                began = time.perf_counter()
                run(session)
                samples[name].append(time.perf_counter() - began)
                session.rollback()
    engine.dispose()
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is created and dropped)")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    for backend in backends:
        results = {}
        for cases in (args.small, args.large):
            if backend == "sqlite":
                folder = tempfile.mkdtemp()
                url, cleanup = f"sqlite:///{folder}/bench.db", (lambda: None)
            else:
                url, cleanup = postgres_url(args.pg)
            try:
                seed(url, cases)
                results[cases] = measure(url, args.runs)
            finally:
                cleanup()
        print(f"\n{backend}: median ms per page ({args.runs} runs), {args.small} vs {args.large} cases")
        print(f"{'query':24} {args.small:>10} {args.large:>10} {'ratio':>7}")
        for name in results[args.small]:
            small, large = results[args.small][name], results[args.large][name]
            print(f"{name:24} {small:10.2f} {large:10.2f} {large / small:7.2f}")


if __name__ == "__main__":
    main()

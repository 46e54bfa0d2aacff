"""The inbox as cases pile up: regional and national, first page, a filtered one, four searches.

    python bench/inbox.py [--sizes 1000 10000] [--100k] [--runs 30] [--requests 1000]
                          [--pg URL] [--no-pg] [--no-sqlite]

Each size gets its own database with the real KSDPL process deployed and N running cases written
in bulk: 50 regions, a tenth of the cases in the measured region (10,000 ready tasks there at
100k), each case with one ready task and five completed ones (forms, submitted values and a 4 KB
state stored, as a real case carries them), a twentieth of the ready tasks for the national
ministry. Measured per request, through the Flask app (login once, then GET): median, p95, the
ratio of each size to the smallest (the baseline, measured in the same run), the bytes of the
page, and the query plan of the page's main statement. The sizes answer in turn, request after
request, so other work on the machine slows them alike. Then a fresh process per size serves
`--requests` inbox requests and reports its resident memory (VmRSS) and its peak (VmHWM).
SQLite unless `--no-sqlite`; PostgreSQL at `--pg` (default `KSDPL_BENCH_DATABASE_URL`) unless `--no-pg`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from step_cost import percentile, postgres_url  # noqa: E402  (the benches' shared helpers)

from engine.access import candidate_rows  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.models import Instance, Region, Task, TaskCandidate, User  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from web import create_app  # noqa: E402
from web.accounts import hash_password  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
REGIONS = 50
HOT = "R00"  # the measured region: a tenth of the cases
NOW = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)
STATE = json.dumps({"pad": "x" * 4000})  # never read by a list; stored so rows are their real size
FORM = json.dumps([{"id": f"f{i}", "label": f"Isian {i}", "type": "string"} for i in range(20)])
BATCH = 2000


def populate(url: str, n: int) -> Orchestrator:
    """The KSDPL process deployed, 50 regions, two users and n running cases, written in bulk."""
    upgrade(url)
    orch = Orchestrator.from_settings(Settings(url, "Asia/Jakarta", "handlers"))
    processes = ROOT / "processes"
    [deployed, *_] = orch.deploy(
        {name: (processes / name).read_text("utf-8") for name in ("ksdpl.bpmn", "kelayakan.dmn")}
    )
    rnd = random.Random(n)
    with orch.db.begin() as conn:
        conn.execute(
            insert(Region),
            [
                {"code": f"R{r:02d}", "name": f"Kota {r}", "level": "kota", "timezone": "Asia/Jakarta"}
                for r in range(REGIONS)
            ],
        )
        password = hash_password(PASSWORD)
        conn.execute(
            insert(User),
            [
                {"username": "pemda", "name": "Pemda", "password_hash": password, "groups": "pemda"}
                | {"region_code": HOT, "active": True, "created_at": NOW, "notify_mode": "none"},
                {"username": "kemendagri", "name": "Kemendagri", "password_hash": password}
                | {"groups": "kemendagri", "region_code": None, "active": True, "created_at": NOW}
                | {"notify_mode": "none"},
            ],
        )
        definition_id = conn.execute(text("SELECT max(id) FROM process_definitions")).scalar()
        for start in range(0, n, BATCH):
            instances, tasks, candidates = [], [], []
            for i in range(start, min(n, start + BATCH)):
                region = HOT if i % 10 == 0 else f"R{1 + i % (REGIONS - 1):02d}"
                begun = NOW - timedelta(days=rnd.randrange(400))
                variables = {"nama_mitra": f"Mitra {i}", "negara_mitra": "Jepang", "judul": f"Kasus {i}"}
                instances.append(
                    {
                        "id": i + 1,
                        "definition_id": definition_id,
                        "process_key": deployed.key,
                        "process_version": deployed.version,
                        "business_key": f"KS-{i:06d}",
                        "title": f"Kerja sama kota kembar {i}",
                        "region_code": region,
                        "status": "running",
                        "stage": 2 + i % 9,
                        "stage_name": "Tahap",
                        "variables": json.dumps(variables),
                        "state": STATE,
                        "spiff_version": "3.2.0",
                        "lock_version": 7,
                        "started_at": begun,
                        "updated_at": begun,
                    }
                )
                for k in range(5):  # history: completed tasks with their forms and values
                    tasks.append(_task(i, "completed", "pemda", begun + timedelta(days=k), rnd))
                group = "kemendagri" if i % 20 == 7 else "pemda"
                ready = _task(i, "ready", group, begun + timedelta(days=6), rnd)
                tasks.append(ready)
                candidates += candidate_rows(ready, region)
            conn.execute(insert(Instance), instances)
            conn.execute(insert(Task), tasks)
            conn.execute(insert(TaskCandidate), candidates)
    if url.startswith("postgresql"):
        with orch.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum leaves a table at rest
    else:
        with orch.db.begin() as conn:
            conn.execute(text("ANALYZE"))
    return orch


def _task(i: int, status: str, group: str, created: datetime, rnd: random.Random) -> dict:
    done = status == "completed"
    return {
        "id": str(uuid.UUID(int=rnd.getrandbits(128))),
        "instance_id": i + 1,
        "bpmn_id": "Task_Bench",
        "name": "Periksa dokumen",
        "stage": 2 + i % 9,
        "status": status,
        "candidate_groups": group,
        "candidate_users": "",
        "assignee": None,
        "due_at": created + timedelta(days=rnd.randrange(-20, 60)) if i % 7 else None,
        "form": FORM,
        "created_at": created,
        "completed_at": created if done else None,
        "completed_by": "pemda" if done else None,
        "submitted": json.dumps({f"f{k}": "nilai isian yang cukup panjang" for k in range(20)})
        if done
        else None,
    }


class Statements:
    """The SQL of one request, to find the page's statement and explain it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append((statement, parameters))

    def page_statement(self) -> tuple[str, object]:
        return next((s, p) for s, p in self.seen if s.startswith("SELECT anon_1.task_id"))


def explain(orch: Orchestrator, statement: str, parameters) -> str:
    with orch.db.connect() as conn:
        if orch.database_url.startswith("sqlite"):
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return "\n".join(f"  {row[-1]}" for row in rows)
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters).all()
        return "\n".join(f"  {row[0]}" for row in rows)


def bench_app(orch: Orchestrator):
    return create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "KSDPL_ORCHESTRATOR": orch}
        | {"KSDPL_DATABASE_URL": orch.database_url}
    )


def status_kb(field: str) -> int:
    """A figure of this process from /proc/self/status (VmRSS: resident now, VmHWM: its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def serve_many(url: str, requests: int) -> None:
    """A fresh process acting as the web process: the app on the database `url`, warmed up, then
    `requests` inbox GETs (both users, first and filtered pages in turn); prints its RSS before
    and after, and its peak."""
    from engine.clock import clock

    clock.set(NOW)
    orch = Orchestrator.from_settings(Settings(url, "Asia/Jakarta", "handlers"))
    app = bench_app(orch)
    clients = []
    for username in ("pemda", "kemendagri"):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        clients.append(client)
    paths = ("/", "/?filter=segera&tahap=5")
    for i in range(48):  # warm, as in `measure`
        assert clients[i % 2].get(paths[i // 2 % 2]).status_code == 200
    before = status_kb("VmRSS")
    for i in range(requests):
        assert clients[i % 2].get(paths[i // 2 % 2]).status_code == 200
    print(json.dumps({"before_kb": before, "after_kb": status_kb("VmRSS"), "peak_kb": status_kb("VmHWM")}))
    orch.close()


def web_rss(url: str, requests: int) -> dict[str, int]:
    """`serve_many` in its own process: the bench's own memory (the rows it wrote) stays out."""
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--serve", url, "--requests", str(requests)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


REQUESTS = [
    (username, label, path)
    for username in ("pemda", "kemendagri")
    for label, path in (
        ("first page", "/"),
        ("filtered page", "/?filter=segera&tahap=5"),
        # a search for one case's title, which also finds kembar 1230-1239 and 12300-12399:
        # 1 case of 1,000, 111 of 100,000
        ("search, one case", "/?q=kembar+123"),
        # 11 cases of 1,000 (kembar 12, 120-129), 1,111 of 100,000
        ("search, 1 in 90", "/?q=kembar+12"),
        ("search, nothing", "/?q=zzz"),
        ("search, every case", "/?q=kota"),  # in every title
    )
]


def measure(orchs: dict[int, Orchestrator], runs: int) -> dict[tuple[int, str], dict]:
    """Every size's app answers each request in turn, round after round, so a machine busy with
    other work slows every size alike and the ratios to the smallest stay meaningful."""
    from engine.clock import clock

    clock.set(NOW)
    clients = {}
    for n, orch in orchs.items():
        app = bench_app(orch)
        for username in ("pemda", "kemendagri"):
            client = app.test_client()
            assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
            clients[n, username] = client
    results = {}
    for username, label, path in REQUESTS:
        # warm-up as a web process in use is warm: its caches, and on PostgreSQL the statements
        # psycopg prepares after 5 runs, whose generic plan the server keeps after 5 more
        for _ in range(12):
            for n in orchs:
                assert clients[n, username].get(path).status_code == 200
        samples: dict[int, list[float]] = {n: [] for n in orchs}
        size = {}
        for _ in range(runs):
            for n in orchs:
                began = time.perf_counter()
                response = clients[n, username].get(path)
                samples[n].append(time.perf_counter() - began)
                size[n] = len(response.data)
        for n, orch in orchs.items():
            listened = Statements()
            event.listen(Engine, "before_cursor_execute", listened)
            try:
                clients[n, username].get(path)
            finally:
                event.remove(Engine, "before_cursor_execute", listened)
            statement, parameters = listened.page_statement()
            results[n, f"{username}, {label}"] = {
                "median": statistics.median(samples[n]),
                "p95": percentile(samples[n], 95),
                "bytes": size[n],
                "queries": len(listened.seen),
                "plan": explain(orch, statement, parameters),
            }
    clock.set(None)
    return results


def run(database: str, url_for, sizes: list[int], runs: int, requests: int) -> tuple[list[dict], list[dict]]:
    orchs, urls, cleanups = {}, {}, []
    try:
        for n in sizes:
            url, cleanup = url_for()
            cleanups.append(cleanup)
            began = time.perf_counter()
            orchs[n], urls[n] = populate(url, n), url
            print(f"{database}: {n} cases written in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        measured = measure(orchs, runs)
        rows = [
            {
                "database": database,
                "cases": n,
                "request": f"{username}, {label}",
                **measured[n, f"{username}, {label}"],
            }
            for username, label, _path in REQUESTS
            for n in sizes
        ]
        memory = [{"database": database, "cases": n, **web_rss(urls[n], requests)} for n in sizes if requests]
    finally:
        for orch in orchs.values():
            orch.close()
        for cleanup in cleanups:
            cleanup()
    for row in rows:
        base = next(r for r in rows if r["request"] == row["request"] and r["database"] == database)
        row["ratio"] = row["median"] / base["median"]
    return rows, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--100k", dest="big", action="store_true", help="add 100,000 cases")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg", default=os.environ.get("KSDPL_BENCH_DATABASE_URL"))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--plans", action="store_true", help="print every query plan, not only the largest")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--requests", type=int, default=1000, help="inbox requests before the RSS (0: skip)")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)  # the RSS process (web_rss)
    args = parser.parse_args()
    if args.serve:
        serve_many(args.serve, args.requests)
        return
    sizes = sorted(set(args.sizes + ([100_000] if args.big else [])))

    tmp = tempfile.TemporaryDirectory()
    counter = iter(range(1000))

    def sqlite_url():
        return f"sqlite:///{tmp.name}/inbox-{next(counter)}.db", lambda: None

    rows, memory = ([], []) if args.no_sqlite else run("SQLite", sqlite_url, sizes, args.runs, args.requests)
    if args.pg and not args.no_pg:
        try:
            pg_rows, pg_memory = run(
                "PostgreSQL", lambda: postgres_url(args.pg), sizes, args.runs, args.requests
            )
            rows, memory = rows + pg_rows, memory + pg_memory
        except Exception as err:  # no server: say so, keep the SQLite figures
            print(f"PostgreSQL not measured: {type(err).__name__}: {err}", file=sys.stderr)
    tmp.cleanup()

    if args.json:
        print(json.dumps({"requests": rows, "memory": memory}, indent=2, default=str))
        return
    print(f"inbox request (login once, then GET), {args.runs} runs each, Python {sys.version.split()[0]}")
    head = f"{'median ms':>9} {'p95 ms':>7} {'ratio':>6} {'bytes':>7} {'SQL':>4}"
    print(f"{'database':<11} {'cases':>7} {'request':<30} {head}")
    for r in rows:
        print(
            f"{r['database']:<11} {r['cases']:>7} {r['request']:<30} {r['median'] * 1000:>9.1f} "
            f"{r['p95'] * 1000:>7.1f} {r['ratio']:>6.2f} {r['bytes']:>7} {r['queries']:>4}"
        )
    if memory:
        print(f"\nweb process RSS (its own process, {args.requests} inbox requests after the first)")
        for m in memory:
            print(
                f"{m['database']:<11} {m['cases']:>7}  before {m['before_kb'] / 1024:6.1f} MB  "
                f"after {m['after_kb'] / 1024:6.1f} MB  peak {m['peak_kb'] / 1024:6.1f} MB"
            )
    largest = max(sizes)
    for r in rows:
        if args.plans or r["cases"] == largest:
            print(f"\n{r['database']}, {r['cases']} cases, {r['request']}: page statement plan\n{r['plan']}")


if __name__ == "__main__":
    main()

"""N timers due at the same moment on PostgreSQL, drained by 1, 2, 4 worker processes.

    python bench/timers.py [--timers 1000] [--workers 1 2 4] [--pg URL]
    python bench/timers.py --timers 10000
    python bench/timers.py --no-analyze   # the tables as just filled: no planner statistics

A schema of its own gets N cases of `timer.bpmn` (start, a one-hour timer, end) started with the
engine clock frozen (by 4 processes at once), so all N timers are due at the same instant; a copy
of every table is kept, and each variant starts from it. Then W separate processes each run the
real worker's tick (`engine.worker.Worker.run_once`: lease a batch of due timers with
`FOR UPDATE SKIP LOCKED`, fire each in its own step, until nothing is due), on a clock that reads
the due instant at the moment they are released together and runs on in real time from there.
Printed: total time (release to the last worker done), timers per second, duplicates (timer
steps beyond one per case: must be 0), missed (cases not ended, timers left: must be 0),
incidents, lateness of each firing (audit time minus due time) p50/p99, the speed-up over the
first variant (the baseline, same run), and the load average at the start of each variant.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bench.step_cost import add_pg_option, percentile, postgres_url  # noqa: E402
from engine.clock import clock  # noqa: E402
from engine.models import AuditEvent, Base, Incident, Instance, Region, Timer  # noqa: E402
from engine.registry import HandlerRegistry  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import make_engine, upgrade  # noqa: E402

DIAGRAM = (Path(__file__).parent / "timer.bpmn").read_text()
STARTED = datetime(2027, 1, 4, 2, tzinfo=UTC)
DUE = STARTED + timedelta(hours=1)


def _start_cases(url: str, n: int) -> None:
    """One setup process: n cases waiting at their timer."""
    orch = Orchestrator(url, HandlerRegistry())
    clock.set(STARTED)
    for _ in range(n):
        orch.start("tunggu", "B1", {})
    orch.close()


def setup(url: str, timers: int, processes: int) -> float:
    """N cases waiting at their timer, all due at DUE, started by `processes` processes at once
    (each start is a round-trip-bound transaction). Returns the seconds it took."""
    began = time.perf_counter()
    upgrade(url)
    orch = Orchestrator(url, HandlerRegistry())
    with orch.uow() as uow:
        uow.session.add(Region(code="B1", name="Bench", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    clock.set(STARTED)
    orch.deploy({"timer.bpmn": DIAGRAM})
    clock.set(None)
    shares = [timers // processes + (i < timers % processes) for i in range(processes)]
    with mp.get_context("spawn").Pool(processes) as pool:
        pool.starmap(_start_cases, [(url, n) for n in shares if n])
    with orch.session() as s:
        waiting = s.scalar(select(func.count()).select_from(Timer).where(Timer.due_at == DUE))
    assert waiting == timers, f"{waiting} timers due at {DUE}, not {timers}"
    orch.close()
    return time.perf_counter() - began


def snapshot(url: str) -> None:
    """Keep a copy of every table as set up, so each variant starts from the same timers."""
    with make_engine(url).begin() as conn:
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'CREATE TABLE "snap_{table.name}" AS SELECT * FROM "{table.name}"'))


def restore(url: str, analyze: bool) -> None:
    """Every table back to the snapshot; the planner's statistics up to date (autovacuum's job
    in a running system) unless `analyze` is off."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # audit_events' guard
        names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names}"))
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'INSERT INTO "{table.name}" SELECT * FROM "snap_{table.name}"'))
    if analyze:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f'ANALYZE "{table.name}"'))
    engine.dispose()


def drain(url: str, name: str, ready, release_at, results) -> None:
    """One worker process: connect, wait for the common release, run the worker's tick."""
    from engine.worker import Worker

    orch = Orchestrator(url, HandlerRegistry())
    worker = Worker(orch, worker_id=name)
    with orch.session() as s:  # connected before the clock starts
        s.scalar(select(func.count()).select_from(Timer))
    ready.put(name)
    while release_at.value == 0:
        time.sleep(0.01)
    offset = DUE.timestamp() - release_at.value
    clock.now = lambda: datetime.fromtimestamp(time.time() + offset, UTC)  # type: ignore[method-assign]
    time.sleep(max(0.0, release_at.value - time.time()))
    report = worker.run_once()
    results.put((name, report.timers_fired, report.conflicts, time.time()))
    orch.close()


def measure(url: str, timers: int, workers: int, analyze: bool) -> dict:
    restore(url, analyze)
    load = os.getloadavg()[0]
    context = mp.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    release_at = context.Value("d", 0.0)
    processes = [
        context.Process(target=drain, args=(url, f"bench-{i}", ready, release_at, results))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    release = time.time() + 0.2
    release_at.value = release
    finished = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    total = max(done for *_, done in finished) - release

    orch = Orchestrator(url, HandlerRegistry())
    with orch.session() as s:
        fired = s.execute(
            select(AuditEvent.instance_id, AuditEvent.at).where(AuditEvent.action == "timer")
        ).all()
        ended = s.scalar(select(func.count()).select_from(Instance).where(Instance.status == "completed"))
        left = s.scalar(select(func.count()).select_from(Timer))
        incidents = s.scalar(select(func.count()).select_from(Incident))
    orch.close()
    lateness = [(at - DUE).total_seconds() for _, at in fired] or [float("nan")]
    return {
        "workers": workers,
        "timers": timers,
        "load": load,
        "total_s": round(total, 2),
        "per_second": round(len(fired) / total, 1),
        "fired_by_worker": {name: count for name, count, *_ in finished},
        "conflicts": sum(conflicts for _, _, conflicts, _ in finished),
        "duplicates": len(fired) - len({instance for instance, _ in fired}),
        "missed": (timers - ended) + left,
        "incidents": incidents,
        "lateness_p50_s": round(statistics.median(lateness), 2),
        "lateness_p99_s": round(percentile(lateness, 99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    add_pg_option(parser)
    parser.add_argument(
        "--no-analyze", action="store_true", help="leave the fresh tables without planner statistics"
    )
    parser.add_argument("--setup-processes", type=int, default=4, help="processes starting the cases")
    args = parser.parse_args()

    url, drop = postgres_url(args.pg)
    try:
        setup_seconds = setup(url, args.timers, args.setup_processes)
        snapshot(url)
        rows = [measure(url, args.timers, workers, not args.no_analyze) for workers in args.workers]
    finally:
        drop()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stats = "no planner statistics" if args.no_analyze else "analyzed"
    python = sys.version.split()[0]
    print(
        f"{args.timers} timers due at once, PostgreSQL ({stats}); Python {python}; "
        f"set up in {setup_seconds:.0f} s; load average now {load}"
    )
    baseline = rows[0]["total_s"]
    for r in rows:
        print(
            f"{r['workers']} worker(s): {r['total_s']:.2f} s ({r['per_second']:.0f}/s, "
            f"x{baseline / r['total_s']:.2f} vs {rows[0]['workers']}), duplicates {r['duplicates']}, "
            f"missed {r['missed']}, incidents {r['incidents']}, conflicts {r['conflicts']}, "
            f"lateness p50 {r['lateness_p50_s']:.2f} s p99 {r['lateness_p99_s']:.2f} s; "
            f"fired per worker {sorted(r['fired_by_worker'].values())}; load average {r['load']:.2f}"
        )


if __name__ == "__main__":
    main()

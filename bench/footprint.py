"""Bytes a KSDPL case occupies, running and completed, per table; and a step process's memory
after 10,000 steps.

    python bench/footprint.py [--cases 8] [--rounds 5] [--years 5] [--steps 10000] [--pg URL] [--no-sqlite]

Storage: on a fresh database with KSDPL deployed, `--cases` cases are driven (the test driver,
as `bench/ksdpl_path.py` does, uploads included) to the signed Naskah (running: the salinan issued,
waiting for year 1's activity plan, after `--rounds` rounds of each revision loop), then as many
all the way to their end (`--years` yearly plans and reports). The size of every table with its
indexes and TOAST (PostgreSQL `pg_total_relation_size`; SQLite pages from `dbstat`, the whole
file from `page_count`) is read before and after each batch, as written and after `VACUUM
FULL` / `VACUUM` (live rows only); the difference divided by the number of cases is the bytes
per case. The baseline of the same run: the bytes of the case's own stored state and variables
(`instances.state` + `instances.variables`), to which the total is compared.

Memory: a separate process completes `--steps` tasks of `bench/loop.bpmn` (the step every web
and worker process runs) in cases of 20 steps, and this process reads its VmRSS and VmHWM from
/proc/<pid>/status after 100 steps (the baseline), 1,000 and `--steps`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bench.ksdpl_path import prepare, start  # noqa: E402
from bench.step_cost import LOOP, add_pg_option, postgres_url  # noqa: E402
from engine.models import Base, Instance, Region, Task  # noqa: E402
from engine.registry import HandlerRegistry  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from tests.ksdpl import paths  # noqa: E402

KB = 1024


def table_sizes(orch: Orchestrator, vacuum: bool) -> dict[str, int]:
    """Bytes of each table with its indexes (and TOAST on PostgreSQL), and the whole database."""
    names = [table.name for table in Base.metadata.sorted_tables]
    if orch.database_url.startswith("postgresql"):
        if vacuum:
            with orch.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM FULL"))
        with orch.db.connect() as conn:
            sizes = {
                n: conn.scalar(text("SELECT pg_total_relation_size(to_regclass(:n))"), {"n": n})
                for n in names
            }
        return {**sizes, "(total)": sum(sizes.values())}
    with orch.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        if vacuum:
            conn.exec_driver_sql("VACUUM")
        owner = dict(
            conn.exec_driver_sql("SELECT name, tbl_name FROM sqlite_master WHERE tbl_name != ''").all()
        )
        sizes = dict.fromkeys(names, 0)
        for name, size in conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").all():
            table = owner.get(name, name)
            if table in sizes:
                sizes[table] += size
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    return {**sizes, "(total)": pages * page_size}


def storage(url: str, cases: int, rounds: int, years: int) -> dict[str, Any]:
    orch = prepare(url)
    snapshots = {"empty": (table_sizes(orch, False), table_sizes(orch, True))}
    running = []
    for _ in range(cases):
        case = start(orch)
        paths.to_naskah(case, rounds)
        paths.sign(case, years)
        running.append(case.id)
    snapshots["running"] = (table_sizes(orch, False), table_sizes(orch, True))
    for _ in range(cases):
        paths.whole_path(start(orch), rounds, years)
    snapshots["completed"] = (table_sizes(orch, False), table_sizes(orch, True))
    with orch.session() as s:
        own = func.length(Instance.state) + func.length(Instance.variables)
        state = float(s.scalar(select(func.avg(own)).where(Instance.id.in_(running))))
        done = float(s.scalar(select(func.avg(own)).where(Instance.id.not_in(running))))
    orch.close()
    per_case = {}
    for kind, before in (("running", "empty"), ("completed", "running")):
        per_case[kind] = [
            {n: (snapshots[kind][i][n] - snapshots[before][i][n]) / cases for n in snapshots[kind][i]}
            for i in (0, 1)
        ]
    return {"per_case": per_case, "own": {"running": state, "completed": done}}


def stepper(url: str, steps: int, reached, go_on) -> None:
    """A separate process: `steps` completions of the loop, pausing at each checkpoint to be read."""
    orch = Orchestrator(url, HandlerRegistry())
    raw = {"catatan": "laporan kegiatan", "selesai": "false"}
    done, instance_id, task_id = 0, None, None
    for checkpoint in (100, 1000, steps):
        while done < checkpoint:
            if done % 20 == 0:
                instance_id = orch.start("loop", "B1", {})
                with orch.session() as s:
                    query = select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")
                    task_id = s.scalars(query).one()
            result = orch.complete_task(task_id, raw, user="bench")
            task_id = result.next_tasks[0].id
            done += 1
        reached.put(done)
        go_on.get()
    orch.close()


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in KB, from /proc."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures


def memory(url: str, steps: int) -> list[dict[str, int]]:
    upgrade(url)
    orch = Orchestrator(url, HandlerRegistry())
    with orch.uow() as uow:
        uow.session.add(Region(code="B1", name="Bench", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.deploy({"loop.bpmn": LOOP})
    orch.close()
    context = multiprocessing.get_context("spawn")
    reached, go_on = context.Queue(), context.Queue()
    child = context.Process(target=stepper, args=(url, steps, reached, go_on))
    child.start()
    readings = []
    for _ in range(3):
        done = reached.get(timeout=3600)
        readings.append({"steps": done, **status(child.pid)})
        go_on.put(True)
    child.join()
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10_000)
    add_pg_option(parser)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    databases = []
    tmp = tempfile.TemporaryDirectory()
    if not args.no_sqlite:
        databases.append(("SQLite", lambda: (f"sqlite:///{tmp.name}/f{len(os.listdir(tmp.name))}.db", None)))
    databases.append(("PostgreSQL", lambda: postgres_url(args.pg)))
    stored, rss = {}, {}
    for name, new_url in databases:
        for store, work in (
            (stored, lambda u: storage(u, args.cases, args.rounds, args.years)),
            (rss, lambda u: memory(u, args.steps)),
        ):
            url, drop = new_url()
            try:
                store[name] = work(url)
            finally:
                if drop:
                    drop()
    tmp.cleanup()

    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"KB per case ({args.cases} running after the signed Naskah and {args.cases} completed, "
        f"{args.rounds} revision rounds, {args.years} years); load average {load_before} -> {load_after}"
    )
    for name, figures in stored.items():
        for kind in ("running", "completed"):
            written, live = figures["per_case"][kind]
            own = figures["own"][kind]
            print(
                f"{name}, {kind}: total {written['(total)'] / KB:.1f} KB as written, "
                f"{live['(total)'] / KB:.1f} KB live; the case's own state and variables "
                f"{own / KB:.1f} KB (ratio live / own {live['(total)'] / own:.2f})"
            )
            tables = sorted((n for n in live if n != "(total)"), key=lambda n: -live[n])
            shown = [f"{n} {live[n] / KB:.1f}" for n in tables if abs(live[n]) >= KB / 10]
            print(f"    live KB by table: {', '.join(shown)}")
    print("\nstep process memory (loop, cases of 20 steps), KB; ratio to the reading after 100 steps")
    for name, readings in rss.items():
        base = readings[0]["VmRSS"]
        shown = "; ".join(
            f"after {r['steps']}: VmRSS {r['VmRSS']} ({r['VmRSS'] / base:.2f}), VmHWM {r['VmHWM']}"
            for r in readings
        )
        print(f"{name}: {shown}")


if __name__ == "__main__":
    main()

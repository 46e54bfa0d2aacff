"""Cost of one persisted task completion, against bare SpiffWorkflow doing the same steps.

    python bench/step_cost.py [--cases 20] [--steps 20] [--pg URL]

Baseline (measured in the same run): SpiffWorkflow alone, in memory, on the same parsed spec and
script engine, deserialising the whole workflow from JSON, completing the task, running engine
steps and serialising it again (with its standard serializer) per step. Persisted: one
`Orchestrator.complete_task` call (form check, load, step, save of state and projections, audit,
commit) on SQLite, and on PostgreSQL when reachable. Prints median and p95 per variant and the
ratios of the medians to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from copy import deepcopy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from engine.calendar import WorkingCalendar  # noqa: E402
from engine.models import Region, Task  # noqa: E402
from engine.parser import parse_files  # noqa: E402
from engine.registry import HandlerRegistry  # noqa: E402
from engine.scripting import ExpressionScriptEngine, build_functions  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402

LOOP = (Path(__file__).parent / "loop.bpmn").read_text()
VALUES = {"catatan": "laporan kegiatan", "selesai": False}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bare_spiff(cases: int, steps: int) -> list[float]:
    parsed = parse_files({"loop.bpmn": LOOP})[0]
    engine = ExpressionScriptEngine(build_functions(WorkingCalendar(), "Asia/Jakarta"), "Asia/Jakarta")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(deepcopy(CAMUNDA_CONFIG)))
    samples = []
    for _ in range(cases):
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        workflow.do_engine_steps()
        stored = serializer.serialize_json(workflow)
        for _ in range(steps):
            began = time.perf_counter()
            workflow = serializer.deserialize_json(stored)
            workflow.script_engine = engine
            [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.set_data(**VALUES)
            task.run()
            workflow.do_engine_steps()
            stored = serializer.serialize_json(workflow)
            samples.append(time.perf_counter() - began)
    return samples


def persisted(url: str, cases: int, steps: int) -> list[float]:
    upgrade(url)
    orch = Orchestrator(url, HandlerRegistry())
    with orch.uow() as uow:
        uow.session.add(Region(code="B1", name="Bench", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.deploy({"loop.bpmn": LOOP})
    raw = {"catatan": VALUES["catatan"], "selesai": "false"}
    samples = []
    for _ in range(cases):
        instance_id = orch.start("loop", "B1", {})
        for _ in range(steps):
            with orch.session() as s:
                task_id = s.scalars(
                    select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready")
                ).one()
            began = time.perf_counter()
            orch.complete_task(task_id, raw, user="bench")
            samples.append(time.perf_counter() - began)
    orch.close()
    return samples


def add_pg_option(parser) -> None:
    """`--pg URL`: the PostgreSQL database a bench makes its own schema in (default:
    KSDPL_BENCH_DATABASE_URL, else KSDPL_TEST_DATABASE_URL, else the local `test` database)."""
    parser.add_argument(
        "--pg",
        default=os.environ.get("KSDPL_BENCH_DATABASE_URL")
        or os.environ.get("KSDPL_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )


def postgres_url(base: str) -> tuple[str, callable]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20, help="task completions per case (a loop)")
    add_pg_option(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bare_spiff(2, 5)  # warm-up: imports, caches
    results = {"bare SpiffWorkflow (in memory, JSON per step)": bare_spiff(args.cases, args.steps)}
    with tempfile.TemporaryDirectory() as tmp:
        results["persisted, SQLite"] = persisted(f"sqlite:///{tmp}/bench.db", args.cases, args.steps)
    try:
        url, drop = postgres_url(args.pg)
    except Exception as err:  # no server: say so, measure the rest
        print(f"PostgreSQL not measured: {type(err).__name__}: {err}", file=sys.stderr)
    else:
        try:
            results["persisted, PostgreSQL"] = persisted(url, args.cases, args.steps)
        finally:
            drop()

    baseline = statistics.median(next(iter(results.values())))
    rows = []
    for name, samples in results.items():
        median, p95 = statistics.median(samples), percentile(samples, 95)
        rows.append(
            {
                "variant": name,
                "n": len(samples),
                "median_ms": round(median * 1000, 3),
                "p95_ms": round(p95 * 1000, 3),
                "ratio_to_baseline": round(median / baseline, 2),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    python = sys.version.split()[0]
    print(f"one task completion, {args.cases} cases x {args.steps} steps (loop), Python {python}")
    print(f"{'variant':<48} {'n':>5} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    for r in rows:
        figures = f"{r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} {r['ratio_to_baseline']:>6.2f}"
        print(f"{r['variant']:<48} {r['n']:>5} {figures}")


if __name__ == "__main__":
    main()

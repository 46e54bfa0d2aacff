"""Cost of a task completion along the real KSDPL path, per stage, against bare SpiffWorkflow.

    python bench/ksdpl_path.py [--cases 5] [--rounds 5] [--years 5] [--pg URL] [--no-pg]

Each case runs every user task of the 12 stages the way the web front end does
(`tests/ksdpl/driver.py`, `paths.whole_path`): `--rounds` times each revision loop
(prerequisites not met and followed up, the DPRD refuses and the plan is revised and
resubmitted, Kemendagri sends the plan back for revision), then the Naskah, and `--years`
yearly rounds of activity plan and report until the agreement ends. Timed: one
`Orchestrator.complete_task` (form check, load, handler, engine step, save of state and
projections, audit, commit); the uploads, the worker's jobs and timers between completions are
not. SQLite and PostgreSQL are each measured twice, on two databases of their own taking turns a
case each: as the product runs by default, where one process takes all the steps and so uses
the workflow it kept from the case's previous step (`engine.warm`), and "cold"
(`KSDPL_WARM_CASES=0`), where every step restores the stored state, as when another process
took the case's previous step.

Baseline, in the same run: SpiffWorkflow alone, in memory, doing the same completion from the
same stored state with the same values, right after each completion (so both meet the machine
in the same state; its speed here moves by half within a run): deserialise the state
(SpiffWorkflow's serializer with the engine's converters, which read and write the stored
layout, spec attached), set the data, run the task and the engine steps, serialise again
(without the engine's pruning). Printed per stage (of the completed task): n, median and p95 in
ms, the ratio of the medians to the baseline, and the stored state (bytes of `instances.state`)
after the stage's completions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.step_cost import add_pg_option, percentile, postgres_url  # noqa: E402
from engine import runtime  # noqa: E402
from engine.calendar import WorkingCalendar  # noqa: E402
from engine.clock import clock  # noqa: E402
from engine.config import WARM_CASES  # noqa: E402
from engine.models import Instance, LookupValue, Region, Task  # noqa: E402
from engine.parser import parse_files  # noqa: E402
from engine.scripting import ExpressionScriptEngine, build_functions  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from handlers import registry  # noqa: E402
from tests.ksdpl import paths  # noqa: E402
from tests.ksdpl.conftest import BPMN, DMN, JANUARY_2027, REGIONS, START, deploy_ksdpl  # noqa: E402
from tests.ksdpl.driver import Case  # noqa: E402

REGION = "3578"  # Kota Surabaya, WIB


class Recorder:
    """Times `complete_task`, then bare SpiffWorkflow redoing the same completion (`Bare`)."""

    def __init__(self, orch: Orchestrator, bare: Bare) -> None:
        self.orch = orch
        self.bare = bare
        self.samples: list[dict[str, Any]] = []
        self._values: dict[str, Any] | None = None
        self._complete = orch.complete_task
        orch.complete_task = self.complete_task  # type: ignore[method-assign]
        original = runtime.Case.complete_user_task

        def remember(case: runtime.Case, task_id: str, values: dict[str, Any]) -> None:
            self._values = dict(values)  # the form's values and the handler's, as the engine sets them
            original(case, task_id, values)

        runtime.Case.complete_user_task = remember  # type: ignore[method-assign]
        self._original = original

    def close(self) -> None:
        runtime.Case.complete_user_task = self._original  # type: ignore[method-assign]

    def complete_task(self, task_id: str, raw_values, **kwargs):
        with self.orch.session() as s:
            query = select(Task.stage, Task.instance_id).where(Task.id == task_id)
            stage, instance_id = s.execute(query).one()
            before = s.scalar(select(Instance.state).where(Instance.id == instance_id))
        now = clock.now()
        began, cpu = time.perf_counter(), time.process_time()
        result = self._complete(task_id, raw_values, **kwargs)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        with self.orch.session() as s:
            # JSON with ASCII escapes: characters are bytes
            size = s.scalar(select(func.length(Instance.state)).where(Instance.id == instance_id))
        sample = {"stage": stage, "seconds": elapsed, "cpu": cpu, "state_bytes": size}
        sample["bare"] = self.bare.complete(before, task_id, self._values or {}, now)
        self.samples.append(sample)
        return result


def prepare(url: str, warm_cases: int = WARM_CASES) -> Orchestrator:
    """A migrated database with the measured region, the country list and KSDPL deployed."""
    upgrade(url)
    orch = Orchestrator(url, registry, warm_cases=warm_cases)
    with orch.uow() as uow:
        name, level, zone = REGIONS[REGION]
        uow.session.add(Region(code=REGION, name=name, level=level, timezone=zone, province_code="35"))
        uow.session.add(LookupValue(list_name="negara_tanpa_hubungan_diplomatik", code="IL", label="Israel"))
        uow.commit()
    clock.set(JANUARY_2027)
    deploy_ksdpl(orch)
    return orch


def start(orch: Orchestrator, kind: type[Case] = Case) -> Case:
    """A new case in the measured region, started by its Pemda on 4 January 2027."""
    clock.set(JANUARY_2027)
    instance_id = orch.start("ksdpl", REGION, dict(START), user=f"pemda-{REGION}")
    return kind(orch, instance_id, REGIONS[REGION][2])


def persisted(
    variants: list[tuple[str, int]], cases: int, rounds: int, years: int
) -> list[list[dict[str, Any]]]:
    """Each variant (a database URL of its own, how many workflows its process keeps) walks
    `cases` cases; the variants take turns, a case each, so a machine that slows down for a while
    slows them alike."""
    orchs = [prepare(url, warm_cases) for url, warm_cases in variants]
    bare = Bare()
    recorders = [Recorder(orch, bare) for orch in orchs]
    try:
        for _ in range(cases):
            for orch in orchs:
                paths.whole_path(start(orch), rounds, years)
    finally:
        for recorder in reversed(recorders):  # each put back the method it found
            recorder.close()
        for orch in orchs:
            orch.close()
    return [recorder.samples for recorder in recorders]


class Bare:
    """SpiffWorkflow alone, in memory, redoing one completion from the stored state."""

    def __init__(self) -> None:
        parsed = parse_files({"ksdpl.bpmn": BPMN, "kelayakan.dmn": DMN})
        [self.deployment] = [p for p in parsed if p.key == "ksdpl"]
        zone = REGIONS[REGION][2]
        self.engine = ExpressionScriptEngine(build_functions(WorkingCalendar(), zone), zone)

    def complete(self, state: str, task_id: str, values: dict[str, Any], now) -> tuple[float, float]:
        """Seconds, and seconds of this process's CPU."""
        serializer = runtime.SERIALIZER
        with clock.local() as move:
            move(now)
            began, cpu = time.perf_counter(), time.process_time()
            dct = json.loads(state)
            serializer.migrate(dct)
            dct["spec"] = self.deployment.spec
            dct["subprocess_specs"] = dict(self.deployment.subprocess_specs)
            workflow = serializer.from_dict(dct)
            workflow.script_engine = self.engine
            task = workflow.get_task_from_id(UUID(task_id))
            task.set_data(**values)
            task.run()
            while True:
                workflow.do_engine_steps()
                if not workflow.get_tasks(state=TaskState.READY, manual=False):
                    break
            serializer.serialize_json(workflow)
            return time.perf_counter() - began, time.process_time() - cpu


def _row(name: str, stage: int | str, own: list[dict[str, Any]]) -> dict:
    seconds = [sample["seconds"] for sample in own]
    bare = [sample["bare"] for sample in own]
    cpu = statistics.median(sample["cpu"] for sample in own)
    bare_seconds = statistics.median(wall for wall, _cpu in bare)
    bare_cpu = statistics.median(cpu for _wall, cpu in bare)
    sizes = [sample["state_bytes"] for sample in own]
    return {
        "database": name,
        "stage": stage,
        "n": len(own),
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "bare_median_ms": round(bare_seconds * 1000, 2),
        "ratio": round(statistics.median(seconds) / bare_seconds, 2),
        "cpu_median_ms": round(cpu * 1000, 2),
        "bare_cpu_median_ms": round(bare_cpu * 1000, 2),
        "cpu_ratio": round(cpu / bare_cpu, 2) if bare_cpu else None,
        "state_kb_median": round(statistics.median(sizes) / 1024, 1),
        "state_kb_max": round(max(sizes) / 1024, 1),
    }


def table(name: str, samples: list[dict[str, Any]]) -> list[dict]:
    by_stage: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_stage[sample["stage"]].append(sample)
    rows = [_row(name, stage, own) for stage, own in sorted(by_stage.items())]
    return [*rows, _row(name, "all", samples)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="times through each revision loop")
    parser.add_argument("--years", type=int, default=5, help="yearly plan and report rounds")
    add_pg_option(parser)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = [(f"sqlite:///{tmp}/kept.db", WARM_CASES), (f"sqlite:///{tmp}/cold.db", 0)]
        results["SQLite"], results["SQLite cold"] = persisted(variants, args.cases, args.rounds, args.years)
    if not args.no_pg:
        dropped = []
        try:
            variants = []
            for warm_cases in (WARM_CASES, 0):
                url, drop = postgres_url(args.pg)
                dropped.append(drop)
                variants.append((url, warm_cases))
        except Exception as err:  # no server: say so, measure the rest
            print(f"PostgreSQL not measured: {type(err).__name__}: {err}", file=sys.stderr)
        else:
            samples = persisted(variants, args.cases, args.rounds, args.years)
            results["PostgreSQL"], results["PostgreSQL cold"] = samples
        finally:
            for drop in dropped:
                drop()
    rows = [row for name, samples in results.items() for row in table(name, samples)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"KSDPL task completion per stage: {args.cases} cases, {args.rounds} revision round(s), "
        f"{args.years} year(s); Python {sys.version.split()[0]}; load average {load}"
    )
    header = f"{'database':<15} {'stage':>5} {'n':>4} {'median':>7} {'p95':>7} {'bare':>6} {'ratio':>5}"
    print(f"{header} {'cpu':>6} {'bare':>6} {'ratio':>5} {'state KB (median/max)':>22}")
    for r in rows:
        figures = f"{r['median_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['bare_median_ms']:>6.2f} {r['ratio']:>5.2f}"
        cpu = f"{r['cpu_median_ms']:>6.2f} {r['bare_cpu_median_ms']:>6.2f} {r['cpu_ratio'] or 0:>5.2f}"
        sizes = f"{r['state_kb_median']:>10.1f} / {r['state_kb_max']:<9.1f}"
        print(f"{r['database']:<15} {r['stage']!s:>5} {r['n']:>4} {figures} {cpu} {sizes}")
    print(
        "times in ms; bare = SpiffWorkflow alone from the same stored state; ratio of the medians; "
        "cpu = this process's CPU time (PostgreSQL's own work not included); "
        "cold = every step restores the stored state"
    )
    for name in results:
        median = {r["stage"]: r["median_ms"] for r in rows if r["database"] == name}
        if 2 in median and 11 in median:
            print(f"{name}: stage 11 / stage 2 = {median[11] / median[2]:.2f}")


if __name__ == "__main__":
    main()

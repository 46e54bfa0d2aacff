"""Task completions per second along the real KSDPL path with 1, 2 and 4 processes at once.

    python bench/throughput.py [--processes 1 2 4] [--early 30] [--late 4] [--rounds 2]
                               [--pg URL] [--no-sqlite]

Each process is a separate Python process with its own `Orchestrator` (as separate web
processes or workers are) and its own cases; it first brings them, untimed, to where the measured
stretch begins, waits for the others at a barrier, then walks the stretch for each of its cases
as a client of the product does (the test driver `tests/ksdpl/driver.py` without its test
bookkeeping, `OwnCase`): per completion one read of the task's page (the task with its form and
its case's variables), `add_document` for each required file (`--files-with-completion`: sent
with the completion instead, as the web's task form and the API's multipart completion do),
`complete_task`; between tasks the worker's `run_due` for that case only, by the same process:

- early (stage 2): a new case's exploration, study and prerequisites (3 completions, 2 jobs);
- late (stages 8-11): a case that went through stages 2-7 with `--rounds` revision rounds each
  (`bench/ksdpl_path.py`), from the Naskah's draft to the signed Naskah's salinan (10
  completions, 2 jobs).

Each process keeps the workflows its steps saved (`engine.warm`), so its steps on a case after the
first skip restoring it; `--cold` measures every step restoring the stored state, as when web
processes and workers take turns on a case.

Throughput = completions of all processes / wall time from the barrier to the last process's
end. Baseline, in the same run: one process. Printed per database, stretch and process count:
completions, wall time, completions per second, the ratio to one process, and how the processes'
wall time splits between the product calls (completions, uploads, jobs, page reads) and the
client's own work. PostgreSQL at `--pg` (default
KSDPL_BENCH_DATABASE_URL; `--async-commit` turns synchronous_commit off, to show what the
WAL flush of each commit costs); SQLite (one writer: the embedded default runs one web process and one
worker) with one process, for reference.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ksdpl_path import prepare, start  # noqa: E402
from bench.step_cost import add_pg_option, postgres_url  # noqa: E402
from engine.config import WARM_CASES  # noqa: E402
from engine.service import Orchestrator, RunReport  # noqa: E402
from handlers import registry  # noqa: E402
from tests.ksdpl import paths  # noqa: E402
from tests.ksdpl.driver import Case  # noqa: E402


class OwnCase(Case):
    """A case driven as a client of the product drives it: per completion the task's page (the
    task and its case's variables, one read), an upload per required file, the completion; no
    test bookkeeping (`notes_stages`). Its process plays the worker for it alone: processes never
    take each other's jobs (a worker racing the others for them is what bench/timers.py measures)."""

    notes_stages = False

    def run_worker(self) -> RunReport:
        report = self.orch.run_due(instance_id=self.id)
        self._note_stage()
        return report


def early(orch: Orchestrator, rounds: int) -> Case:
    return start(orch, OwnCase)


def early_stretch(case: Case) -> None:
    paths.explore(case)
    paths.check_prerequisites(case)


def late(orch: Orchestrator, rounds: int) -> Case:
    case = start(orch, OwnCase)
    paths.to_naskah(case, rounds)
    return case


def late_stretch(case: Case) -> None:
    paths.sign(case, years=5)


# The product calls timed in each process (seconds): the completions, the uploads, the worker's
# runs between tasks, the task page's read. The rest of the wall time is the client's own work.
CALLS = ("complete", "upload", "jobs", "page")

# name: (bring a new case to the stretch, the stretch)
STRETCHES: dict[str, tuple[Callable[[Orchestrator, int], Case], Callable[[Case], None]]] = {
    "early (stage 2)": (early, early_stretch),
    "late (stages 8-11)": (late, late_stretch),
}


def one_process(
    url: str, stretch: str, cases: int, rounds: int, files: bool, warm_cases: int, barrier, results
) -> None:
    """A separate process: prepare its cases, wait for the others, walk the stretch for each."""
    OwnCase.files_with_completion = files
    orch = Orchestrator(url, registry, warm_cases=warm_cases)
    bring, walk = STRETCHES[stretch]
    prepared = [bring(orch, rounds) for _ in range(cases)]
    counted = {"completions": 0, **dict.fromkeys(CALLS, 0.0)}

    def timed(call: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                counted[name] += time.perf_counter() - began
                counted["completions"] += name == "complete"

        return timed_call

    orch.complete_task = timed(orch.complete_task, "complete")  # type: ignore[method-assign]
    orch.add_document = timed(orch.add_document, "upload")  # type: ignore[method-assign]
    orch.run_due = timed(orch.run_due, "jobs")  # type: ignore[method-assign]
    OwnCase.task_page = timed(OwnCase.task_page, "page")  # type: ignore[method-assign]
    barrier.wait(timeout=900)  # a sibling that failed while preparing breaks it, not hangs it
    began = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
    for case in prepared:
        walk(case)
    results.put({"began": began, "ended": time.monotonic(), **counted})
    orch.close()


def measure(
    url: str, stretch: str, processes: int, cases: int, rounds: int, files: bool, warm_cases: int
) -> dict[str, Any]:
    prepare(url).close()
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate servers are
    barrier, results = context.Barrier(processes), context.Queue()
    children = [
        context.Process(
            target=one_process, args=(url, stretch, cases, rounds, files, warm_cases, barrier, results)
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    reports = [results.get(timeout=1800) for _ in children]
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"a measuring process failed (exit code {child.exitcode})")
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    completions = sum(r["completions"] for r in reports)
    shares = {name: sum(r[name] for r in reports) / (wall * processes) for name in CALLS}
    return {"completions": completions, "wall": wall, "per_second": completions / wall, **shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--early", type=int, default=30, help="cases per process, early stretch")
    parser.add_argument("--late", type=int, default=4, help="cases per process, late stretch")
    parser.add_argument("--rounds", type=int, default=2, help="revision rounds before the late stretch")
    add_pg_option(parser)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--files-with-completion",
        action="store_true",
        help="send the files with the completion (the web's task form, the API's multipart completion), "
        "not uploaded first with add_document",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="every step restores its case's stored state (KSDPL_WARM_CASES=0), as when web processes "
        "and workers take turns on a case; by default a process uses the workflow it kept (engine.warm)",
    )
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="PostgreSQL sessions with synchronous_commit=off: a commit does not wait for the WAL flush",
    )
    args = parser.parse_args()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    per_process = {"early (stage 2)": args.early, "late (stages 8-11)": args.late}
    warm = 0 if args.cold else WARM_CASES
    files_with_completion = args.files_with_completion

    rows = []
    for stretch, cases in per_process.items():
        if not args.no_sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.db"
                figures = measure(url, stretch, 1, cases, args.rounds, files_with_completion, warm)
            rows.append({"database": "SQLite", "stretch": stretch, "processes": 1, **figures})
        for processes in args.processes:
            url, drop = postgres_url(args.pg)
            if args.async_commit:
                url += "%20-csynchronous_commit%3Doff"  # appended to the schema's `options`
            try:
                figures = measure(url, stretch, processes, cases, args.rounds, files_with_completion, warm)
            finally:
                drop()
            rows.append({"database": "PostgreSQL", "stretch": stretch, "processes": processes, **figures})
            print(f"  {stretch}, {processes} process(es): {figures['per_second']:.1f}/s", file=sys.stderr)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = "synchronous_commit off" if args.async_commit else "synchronous_commit on"
    files = "files sent with the completion" if args.files_with_completion else "files uploaded first"
    kept = "every step restores its case (--cold)" if args.cold else f"{warm} workflows kept per process"
    print(
        f"task completions per second, KSDPL path; {args.rounds} revision rounds; {commit}; {files}; {kept}; "
        f"load average {load_before} -> {load}"
    )
    head = f"{'procs':>5} {'done':>5} {'wall s':>7} {'per s':>7} {'ratio':>6} " + " ".join(
        f"{name:>8}" for name in (*CALLS, "client")
    )
    print(f"{'database':<11} {'stretch':<19} {head}")
    for r in rows:
        base = min(  # the fewest processes run for this database and stretch (one unless left out)
            (b for b in rows if (b["database"], b["stretch"]) == (r["database"], r["stretch"])),
            key=lambda b: b["processes"],
        )
        print(
            f"{r['database']:<11} {r['stretch']:<19} {r['processes']:>5} {r['completions']:>5} "
            f"{r['wall']:>7.2f} {r['per_second']:>7.1f} {r['per_second'] / base['per_second']:>6.2f} "
            + " ".join(f"{r[name]:>8.0%}" for name in CALLS)
            + f" {1 - sum(r[name] for name in CALLS):>8.0%}"
        )
    print("ratio: to the fewest processes run (one unless left out), same database and stretch; then the")
    print("share of the processes' wall time in complete_task, add_document, run_due (the jobs between")
    print("tasks) and the task page's read, and the rest: the client's own work (filling the form,")
    print("walking the path) and waiting at the start")


if __name__ == "__main__":
    main()

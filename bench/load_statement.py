"""What reading the calendar's version costs a step: the statement that loads a case, with and
without its calendar-version subquery, alternating, on SQLite and PostgreSQL.

    python bench/load_statement.py [--runs 4000] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.step_cost import LOOP, add_pg_option, postgres_url  # noqa: E402
from engine.models import Instance, Region  # noqa: E402
from engine.projections import LOAD, LOAD_COLUMNS  # noqa: E402
from engine.registry import HandlerRegistry  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402

WITHOUT = (
    select(*(c for c in LOAD_COLUMNS if c.name != "calendar_version"))
    .outerjoin(Region, Region.code == Instance.region_code)
    .where(Instance.id == LOAD.whereclause.right)
)


def measure(url: str, runs: int) -> dict[str, float]:
    upgrade(url)
    orch = Orchestrator(url, HandlerRegistry())
    with orch.uow() as uow:
        uow.session.add(Region(code="B1", name="Bench", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.deploy({"loop.bpmn": LOOP})
    instance_id = orch.start("loop", "B1", {})
    samples: dict[str, list[float]] = {"with": [], "without": []}
    with orch.db.connect() as conn:
        for n in range(runs):
            pair = [("with", LOAD), ("without", WITHOUT)]
            for name, statement in pair if n % 2 else reversed(pair):
                began = time.perf_counter()
                conn.execute(statement, {"id": instance_id}).first()
                samples[name].append(time.perf_counter() - began)
    orch.close()
    return {name: statistics.median(values) * 1e6 for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000)
    add_pg_option(parser)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = measure(f"sqlite:///{tmp}/load.db", args.runs)
    try:
        url, drop = postgres_url(args.pg)
    except Exception as err:  # no server: say so, measure the rest
        print(f"PostgreSQL not measured: {type(err).__name__}: {err}", file=sys.stderr)
    else:
        try:
            results["PostgreSQL"] = measure(url, args.runs)
        finally:
            drop()
    print(f"load statement, median of {args.runs} runs each, alternating")
    for name, medians in results.items():
        print(
            f"{name:<11} with calendar version {medians['with']:7.1f} µs   "
            f"without {medians['without']:7.1f} µs   ratio {medians['with'] / medians['without']:.2f}"
        )


if __name__ == "__main__":
    main()

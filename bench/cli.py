"""How long `ksdpl` takes to start: `--help` and `region list`, against `python -c pass`.

    python bench/cli.py [--runs 20] [--pg URL]

Each command runs as its own process (the installed console script's entry point, `web.cli:main`,
with the same interpreter), the three alternating so a busy machine slows them alike. Prints the
median and p95 wall time of each and the ratio of the medians to the bare interpreter's.
`region list` reads a SQLite database made for the run (and PostgreSQL at `--pg`, default
`KSDPL_BENCH_DATABASE_URL`, when given).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from step_cost import percentile  # noqa: E402  (the benches' shared helpers)

ROOT = Path(__file__).resolve().parent.parent
KSDPL = "from web.cli import main; main()"


def timed(args: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def database(url: str) -> None:
    from sqlalchemy import create_engine, insert

    from engine.models import Region
    from engine.store import upgrade

    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Region),
            [
                {"code": f"R{r:02d}", "name": f"Kota {r}", "level": "kota", "timezone": "Asia/Jakarta"}
                for r in range(50)
            ],
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("KSDPL_BENCH_DATABASE_URL"))
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    sqlite = f"sqlite:///{tmp.name}/cli.db"
    database(sqlite)
    commands = {
        "python -c pass (baseline)": ([sys.executable, "-c", "pass"], {}),
        "ksdpl --help": ([sys.executable, "-c", KSDPL, "--help"], {}),
        "ksdpl region list (SQLite)": (
            [sys.executable, "-c", KSDPL, "region", "list"],
            {"KSDPL_DATABASE_URL": sqlite},
        ),
    }
    drop = None
    if args.pg:
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        joiner = "&" if "?" in args.pg else "?"
        pg = f"{args.pg}{joiner}options=-csearch_path%3D{schema}"
        database(pg)
        commands["ksdpl region list (PostgreSQL)"] = (
            [sys.executable, "-c", KSDPL, "region", "list"],
            {"KSDPL_DATABASE_URL": pg},
        )
    samples: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for argv, extra in commands.values():  # warm-up: page cache, bytecode
            timed(argv, {**os.environ, **extra})
        for _ in range(args.runs):
            for name, (argv, extra) in commands.items():
                samples[name].append(timed(argv, {**os.environ, **extra}))
    finally:
        if drop:
            drop()
        tmp.cleanup()

    baseline = statistics.median(samples["python -c pass (baseline)"])
    print(f"process start to exit, {args.runs} runs each, alternating, Python {sys.version.split()[0]}")
    print(f"{'command':<34} {'median ms':>9} {'p95 ms':>7} {'ratio':>6}")
    for name, values in samples.items():
        median, p95 = statistics.median(values), percentile(values, 95)
        print(f"{name:<34} {median * 1000:>9.0f} {p95 * 1000:>7.0f} {median / baseline:>6.1f}")


if __name__ == "__main__":
    main()

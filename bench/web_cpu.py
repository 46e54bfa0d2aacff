"""Server CPU per inbox and case-list page: this checkout against another revision, taking turns.

    python bench/web_cpu.py --against REV [--cases 5000] [--turns 20] [--pages 100]
                            [--pg URL | --sqlite]

For a change of a tenth or less on a machine whose speed wanders between runs: `bench/web.py`'s
throughput moved from 100 to 161 req/s between runs of the same code on one machine. Here both
versions run at once, each in a long-lived process of its own with data of its own
(`bench/inbox.py`'s bulk filler and app; on PostgreSQL a schema each), logged in as the measured
region's Pemda user through the Flask test client. They take turns, each going first in every other turn: a
turn is `--pages` inbox pages and as many case-list pages, and what the process spent
(`time.process_time`) and PostgreSQL's backends spent (`/proc`, all of the server's: run it on an
otherwise idle one) is divided by the pages. Two processes of the same code differ by up to a tenth
(hash seeds, memory layout; measured with `--against HEAD`), so `--pairs` fresh pairs run one after
another. The other revision is checked out in a temporary git worktree; it must have
`bench/inbox.py`'s `populate` and `bench_app`. Printed per pair and version: median and minimum
per page, and this checkout ÷ the other per turn (median); then the median over the pairs (the
baseline: the other revision, in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("/", "/kasus")


def backend_cpu() -> float:
    """Seconds of CPU every PostgreSQL process of this machine has spent."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def child(root: str, url: str, cases: int) -> None:
    """One version: its data and app as `bench/inbox.py` makes them, then a turn per line read."""
    sys.path[:0] = [root, f"{root}/bench"]
    from bench.inbox import NOW, PASSWORD, bench_app, populate
    from bench.step_cost import postgres_url
    from engine.clock import clock

    url, drop = postgres_url(url) if url.startswith("postgresql") else (url, lambda: None)
    orch = populate(url, cases)
    try:
        import web

        assert web.__file__.startswith(root), f"measuring {web.__file__}, not {root}"
        clock.set(NOW)
        client = bench_app(orch).test_client()
        assert client.post("/login", data={"username": "pemda", "password": PASSWORD}).status_code == 302
        for _ in range(30):  # warm-up: caches, prepared statements
            for page in PAGES:
                assert client.get(page).status_code == 200
        print("ready", flush=True)
        for line in sys.stdin:
            pages = int(line)
            backend, began = backend_cpu(), time.process_time()
            for _ in range(pages):
                for page in PAGES:
                    client.get(page)
            spent, backend = time.process_time() - began, backend_cpu() - backend
            print(json.dumps([spent / (2 * pages), backend / (2 * pages)]), flush=True)
    finally:
        orch.close()
        drop()


def pair(versions: dict[str, str], args: argparse.Namespace, tmp: str) -> dict[str, list[list[float]]]:
    """A fresh process per version, taking turns; each turn's CPU per page (server, PostgreSQL)."""
    runs = {}
    for i, (name, root) in enumerate(versions.items()):
        url = f"sqlite:///{tmp}/{i}-{time.monotonic_ns()}.db" if args.sqlite else args.pg
        command = [sys.executable, __file__, "--child", root, url, str(args.cases)]
        runs[name] = subprocess.Popen(
            command, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    for name, run in runs.items():
        assert run.stdout.readline().strip() == "ready", f"{name} did not start"
    turns: dict[str, list[list[float]]] = {name: [] for name in runs}
    for turn in range(args.turns):
        order = list(runs.items())
        for name, run in order[::-1] if turn % 2 else order:  # each goes first half the time
            run.stdin.write(f"{args.pages}\n")
            run.stdin.flush()
            turns[name].append(json.loads(run.stdout.readline()))
    for run in runs.values():
        run.stdin.close()
        run.wait()
    return turns


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from bench.step_cost import add_pg_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the other revision (git)")
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument(
        "--pairs", type=int, default=3, help="fresh processes of both, one pair after another"
    )
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100, help="inbox and case-list pages per turn")
    add_pg_option(parser)
    parser.add_argument("--sqlite", action="store_true", help="measure on SQLite instead")
    args = parser.parse_args()

    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{database}, {args.cases} cases, {args.pairs} pairs of processes, each {args.turns} turns of "
        f"{args.pages} inbox and {args.pages} case-list pages; CPU per page in ms"
    )
    print(
        f"{'pair':>4} {'version':<28} {'server median':>13} {'min':>6} {'PostgreSQL median':>17} {'ratio':>6}"
    )
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        other = f"{tmp}/other"
        worktree = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*worktree, "add", "-q", "--detach", other, args.against], check=True)
        try:
            for number in range(1, args.pairs + 1):
                turns = pair({f"{args.against} (baseline)": other, "this checkout": str(ROOT)}, args, tmp)
                base, new = turns.values()
                ratios.append(statistics.median(n[0] / b[0] for b, n in zip(base, new, strict=True)))
                for name, rows in turns.items():
                    server = [row[0] * 1000 for row in rows]
                    backend = statistics.median(row[1] * 1000 for row in rows)
                    median, least = statistics.median(server), min(server)
                    ratio = f"{ratios[-1]:>6.3f}" if rows is new else ""
                    print(f"{number:>4} {name:<28} {median:>13.2f} {least:>6.2f} {backend:>17.2f} {ratio}")
        finally:
            subprocess.run([*worktree, "remove", "--force", other], check=True)
    print(
        f"this checkout ÷ baseline, server CPU per turn: {statistics.median(ratios):.3f} (median of the "
        f"pairs' medians; {min(ratios):.3f}-{max(ratios):.3f}); load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:4], int(sys.argv[4]))
    else:
        main()

"""The inbox and the case list under 16 concurrent clients against gunicorn with 2 workers.

    python bench/web.py [--cases 5000] [--clients 16] [--seconds 20] [--threads 0] [--pg URL]
                        [--no-sqlite] [--requests]

Data: `bench/inbox.py`'s bulk filler (N running KSDPL cases, 50 regions, a tenth in the
measured region). Server: the app under gunicorn, 2 worker processes, as `bench/api.py` starts
it: sync workers, as the README's production command runs it (each takes one request at a time
from the socket the two share, and closes the connection after answering), or with `--threads N`
gthread workers of N threads each (keep-alive). Clients: threads of this process, each a browser
of its own (logged in as the regional Pemda user through the login form, then `http.client`
connections with its session cookie: kept alive where the server allows, a new one every
`REQUESTS_PER_CONNECTION` requests), asking for the inbox (`/`) and the case list (`/kasus`) in
turn, back to back, for `--seconds`. The clients share the server's two cores: a plain
connection costs them 0.25-0.5 ms of CPU a request where a `requests.Session` took 1.1-1.3 ms
(`--requests` measures with sessions instead). Baseline, in the same run against the same
server: one client. Printed per database and client count: requests, requests per second, p50
and p95 in ms (all, and per page), errors (any answer but 200, or no answer), the clients' CPU
per request, and the ratios to one client.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.api import gunicorn  # noqa: E402
from bench.inbox import PASSWORD, populate  # noqa: E402
from bench.step_cost import add_pg_option, percentile, postgres_url  # noqa: E402

PAGES = ("/", "/kasus")


def browser(base: str) -> requests.Session:
    """A logged-in browser of the Pemda user of the measured region."""
    session = requests.Session()
    session.trust_env = False  # no proxy or ~/.netrc lookup at every request
    form = session.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login page"
    data = {"username": "pemda", "password": PASSWORD, "csrf_token": token.group(1)}
    answer = session.post(f"{base}/login", data=data, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, f"login: {answer.status_code}"
    return session


# Requests a connection serves before the browser opens another. Each gunicorn worker keeps the
# connections it accepted, and which one accepts is a race: 16 connections opened at once landed
# 16 / 0, 8 / 8, 3 / 13 and 3 / 13 in four tries, so a run measured how they happened to fall.
# New connections go to whichever worker is free to accept first.
REQUESTS_PER_CONNECTION = 10


class Connection:
    """A logged-in browser's keep-alive connection: GET with its session cookie; True for a 200."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.served = 0

    def get(self, path: str) -> bool:
        if self.served == REQUESTS_PER_CONNECTION:
            self.reconnect()
        self.served += 1
        try:
            self.http.request("GET", path, headers=self.headers)
            answer = self.http.getresponse()
            answer.read()
            return answer.status == 200
        except (OSError, http.client.HTTPException):
            self.reconnect()
            return False

    def reconnect(self) -> None:
        self.http.close()
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.served = 0


class Requests:
    """The same with the `requests.Session` itself (`--requests`)."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.base, self.session = base, session

    def get(self, path: str) -> bool:
        try:
            return self.session.get(self.base + path, timeout=60).status_code == 200
        except requests.RequestException:
            return False


def load(base: str, clients: int, seconds: float, kind: type = Connection) -> dict[str, Any]:
    """`clients` browsers asking for the pages in turn for `seconds`; every answer timed."""
    browsers = [kind(base, browser(base)) for _ in range(clients)]
    for each in browsers:  # warm-up: each worker's caches and connections
        for page in PAGES:
            each.get(page)
    samples: list[tuple[str, float, bool]] = []
    cpu: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(own: Any, first: int) -> None:
        mine = []
        start.wait()
        end = time.monotonic() + seconds
        n = first
        began_cpu = time.thread_time()
        while time.monotonic() < end:
            page = PAGES[n % len(PAGES)]
            n += 1
            began = time.perf_counter()
            ok = own.get(page)
            mine.append((page, time.perf_counter() - began, ok))
        spent = time.thread_time() - began_cpu
        with lock:
            samples.extend(mine)
            cpu.append(spent)

    threads = [threading.Thread(target=client, args=(own, i)) for i, own in enumerate(browsers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    times = [t for _page, t, _ok in samples]
    row = {
        "clients": clients,
        "requests": len(samples),
        "per_second": len(samples) / wall,
        "p50": statistics.median(times),
        "p95": percentile(times, 95),
        "errors": sum(not ok for _page, _t, ok in samples),
        "client_cpu": sum(cpu) / len(samples),
    }
    for page in PAGES:
        mine = [t for p, t, _ok in samples if p == page]
        row[page] = (statistics.median(mine), percentile(mine, 95))
    return row


def measure(
    url: str, cases: int, clients: int, seconds: float, threads: int, kind: type
) -> list[dict[str, Any]]:
    began = time.perf_counter()
    populate(url, cases).close()
    print(f"  {cases} cases written in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    with gunicorn(url, workers=2, threads=threads, env_extra={"KSDPL_SECURE_COOKIES": "0"}) as base:
        return [load(base, 1, seconds, kind), load(base, clients, seconds, kind)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    add_pg_option(parser)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per gunicorn worker (0: sync, as in production)"
    )
    parser.add_argument("--requests", action="store_true", help="clients are requests.Sessions")
    args = parser.parse_args()
    kind = Requests if args.requests else Connection
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    results: dict[str, list[dict[str, Any]]] = {}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = measure(
                f"sqlite:///{tmp}/bench.db", args.cases, args.clients, args.seconds, args.threads, kind
            )
    url, drop = postgres_url(args.pg)
    try:
        results["PostgreSQL"] = measure(url, args.cases, args.clients, args.seconds, args.threads, kind)
    finally:
        drop()

    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"inbox (/) and case list (/kasus) in turn, {args.cases} cases, "
        f"gunicorn 2 workers, {f'gthread x {args.threads} threads' if args.threads else 'sync'}, "
        f"{args.seconds:.0f} s per run, "
        f"clients: {'requests' if args.requests else 'http.client'}; "
        f"load average {load_before} -> {load_after}"
    )
    head = (
        f"{'clients':>7} {'requests':>8} {'req/s':>6} {'ratio':>5} {'p50 ms':>6} {'p95 ms':>6} {'ratio':>5}"
    )
    print(f"{'database':<11} {head} {'errors':>6} {'client':>6}   inbox p50/p95   case list p50/p95")
    for database, rows in results.items():
        base = rows[0]
        for r in rows:
            pages = "   ".join(f"{r[p][0] * 1000:>7.1f} / {r[p][1] * 1000:<6.1f}" for p in PAGES)
            print(
                f"{database:<11} {r['clients']:>7} {r['requests']:>8} {r['per_second']:>6.1f} "
                f"{r['per_second'] / base['per_second']:>5.2f} {r['p50'] * 1000:>6.1f} "
                f"{r['p95'] * 1000:>6.1f} {r['p95'] / base['p95']:>5.2f} {r['errors']:>6} "
                f"{r['client_cpu'] * 1000:>6.2f}   {pages}"
            )
    print(
        "ratios: to one client on the same server (requests per second, p95); "
        "client: the client threads' CPU per request, ms"
    )


if __name__ == "__main__":
    main()

"""Scale-out on PostgreSQL, proven: two gunicorn web processes and two `ksdpl worker` processes
share one database; 50 KSDPL cases go through stages 1-7 over the JSON API, each request to the
other web server than the one before, the workers running the service tasks. Half the DPRDs
decide; for the other half time moves on 120 days (in all four processes, `shifted.py`) and the
workers fire their deadline timers at once, and the plans are deemed approved. Then the audit
log must show every task completed once, every job run once, every timer fired once, and every
case waiting at the Naskah with no incident: nothing ran twice and nothing was lost. The login
throttle counts failures at one web server against the other.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from engine.clock import clock
from engine.models import AuditEvent, Incident, Instance, Job, Task, Timer, WorkerHeartbeat
from engine.scripting import add_years
from tests.api.conftest import USERS, Api
from tests.api.driver import HttpCase
from tests.conftest import ROOT
from tests.ksdpl.conftest import START
from tests.ksdpl.driver import ALL_PREREQUISITES
from tests.web.conftest import PASSWORD

CASES = 50
DRIVERS = 4  # cases driven at the same time
SHIFT = timedelta(days=120)  # past every 45-working-day deadline, before the LoI's warning
WAIT = 90.0  # seconds a case may wait for the workers before the test gives up on it
pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def wait_until_serving(base: str, child: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, f"{base} exited:\n{log.read_text()}"
        try:
            if requests.get(f"{base}/api/v1/openapi.json", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer:\n{log.read_text()}")


@pytest.fixture
def cluster(orch, tmp_path) -> Iterator[Cluster]:
    """Two web processes (gunicorn, one worker each) and two `ksdpl worker` processes on the
    test's PostgreSQL schema, their clocks at real time until the test shifts them."""
    clock.set(None)  # the fixture froze the test's clock in 2027; the servers run on real time
    shift = tmp_path / "clock-shift"
    shift.write_text("0")
    env = {
        "KSDPL_TEST_CLOCK_SHIFT": str(shift),
        **os.environ,
        "KSDPL_DATABASE_URL": orch.database_url,
        "KSDPL_SECRET_KEY": "kunci-uji-bersama",  # one key for both, as the README asks
        "KSDPL_HANDLERS": "handlers",
        "KSDPL_SECURE_COOKIES": "0",  # plain HTTP on 127.0.0.1: the browser must send its cookie back
    }
    shifted = [sys.executable, "-m", "tests.scale.shifted"]
    bases: list[str] = []
    with ExitStack() as stack:
        servers = []
        for n in range(2):
            port = free_port()
            command = [
                *shifted,
                "gunicorn",
                "-w",
                "1",
                "-k",
                "sync",  # as the README's production command
                "--timeout",
                "150",
                "--log-level",
                "warning",
            ]
            log = tmp_path / f"web{n}.log"
            child = stack.enter_context(
                process([*command, "-b", f"127.0.0.1:{port}", "web.wsgi:app"], env, log)
            )
            servers.append((f"http://127.0.0.1:{port}", child, log))
        for n in range(2):
            worker = [*shifted, "ksdpl", "worker", "--interval", "1"]
            stack.enter_context(process(worker, env, tmp_path / f"worker{n}.log"))
        for base, child, log in servers:
            wait_until_serving(base, child, log)
            bases.append(base)
        yield Cluster(bases, shift)


class Cluster:
    def __init__(self, bases: list[str], shift: Path) -> None:
        self.bases = bases
        self._shift = shift

    def move_time(self, by: timedelta) -> None:
        """Time moves on in every process: the servers, the workers and this test."""
        self._shift.write_text(str(by.total_seconds()))
        clock.set(datetime.now(UTC) + by)


class Alternating(Api):
    """One user's client whose every request goes to the next web server in turn (sync workers
    close each connection after answering, so no request is sent on one they may be closing)."""

    def __init__(self, bases: list[str], token: str) -> None:
        super().__init__(bases[0], token)
        self._next = itertools.cycle(bases)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self._request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self._request("POST", path, **kwargs)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, next(self._next) + path, timeout=30, **kwargs)


def wait_for(case: HttpCase, ready: list[str]) -> None:
    """The workers take the case on by themselves; poll (through both servers) until they did."""
    deadline = time.monotonic() + WAIT
    while (now := case.ready()) != ready:
        assert time.monotonic() < deadline, f"case {case.id}: ready {now}, expected {ready}"
        time.sleep(0.2)


class Driver:
    """One thread's clients: every user's token, each request to the next web server."""

    def __init__(self, bases: list[str], tokens: dict[str, str]) -> None:
        self.api = {username: Alternating(bases, token) for username, token in tokens.items()}

    def case(self, instance_id: int) -> HttpCase:
        return HttpCase(self.api, instance_id)

    def close(self) -> None:
        for client in self.api.values():
            client.close()


def to_dprd(driver: Driver, n: int) -> int:
    """Case n from its start to the DPRD's decision (stages 2-5); the deadline is computed."""
    created = driver.api["pemda.sby"].ok(
        "post",
        "/api/v1/process-definitions/ksdpl/start",
        201,
        json={"region": "3578", "variables": START, "business_key": f"SKALA-{n:03d}"},
    )
    case = driver.case(created["id"])
    case.complete(
        "Task_Penjajakan",
        mekanisme_kunjungan_langsung=True,
        hasil_penjajakan="sepakat",
        uraian_penjajakan="Kunjungan delegasi; kedua pihak sepakat menjajaki kerja sama",
    )
    case.complete("Task_SusunKajian")
    case.complete("Task_PeriksaPersyaratan", **ALL_PREREQUISITES)
    wait_for(case, ["Task_SusunRancanganLoi"])  # the prerequisites' decision: a job
    case.complete("Task_SusunRancanganLoi")
    case.complete("Task_KoordinasiLoi")
    signed = case.today
    case.complete(
        "Task_TandaTanganLoi",
        tanggal_penandatanganan_loi=signed.isoformat(),
        masa_berlaku_loi_mulai=signed.isoformat(),
        masa_berlaku_loi_sampai=add_years(signed, 1).isoformat(),
    )
    case.complete("Task_SusunRencana")
    received = case.today.isoformat()
    case.complete("Task_AjukanDprd", tanggal_surat_pengajuan_dprd=received, tanggal_diterima_dprd=received)
    wait_for(case, ["Task_KeputusanDprd"])  # the deadline: a job, and the timer it starts
    return case.id


def dprd_decides(driver: Driver, instance_id: int) -> None:
    case = driver.case(instance_id)
    case.complete("Task_KeputusanDprd", keputusan_dprd="setuju")
    case.complete("Task_SampaikanRencana")
    to_naskah(case)


def deemed_approved(driver: Driver, instance_id: int) -> None:
    case = driver.case(instance_id)
    wait_for(case, ["Task_SuratTindakLanjutMendagri"])  # the timer fired, the deemed-approval job ran
    case.complete("Task_SuratTindakLanjutMendagri")
    to_naskah(case)


def to_naskah(case: HttpCase) -> None:
    """Stages 6-7: Kemendagri told (a job), verifies, and the Pemda drafts the Naskah next."""
    wait_for(case, ["Task_Verifikasi"])
    case.complete("Task_Verifikasi", hasil_verifikasi="susun_naskah", pertimbangan_verifikasi="Rencana layak")
    wait_for(case, ["Task_SusunNaskah"])


def in_parallel(cluster: Cluster, tokens: dict[str, str], work, items) -> list:
    """`work(driver, item)` for every item, DRIVERS at a time, each thread with its own clients."""
    local = threading.local()
    drivers: list[Driver] = []

    def run(item):
        if not hasattr(local, "driver"):
            local.driver = Driver(cluster.bases, tokens)
            drivers.append(local.driver)
        return work(local.driver, item)

    try:
        with ThreadPoolExecutor(DRIVERS) as pool:
            return list(pool.map(run, items))
    finally:
        for driver in drivers:
            driver.close()


def test_two_web_and_two_worker_processes_run_every_step_once_and_lose_none(orch, cluster, tokens):
    ids = in_parallel(cluster, tokens, to_dprd, range(CASES))
    decided, deemed = set(ids[0::2]), set(ids[1::2])
    in_parallel(cluster, tokens, dprd_decides, sorted(decided))
    cluster.move_time(SHIFT)  # the silent DPRDs' 45 working days are over
    in_parallel(cluster, tokens, deemed_approved, sorted(deemed))

    with orch.session() as s:
        cases = s.execute(
            select(Instance.id, Instance.status, Instance.stage).where(Instance.id.in_(ids))
        ).all()
        assert sorted(cases) == sorted((i, "running", 8) for i in ids)
        ready = s.execute(select(Task.instance_id, Task.bpmn_id).where(Task.status == "ready")).all()
        assert sorted(ready) == sorted((i, "Task_SusunNaskah") for i in ids)
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0  # every job ran and was dropped
        assert (
            s.scalar(select(func.count()).select_from(Timer).where(Timer.bpmn_id == "Event_BatasDprd")) == 0
        )
        assert len(s.scalars(select(WorkerHeartbeat.worker_id)).all()) == 2

        events = s.execute(
            select(AuditEvent.instance_id, AuditEvent.action, AuditEvent.task_id, AuditEvent.bpmn_id).where(
                AuditEvent.action.in_(["complete", "job", "timer", "job-failed", "incident"])
            )
        ).all()
    assert not [e for e in events if e.action in ("job-failed", "incident")]
    once = Counter((e.action, e.task_id) for e in events)
    assert [key for key, times in once.items() if times > 1] == []  # nothing ran twice

    # nothing lost: the same steps in every case of the same path
    def steps(instance_id: int, action: str) -> list[str]:
        return sorted(e.bpmn_id for e in events if e.instance_id == instance_id and e.action == action)

    for path in (deemed, decided):
        first = min(path)
        for action in ("complete", "job", "timer"):
            assert {tuple(steps(i, action)) for i in path} == {tuple(steps(first, action))}, action
    assert {tuple(steps(i, "timer")) for i in deemed} == {("Event_BatasDprd",)}
    assert {tuple(steps(i, "timer")) for i in decided} == {()}
    assert "Task_KeputusanDprd" not in steps(min(deemed), "complete")
    assert len(steps(min(deemed), "job")) >= 4  # prerequisites, deadline, deemed approval, Kemendagri told


def login(http: requests.Session, base: str, password: str) -> int:
    """A browser's login at one server: the form (CSRF token) and the post."""
    form = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    assert token, form.text[:500]
    data = {"username": "pemda.sby", "password": password, "csrf_token": token.group(1)}
    return http.post(f"{base}/login", data=data, allow_redirects=False, timeout=30).status_code


def test_failed_logins_at_one_web_process_count_at_the_other(orch, cluster):
    server_a, server_b = cluster.bases
    assert "pemda.sby" in USERS
    with requests.Session() as browser:
        for base in (server_a, server_b, server_a):  # the free failures, spread over both servers
            assert login(browser, base, "salah-sandi") == 401
        assert login(browser, server_b, PASSWORD) == 429  # B waits for failures A counted
        assert login(browser, server_a, PASSWORD) == 429

"""A private PostgreSQL cluster a test may stop and start: a database outage, for real.

Never the shared server on 5432 (other work runs on it). The cluster lives in a temporary
directory owned by the `postgres` OS user (initdb refuses to run as root) and listens on a free
port of 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(os.environ.get("KSDPL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ksdpl-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str) -> None:
        command = [str(BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: open sessions are ended, as when a server goes down."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def can_run_cluster() -> str | None:
    """Why a private cluster cannot run here, or None."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {BIN}"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "a private cluster needs root (to run initdb as postgres) or the postgres user"
    return None


def private_cluster() -> Iterator[PrivateCluster]:
    """For a fixture: a started cluster, removed afterwards; skipped (or failed in CI) if impossible."""
    reason = can_run_cluster()
    if reason:
        if os.environ.get("KSDPL_REQUIRE_POSTGRES"):
            pytest.fail(f"KSDPL_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()

"""`ksdpl serve`, `ksdpl user ...` and `ksdpl demo`, run as a script would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.models import Region, User
from engine.service import Orchestrator
from engine.store import upgrade
from tests.web.conftest import make_registry
from web.accounts import authenticate
from web.cli import build_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    orch = Orchestrator(url, make_registry())
    with orch.uow() as uow:
        uow.session.add(Region(code="32.73", name="Kota Bandung", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.close()
    return url


@pytest.fixture
def ksdpl(url):
    env = {**os.environ, "KSDPL_DATABASE_URL": url, "KSDPL_HANDLERS": "tests.web.cli_handlers"}

    def run(*args: str, ok: bool = True, handlers: str | None = None) -> subprocess.CompletedProcess:
        if handlers:
            env["KSDPL_HANDLERS"] = handlers
        proc = subprocess.run(
            [sys.executable, "-m", "web.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        else:
            assert proc.returncode != 0, proc.stdout
            assert "Traceback" not in proc.stderr and proc.stderr.strip()
        return proc

    return run


def users_in(url: str) -> dict[str, User]:
    orch = Orchestrator(url, make_registry())
    with orch.session() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        for u in users.values():
            s.expunge(u)
    orch.close()
    return users


def test_help_lists_engine_and_web_commands(ksdpl):
    out = ksdpl("--help").stdout
    for name in ("serve", "user", "demo", "deploy", "worker", "region", "init-db"):
        assert name in out


def test_user_add_list_and_passwd(ksdpl, url):
    ksdpl(
        "user",
        "add",
        "pemda.bandung",
        "--name",
        "Rina",
        "--group",
        "pemda",
        "--region",
        "32.73",
        "--password",
        "rahasia-123",
        "--email",
        "Rina@Bandung.contoh.go.id",
    )
    ksdpl("user", "add", "Kemendagri", "--name", "Dewi", "--group", "kemendagri", "--password", "rahasia-456")
    ksdpl(
        "user",
        "add",
        "ops",
        "--name",
        "Ops",
        "--group",
        "operator",
        "--group",
        "admin",
        "--password",
        "x" * 8,
    )
    listed = json.loads(ksdpl("user", "list", "--json").stdout)
    assert [u["username"] for u in listed] == ["kemendagri", "ops", "pemda.bandung"]
    assert listed[2] == {
        "username": "pemda.bandung",
        "name": "Rina",
        "groups": ["pemda"],
        "region": "32.73",
        "active": True,
        "email": "rina@bandung.contoh.go.id",
        "notify": "each",
    }
    assert listed[1]["groups"] == ["operator", "admin"]
    assert listed[0]["email"] is None
    ksdpl("user", "set-email", "kemendagri", "dewi@kemendagri.contoh.go.id")
    ksdpl("user", "notify", "kemendagri", "digest")
    bad = ksdpl("user", "set-email", "kemendagri", "bukan-alamat", ok=False)
    assert bad.returncode == 1 and "Alamat e-mail tidak valid: bukan-alamat" in bad.stderr
    wrong = ksdpl("user", "notify", "kemendagri", "kadang", ok=False)
    assert wrong.returncode == 2 and "kadang" in wrong.stderr
    listed = json.loads(ksdpl("user", "list", "--json").stdout)
    assert (listed[0]["email"], listed[0]["notify"]) == ("dewi@kemendagri.contoh.go.id", "digest")
    assert "password" not in json.dumps(listed) and "argon2" not in json.dumps(listed)
    text = ksdpl("user", "list").stdout
    assert "pemda.bandung" in text and "32.73" in text
    # a page at a time, found by part of a name and by region (a national deployment has thousands)
    first = ksdpl("user", "list", "--limit", "2").stdout
    assert "kemendagri" in first and "pemda.bandung" not in first and "(1-2 of 3; --offset for more)" in first
    rest = json.loads(ksdpl("user", "list", "--limit", "2", "--offset", "2", "--json").stdout)
    assert [u["username"] for u in rest] == ["pemda.bandung"]
    for asked in (["--search", "RIN"], ["--search", "bandung"], ["--region", "32.73"]):
        found = json.loads(ksdpl("user", "list", *asked, "--json").stdout)
        assert [u["username"] for u in found] == ["pemda.bandung"], asked
    assert ksdpl("user", "list", "--search", "tidak-ada").stdout.strip() == "no users"

    users = users_in(url)
    assert users["pemda.bandung"].password_hash.startswith("$argon2id$")
    ksdpl("user", "passwd", "pemda.bandung", "--password", "baru-sekali-1")
    orch = Orchestrator(url, make_registry())
    with orch.session() as s:
        assert authenticate(s, "pemda.bandung", "baru-sekali-1") is not None
        assert authenticate(s, "pemda.bandung", "rahasia-123") is None
    orch.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--group", "pemda", "--password", "rahasia-123"), "harus punya wilayah"),
        (
            ("--group", "pemda", "--region", "99.99", "--password", "rahasia-123"),
            "Wilayah '99.99' tidak dikenal",
        ),
        (("--group", "walikota", "--password", "rahasia-123"), "Grup tidak dikenal: walikota"),
        (
            ("--group", "dprd", "--group", "kemendagri", "--region", "32.73", "--password", "rahasia-123"),
            "sekaligus grup daerah dan grup nasional",
        ),
        (("--group", "kemenlu", "--password", "pendek"), "paling sedikit 8 karakter"),
    ],
)
def test_user_add_refusals(ksdpl, url, args, message):
    proc = ksdpl("user", "add", "baru", "--name", "Baru", *args, ok=False)
    assert proc.returncode == 1 and message in proc.stderr
    assert "baru" not in users_in(url)


def test_duplicate_user_and_unknown_user(ksdpl):
    ksdpl("user", "add", "a1", "--name", "A", "--group", "kemenlu", "--password", "rahasia-123")
    proc = ksdpl(
        "user", "add", "A1", "--name", "A", "--group", "kemenlu", "--password", "rahasia-123", ok=False
    )
    assert "error: Pengguna 'a1' sudah ada" in proc.stderr
    proc = ksdpl("user", "passwd", "tidak.ada", "--password", "rahasia-123", ok=False)
    assert "error: Pengguna 'tidak.ada' tidak ditemukan" in proc.stderr
    proc = ksdpl(
        "user", "add", "x y", "--name", "A", "--group", "kemenlu", "--password", "rahasia-123", ok=False
    )
    assert "Nama pengguna" in proc.stderr


def test_password_is_prompted_when_not_given(url, monkeypatch):
    monkeypatch.setenv("KSDPL_DATABASE_URL", url)
    monkeypatch.setenv("KSDPL_HANDLERS", "tests.web.cli_handlers")
    runner = CliRunner()
    result = runner.invoke(
        build_cli(),
        ["user", "add", "dprd.bandung", "--name", "DPRD", "--group", "dprd", "--region", "32.73"],
        input="rahasia-789\nrahasia-789\n",
    )
    assert result.exit_code == 0, result.output
    assert "rahasia-789" not in result.output
    result = runner.invoke(
        build_cli(), ["user", "passwd", "dprd.bandung"], input="satu-dua-tiga\nlain-lagi-1\n"
    )
    assert result.exit_code != 0  # the two entries differ: asked again until input runs out
    orch = Orchestrator(url, make_registry())
    with orch.session() as s:
        assert authenticate(s, "dprd.bandung", "rahasia-789") is not None
    orch.close()


def test_serve_runs_the_app_and_the_worker(url, monkeypatch):
    monkeypatch.setenv("KSDPL_DATABASE_URL", url)
    monkeypatch.setenv("KSDPL_SECRET_KEY", "kunci-cli")
    monkeypatch.setenv("KSDPL_HANDLERS", "tests.web.cli_handlers")
    seen: dict = {}

    def fake_run_simple(host, port, app, **kwargs):
        seen.update(host=host, port=port, app=app, **kwargs)

    class FakeScheduler:
        def shutdown(self, wait=True):
            seen["shutdown"] = True

    def fake_start_background(self):
        seen["worker"] = self.interval
        return FakeScheduler()

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    monkeypatch.setattr("engine.worker.Worker.start_background", fake_start_background)
    result = CliRunner().invoke(
        build_cli(),
        ["serve", "--host", "0.0.0.0", "--port", "8123", "--with-worker", "--worker-interval", "5"],
    )
    assert result.exit_code == 0, result.output
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8123 and seen["threaded"] is True
    assert seen["worker"] == 5 and seen["shutdown"] is True
    assert seen["app"].extensions["ksdpl"].database_url == url
    assert "KSDPL_SECURE_COOKIES=0" in result.output


def _real_handlers_available() -> str | None:
    if not (ROOT / "processes" / "ksdpl.bpmn").is_file():
        return "processes/ksdpl.bpmn is not there yet"
    try:
        import handlers
    except ImportError as err:
        return f"handlers cannot be imported: {err}"
    if not hasattr(handlers, "registry"):
        return "handlers.registry (the KSDPL handlers) is not written yet"
    return None


def test_demo_creates_users_regions_and_cases_once(ksdpl, url):
    reason = _real_handlers_available()
    if reason:
        pytest.skip(reason)
    first = json.loads(ksdpl("demo", "--json", handlers="handlers").stdout)
    log = "\n".join(first["log"])
    assert "deployed ksdpl version 1" in log
    for stop in (
        "Task_Penjajakan",
        "Task_KeputusanDprd",
        "Task_Verifikasi",
        "Task_KoordinasiLoi",
        "Task_KonfirmasiKemenlu",
        "Task_SusunRencana",
    ):
        assert f"-> {stop}" in log, log
    users = users_in(url)
    assert {u["username"] for u in first["users"]} <= set(users)
    orch = Orchestrator(url, make_registry())
    with orch.session() as s:
        assert {r.code for r in s.scalars(select(Region))} >= {"32.73", "51", "91.03"}
        for row in first["users"]:
            assert authenticate(s, row["username"], row["password"]) is not None, row["username"]
    orch.close()
    second = json.loads(ksdpl("demo", "--json", handlers="handlers").stdout)
    assert "unchanged ksdpl version 1" in second["log"][0]
    assert all("exists" in line for line in second["log"][1:]), second["log"]

"""The `ksdpl` command as a script would use it: real processes, real database, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT


@pytest.fixture
def ksdpl(db_url):
    env = {**os.environ, "KSDPL_DATABASE_URL": db_url, "KSDPL_HANDLERS": "tests.engine.cli_handlers"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_a_case_from_the_command_line(ksdpl):
    ksdpl("init-db")
    ksdpl("region", "add", "3171", "--name", "Kota A", "--level", "kota", "--timezone", "WIB")
    ksdpl("region", "add", "1101", "--name", "Kota B", "--level", "kota", "--timezone", "WIB")
    assert json.loads(ksdpl("region", "list", "--json").stdout) == [
        {"code": "1101", "name": "Kota B", "level": "kota", "timezone": "Asia/Jakarta"},
        {"code": "3171", "name": "Kota A", "level": "kota", "timezone": "Asia/Jakarta"},
    ]
    assert ksdpl("region", "list").stdout.splitlines()[1].split()[:3] == ["3171", "kota", "Asia/Jakarta"]
    bpmn = str(FIXTURES / "review.bpmn")
    assert ksdpl("check", bpmn).stdout.strip() == "ok"
    assert ksdpl("deploy", bpmn).stdout.strip() == "deployed review version 1"
    assert ksdpl("deploy", bpmn).stdout.strip() == "unchanged review version 1"
    assert json.loads(ksdpl("deploy", bpmn, "--json").stdout) == [
        {"key": "review", "version": 1, "changed": False, "definition_id": 1}
    ]
    instance_id = int(ksdpl("start", "review", "--region", "3171", "--var", "judul=Dari CLI").stdout)
    [task] = json.loads(ksdpl("tasks", "--instance", str(instance_id), "--json").stdout)
    assert task["name"] == "Susun draf" and "form" not in task  # lists never carry forms
    [shown] = json.loads(ksdpl("show", str(instance_id), "--json").stdout)["tasks"]
    assert shown["id"] == task["id"] and [f["id"] for f in shown["form"]] == ["isi", "jumlah"]
    assert json.loads(ksdpl("tasks", "--group", "kemenlu", "--json").stdout) == []

    bad = ksdpl("complete", task["id"], "--var", "isi=x", "--var", "jumlah=500", ok=False)
    assert bad.returncode == 1 and "jumlah: Paling besar 50" in bad.stderr and "Traceback" not in bad.stderr

    done = json.loads(
        ksdpl(
            "complete",
            task["id"],
            "--var",
            "isi=isi dari cli",
            "--var",
            "jumlah=7",
            "--json",
        ).stdout
    )
    assert done["status"] == "running"
    again = ksdpl("complete", task["id"], "--var", "isi=y", "--var", "jumlah=1", ok=False)
    assert again.returncode == 1 and "sudah diselesaikan" in again.stderr

    report = json.loads(ksdpl("worker", "--once", "--json").stdout)
    assert report["jobs_run"] == 1
    shown = json.loads(ksdpl("show", str(instance_id), "--json").stdout)
    assert shown["stage"] == 3 and shown["variables"]["skor"] == len("isi dari cli")
    assert shown["tasks"][0]["name"] == "Tinjau" and shown["tasks"][0]["form"][0]["id"] == "keputusan"
    assert shown["timers"][0]["name"] == "3 hari kerja"
    text = ksdpl("show", str(instance_id)).stdout
    assert "keputusan (enum: setuju|revisi) required" in text

    review = shown["tasks"][0]["id"]
    wrong = ksdpl("complete", review, "--var", "keputusan=mungkin", ok=False)
    assert "keputusan: Pilihan tidak tersedia" in wrong.stderr
    ksdpl("cancel", str(instance_id))
    assert json.loads(ksdpl("instances", "--json").stdout)[0]["status"] == "cancelled"


def test_errors_are_one_line_without_traceback(ksdpl, tmp_path):
    ksdpl("init-db")
    junk = tmp_path / "junk.bpmn"
    junk.write_text("<definitions")
    checked = ksdpl("check", str(junk), ok=False)
    assert checked.returncode == 1 and checked.stdout.startswith("junk.bpmn: -: not well-formed XML")
    for args in (
        ("deploy", str(junk)),
        ("show", "999"),
        ("retry", "5"),
        ("complete", "nope"),
        ("start", "review", "--region", "x"),
        ("deploy", "/nonexistent.bpmn"),
    ):
        proc = ksdpl(*args, ok=False)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr and proc.stderr.strip(), args
    assert "junk.bpmn: -: not well-formed XML" in ksdpl("deploy", str(junk), ok=False).stderr


def test_a_decree_from_the_command_line_and_its_progress(ksdpl):
    ksdpl("init-db")
    ksdpl("region", "add", "3171", "--name", "Kota A", "--level", "kota", "--timezone", "WIB")
    ksdpl("deploy", str(FIXTURES / "review.bpmn"))
    first = int(ksdpl("start", "review", "--region", "3171", "--var", "judul=Satu").stdout)
    ksdpl("start", "review", "--region", "3171", "--var", "judul=Dua")
    due_before = json.loads(ksdpl("show", str(first), "--json").stdout)["tasks"][0]["due_at"]

    day = due_before[:10]  # the draft's last day becomes a day off: the deadline moves by one working day
    queued = ksdpl("calendar", "set", day, "--holiday", "--description", "Cuti bersama")
    assert queued.stdout.strip().endswith("decree 1: 2 cases queued for re-evaluation by the worker")
    pending = json.loads(ksdpl("calendar", "status", "--json").stdout)
    assert [(d["decree"], d["cases"], d["done"], d["pending"], d["failed"]) for d in pending] == [
        (1, 2, 0, 2, 0)
    ]

    assert json.loads(ksdpl("worker", "--once", "--json").stdout)["cases_reevaluated"] == 2
    status = ksdpl("calendar", "status").stdout
    assert "decree 1: " in status and "2 cases, 2 done, 0 skipped (ended), 0 pending, 0 failed" in status
    assert json.loads(ksdpl("show", str(first), "--json").stdout)["tasks"][0]["due_at"] > due_before
    assert ksdpl("calendar", "retry", "1").stdout.strip() == "decree 1: 0 cases queued again"
    assert "tidak ditemukan" in ksdpl("calendar", "retry", "9", ok=False).stderr

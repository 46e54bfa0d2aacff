"""A fast `ksdpl`: a command imports only what it needs (never the workflow engine, Flask, lark or
argon2 to print help or list regions), and the expression grammars are analysed once and cached.

Checked by the modules a real process has loaded, never by timing it (bench/cli.py times it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine import expressions
from engine.store import upgrade
from tests.conftest import ROOT

HEAVY = ("SpiffWorkflow", "flask", "lark", "argon2", "alembic", "holidays", "docxtpl")

_PROBE = """
import json, sys
from web.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"loaded": sorted(sys.modules), "code": code}), file=sys.stderr)
"""


def modules_loaded_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a `ksdpl ARGS` process has imported when it ends."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), proc.stderr
    return set(report["loaded"])


def loaded_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages a `ksdpl ARGS` process has imported when it ends."""
    return {name.split(".")[0] for name in modules_loaded_by(*args, env=env)}


def test_help_imports_neither_the_engine_nor_the_database_nor_the_web():
    modules = modules_loaded_by("--help")
    loaded = {name.split(".")[0] for name in modules}
    assert not loaded & {*HEAVY, "sqlalchemy"}, loaded & {*HEAVY, "sqlalchemy"}
    assert "click" in loaded
    # what only some commands use is imported by them (forms, files, JSON output, the web's formats)
    light = {"engine.forms", "engine.documents", "engine.jsonvalues", "web.formatting"}
    assert not modules & light, modules & light


def test_region_list_reads_the_database_without_the_workflow_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    modules = modules_loaded_by("region", "list", env={"KSDPL_DATABASE_URL": url})
    loaded = {name.split(".")[0] for name in modules}
    assert "sqlalchemy" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    # SQLAlchemy Core on `engine.tables`: neither the ORM nor the model classes (most of the start-up)
    assert not modules & {"sqlalchemy.orm", "engine.models"}, modules & {"sqlalchemy.orm", "engine.models"}


def test_user_list_does_not_import_argon2(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    assert "argon2" not in loaded_by("user", "list", env={"KSDPL_DATABASE_URL": url})


def test_grammars_are_built_once_and_cached_in_a_private_directory(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("KSDPL_CACHE_DIR", str(cache_dir))
    expressions._parser.cache_clear()
    try:
        first = expressions._parser("juel")
        assert expressions._parser("juel") is first  # once per process
        assert (cache_dir.stat().st_mode & 0o777) == 0o700
        assert any(path.name.startswith("lark-") and "juel" in path.name for path in cache_dir.iterdir())
        # a new process (a cleared cache) loads the analysis and parses the same
        expressions._parser.cache_clear()
        assert expressions._parser("juel").parse("a + 1") == first.parse("a + 1")
    finally:
        expressions._parser.cache_clear()


@pytest.mark.skipif(os.getuid() != 0, reason="needs to hand the directory to another user")
def test_a_cache_directory_of_another_user_is_not_used(tmp_path, monkeypatch):
    """The cache is a pickle: one someone else could write is never loaded."""
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 65534, 65534)
    monkeypatch.setenv("KSDPL_CACHE_DIR", str(foreign))
    assert expressions._cache_file("juel") is False

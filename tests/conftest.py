"""Shared fixtures: a migrated database per test, on SQLite and (when configured) PostgreSQL.

`KSDPL_TEST_DATABASE_URL` points at a PostgreSQL database; each test gets its own schema there,
dropped afterwards. Without it the PostgreSQL variants are skipped with that reason (CI sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import warm
from engine.clock import clock
from engine.store import upgrade

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("KSDPL_TEST_DATABASE_URL")


def _pg_schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


def pytest_configure(config) -> None:
    """Every step that reuses a workflow its process kept also restores the stored state and
    checks the two alike (`engine.warm`), here and in the processes tests start. Set for a test
    run only: the benches import this module too, and measure the product as it runs."""
    os.environ["KSDPL_WARM_CHECK"] = "1"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated database URL (SQLite file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    if not PG_URL:
        if os.environ.get("KSDPL_REQUIRE_POSTGRES"):
            pytest.fail("KSDPL_REQUIRE_POSTGRES is set but KSDPL_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL not configured: set KSDPL_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_schema_url(PG_URL, schema)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    """Tests that freeze or move the clock never leak it into the next test."""
    yield
    clock.set(None)


@pytest.fixture(autouse=True)
def _kept_workflows_alike() -> Iterator[None]:
    """No step of the test found a kept workflow differing from its stored state (`engine.warm`),
    even where the caller turned the error into an incident or a retry."""
    warm.MISMATCHES.clear()
    yield
    assert not warm.MISMATCHES, f"kept workflows differed from their stored states: cases {warm.MISMATCHES}"


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 for this test (aiosmtpd), with what it received."""
    from tests.smtp import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()

"""The reliability proofs of issue 10. Every test here carries the `reliability` marker (CI runs
them with the rest: `make test`); counts come from the environment so a long soak is one
variable away: KSDPL_RELIABILITY_KILLS, KSDPL_RELIABILITY_RACES, KSDPL_RELIABILITY_EXAMPLES."""

from __future__ import annotations

import os

import pytest

from tests.web.conftest import db_file, orch  # noqa: F401  (the web fixtures, for the walk)


def count(name: str, default: int) -> int:
    return int(os.environ.get(f"KSDPL_RELIABILITY_{name}", default))


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.reliability)

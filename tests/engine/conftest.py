"""An orchestrator on a fresh database with a small handler registry and two regions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.access import AccessPolicy, Actor
from engine.models import Region
from engine.registry import HandlerRegistry, ValidationFailed
from engine.service import Orchestrator
from tests.conftest import FIXTURES

REVIEW = (FIXTURES / "review.bpmn").read_text()


class Calls:
    """What the test handlers saw, and how often the flaky one should still fail."""

    def __init__(self) -> None:
        self.score: list[str] = []
        self.fail_times = 0


# The test deployment's groups: the engine itself knows none of them.
ACCESS = AccessPolicy(
    national_groups=frozenset({"kemendagri", "kemenlu"}),
    regional_groups=frozenset({"pemda", "dprd"}),
    operator_groups=frozenset({"operator", "admin"}),
    labels={"pemda": "Pemerintah Daerah"},
    region_levels={"kota": "Kota"},
)


def actor(username: str, groups: str, region: str | None = None) -> Actor:
    return ACCESS.actor(username, groups.split(","), region)


def make_registry(calls: Calls) -> HandlerRegistry:
    registry = HandlerRegistry("uji")
    registry.access = ACCESS

    @registry.service("test.score", label="Hitung skor")
    def score(ctx):
        calls.score.append(ctx.task_id)
        if calls.fail_times > 0:
            calls.fail_times -= 1
            raise RuntimeError("layanan skor tidak menjawab")
        return {"skor": len(ctx.variables["isi"])}

    @registry.user_task("test.review", label="Tinjau")
    def review(ctx):
        if ctx.variables["keputusan"] == "setuju" and ctx.variables.get("skor", 0) < 3:
            raise ValidationFailed({"keputusan": "Skor terlalu rendah untuk disetujui"})
        ctx.notify("pemda", f"Draf ditinjau: {ctx.variables['keputusan']}")
        return {"ditinjau_oleh": ctx.user}

    return registry


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(calls) -> HandlerRegistry:
    return make_registry(calls)


def add_regions(orch: Orchestrator) -> None:
    with orch.uow() as uow:
        uow.session.add_all(
            [
                Region(code="3171", name="Kota A", level="kota", timezone="Asia/Jakarta"),
                Region(code="9171", name="Kota B", level="kota", timezone="Asia/Jayapura"),
            ]
        )
        uow.commit()


@pytest.fixture
def orch(db_url, registry) -> Iterator[Orchestrator]:
    orchestrator = Orchestrator(db_url, registry)
    add_regions(orchestrator)
    yield orchestrator
    orchestrator.close()


@pytest.fixture
def deployed(orch) -> Orchestrator:
    orch.deploy({"review.bpmn": REVIEW}, user="analis")
    return orch

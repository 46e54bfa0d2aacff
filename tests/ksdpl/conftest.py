"""The KSDPL process deployed on a fresh database (SQLite, and PostgreSQL when configured),
with regions of every level and time zone and the operators' country list seeded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.clock import clock
from engine.models import LookupValue, Region
from engine.service import Orchestrator
from handlers import registry
from tests.conftest import ROOT
from tests.ksdpl.driver import Case

PROCESSES = ROOT / "processes"
BPMN = (PROCESSES / "ksdpl.bpmn").read_text(encoding="utf-8")
DMN = (PROCESSES / "kelayakan.dmn").read_text(encoding="utf-8")

# code: (name, level, time zone)
REGIONS = {
    "35": ("Provinsi Jawa Timur", "provinsi", "Asia/Jakarta"),  # WIB
    "3578": ("Kota Surabaya", "kota", "Asia/Jakarta"),  # WIB
    "5103": ("Kabupaten Badung", "kabupaten", "Asia/Makassar"),  # WITA
    "9403": ("Kabupaten Jayapura", "kabupaten", "Asia/Jayapura"),  # WIT
}
PROVINCE_OF = {"3578": "35", "5103": "51", "9403": "94"}

START = {
    "judul_kerja_sama": "Kerja sama kota kembar bidang pengelolaan sampah",
    "jenis_kerja_sama": "ksdpl",
    "nama_mitra": "Kitakyushu",
    "negara_mitra": "JP",
    "tingkat_mitra": "kota_kabupaten",
    "sumber_prakarsa": "pemerintah_daerah",
    "uraian_prakarsa": "Prakarsa Pemerintah Daerah setelah forum kota-kota Asia",
}

JANUARY_2027 = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB


def deploy_ksdpl(orch: Orchestrator, bpmn: str = BPMN) -> None:
    orch.deploy({"ksdpl.bpmn": bpmn, "kelayakan.dmn": DMN}, user="analis")


@pytest.fixture
def orch(db_url) -> Iterator[Orchestrator]:
    orchestrator = Orchestrator(db_url, registry)
    with orchestrator.uow() as uow:
        uow.session.add_all(
            Region(code=code, name=name, level=level, timezone=zone, province_code=PROVINCE_OF.get(code))
            for code, (name, level, zone) in REGIONS.items()
        )
        uow.session.add_all(
            [
                LookupValue(list_name="negara_tanpa_hubungan_diplomatik", code="IL", label="Israel"),
            ]
        )
        uow.commit()
    clock.set(JANUARY_2027)
    deploy_ksdpl(orchestrator)
    yield orchestrator
    orchestrator.close()


StartCase = Callable[..., Case]


@pytest.fixture
def start_case(orch) -> StartCase:
    """Start a case as the region's Pemda, at 09:00 local time of `on` if given:
    `start_case("3578", on=date(2027, 1, 4), nama_mitra="...")`."""

    def start(region: str = "3578", on: date | None = None, **values: Any) -> Case:
        timezone = REGIONS[region][2]
        if on is not None:
            clock.set(datetime.combine(on, time(9), tzinfo=ZoneInfo(timezone)))
        instance_id = orch.start("ksdpl", region, {**START, **values}, user=f"pemda-{region}")
        return Case(orch, instance_id, timezone)

    return start

"""The database goes down under a running web app (real HTTP, a private PostgreSQL cluster that
the test stops and starts): every page answers 503 with a plain Indonesian page, nothing is
written, and the app works again once the database is back, without a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.models import Comment, Region
from engine.service import Orchestrator
from engine.store import upgrade
from tests.conftest import _pg_schema_url
from tests.pg_cluster import PrivateCluster, private_cluster
from tests.web.conftest import (
    KOTA_A,
    PASSWORD,
    START_VALUES,
    UJI,
    actor,
    app_config,
    make_registry,
    new_account,
)
from tests.web.test_browser import LiveServer
from web import create_app


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    yield from private_cluster()


@pytest.fixture
def orch(cluster) -> Iterator[Orchestrator]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = _pg_schema_url(cluster.url, schema)
    upgrade(url)
    orchestrator = Orchestrator(url, make_registry())
    with orchestrator.uow() as uow:
        uow.session.add(Region(code=KOTA_A, name="Kota A", level="kota", timezone="Asia/Jakarta"))
        uow.session.flush()
        uow.session.add(new_account("pemda_a", "Ani Pemda A", "pemda", KOTA_A))
        uow.commit()
    orchestrator.deploy({"uji.bpmn": UJI}, user="analis")
    yield orchestrator
    orchestrator.close()


def fetch(opener, url: str, data: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    try:
        with opener.open(url, urlencode(data).encode() if data is not None else None, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def test_pages_answer_503_while_the_database_is_down_and_work_again_after(cluster, orch) -> None:
    instance_id = orch.start("uji", KOTA_A, START_VALUES, actor=actor("pemda_a"))
    with LiveServer(create_app(app_config(orch))) as server:
        browser = build_opener(HTTPCookieProcessor(CookieJar()))
        status, page, _ = fetch(browser, f"{server.url}/login", {"username": "pemda_a", "password": PASSWORD})
        assert status == 200 and "Kotak masuk" in page

        cluster.stop()
        for path, data in (
            ("/", None),
            (f"/kasus/{instance_id}", None),
            (f"/kasus/{instance_id}/komentar", {"komentar": "tersimpan?"}),
        ):
            status, page, headers = fetch(browser, server.url + path, data)
            assert status == 503, (path, page)
            assert "Layanan sementara tidak tersedia" in page
            assert "Basis data sedang tidak dapat dihubungi" in page and "Traceback" not in page
            assert headers["Retry-After"] == "30"

        cluster.start()
        status, page, _ = fetch(browser, f"{server.url}/kasus/{instance_id}")
        assert status == 200 and START_VALUES["judul_kerja_sama"] in page  # the same login, reconnected
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 0

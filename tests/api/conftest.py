"""The KSDPL process behind a real HTTP server: the app in a thread on a free port (werkzeug's
`make_server`), one bearer token per user, and a small client that speaks to it with `requests`.

The server runs in the test's process, so `clock.set` moves its time too, and the test plays the
worker with `orch.run_due()` as the KSDPL scenario tests do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from engine.clock import clock
from engine.models import LookupValue, Region
from engine.service import Orchestrator
from handlers import registry
from tests.ksdpl.conftest import JANUARY_2027, PROVINCE_OF, REGIONS, deploy_ksdpl
from tests.web.conftest import new_account
from web import create_app
from web.tokens import create_token

# username: (name, groups, region)
USERS: dict[str, tuple[str, str, str | None]] = {
    "pemda.sby": ("Ani Pemda Surabaya", "pemda", "3578"),
    "kada.sby": ("Wali Kota Surabaya", "kepala_daerah", "3578"),
    "dprd.sby": ("Sekretariat DPRD Surabaya", "dprd", "3578"),
    "pemda.badung": ("Made Pemda Badung", "pemda", "5103"),
    "kemendagri": ("Dewi Kemendagri", "kemendagri", None),
    "kemenlu": ("Eko Kemenlu", "kemenlu", None),
    "operator": ("Fajar Operator", "operator", None),
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Api:
    """One user's client: a keep-alive session with its bearer token."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.base + path, timeout=30, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = getattr(self, method)(path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    def close(self) -> None:
        self.http.close()


def add_users(orch: Orchestrator) -> None:
    with orch.uow() as uow:
        for username, (name, groups, region) in USERS.items():
            uow.session.add(new_account(username, name, groups, region))
        uow.commit()


@pytest.fixture
def orch(db_url) -> Iterator[Orchestrator]:
    orchestrator = Orchestrator(db_url, registry)
    with orchestrator.uow() as uow:
        uow.session.add_all(
            Region(code=code, name=name, level=level, timezone=zone, province_code=PROVINCE_OF.get(code))
            for code, (name, level, zone) in REGIONS.items()
        )
        uow.session.add(LookupValue(list_name="negara_tanpa_hubungan_diplomatik", code="IL", label="Israel"))
        uow.commit()
    clock.set(JANUARY_2027)
    deploy_ksdpl(orchestrator)
    add_users(orchestrator)
    yield orchestrator
    orchestrator.close()


def serve(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def app(orch):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "kunci-uji",
            "KSDPL_ORCHESTRATOR": orch,
            "KSDPL_DATABASE_URL": orch.database_url,
            "KSDPL_PROCESS_KEY": "ksdpl",
        }
    )


@pytest.fixture
def base_url(app) -> Iterator[str]:
    yield from serve(app)


@pytest.fixture
def tokens(orch) -> dict[str, str]:
    with orch.uow() as uow:
        issued = {username: create_token(uow.session, username, "uji") for username in USERS}
        uow.commit()
    return issued


@pytest.fixture
def api(base_url, tokens) -> Iterator[dict[str, Api]]:
    clients = {username: Api(base_url, token) for username, token in tokens.items()}
    yield clients
    for client in clients.values():
        client.close()

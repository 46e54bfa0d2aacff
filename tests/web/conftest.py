"""Web fixtures: an app on a fresh migrated SQLite file, two regions, one user per group and region.

Kota A is in WIB and Kota B in WIT, so a test can see times shown in the case's own zone. The
test process `uji` (tests/web/fixtures/uji.bpmn) has the form types and a revise loop; it needs
no service handlers, so the web tests do not wait for the KSDPL diagram.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.access import Actor
from engine.clock import clock
from engine.models import AuditEvent, Comment, Document, Instance, Region, Task, Timer, User
from engine.registry import HandlerRegistry, ValidationFailed
from engine.service import Orchestrator
from engine.store import upgrade
from handlers import registry as ksdpl_registry
from web import create_app
from web.accounts import hash_password

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UJI = (FIXTURES / "uji.bpmn").read_text()
PASSWORD = "rahasia-uji-123"

KSDPL_ACCESS = ksdpl_registry.access

KOTA_A = "32.73"
KOTA_B = "91.71"

# username: (name, groups, region)
USERS: dict[str, tuple[str, str, str | None]] = {
    "pemda_a": ("Ani Pemda A", "pemda", KOTA_A),
    "pemda_a2": ("Budi Pemda A", "pemda", KOTA_A),
    "kada_a": ("Wali Kota A", "kepala_daerah", KOTA_A),
    "dprd_a": ("Sekretariat DPRD A", "dprd", KOTA_A),
    "pemda_b": ("Citra Pemda B", "pemda", KOTA_B),
    "dprd_b": ("Sekretariat DPRD B", "dprd", KOTA_B),
    "kemendagri": ("Dewi Kemendagri", "kemendagri", None),
    "kemenlu": ("Eko Kemenlu", "kemenlu", None),
    "operator": ("Fajar Operator", "operator", None),
}

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# Monday 3 May 2027, 09:00 WIB: a fixed "now" so due dates and working days are known.
MONDAY = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)

_HASH: dict[str, str] = {}


def password_hash() -> str:
    """One argon2 hash for every test user: hashing per user per test would dominate the run."""
    if "h" not in _HASH:
        _HASH["h"] = hash_password(PASSWORD)
    return _HASH["h"]


def new_account(username: str, name: str, groups: str, region: str | None) -> User:
    """An active account that logs in with PASSWORD, to add to a session."""
    return User(
        username=username,
        name=name,
        password_hash=password_hash(),
        groups=groups,
        region_code=region,
        active=True,
        created_at=clock.now(),
    )


def actor(username: str) -> Actor:
    _name, groups, region = USERS[username]
    return KSDPL_ACCESS.actor(username, groups.split(","), region)


def make_registry() -> HandlerRegistry:
    """One user-task handler, to show a rule the form cannot express refused next to its field."""
    registry = HandlerRegistry("uji")
    registry.access = KSDPL_ACCESS  # the KSDPL groups and labels; the process is the test's own
    registry.list_columns = ksdpl_registry.list_columns

    @registry.user_task("uji.penjajakan", label="Penjajakan (uji)")
    def penjajakan(ctx):
        if ctx.variables.get("kode_surat") == "DITOLAK":
            raise ValidationFailed({"kode_surat": "Kode surat ini sudah dipakai kasus lain"})
        return {"penjajakan_oleh": ctx.user}

    return registry


@pytest.fixture
def db_file(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    return url


@pytest.fixture
def orch(db_file) -> Iterator[Orchestrator]:
    orchestrator = seeded(Orchestrator(db_file, make_registry()))
    yield orchestrator
    orchestrator.close()


def seeded(orchestrator: Orchestrator) -> Orchestrator:
    """The two regions, the users of USERS and the `uji` process, on a migrated database."""
    with orchestrator.uow() as uow:
        s = uow.session
        s.add_all(
            [
                Region(code=KOTA_A, name="Kota A", level="kota", timezone="Asia/Jakarta", province_code="32"),
                Region(
                    code=KOTA_B, name="Kota B", level="kota", timezone="Asia/Jayapura", province_code="91"
                ),
            ]
        )
        s.flush()
        for username, (name, groups, region) in USERS.items():
            s.add(new_account(username, name, groups, region))
        uow.commit()
    orchestrator.deploy({"uji.bpmn": UJI}, user="analis")
    return orchestrator


def app_config(orch: Orchestrator, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "kunci-uji",
        "WTF_CSRF_ENABLED": False,
        "KSDPL_ORCHESTRATOR": orch,
        "KSDPL_DATABASE_URL": orch.database_url,
        "KSDPL_PROCESS_KEY": "uji",
        **extra,
    }


@pytest.fixture
def app(orch) -> Flask:
    return create_app(app_config(orch))


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


class AuthActions:
    """Log a test client in and out, like flaskr's helper."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, username: str, password: str = PASSWORD, **extra: str):
        return self._client.post("/login", data={"username": username, "password": password, **extra})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def login(app):
    """`login("dprd_a")` -> a separate test client logged in as that user."""

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        response = AuthActions(client).login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


# --- driving cases directly through the orchestrator ---------------------------------------------

START_VALUES = {
    "judul_kerja_sama": "Kerja sama kota kembar",
    "nama_mitra": "Kota Fukuoka",
    "negara_mitra": "Jepang",
    "jenis_kerja_sama": "KSDPL",
    "sumber_prakarsa": "daerah",
}


def start_case(orch: Orchestrator, username: str = "pemda_a", **values: str) -> int:
    who = actor(username)
    return orch.start("uji", who.region_code, {**START_VALUES, **values}, actor=who)


def ready_task(orch: Orchestrator, instance_id: int, bpmn_id: str) -> str:
    with orch.session() as s:
        task_id = s.scalar(
            select(Task.id).where(
                Task.instance_id == instance_id, Task.bpmn_id == bpmn_id, Task.status == "ready"
            )
        )
    assert task_id, f"no ready {bpmn_id} in case {instance_id}"
    return task_id


def add_pdf(
    orch: Orchestrator, instance_id: int, task_id: str, username: str = "pemda_a", name="kajian.pdf"
) -> int:
    return orch.add_document(
        instance_id, name, "application/pdf", PDF, actor(username), task_id=task_id, field="kajian"
    )


PENJAJAKAN = {
    "tanggal_penjajakan": "2027-04-20",
    "jumlah_pertemuan": "3",
    "hasil_penjajakan": "Kedua kota sepakat menjajaki kerja sama pendidikan.",
    "kode_surat": "B/123/2027",
    "sepakat": "true",
}


def to_dprd(orch: Orchestrator, username: str = "pemda_a") -> tuple[int, str]:
    """A case of the user's region waiting for its DPRD; returns (case id, DPRD task id)."""
    instance_id = start_case(orch, username)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    document_id = add_pdf(orch, instance_id, task_id, username)
    orch.complete_task(task_id, {**PENJAJAKAN, "kajian": str(document_id)}, actor(username))
    return instance_id, ready_task(orch, instance_id, "PersetujuanDprd")


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, Any]


def snapshot(orch: Orchestrator) -> Snapshot:
    """What a refused request must leave as it was: cases, tasks, documents, comments, history."""
    with orch.session() as s:
        return Snapshot(
            {
                "instances": [
                    tuple(r)
                    for r in s.execute(
                        select(Instance.id, Instance.lock_version, Instance.status, Instance.stage)
                    )
                ],
                "instance_state": [r for r in s.scalars(select(Instance.state).order_by(Instance.id))],
                "tasks": [
                    tuple(r)
                    for r in s.execute(
                        select(Task.id, Task.status, Task.assignee, Task.submitted).order_by(
                            Task.created_at, Task.id
                        )
                    )
                ],
                "timers": s.scalar(select(func.count(Timer.id))),
                "documents": s.scalar(select(func.count(Document.id))),
                "comments": s.scalar(select(func.count(Comment.id))),
                "audit": s.scalar(select(func.count(AuditEvent.id))),
            }
        )


def text_of(response) -> str:
    """The page as text without tags, whitespace collapsed (for assertions on what a person reads)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def submitted_values(orch: Orchestrator, task_id: str) -> dict[str, Any]:
    with orch.session() as s:
        return json.loads(s.scalar(select(Task.submitted).where(Task.id == task_id)) or "{}")

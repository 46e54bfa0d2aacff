"""The demo driver fills any task's form from its definition, so it works on any diagram."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine.models import Document, Instance, Task
from tests.web.conftest import KOTA_A, START_VALUES, USERS, actor
from web.demo import CASES, DemoCase, drive
from web.demo import USERS as DEMO_USERS


def usernames() -> dict[tuple[str, str | None], str]:
    return {
        (groups, region): username
        for username, (_name, groups, region) in USERS.items()
        if username != "pemda_a2"
    }


def test_drive_fills_every_field_type_and_stops_where_asked(orch):
    case = DemoCase(
        "UJI", KOTA_A, dict(START_VALUES), stop_at="Verifikasi", decisions={"keputusan_dprd": "setuju"}
    )
    instance_id = orch.start("uji", KOTA_A, case.start, actor=actor("pemda_a"))
    assert drive(orch, instance_id, case, usernames()) == "Verifikasi"
    with orch.session() as s:
        variables = json.loads(s.scalar(select(Instance.variables).where(Instance.id == instance_id)))
        document = s.scalar(select(Document).where(Document.instance_id == instance_id))
        completed_by = dict(
            s.execute(select(Task.bpmn_id, Task.completed_by).where(Task.status == "completed")).all()
        )
    assert variables["sepakat"] is True and variables["jumlah_pertemuan"] == 1
    assert variables["kajian"] == document.id and document.content.startswith(b"%PDF-")
    assert len(variables["kode_surat"]) <= 20
    assert completed_by == {"Penjajakan": "pemda_a", "PersetujuanDprd": "dprd_a"}


def test_drive_follows_a_revision_and_ends(orch):
    case = DemoCase("UJI", KOTA_A, dict(START_VALUES), stop_at="-", decisions={"hasil_verifikasi": "terima"})
    instance_id = orch.start("uji", KOTA_A, case.start, actor=actor("pemda_a"))
    assert drive(orch, instance_id, case, usernames()) == "completed"


def test_demo_users_cover_every_group_for_two_regions():
    groups = {(group, region) for _u, _n, group, region, _p in DEMO_USERS}
    for region in ("32.73", "51"):
        assert {g for g, r in groups if r == region} == {"pemda", "kepala_daerah", "dprd"}
    assert {g for g, r in groups if r is None} == {"kemendagri", "kemenlu", "operator", "admin"}
    assert all(len(p) >= 8 for *_rest, p in DEMO_USERS)
    assert {c.region for c in CASES} == {"32.73", "51"}

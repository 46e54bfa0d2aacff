"""The operator console: pages, the operators' commands (reasons, audit, refusals that change
nothing) and who may open it (operators; accounts and regions: admins)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.clock import clock
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.models import (
    AuditEvent,
    CalendarOverride,
    Document,
    Incident,
    Instance,
    Job,
    ProcessDefinition,
    Task,
    Timer,
    User,
)
from tests.statements import reads_sent, sqlite_plan
from tests.web.conftest import (
    KSDPL_ACCESS,
    MONDAY,
    PASSWORD,
    PDF,
    PENJAJAKAN,
    actor,
    new_account,
    ready_task,
    snapshot,
    start_case,
    text_of,
    to_dprd,
)

KONSOL = (Path(__file__).resolve().parent / "fixtures" / "konsol.bpmn").read_text()
FAILING = {"on": False}
STAFF = ["pemda_a", "kada_a", "dprd_a", "kemendagri", "kemenlu"]


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture
def db_file(db_url) -> str:
    """The console's SQL (JSON variables, counts, the nobody-can-take clause) on SQLite and PostgreSQL."""
    return db_url


@pytest.fixture
def konsol(orch):
    """The small console process (a user task, a service task that fails on demand, a DPRD task)
    deployed beside `uji`, and an admin account."""

    @orch.registry.service("konsol.kirim", label="Kirim (uji)")
    def kirim(ctx):
        if FAILING["on"]:
            raise RuntimeError("sistem tujuan tidak menjawab")
        return {"terkirim": True}

    orch.deploy({"konsol.bpmn": KONSOL}, user="analis")
    with orch.uow() as uow:
        uow.session.add(new_account("admin", "Admin Sistem", "admin", None))
        uow.commit()
    FAILING["on"] = False
    yield orch
    FAILING["on"] = False


OPERATOR = KSDPL_ACCESS.actor("operator", ["operator"])


def start_konsol(orch, username="pemda_a", *, who=None, **values) -> int:
    """A `konsol` case started by `username` of USERS, or by the actor `who`."""
    who = who or actor(username)
    base = {"judul_kerja_sama": "Kerja sama uji", "nama_mitra": "Kota Fukuoka", "negara_mitra": "Jepang"}
    return orch.start("konsol", who.region_code, {**base, "jenis_kerja_sama": "KSDPL", **values}, actor=who)


def to_incident(orch, username="pemda_a", **values) -> int:
    """A case whose service task ran out of tries: one open incident on `Kirim`."""
    instance_id = start_konsol(orch, username, **values)
    orch.complete_task(ready_task(orch, instance_id, "Periksa"), {"catatan": "lengkap"}, actor(username))
    FAILING["on"] = True
    orch.run_due(instance_id=instance_id)
    FAILING["on"] = False
    return instance_id


def open_incident(orch, instance_id) -> int:
    with orch.session() as s:
        return s.scalar(
            select(Incident.id).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
        )


# --- who may open it -----------------------------------------------------------------------------------


def _console_urls(app, orch, instance_id, task_id, incident_id):
    values = {
        "instance_id": instance_id,
        "task_id": task_id,
        "incident_id": incident_id,
        "definition_id": 1,
        "decree_id": 1,
        "username": "pemda_a",
        "timer_id": "t-1",
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("console.", "diagram.")):
            continue
        url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url, rule.endpoint))
    return urls


def test_every_console_route_is_for_operators_only(app, konsol, login, client):
    instance_id = to_incident(konsol)
    task_id = ready_task(konsol, start_konsol(konsol), "Periksa")
    urls = _console_urls(app, konsol, instance_id, task_id, open_incident(konsol, instance_id))
    assert len({endpoint for _m, _u, endpoint in urls}) >= 25
    before = snapshot(konsol)
    for method, url, _endpoint in urls:  # anonymous: to the login page
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)
    urls = [u for u in urls if u[2].startswith("console.")]  # the diagram is for whoever sees the case
    for username in STAFF:
        staff = login(username)
        for method, url, _endpoint in urls:
            assert staff.open(url, method=method, data={"alasan": "x"}).status_code == 403, (
                username,
                method,
                url,
            )
    operator = login("operator")
    for method, url, endpoint in urls:
        if endpoint in ADMIN_ENDPOINTS:
            assert operator.open(url, method=method).status_code == 403, (method, url)
    assert snapshot(konsol) == before


ADMIN_ENDPOINTS = {
    "console.accounts",
    "console.create_account",
    "console.toggle_account",
    "console.reset_password",
    "console.change_groups",
    "console.regions",
    "console.add_region",
}


def test_operators_land_on_the_console(client, konsol):
    response = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert response.headers["Location"] == "/konsol"
    client.post("/logout")
    response = client.post("/login", data={"username": "operator", "password": PASSWORD, "next": "/kasus/1"})
    assert response.headers["Location"] == "/kasus/1"
    client.post("/logout")
    assert (
        client.post("/login", data={"username": "pemda_a", "password": PASSWORD}).headers["Location"] == "/"
    )


def test_service_refuses_staff_whatever_door(konsol):
    instance_id = to_incident(konsol)
    task_id = ready_task(konsol, start_konsol(konsol), "Periksa")
    clerk = actor("pemda_a")
    before = snapshot(konsol)
    for command in (
        lambda: konsol.reassign(task_id, clerk, "x", assignee="pemda_a2"),
        lambda: konsol.complete_on_behalf(task_id, {"catatan": "x"}, clerk, "x"),
        lambda: konsol.cancel_case(instance_id, clerk, "x"),
        lambda: konsol.suspend(instance_id, clerk, "x"),
        lambda: konsol.set_variable(instance_id, "catatan", "x", clerk, "x"),
        lambda: konsol.deploy_as({"konsol.bpmn": KONSOL}, clerk),
        lambda: konsol.retry(open_incident(konsol, instance_id), clerk),
        lambda: konsol.migrate(instance_id, 1, clerk, "x"),
        lambda: konsol.reschedule_timer(instance_id, "t", datetime(2027, 5, 4, tzinfo=UTC), clerk, "x"),
        lambda: konsol.decree(clerk, MONDAY.date(), True, None, "Keppres 1/2027"),
    ):
        with pytest.raises(Forbidden):
            command()
    assert snapshot(konsol) == before


# --- dashboard and lists -------------------------------------------------------------------------------


def test_dashboard_counts_link_to_their_lists(konsol, login):
    broken = to_incident(konsol, judul_kerja_sama="Kasus bermasalah")
    fine = start_konsol(konsol, "pemda_b", judul_kerja_sama="Kasus lancar")
    operator = login("operator")
    page = operator.get("/konsol")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="tile-insiden" href="/konsol/kasus?insiden=1"><span class="n">1</span>' in html
    listing = operator.get("/konsol/kasus?insiden=1").get_data(as_text=True)
    assert f'href="/konsol/kasus/{broken}"' in listing and f'href="/konsol/kasus/{fine}"' not in listing
    by_region = operator.get("/konsol/kasus?status=running&wilayah=91.71").get_data(as_text=True)
    assert f'href="/konsol/kasus/{fine}"' in by_region and f'href="/konsol/kasus/{broken}"' not in by_region


def test_dashboard_shows_median_working_days_per_stage(konsol, login):
    """Stage 1 took one working day in one case and four in another (6 and 7 May 2027 are days
    off); a case still in stage 1 does not count yet."""
    quick, slow = start_konsol(konsol), start_konsol(konsol, "pemda_b")
    start_konsol(konsol)
    clock.set(MONDAY + timedelta(days=1))
    konsol.complete_task(ready_task(konsol, quick, "Periksa"), {"catatan": "lengkap"}, actor("pemda_a"))
    clock.set(MONDAY + timedelta(days=7))
    konsol.complete_task(ready_task(konsol, slow, "Periksa"), {"catatan": "lengkap"}, actor("pemda_b"))
    konsol.run_due()
    html = login("operator").get("/konsol").get_data(as_text=True)
    row = html.split('id="lama-tahap-1">', 1)[1].split("</tr>", 1)[0]
    assert "1. Prakarsa" in row and "2.5 hari kerja" in row and '<td class="num">2</td>' in row
    assert 'id="lama-tahap-2"' not in html  # a system step has no task to time


def test_case_list_searches_filters_sorts_and_pages(konsol, login):
    ids = [start_konsol(konsol, negara_mitra="Jepang" if n % 2 else "Korea Selatan") for n in range(27)]
    korea = start_konsol(
        konsol, nama_mitra="Kota Busan", negara_mitra="Korea Selatan", jenis_kerja_sama="KSDLL"
    )
    operator = login("operator")
    found = operator.get("/konsol/kasus?q=busan").get_data(as_text=True)
    assert f'href="/konsol/kasus/{korea}"' in found and '<small class="muted">1</small>' in found
    assert '<small class="muted">15</small>' in operator.get("/konsol/kasus?q=korea").get_data(as_text=True)
    page = operator.get("/konsol/kasus?jenis=KSDLL").get_data(as_text=True)
    assert f'href="/konsol/kasus/{korea}"' in page and f'href="/konsol/kasus/{ids[0]}"' not in page
    first = operator.get("/konsol/kasus?urut=id&arah=naik").get_data(as_text=True)
    assert f'href="/konsol/kasus/{ids[0]}"' in first and f'href="/konsol/kasus/{korea}"' not in first
    assert "Halaman 1 dari 2" in first
    second = operator.get("/konsol/kasus?urut=id&arah=naik&halaman=2").get_data(as_text=True)
    assert f'href="/konsol/kasus/{korea}"' in second and f'href="/konsol/kasus/{ids[0]}"' not in second
    # nonsense in the query string is ignored, never a 500
    assert operator.get("/konsol/kasus?urut=DROP&halaman=-3&dari=kemarin&tahap=x").status_code == 200
    overdue = operator.get("/konsol/kasus?terlambat=1").get_data(as_text=True)
    assert "Tidak ada kasus" in overdue
    clock.set(MONDAY.replace(day=20))  # the Periksa tasks (3 working days) are late now
    assert f'href="/konsol/kasus/{ids[0]}"' in operator.get(
        "/konsol/kasus?terlambat=1&urut=id&arah=naik"
    ).get_data(as_text=True)


def test_dprd_deadlines_in_the_next_ten_working_days(konsol, login):
    instance_id = start_konsol(konsol)
    konsol.complete_task(ready_task(konsol, instance_id, "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    konsol.run_due(instance_id=instance_id)  # Kirim runs; Tindaklanjut (DPRD, 5 working days) opens
    operator = login("operator")
    assert '<span class="n">1</span> batas DPRD' in operator.get("/konsol").get_data(as_text=True)
    listing = operator.get("/konsol/kasus?dprd=1").get_data(as_text=True)
    assert f'href="/konsol/kasus/{instance_id}"' in listing


# --- one case: diagram marks, retry, actions --------------------------------------------------------------


def test_failed_element_is_marked_and_retry_moves_the_case_on(konsol, login):
    instance_id = to_incident(konsol)
    marks = konsol.element_states(instance_id)
    assert marks["Kirim"]["failed"] == 1 and marks["Kirim"]["active"] == 0
    assert marks["Periksa"]["completed"] == 1
    operator = login("operator")
    page = operator.get(f"/konsol/kasus/{instance_id}")
    assert "sistem tujuan tidak menjawab" in text_of(page) and "Traceback" in text_of(page)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    response = operator.post(f"/konsol/insiden/{open_incident(konsol, instance_id)}/ulang")
    assert response.status_code == 302
    konsol.run_due(instance_id=instance_id)
    marks = konsol.element_states(instance_id)
    assert marks["Kirim"]["completed"] == 1 and marks["Kirim"].get("failed", 0) == 0
    assert marks["Tindaklanjut"]["active"] == 1
    history = text_of(operator.get(f"/konsol/kasus/{instance_id}"))
    assert "Fajar Operator : Mengulang proses sistem" in history


def test_reassign_to_a_group_moves_the_task_between_inboxes(konsol, login):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    kada = login("kada_a")
    assert task_id not in kada.get("/").get_data(as_text=True)
    operator = login("operator")
    response = operator.post(
        f"/konsol/tugas/{task_id}/alihkan", data={"tujuan": "grup:kepala_daerah", "alasan": ""}
    )
    assert response.status_code == 302
    assert task_id in login("pemda_a").get("/").get_data(as_text=True)  # no reason: nothing moved
    operator.post(
        f"/konsol/tugas/{task_id}/alihkan",
        data={"tujuan": "grup:kepala_daerah", "alasan": "Pemda sedang cuti"},
    )
    assert task_id in kada.get("/").get_data(as_text=True)
    assert task_id not in login("pemda_a").get("/").get_data(as_text=True)
    history = text_of(login("pemda_a").get(f"/kasus/{instance_id}"))
    assert "Mengalihkan tugas (operator)" in history and "Pemda sedang cuti" in history


def test_a_reassignment_offers_the_accounts_the_service_accepts(konsol, login):
    """Finding: the case page and the queue offered every active account in each open task's
    form (a national deployment: thousands of options a task), operators and other regions'
    staff among them, whom the reassignment then refused. Both offer exactly the accounts the
    service accepts: active, no operator, national or of the case's region."""
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    with konsol.uow() as uow:
        uow.session.execute(update(User).where(User.username == "dprd_a").values(active=False))
        uow.commit()
    operator = login("operator")
    case_page = operator.get(f"/konsol/kasus/{instance_id}").get_data(as_text=True)
    offered = set(re.findall(r'value="pengguna:([^"]+)"', case_page))
    with konsol.session() as s:
        everyone = set(s.scalars(select(User.username)))
    accepted = set()
    for username in sorted(everyone):
        try:
            konsol.reassign(task_id, OPERATOR, "uji", assignee=username)
        except ValidationFailed:
            continue
        accepted.add(username)
    assert offered == accepted == {"pemda_a", "pemda_a2", "kada_a", "kemendagri", "kemenlu"}
    konsol.reassign(task_id, OPERATOR, "uji", assignee="kada_a")
    with konsol.uow() as uow:  # held by a disabled account: in the queue, with the same choice
        uow.session.execute(update(User).where(User.username == "kada_a").values(active=False))
        uow.commit()
    queue = operator.get("/konsol/antrean").get_data(as_text=True)
    row = queue[queue.index(f'data-task="{task_id}"') :].split("</tr>")[0]
    assert set(re.findall(r'value="pengguna:([^"]+)"', row)) == accepted - {"kada_a"}


def test_reassign_to_a_user_and_refusals(konsol):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    konsol.claim(task_id, actor("pemda_a"))
    before = snapshot(konsol)
    with pytest.raises(ValidationFailed):
        konsol.reassign(task_id, OPERATOR, "cuti", assignee="tidak_ada")
    with pytest.raises(ValidationFailed):
        konsol.reassign(task_id, OPERATOR, "cuti", group="bukan_grup")
    with pytest.raises(ValidationFailed):
        konsol.reassign(task_id, OPERATOR, "cuti", assignee="pemda_a2", group="pemda")
    with pytest.raises(ValidationFailed):  # operators do no business tasks
        konsol.reassign(task_id, OPERATOR, "cuti", assignee="admin")
    with pytest.raises(ValidationFailed):
        konsol.reassign(task_id, OPERATOR, "cuti", group="operator")
    with pytest.raises(ValidationFailed) as refused:  # Kota B staff never see the case
        konsol.reassign(task_id, OPERATOR, "cuti", assignee="pemda_b")
    assert "tidak dapat melihat" in refused.value.errors["pengguna"]
    assert snapshot(konsol) == before
    konsol.reassign(task_id, OPERATOR, "cuti", assignee="pemda_a2")
    with konsol.session() as s:
        assert s.get(Task, task_id).assignee == "pemda_a2"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "reassign")).one()
    assert json.loads(event.detail)["previous"]["assignee"] == "pemda_a"
    assert json.loads(event.detail)["reason"] == "cuti"


def test_complete_on_behalf_says_so_in_the_history(konsol, login):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    operator = login("operator")
    form = operator.get(f"/konsol/tugas/{task_id}/atas-nama")
    assert form.status_code == 200 and 'name="catatan"' in form.get_data(as_text=True)
    refused = operator.post(f"/konsol/tugas/{task_id}/atas-nama", data={"catatan": "ok", "alasan": " "})
    assert refused.status_code == 422 and "Alasan wajib diisi" in text_of(refused)
    done = operator.post(
        f"/konsol/tugas/{task_id}/atas-nama",
        data={"catatan": "berkas lengkap", "alasan": "Diminta lewat telepon"},
    )
    assert done.status_code == 302
    with konsol.session() as s:
        task = s.get(Task, task_id)
    assert task.status == "completed" and task.completed_by == "operator"
    history = text_of(login("pemda_a").get(f"/kasus/{instance_id}"))
    assert "Menyelesaikan tugas atas nama «Periksa berkas»" in history
    assert "Atas nama pemda" in history and "Diminta lewat telepon" in history


def test_suspended_case_holds_tasks_and_jobs_until_resumed(konsol, login):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    operator = login("operator")
    operator.post(f"/konsol/kasus/{instance_id}/tangguhkan", data={"alasan": "Menunggu klarifikasi"})
    with pytest.raises(Conflict, match="ditangguhkan"):
        konsol.complete_task(task_id, {"catatan": "ok"}, actor("pemda_a"))
    with pytest.raises(Conflict):
        konsol.suspend(instance_id, OPERATOR, "lagi")
    konsol.resume(instance_id, OPERATOR, "Klarifikasi diterima")
    konsol.complete_task(task_id, {"catatan": "ok"}, actor("pemda_a"))
    konsol.suspend(instance_id, OPERATOR, "Tahan pengiriman")
    assert konsol.run_due(instance_id=instance_id).jobs_run == 0
    assert konsol.next_due(instance_id) is None  # the worker is not woken for a held case
    konsol.resume(instance_id, OPERATOR, "Lanjut")
    assert konsol.run_due(instance_id=instance_id).jobs_run == 1
    assert "Ditangguhkan" not in text_of(operator.get(f"/konsol/kasus/{instance_id}"))


def test_cancel_needs_a_reason(konsol, login):
    instance_id = start_konsol(konsol)
    operator = login("operator")
    before = snapshot(konsol)
    operator.post(f"/konsol/kasus/{instance_id}/batalkan", data={"alasan": ""})
    assert snapshot(konsol) == before
    operator.post(f"/konsol/kasus/{instance_id}/batalkan", data={"alasan": "Diajukan ganda"})
    with konsol.session() as s:
        assert s.get(Instance, instance_id).status == "cancelled"


def test_edit_variable_with_reason(konsol, login):
    instance_id = start_konsol(konsol)
    operator = login("operator")
    operator.post(
        f"/konsol/kasus/{instance_id}/variabel",
        data={"nama": "negara_mitra", "nilai": "Korea Selatan", "alasan": "Salah ketik"},
    )
    with konsol.session() as s:
        assert json.loads(s.get(Instance, instance_id).variables)["negara_mitra"] == "Korea Selatan"
    konsol.complete_task(ready_task(konsol, instance_id, "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    with konsol.session() as s:  # the next step carries the corrected value on
        assert json.loads(s.get(Instance, instance_id).variables)["negara_mitra"] == "Korea Selatan"
    history = text_of(operator.get(f"/konsol/kasus/{instance_id}"))
    assert "Mengubah variabel kasus" in history and "Salah ketik" in history
    with pytest.raises(ValidationFailed):
        konsol.set_variable(instance_id, "_rahasia", 1, OPERATOR, "x")


def test_history_export_csv_and_json(konsol, login):
    instance_id = to_incident(konsol)
    operator = login("operator")
    as_json = operator.get(f"/konsol/kasus/{instance_id}/riwayat.json").get_json()
    actions = [e["action"] for e in as_json["history"]]
    assert actions[:2] == ["start", "complete"] and "incident" in actions
    rows = list(
        csv.reader(
            io.StringIO(
                operator.get(f"/konsol/kasus/{instance_id}/riwayat.csv")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[0][:3] == ["waktu", "pelaku", "tindakan"] and [r[2] for r in rows[1:]] == actions


def test_queue_lists_tasks_nobody_can_take(konsol, login):
    instance_id = start_konsol(konsol)
    konsol.complete_task(ready_task(konsol, instance_id, "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    konsol.run_due(instance_id=instance_id)
    task_id = ready_task(konsol, instance_id, "Tindaklanjut")
    operator = login("operator")
    assert task_id not in operator.get("/konsol/antrean").get_data(as_text=True)
    with konsol.uow() as uow:  # the only DPRD account of Kota A leaves
        uow.session.scalars(select(User).where(User.username == "dprd_a")).one().active = False
        uow.commit()
    queue = operator.get("/konsol/antrean")
    assert task_id in queue.get_data(as_text=True)
    assert "Tidak ada akun aktif grup DPRD di Kota A" in text_of(queue)
    assert '<span class="n">1</span> tugas tanpa pelaksana' in operator.get("/konsol").get_data(as_text=True)
    operator.post(
        f"/konsol/tugas/{task_id}/alihkan",
        data={"tujuan": "pengguna:kada_a", "alasan": "Sekretariat DPRD kosong", "kembali": "antrean"},
    )
    assert task_id not in operator.get("/konsol/antrean").get_data(as_text=True)


# --- deployments, calendar, accounts -------------------------------------------------------------------


def test_deploy_upload_findings_by_element_and_download(konsol, login):
    operator = login("operator")
    broken = KONSOL.replace('camunda:topic="konsol.kirim"', 'camunda:topic="tidak.ada"')
    refused = operator.post(
        "/konsol/deploy",
        data={"berkas": (io.BytesIO(broken.encode()), "konsol.bpmn")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "<code>Kirim</code>" in refused.get_data(as_text=True) and "tidak.ada" in text_of(refused)
    wrong = operator.post(
        "/konsol/deploy",
        data={"berkas": (io.BytesIO(b"x"), "catatan.txt")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    changed = KONSOL.replace('name="Uji konsol"', 'name="Uji konsol 2"')
    deployed = operator.post(
        "/konsol/deploy",
        data={"berkas": (io.BytesIO(changed.encode()), "konsol.bpmn")},
        content_type="multipart/form-data",
    )
    assert deployed.status_code == 200 and "konsol versi 2 di-deploy" in text_of(deployed)
    with konsol.session() as s:
        latest = s.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == "konsol", ProcessDefinition.version == 2)
        ).one()
    assert latest.deployed_by == "operator"
    download = operator.get(f"/konsol/deploy/{latest.id}/unduh")
    assert download.get_data(as_text=True) == changed
    assert "operator" in text_of(operator.get("/konsol/deploy"))


def test_calendar_decree_with_number(konsol, login):
    start_konsol(konsol)
    operator = login("operator")
    page = operator.get("/konsol/kalender?tahun=2027")
    assert page.status_code == 200 and "Hari kerja per bulan" in text_of(page)
    operator.post(
        "/konsol/kalender", data={"tanggal": "2027-05-07", "jenis": "libur", "nomor": "", "tahun": "2027"}
    )
    with konsol.session() as s:
        assert s.scalar(select(CalendarOverride.id)) is None
    operator.post(
        "/konsol/kalender",
        data={
            "tanggal": "2027-05-07",
            "jenis": "libur",
            "nomor": "Keppres 9/2027",
            "keterangan": "Cuti bersama",
            "tahun": "2027",
        },
    )
    with konsol.session() as s:
        override = s.scalars(select(CalendarOverride)).one()
    assert override.is_holiday and override.description == "Keppres 9/2027: Cuti bersama"
    text = text_of(operator.get("/konsol/kalender?tahun=2027"))
    assert "Keppres 9/2027: Cuti bersama" in text and "7 Mei 2027" in text
    assert operator.get("/konsol/kalender?wilayah=tidak-ada").status_code == 404


def test_admin_manages_accounts_and_regions(konsol, login):
    admin = login("admin")
    admin.post(
        "/konsol/akun",
        data={
            "username": "pemda_c",
            "nama": "Pemda C",
            "grup": ["pemda"],
            "sandi": "rahasia-baru-1",
            "wilayah": "32.73",
        },
    )
    refused = admin.post(
        "/konsol/akun", data={"username": "x1", "nama": "X", "grup": ["pemda"], "sandi": "rahasia-baru-1"}
    )
    assert refused.status_code == 302
    with konsol.session() as s:
        assert s.scalar(select(User.region_code).where(User.username == "pemda_c")) == "32.73"
        assert s.scalar(select(User.id).where(User.username == "x1")) is None  # pemda needs a region
    page = admin.get("/konsol/akun/pemda_c").get_data(as_text=True)
    assert "Pemda C" in page and "/konsol/akun/pemda_c/grup" in page and "/konsol/akun/pemda_c/sandi" in page
    back = admin.post("/konsol/akun/pemda_c/aktif", data={"aktif": "0"})
    assert back.headers["Location"].endswith("/konsol/akun/pemda_c")
    admin.post("/konsol/akun/pemda_c/grup", data={"grup": ["kemendagri"], "wilayah": ""})
    admin.post("/konsol/akun/pemda_c/sandi", data={"sandi": "sandi-lain-123"})
    assert admin.get("/konsol/akun/tidak-ada").status_code == 404
    assert (
        admin.post("/konsol/akun/tidak-ada/aktif", data={"aktif": "1"})
        .headers["Location"]
        .endswith("/konsol/akun")
    )
    with konsol.session() as s:
        user = s.scalars(select(User).where(User.username == "pemda_c")).one()
    assert not user.active and user.groups == "kemendagri" and user.region_code is None
    admin.post(
        "/konsol/wilayah", data={"kode": "73.71", "nama": "Kota Makassar", "tingkat": "kota", "zona": "WITA"}
    )
    assert "Kota Makassar" in text_of(admin.get("/konsol/wilayah"))


def test_the_accounts_page_is_one_page_of_accounts_found_by_name_or_region(konsol, login, monkeypatch):
    """Finding: the accounts page listed every account, each row with a form holding every
    region (a national deployment: 552 regions, thousands of accounts, megabytes a page). Now a
    page of accounts, searched by name or region, each changed on its own page."""
    from web import accounts

    monkeypatch.setattr(accounts, "ACCOUNTS_PAGE_SIZE", 3)
    with konsol.uow() as uow:
        for n in range(5):
            uow.session.add(
                User(
                    username=f"staf_{n}",
                    name=f"Staf Nomor {n}",
                    password_hash="-",
                    groups="pemda",
                    region_code="91.71",
                    active=True,
                    created_at=clock.now(),
                )
            )
        uow.commit()
    admin = login("admin")
    first = admin.get("/konsol/akun").get_data(as_text=True)
    assert first.count('name="wilayah"') == 2  # the search's and the new account's, none per row
    assert first.count("<tr data-user=") == 3 and "halaman=2" in first
    found = text_of(admin.get("/konsol/akun?q=NOMOR+3"))
    assert "Staf Nomor 3" in found and "Staf Nomor 2" not in found
    # Kota B: dprd_b, pemda_b and the five staff, three a page
    last = admin.get("/konsol/akun?wilayah=91.71&halaman=3").get_data(as_text=True)
    assert 'data-user="staf_4"' in last and last.count("<tr data-user=") == 1 and "halaman=4" not in last
    past = admin.get("/konsol/akun?q=staf&halaman=9").get_data(as_text=True)  # the last page
    assert 'data-user="staf_3"' in past and 'data-user="staf_4"' in past and past.count("<tr data-user=") == 2
    assert "Tidak ada akun yang cocok" in text_of(admin.get("/konsol/akun?q=%25%25"))  # % is itself


# --- the staff case page: diagram and live status --------------------------------------------------------


def test_staff_case_page_has_the_diagram_of_its_version(konsol, login):
    instance_id = start_konsol(konsol)
    clerk = login("pemda_a")
    page = clerk.get(f"/kasus/{instance_id}")
    assert "data-diagram" in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'id="Periksa"' in clerk.get(f"/kasus/{instance_id}/diagram.bpmn").get_data(as_text=True)
    assert clerk.get(f"/kasus/{instance_id}/penanda.json").get_json()["elements"]["Periksa"]["active"] == 1
    status = clerk.get(f"/kasus/{instance_id}/status.json").get_json()
    assert status["system"] is False
    other = login("pemda_b")
    for path in ("", "/diagram.bpmn", "/penanda.json", "/status.json"):
        assert other.get(f"/kasus/{instance_id}{path}").status_code == 404
    inbox = clerk.get("/")
    assert "unsafe-inline" not in inbox.headers["Content-Security-Policy"]  # our files only, never inline


def test_status_says_when_a_system_step_is_pending(konsol, login):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    clerk = login("pemda_a")
    assert 'data-system="0"' in clerk.get(f"/tugas/{task_id}").get_data(as_text=True)
    konsol.complete_task(task_id, {"catatan": "ok"}, actor("pemda_a"))
    before = clerk.get(f"/kasus/{instance_id}/status.json").get_json()
    assert before["system"] is True
    assert 'data-system="1"' in clerk.get(f"/kasus/{instance_id}").get_data(as_text=True)
    assert 'data-system="1"' in clerk.get(f"/tugas/{task_id}").get_data(as_text=True)
    konsol.run_due(instance_id=instance_id)
    after = clerk.get(f"/kasus/{instance_id}/status.json").get_json()
    assert after["system"] is False and after["version"] > before["version"]
    with konsol.session() as s:
        assert s.scalar(select(Job.id).where(Job.instance_id == instance_id)) is None


# --- moving cases to a newer version; bulk retry ----------------------------------------------------------

TINJAU = """    <bpmn:userTask id="Tinjau" name="Tinjau ulang" camunda:candidateGroups="pemda">
      <bpmn:incoming>A2</bpmn:incoming>
      <bpmn:outgoing>A2b</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="A2b" sourceRef="Tinjau" targetRef="Kirim" />
    <bpmn:serviceTask id="Kirim\""""


def with_review_step(bpmn: str) -> str:
    """v2: a review task between Periksa and Kirim."""
    bpmn = bpmn.replace('<bpmn:serviceTask id="Kirim"', TINJAU, 1)
    bpmn = bpmn.replace(
        "<bpmn:incoming>A2</bpmn:incoming>\n      <bpmn:outgoing>A3</bpmn:outgoing>",
        "<bpmn:incoming>A2b</bpmn:incoming>\n      <bpmn:outgoing>A3</bpmn:outgoing>",
    )
    return bpmn.replace(
        'targetRef="Kirim" />\n    <bpmn:sequenceFlow id="A3"',
        'targetRef="Tinjau" />\n    <bpmn:sequenceFlow id="A3"',
        1,
    )


def test_migrate_running_cases_to_a_newer_version(konsol, login):
    waiting = start_konsol(konsol)
    (v2,) = konsol.deploy({"konsol.bpmn": with_review_step(KONSOL)}, user="analis")
    assert v2.changed and v2.version == 2
    operator = login("operator")
    page = operator.get(f"/konsol/deploy/{v2.definition_id}/pindah")
    assert f'value="{waiting}"' in page.get_data(as_text=True)
    moved = operator.post(
        f"/konsol/deploy/{v2.definition_id}/pindah",
        data={"kasus": [str(waiting)], "alasan": "Langkah tinjau baru"},
    )
    assert moved.status_code == 200 and f"Kasus #{waiting}: dipindah ke versi 2" in text_of(moved)
    with konsol.session() as s:
        instance = s.get(Instance, waiting)
        assert (instance.process_version, instance.definition_id) == (2, v2.definition_id)
    konsol.complete_task(ready_task(konsol, waiting, "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    assert ready_task(konsol, waiting, "Tinjau")  # what comes next follows version 2
    history = text_of(operator.get(f"/konsol/kasus/{waiting}"))
    assert "Memindahkan kasus ke versi proses lain" in history and "1 → 2" in history


def test_migration_refused_when_an_element_the_case_reached_is_gone(konsol):
    instance_id = start_konsol(konsol)
    (v2,) = konsol.deploy(
        {"konsol.bpmn": KONSOL.replace('"Periksa"', '"Cek"').replace(">Periksa<", ">Cek<")}, user="analis"
    )
    before = snapshot(konsol)
    with pytest.raises(Conflict, match="elemen Periksa tidak ada di versi itu"):
        konsol.migrate(instance_id, v2.definition_id, OPERATOR, "uji")
    with pytest.raises(ValidationFailed):
        konsol.migrate(instance_id, v2.definition_id, OPERATOR, "")
    assert snapshot(konsol) == before


def test_bulk_retry_of_incidents(konsol, login):
    first, second = to_incident(konsol), to_incident(konsol)
    operator = login("operator")
    listing = operator.get("/konsol/insiden")
    assert "Gangguan terbuka 2" in text_of(listing)
    ids = [str(open_incident(konsol, first)), str(open_incident(konsol, second))]
    operator.post("/konsol/insiden/ulang", data={"insiden": ids})
    assert open_incident(konsol, first) is None and open_incident(konsol, second) is None
    assert konsol.run_due().jobs_run == 2


def test_migration_where_a_later_step_was_removed(konsol):
    """Elements the case has not reached yet may be gone: the new version's path is followed."""
    instance_id = start_konsol(konsol)
    without_send = KONSOL.replace('targetRef="Kirim" />', 'targetRef="Tindaklanjut" />').replace(
        "<bpmn:incoming>A3</bpmn:incoming>", "<bpmn:incoming>A2</bpmn:incoming>"
    )
    start, end = (
        without_send.index('    <bpmn:serviceTask id="Kirim"'),
        without_send.index('    <bpmn:userTask id="Tindaklanjut"'),
    )
    without_send = without_send[:start] + without_send[end:]
    without_send = without_send.replace(
        '    <bpmn:sequenceFlow id="A3" sourceRef="Kirim" targetRef="Tindaklanjut" />\n', ""
    )
    without_send = "\n".join(
        line for line in without_send.splitlines() if "Kirim_di" not in line and "A3_di" not in line
    )
    (v2,) = konsol.deploy({"konsol.bpmn": without_send}, user="analis")
    assert konsol.migrate(instance_id, v2.definition_id, OPERATOR, "Pengiriman dihapus") == 2
    konsol.complete_task(ready_task(konsol, instance_id, "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    assert ready_task(konsol, instance_id, "Tindaklanjut")


def test_reschedule_a_timer_with_a_reason(konsol, login):
    instance_id, _task_id = to_dprd(konsol)
    with konsol.session() as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
    operator = login("operator")
    assert "Pindahkan batas waktu" in operator.get(f"/konsol/kasus/{instance_id}").get_data(as_text=True)
    before = snapshot(konsol)
    operator.post(
        f"/konsol/kasus/{instance_id}/timer/{timer.id}", data={"batas": "2027-05-04T10:00", "alasan": ""}
    )
    operator.post(f"/konsol/kasus/{instance_id}/timer/{timer.id}", data={"batas": "besok", "alasan": "x"})
    assert snapshot(konsol) == before
    operator.post(
        f"/konsol/kasus/{instance_id}/timer/{timer.id}",
        data={"batas": "2027-05-04T10:00", "alasan": "DPRD reses, disepakati lebih cepat"},
    )
    with konsol.session() as s:
        assert s.get(Timer, timer.id).due_at == datetime(2027, 5, 4, 3, 0, tzinfo=UTC)  # 10.00 WIB
    clock.set(datetime(2027, 5, 4, 3, 1, tzinfo=UTC))
    assert konsol.run_due(instance_id=instance_id).timers_fired == 1
    history = text_of(operator.get(f"/konsol/kasus/{instance_id}"))
    assert "Memindahkan batas waktu (operator)" in history and "DPRD reses" in history


def test_operators_correct_a_held_case_and_cancel_it(konsol):
    instance_id = start_konsol(konsol)
    task_id = ready_task(konsol, instance_id, "Periksa")
    konsol.suspend(instance_id, OPERATOR, "Data mitra salah")
    konsol.set_variable(instance_id, "nama_mitra", "Kota Fukuoka (Jepang)", OPERATOR, "Nama resmi")
    with pytest.raises(Conflict, match="ditangguhkan"):
        konsol.complete_task(task_id, {"catatan": "ok"}, actor("pemda_a"))
    konsol.cancel_case(instance_id, OPERATOR, "Diajukan ulang sebagai kasus baru")
    with konsol.session() as s:
        instance = s.get(Instance, instance_id)
    assert (instance.status, instance.suspended_at) == ("cancelled", None)
    assert json.loads(instance.variables)["nama_mitra"] == "Kota Fukuoka (Jepang)"


def test_bad_input_is_a_clear_4xx_and_changes_nothing(konsol, login):
    instance_id = to_incident(konsol)
    incident_id = open_incident(konsol, instance_id)
    other = start_konsol(konsol)
    task_id = ready_task(konsol, other, "Periksa")
    operator = login("operator")
    operator.post(f"/konsol/insiden/{incident_id}/ulang")
    before = snapshot(konsol)
    for method, path in (
        ("GET", "/konsol/kasus/999"),
        ("POST", "/konsol/kasus/999/batalkan"),
        ("POST", "/konsol/tugas/tidak-ada/alihkan"),
        ("GET", "/konsol/tugas/tidak-ada/atas-nama"),
        ("GET", "/konsol/deploy/999/unduh"),
        ("GET", "/konsol/deploy/999/pindah"),
        ("POST", "/konsol/insiden/999/ulang"),
        ("GET", "/kasus/999/diagram.bpmn"),
        ("GET", "/kasus/999/penanda.json"),
    ):
        assert operator.open(path, method=method, data={"alasan": "x"}).status_code == 404, path
    again = operator.post(f"/konsol/insiden/{incident_id}/ulang", follow_redirects=True)
    assert again.status_code == 200 and "sudah ditangani" in text_of(again)
    bad_name = operator.post(
        f"/konsol/kasus/{other}/variabel",
        data={"nama": "1 salah", "nilai": "x", "alasan": "uji"},
        follow_redirects=True,
    )
    assert "Nama variabel tidak valid" in text_of(bad_name)
    missing = operator.post(f"/konsol/tugas/{task_id}/atas-nama", data={"alasan": "Diminta"})
    assert missing.status_code == 422 and "Wajib diisi" in text_of(missing)
    bad_day = operator.post(
        "/konsol/kalender", data={"tanggal": "31-02-2027", "nomor": "K/1"}, follow_redirects=True
    )
    assert "Tanggal tidak valid" in text_of(bad_day)
    assert snapshot(konsol) == before


def test_complete_on_behalf_with_a_document(konsol, login):
    instance_id = start_case(konsol)
    task_id = ready_task(konsol, instance_id, "Penjajakan")
    operator = login("operator")
    form = operator.get(f"/konsol/tugas/{task_id}/atas-nama").get_data(as_text=True)
    assert 'type="file"' in form and 'enctype="multipart/form-data"' in form
    done = operator.post(
        f"/konsol/tugas/{task_id}/atas-nama",
        data={
            **PENJAJAKAN,
            "kajian": (io.BytesIO(PDF), "kajian.pdf"),
            "alasan": "Berkas dikirim lewat surel",
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, text_of(done)
    with konsol.session() as s:
        task = s.get(Task, task_id)
        document = s.scalars(select(Document).where(Document.instance_id == instance_id)).one()
    assert task.status == "completed" and json.loads(task.submitted)["kajian"] == document.id
    assert document.uploaded_by == "operator" and document.task_id == task_id


@pytest.mark.parametrize("cap", [1000, 0])
def test_case_list_filters_never_scan_the_tasks_per_case(konsol, login, monkeypatch, cap):
    """Finding (bench/console.py): a correlated EXISTS for 'overdue' made SQLite scan the ready
    tasks once per case, 40 s at 10 000 cases. With few such tasks (under the cap) each filter is
    one uncorrelated subquery; with more, each case read in the page's order looks its tasks up
    by its id (web/case_tasks.py), never scanning them."""
    from web import counting

    if not konsol.database_url.startswith("sqlite"):
        pytest.skip("the plan checked is SQLite's")
    monkeypatch.setattr(counting, "COUNT_CAP", cap)
    start_konsol(konsol)
    clock.set(MONDAY.replace(day=20))  # its Periksa task (3 working days) is late: over a cap of 0
    with reads_sent(konsol.db) as reads:
        page = login("operator").get("/konsol/kasus?terlambat=1&dprd=1&insiden=1")
    statements = [(q, p) for q, p in reads if "FROM instances" in q]
    assert page.status_code == 200 and statements
    for statement, parameters in statements:
        plan = sqlite_plan(konsol.db, statement, parameters)
        assert "SCAN tasks" not in plan, plan
        if cap:
            assert "CORRELATED" not in plan, plan
        elif "FROM instances LEFT OUTER JOIN regions" in statement:  # the page: overdue asked per case
            assert "SEARCH tasks USING INDEX ix_tasks_instance_status_due (instance_id=?" in plan, plan

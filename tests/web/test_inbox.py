"""The inbox: what each person sees, deadlines in the region's zone, filters, counts, claiming."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.models import Task
from tests.web.conftest import (
    MONDAY,
    PENJAJAKAN,
    actor,
    add_pdf,
    ready_task,
    snapshot,
    start_case,
    text_of,
    to_dprd,
)


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


def task_links(response) -> list[str]:
    return re.findall(r'href="/tugas/([0-9a-f-]{36})"', response.get_data(as_text=True))


def test_pemda_sees_its_regions_tasks_with_case_partner_stage_and_deadline(orch, login):
    case_a = start_case(orch, "pemda_a")
    start_case(orch, "pemda_b", nama_mitra="Kota Busan", negara_mitra="Korea Selatan")
    response = login("pemda_a").get("/")
    assert task_links(response) == [ready_task(orch, case_a, "Penjajakan")]
    page = text_of(response)
    assert "Catat penjajakan" in page and "Kerja sama kota kembar" in page
    assert "Kota Fukuoka" in page and "Jepang" in page
    assert "2. Penjajakan" in page
    # 10 working days after Monday 3 May 2027: Thu 6 May, 17-20 May are days off -> Monday 24 May
    assert "24 Mei 2027 WIB" in page and "10 hari kerja lagi" in page
    assert "Kota Busan" not in page


def test_deadline_is_shown_in_the_case_regions_zone(orch, login):
    start_case(orch, "pemda_b", nama_mitra="Kota Busan", negara_mitra="Korea Selatan")
    page = text_of(login("pemda_b").get("/"))
    assert "Kota Busan" in page and "Korea Selatan" in page
    assert "24 Mei 2027 WIT" in page and "Kota Fukuoka" not in page


def test_groups_decide_what_is_listed(orch, login):
    case_a, dprd_task = to_dprd(orch, "pemda_a")
    assert task_links(login("pemda_a").get("/")) == []
    assert task_links(login("kada_a").get("/")) == []
    assert task_links(login("dprd_a").get("/")) == [dprd_task]
    assert task_links(login("dprd_b").get("/")) == []
    assert task_links(login("kemendagri").get("/")) == []


def test_national_group_sees_every_regions_task(orch, login):
    verifications = []
    for username in ("pemda_a", "pemda_b"):
        case, dprd_task = to_dprd(orch, username)
        dprd = "dprd_a" if username == "pemda_a" else "dprd_b"
        orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor(dprd))
        verifications.append(ready_task(orch, case, "Verifikasi"))
    assert sorted(task_links(login("kemendagri").get("/"))) == sorted(verifications)
    assert task_links(login("kemenlu").get("/")) == []


def test_sorted_by_due_date_with_no_due_date_last(orch, login):
    late = start_case(orch, "pemda_a", nama_mitra="Mitra kedua")
    clock.set(MONDAY - timedelta(days=7))
    early = start_case(orch, "pemda_a", nama_mitra="Mitra pertama")
    clock.set(MONDAY)
    # a third case reaches "Revisi rencana", which has no due date
    revised, dprd_task = to_dprd(orch, "pemda_a")
    orch.complete_task(dprd_task, {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    orch.complete_task(
        ready_task(orch, revised, "Verifikasi"), {"hasil_verifikasi": "revisi"}, actor("kemendagri")
    )
    links = task_links(login("pemda_a").get("/"))
    assert links == [
        ready_task(orch, early, "Penjajakan"),
        ready_task(orch, late, "Penjajakan"),
        ready_task(orch, revised, "Revisi"),
    ]
    page = text_of(login("pemda_a").get("/"))
    assert "Tanpa batas" in page


def counts(response) -> dict[str, int]:
    html = response.get_data(as_text=True)
    found = re.findall(r'filter=(\w+)[^"]*"[^>]*>[^<]*<span class="count">(\d+)</span>', html)
    return {name: int(n) for name, n in found}


def test_filters_and_counts(orch, login):
    soon = start_case(orch, "pemda_a", nama_mitra="Mitra segera")
    clock.set(MONDAY - timedelta(days=21))
    overdue = start_case(orch, "pemda_a", nama_mitra="Mitra terlambat")
    clock.set(MONDAY + timedelta(days=14))  # Monday 17 May: "soon" has 4 working days left (21, 24 May...)
    later = start_case(orch, "pemda_a", nama_mitra="Mitra nanti")
    client = login("pemda_a")
    client.post(f"/tugas/{ready_task(orch, later, 'Penjajakan')}/ambil")

    response = client.get("/")
    assert counts(response) == {"semua": 3, "segera": 1, "terlambat": 1, "saya": 1}
    assert "Terlambat" in text_of(response)

    assert task_links(client.get("/?filter=segera")) == [ready_task(orch, soon, "Penjajakan")]
    assert task_links(client.get("/?filter=terlambat")) == [ready_task(orch, overdue, "Penjajakan")]
    assert task_links(client.get("/?filter=saya")) == [ready_task(orch, later, "Penjajakan")]
    assert len(task_links(client.get("/?filter=tidak-ada"))) == 3
    empty = client.get("/?tahap=5")
    assert task_links(empty) == [] and "Tidak ada tugas untuk saringan ini" in text_of(empty)
    assert len(task_links(client.get("/?tahap=2"))) == 3
    assert len(task_links(client.get("/?tahap=99"))) == 3
    assert "2. Penjajakan (3)" in text_of(client.get("/"))


def test_overdue_counts_working_days_late(orch, login):
    start_case(orch, "pemda_a")
    clock.set(MONDAY + timedelta(days=22, hours=1))  # Tuesday 25 May 2027, the day after the deadline
    page = text_of(login("pemda_a").get("/?filter=terlambat"))
    assert "Terlambat 1 hari kerja" in page


def test_claim_shows_taken_to_others_and_only_the_claimer_may_complete(orch, login):
    case = start_case(orch, "pemda_a")
    task_id = ready_task(orch, case, "Penjajakan")
    ani, budi = login("pemda_a"), login("pemda_a2")

    response = ani.post(f"/tugas/{task_id}/ambil", data={"next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Diambil oleh saya" in text_of(ani.get("/"))
    page = text_of(budi.get("/"))
    assert "Diambil oleh Ani Pemda A" in page
    assert f"/tugas/{task_id}/ambil" not in budi.get("/").get_data(as_text=True)

    task_page = text_of(budi.get(f"/tugas/{task_id}"))
    assert "Diambil oleh Ani Pemda A" in task_page and "Selesaikan tugas" not in task_page

    document_id = add_pdf(orch, case, task_id, "pemda_a")
    before = snapshot(orch)
    response = budi.post(f"/tugas/{task_id}", data={**PENJAJAKAN, "kajian__dokumen": str(document_id)})
    assert response.status_code == 409
    assert "sedang diambil oleh pengguna lain" in text_of(response)
    assert budi.post(f"/tugas/{task_id}/ambil").status_code == 409
    assert budi.post(f"/tugas/{task_id}/lepas").status_code == 403
    assert snapshot(orch) == before

    assert ani.post(f"/tugas/{task_id}/lepas").status_code == 302
    assert "Diambil oleh Ani" not in text_of(budi.get("/"))
    with orch.session() as s:
        assert s.scalar(select(Task.assignee).where(Task.id == task_id)) is None


@pytest.mark.parametrize("target", ["//jahat.example/", "/\\jahat.example/", "https://jahat.example/"])
def test_claim_redirect_stays_on_site(orch, login, target):
    task_id = ready_task(orch, start_case(orch), "Penjajakan")
    response = login("pemda_a").post(f"/tugas/{task_id}/ambil", data={"next": target})
    assert response.headers["Location"] == "/"


def test_a_colleague_asks_the_operators_to_free_a_task_someone_holds(orch, login):
    """Issue 9.4: a clerk sees who holds a task and asks an operator to release it; the holder
    keeps it until an operator acts, the request is in the history and reaches the operators."""
    from engine.models import AuditEvent, OutboxMessage

    case = start_case(orch, "pemda_a")
    task_id = ready_task(orch, case, "Penjajakan")
    ani, budi = login("pemda_a"), login("pemda_a2")
    assert ani.post(f"/tugas/{task_id}/ambil").status_code == 302
    page = budi.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert f'action="/tugas/{task_id}/minta-lepas"' in page and "Minta operator melepas tugas ini" in page

    response = budi.post(f"/tugas/{task_id}/minta-lepas", data={"alasan": "Ani cuti\u202e sampai Senin"})
    assert response.status_code == 302
    with orch.session() as s:
        task = s.get(Task, task_id)
        [request] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lepas")).all()
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "release-request")).all()
    assert task.assignee == "pemda_a"  # only an operator moves it
    assert set(request.recipient_group.split(",")) == set(orch.registry.access.operator_groups)
    assert request.task_id == task_id and "Ani cuti sampai Senin" in request.body
    assert event.actor == "pemda_a2" and "Meminta operator melepas tugas" in text_of(
        budi.get(f"/kasus/{case}")
    )

    before = snapshot(orch)
    assert ani.post(f"/tugas/{task_id}/minta-lepas").status_code == 409  # it is theirs
    assert login("pemda_b").post(f"/tugas/{task_id}/minta-lepas").status_code == 404  # another region
    assert login("dprd_a").post(f"/tugas/{task_id}/minta-lepas").status_code == 403  # not their task
    assert snapshot(orch) == before


def test_a_nul_in_the_query_or_path_is_a_400_not_a_database_error(orch, login):
    """Found by schemathesis on PostgreSQL: a NUL in a search reached the database (500)."""
    pemda = login("pemda_a")
    for path in ("/?q=a%00b", "/kasus?q=%00", "/tugas/a%00b", "/?q=x&q=%00"):
        response = pemda.get(path)
        assert response.status_code == 400, path
        assert "karakter NUL" in text_of(response)

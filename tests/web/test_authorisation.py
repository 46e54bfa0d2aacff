"""Authorisation lives in the queries: another region's case is not found, another group's task is
forbidden, and every refused attempt leaves the database exactly as it was."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.models import Document, Instance, Task
from tests.web.conftest import (
    MONDAY,
    PDF,
    actor,
    new_account,
    ready_task,
    snapshot,
    start_case,
    text_of,
    to_dprd,
)


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture
def two_regions(orch):
    """A case waiting for its DPRD in Kota A and in Kota B, each with its kajian document."""
    case_a, task_a = to_dprd(orch, "pemda_a")
    case_b, task_b = to_dprd(orch, "pemda_b")
    with orch.session() as s:
        doc_a = s.scalar(select(Document.id).where(Document.instance_id == case_a))
        doc_b = s.scalar(select(Document.id).where(Document.instance_id == case_b))
    return {
        "case_a": case_a,
        "task_a": task_a,
        "doc_a": doc_a,
        "case_b": case_b,
        "task_b": task_b,
        "doc_b": doc_b,
    }


def test_dprd_of_kota_a_cannot_touch_a_kota_b_case(orch, login, two_regions):
    r = two_regions
    client = login("dprd_a")
    before = snapshot(orch)

    inbox = client.get("/").get_data(as_text=True)
    assert r["task_a"] in inbox and r["task_b"] not in inbox
    listing = client.get("/kasus").get_data(as_text=True)
    assert f'href="/kasus/{r["case_a"]}"' in listing and f'href="/kasus/{r["case_b"]}"' not in listing

    assert client.get(f"/kasus/{r['case_b']}").status_code == 404
    assert client.get(f"/tugas/{r['task_b']}").status_code == 404
    assert client.post(f"/tugas/{r['task_b']}/ambil").status_code == 404
    assert client.post(f"/tugas/{r['task_b']}/lepas").status_code == 404
    assert client.post(f"/tugas/{r['task_b']}", data={"keputusan_dprd": "setuju"}).status_code == 404
    assert client.get(f"/dokumen/{r['doc_b']}").status_code == 404
    assert client.post(f"/kasus/{r['case_b']}/komentar", data={"komentar": "halo"}).status_code == 404
    # a Kota A comment form pointed at a Kota B task
    response = client.post(
        f"/kasus/{r['case_a']}/komentar", data={"komentar": "halo", "task_id": r["task_b"]}
    )
    assert response.status_code == 404
    assert snapshot(orch) == before

    # the 404 page says nothing about the case
    page = text_of(client.get(f"/kasus/{r['case_b']}"))
    assert "Kota Fukuoka" not in page and "Kota B" not in page


def test_guessing_ids_finds_only_ones_own_region(orch, login, two_regions):
    r = two_regions
    client = login("dprd_a")
    before = snapshot(orch)
    with orch.session() as s:
        max_case = s.scalar(select(func.max(Instance.id)))
        max_doc = s.scalar(select(func.max(Document.id)))
        all_tasks = list(s.scalars(select(Task.id)))
    open_cases = {n for n in range(1, max_case + 3) if client.get(f"/kasus/{n}").status_code == 200}
    assert open_cases == {r["case_a"]}
    open_docs = {n for n in range(1, max_doc + 3) if client.get(f"/dokumen/{n}").status_code == 200}
    assert open_docs == {r["doc_a"]}
    with orch.session() as s:
        region_a_tasks = set(
            s.scalars(
                select(Task.id)
                .join(Instance, Instance.id == Task.instance_id)
                .where(Instance.id == r["case_a"])
            )
        )
    open_tasks = {t for t in all_tasks if client.get(f"/tugas/{t}").status_code == 200}
    assert open_tasks == region_a_tasks
    assert client.get("/tugas/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/kasus/abc").status_code == 404
    assert snapshot(orch) == before


def test_pemda_cannot_complete_or_claim_a_kemendagri_task(orch, login, two_regions):
    r = two_regions
    orch.complete_task(r["task_a"], {"keputusan_dprd": "setuju"}, actor("dprd_a"))
    verification = ready_task(orch, r["case_a"], "Verifikasi")
    client = login("pemda_a")
    before = snapshot(orch)
    assert client.post(f"/tugas/{verification}", data={"hasil_verifikasi": "terima"}).status_code == 403
    assert client.post(f"/tugas/{verification}/ambil").status_code == 403
    assert snapshot(orch) == before
    # the pemda may read the task of its own case, without a form
    page = text_of(client.get(f"/tugas/{verification}"))
    assert "tidak mengerjakan tugas ini" in page and "Selesaikan tugas" not in page
    assert verification not in client.get("/").get_data(as_text=True)


def test_kepala_daerah_cannot_complete_a_dprd_task_of_its_region(orch, login, two_regions):
    before = snapshot(orch)
    client = login("kada_a")
    assert (
        client.post(f"/tugas/{two_regions['task_a']}", data={"keputusan_dprd": "setuju"}).status_code == 403
    )
    assert snapshot(orch) == before


def test_national_users_see_and_download_every_region(orch, login, two_regions):
    client = login("kemendagri")
    assert client.get(f"/kasus/{two_regions['case_b']}").status_code == 200
    response = client.get(f"/dokumen/{two_regions['doc_b']}")
    assert response.status_code == 200 and response.data == PDF
    listing = client.get("/kasus").get_data(as_text=True)
    assert len(set(re.findall(r'href="/kasus/(\d+)"', listing))) == 2


def test_download_is_an_attachment_with_its_checksum(orch, login, two_regions):
    response = login("dprd_a").get(f"/dokumen/{two_regions['doc_a']}?unduh=1")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "kajian.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Checksum-SHA256"] == hashlib.sha256(PDF).hexdigest()


def test_only_pemda_with_a_region_may_start_a_case(orch, login):
    for username in ("dprd_a", "kada_a", "kemendagri", "operator"):
        client = login(username)
        assert client.get("/kasus/baru").status_code == 403
        assert client.post("/kasus/baru", data={"nama_mitra": "x"}).status_code == 403
        assert 'href="/kasus/baru"' not in client.get("/").get_data(as_text=True)
    with orch.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 0


def test_a_regional_account_without_a_region_sees_nothing(orch, login):
    case = start_case(orch, "pemda_a")
    with orch.uow() as uow:
        uow.session.add(new_account("tanpa_wilayah", "Tanpa Wilayah", "pemda", None))
        uow.commit()
    client = login("tanpa_wilayah")
    assert client.get(f"/kasus/{case}").status_code == 404
    assert client.get(f"/tugas/{ready_task(orch, case, 'Penjajakan')}").status_code == 404
    assert "Tidak ada tugas" in text_of(client.get("/"))
    assert client.get("/kasus/baru").status_code == 403

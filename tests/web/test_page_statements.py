"""Every list page, for staff, operators and API clients, sends no more statements for many rows
than for few (fewer where the inbox's first range fills the page), and a case's pages no more for
a long history than for a short one. A statement per row (a region read per account, the
reassignment choices per region) is how a page grows with the cases; each was found one page at a
time, so this asks every page at once."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.delivery import Delivery, DeliverySettings
from engine.models import Region, User
from tests.statements import statements_sent
from tests.web.conftest import (
    KSDPL_ACCESS,
    PENJAJAKAN,
    actor,
    add_pdf,
    new_account,
    ready_task,
    start_case,
)
from tests.web.test_console import OPERATOR, konsol, start_konsol, to_incident  # noqa: F401 (a fixture)
from web.tokens import create_token

# (who, path, rows): rows is how a row of the page starts; None for a page whose rows these
# cases do not add to (counts, the calendar, deployments, failed e-mails)
PAGES = (
    ("pemda_a", "/", "<tr"),
    ("pemda_a", "/kasus", "<tr"),
    ("pemda_a2", "/pemberitahuan", '<li class="notification'),
    ("kemendagri", "/kasus", "<tr"),
    ("operator", "/konsol", None),
    ("operator", "/konsol/kasus", "<tr"),
    ("operator", "/konsol/antrean", "<tr data-task"),
    ("operator", "/konsol/insiden", "<tr"),
    ("admin", "/konsol/akun", "<tr"),
    ("admin", "/konsol/wilayah", "<tr"),
    ("operator", "/konsol/kalender", None),
    ("admin", "/konsol/deploy", None),
    ("operator", "/pemberitahuan/gagal", None),
)
API = ("/api/v1/instances", "/api/v1/tasks", "/api/v1/incidents")


@pytest.fixture
def db_file(db_url) -> str:
    """Both databases: each plans and reads its own way."""
    return db_url


def add_cases(orch, round_: int) -> None:
    """Rows for every list: in Kota A a case with an open incident and one waiting for its
    staff; in a region of the round's own, with two accounts, a case whose task is held by one
    of them, then disabled (a row of the console's queue, in one more region each round)."""
    to_incident(orch, "pemda_a")
    start_konsol(orch, "pemda_a")
    region, starter, holder = f"99.{round_ + 10}", f"pemda.r{round_}", f"cuti.r{round_}"
    with orch.uow() as uow:
        uow.session.add(
            Region(code=region, name=f"Kota Uji {round_}", level="kota", timezone="Asia/Makassar")
        )
        uow.session.flush()
        uow.session.add_all(new_account(name, name.title(), "pemda", region) for name in (starter, holder))
        uow.commit()
    case = start_konsol(orch, who=KSDPL_ACCESS.actor(starter, ["pemda"], region))
    orch.reassign(ready_task(orch, case, "Periksa"), OPERATOR, "cuti", assignee=holder)
    with orch.uow() as uow:
        uow.session.execute(update(User).where(User.username == holder).values(active=False))
        uow.commit()
    Delivery(orch, DeliverySettings()).run()  # the notifications in the app, as the worker makes them


def read_pages(clients, api, token: str) -> tuple[dict[str, int], dict[str, int]]:
    """Statements sent and rows shown, per page."""
    sent: dict[str, int] = {}
    rows: dict[str, int] = {}
    for who, path, row in PAGES:
        with statements_sent() as statements:
            response = clients[who].get(path)
        assert response.status_code == 200, (who, path)
        sent[f"{who} {path}"] = len(statements)
        rows[f"{who} {path}"] = response.get_data(as_text=True).count(row) if row else 0
    for path in API:
        with statements_sent() as statements:
            response = api.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, path
        sent[path] = len(statements)
        rows[path] = len(response.get_json()["items"])
    return sent, rows


def test_no_list_page_sends_more_statements_for_more_rows(konsol, login, app):  # noqa: F811
    with konsol.uow() as uow:
        token = create_token(uow.session, "pemda_a", "uji")
        uow.commit()
    add_cases(konsol, 0)
    clients = {who: login(who) for who in {who for who, _path, _row in PAGES}}
    api = app.test_client()
    read_pages(clients, api, token)  # what a process reads once is not a page's
    few, few_rows = read_pages(clients, api, token)
    for round_ in (1, 2, 3):
        add_cases(konsol, round_)
    many, many_rows = read_pages(clients, api, token)
    lists = [f"{who} {path}" for who, path, row in PAGES if row] + list(API)
    assert [page for page in lists if many_rows[page] <= few_rows[page]] == [], (few_rows, many_rows)
    assert {page: n for page, n in many.items() if n > few[page]} == {}, (few, many)


def revise(orch, case: int) -> None:
    """One more round: Kemendagri sends the plan back, the Pemda revises it with a new file."""
    kemendagri = actor("kemendagri")
    orch.complete_task(ready_task(orch, case, "Verifikasi"), {"hasil_verifikasi": "revisi"}, kemendagri)
    task_id = ready_task(orch, case, "Revisi")
    document_id = add_pdf(orch, case, task_id, name="revisi.pdf")
    values = {"hasil_penjajakan": "Direvisi.", "kajian": str(document_id)}
    orch.complete_task(task_id, values, actor("pemda_a"))


def test_a_case_page_sends_no_more_statements_for_a_longer_history(orch, login, app):
    """The case's page, a completed task's page, the console's case page and the API's case,
    history and documents, after one revision round and after four (more tasks, uploads and
    history events)."""
    with orch.uow() as uow:
        token = create_token(uow.session, "kemendagri", "uji")
        uow.commit()
    case = start_case(orch)
    first = ready_task(orch, case, "Penjajakan")
    document_id = add_pdf(orch, case, first)
    orch.complete_task(first, {**PENJAJAKAN, "kajian": str(document_id)}, actor("pemda_a"))
    orch.complete_task(
        ready_task(orch, case, "PersetujuanDprd"), {"keputusan_dprd": "setuju"}, actor("dprd_a")
    )
    pemda, operator, api = login("pemda_a"), login("operator"), app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    pages = (
        (pemda, f"/kasus/{case}", {}),
        (pemda, f"/tugas/{first}", {}),
        (operator, f"/konsol/kasus/{case}", {}),
        (api, f"/api/v1/instances/{case}", bearer),
        (api, f"/api/v1/instances/{case}/history", bearer),
        (api, f"/api/v1/instances/{case}/documents", bearer),
    )

    def sent() -> dict[str, int]:
        counts = {}
        for client, path, headers in pages:
            with statements_sent() as statements:
                response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            counts[path] = len(statements)
        return counts

    revise(orch, case)
    sent()  # what a process reads once (the deployment, the calendar) is not a page's
    short = sent()
    for _ in range(3):
        revise(orch, case)
    assert sent() == short

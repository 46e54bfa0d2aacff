"""The console's counts and its queue of tasks nobody can take: the same figures as counting the
cases and reading the rule task by task, found without reading every case or every ready task."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, update

from engine import case_counts
from engine.access import split_names
from engine.clock import clock
from engine.errors import Forbidden, NotFound
from engine.models import CaseCount, Incident, Instance, Task, User
from tests.statements import as_if_large, reads_sent, sqlite_plan
from tests.web.conftest import KSDPL_ACCESS, MONDAY, actor, ready_task
from web.console import queries
from web.console.unserved import stuck_tasks

# One task per way of offering it: regional, national and unknown groups, named users known and
# unknown, an assignee, and an expression that names no one.
OFFERS = {
    "Dprd": 'camunda:candidateGroups="dprd"',
    "Kemenlu": 'camunda:candidateGroups="kemenlu"',
    "DprdAtauKemendagri": 'camunda:candidateGroups="dprd, kemendagri"',
    "Humas": 'camunda:candidateGroups="humas"',
    "Budi": 'camunda:candidateUsers="budi"',
    "Kada": 'camunda:candidateUsers="kada_a,budi"',
    "Ditugaskan": 'camunda:candidateGroups="pemda" camunda:assignee="pemda_a2"',
    "Kosong": 'camunda:candidateGroups="${kelompok}"',
}

ANTREAN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_antrean"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="antrean" name="Uji antrean" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="Mulai">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="kelompok" label="Kelompok" type="string" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F0" sourceRef="Mulai" targetRef="Bagi" />
    <bpmn:parallelGateway id="Bagi"><bpmn:incoming>F0</bpmn:incoming>
      {"".join(f"<bpmn:outgoing>K_{name}</bpmn:outgoing>" for name in OFFERS)}
    </bpmn:parallelGateway>
    {
    "".join(
        f'''<bpmn:sequenceFlow id="K_{name}" sourceRef="Bagi" targetRef="{name}" />
    <bpmn:userTask id="{name}" name="{name}" {offer}><bpmn:incoming>K_{name}</bpmn:incoming>
      <bpmn:outgoing>S_{name}</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="S_{name}" sourceRef="{name}" targetRef="Gabung" />'''
        for name, offer in OFFERS.items()
    )
}
    <bpmn:parallelGateway id="Gabung">
      {"".join(f"<bpmn:incoming>S_{name}</bpmn:incoming>" for name in OFFERS)}
      <bpmn:outgoing>F9</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:sequenceFlow id="F9" sourceRef="Gabung" targetRef="Selesai" />
    <bpmn:endEvent id="Selesai"><bpmn:incoming>F9</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


KONSOL = (Path(__file__).resolve().parent / "fixtures" / "konsol.bpmn").read_text()
OPERATOR = KSDPL_ACCESS.actor("operator", ["operator"])


@pytest.fixture
def db_file(db_url) -> str:
    """Both databases: the counts' triggers and the queue's SQL are each database's own."""
    return db_url


@pytest.fixture
def antrean(orch):
    clock.set(MONDAY)
    orch.registry.service("konsol.kirim")(lambda ctx: {})
    orch.deploy({"antrean.bpmn": ANTREAN, "konsol.bpmn": KONSOL}, user="analis")
    return orch


# --- the counts of cases -----------------------------------------------------------------------------


def counted(orch) -> dict[tuple, int]:
    """The cases per (status, stage, region, process version, suspended), counted from the cases."""
    group = (Instance.status, Instance.stage, Instance.region_code, Instance.definition_id)
    held = Instance.suspended_at.is_not(None)
    with orch.session() as s:
        rows = s.execute(select(*group, held, func.count()).group_by(*group, held)).all()
    return {(*key, bool(h)): n for *key, h, n in rows}


def summed(orch) -> dict[tuple, int]:
    """The same from `case_counts`, as the dashboard adds them up."""
    group = (CaseCount.status, CaseCount.stage, CaseCount.region_code, CaseCount.definition_id)
    with orch.session() as s:
        rows = s.execute(
            select(*group, CaseCount.suspended, func.sum(CaseCount.n)).group_by(*group, CaseCount.suspended)
        ).all()
    return {(*key, bool(h)): n for *key, h, n in rows if n}


def count_rows(orch) -> int:
    with orch.session() as s:
        return s.scalar(select(func.count()).select_from(CaseCount))


def test_case_counts_follow_every_change_of_a_case_and_fold(antrean, login):
    """Start, a step to another stage, suspend and resume, a move to a new process version,
    cancel, completion of the last task, a case written and removed by hand: after each the rows add up to the cases; folding leaves one
    row per group and the same sums; the dashboard shows them."""
    konsol = [
        antrean.start("konsol", actor(u).region_code, {"judul_kerja_sama": "Uji"}, actor=actor(u))
        for u in ("pemda_a", "pemda_a", "pemda_b")
    ]
    assert summed(antrean) == counted(antrean)
    antrean.complete_task(ready_task(antrean, konsol[0], "Periksa"), {"catatan": "ok"}, actor("pemda_a"))
    antrean.run_due(instance_id=konsol[0])
    antrean.suspend(konsol[1], OPERATOR, "Menunggu surat")
    assert summed(antrean) == counted(antrean)
    with antrean.session() as s:
        v1 = s.scalar(select(Instance.definition_id).where(Instance.id == konsol[0]))
    assert ("running", 3, "32.73", v1, False) in counted(antrean)
    assert ("running", 1, "32.73", v1, True) in counted(antrean)
    antrean.resume(konsol[1], OPERATOR, "Surat datang")
    [v2] = antrean.deploy({"konsol.bpmn": KONSOL.replace("Periksa berkas", "Periksa (v2)")}, user="analis")
    v2 = v2.definition_id
    antrean.migrate(konsol[1], v2, OPERATOR, "Versi baru")
    assert ("running", 1, "32.73", v2, False) in summed(antrean)
    antrean.cancel_case(konsol[2], OPERATOR, "Batal")
    antrean.complete_task(ready_task(antrean, konsol[0], "Tindaklanjut"), {}, actor("dprd_a"))
    assert summed(antrean) == counted(antrean)
    with antrean.uow() as uow:  # by hand: an insert and a delete of a case with nothing attached
        columns = {c.name for c in Instance.__table__.columns} - {"id"}
        template = (
            uow.session.execute(select(Instance.__table__).where(Instance.id == konsol[1])).mappings().one()
        )
        uow.session.execute(insert(Instance), [{**{c: template[c] for c in columns}, "id": 999}])
        uow.commit()
    assert summed(antrean)[("running", 1, "32.73", v2, False)] == 2
    with antrean.uow() as uow:
        uow.session.execute(delete(Instance).where(Instance.id == 999))
        uow.commit()
    before = counted(antrean)
    assert summed(antrean) == before and count_rows(antrean) > len(before)
    assert case_counts.compact(antrean.db) > len(before)
    assert summed(antrean) == before and count_rows(antrean) == len(before)
    case_counts.compact(antrean.db)
    assert summed(antrean) == before and count_rows(antrean) == len(before)
    board = login("operator").get("/konsol").get_data(as_text=True)
    assert 'status=completed">1</a>' in board and 'status=cancelled">1</a>' in board


def test_steps_at_once_never_wait_on_the_counts(antrean):
    """Two transactions moving cases between the same two stages in opposite directions: rows of
    counters updated in place would make the second wait on the first (and, crossing, deadlock);
    the counts' rows are only inserted, so neither waits."""
    if not antrean.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    ids = [
        antrean.start("konsol", "32.73", {"judul_kerja_sama": "Uji"}, actor=actor("pemda_a"))
        for _ in range(2)
    ]
    with antrean.uow() as uow:
        uow.session.execute(update(Instance).where(Instance.id == ids[1]).values(stage=2))
        uow.commit()
    engine = create_engine(antrean.database_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                conn.exec_driver_sql("SET lock_timeout = '2s'")
            first.execute(update(Instance).where(Instance.id == ids[0]).values(stage=2))  # 1 -> 2
            second.execute(update(Instance).where(Instance.id == ids[1]).values(stage=1))  # 2 -> 1
            first.commit()
            second.commit()
    finally:
        engine.dispose()
    assert summed(antrean) == counted(antrean)


def test_two_workers_folding_at_once_keep_the_sums(antrean):
    """Every worker folds the counts every minute: a fold that starts while another holds the rows
    waits, then skips what the other took, and the sums stay the cases' (PostgreSQL; SQLite has
    one writer at a time)."""
    if not antrean.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    for _ in range(3):
        antrean.start("konsol", "32.73", {"judul_kerja_sama": "Uji"}, actor=actor("pemda_a"))
    before = counted(antrean)
    engine = create_engine(antrean.database_url)
    try:
        with engine.connect() as first:  # a fold in progress: the rows taken, the sums not yet written
            taken = first.execute(delete(CaseCount).returning(CaseCount.__table__)).mappings().all()
            second = threading.Thread(target=case_counts.compact, args=(engine,))
            second.start()
            second.join(0.5)
            assert second.is_alive()  # waiting on the rows the first holds
            first.execute(insert(CaseCount), [{k: v for k, v in row.items() if k != "id"} for row in taken])
            first.commit()
            second.join(10)
            assert not second.is_alive()
    finally:
        engine.dispose()
    assert summed(antrean) == before


# --- the queue of tasks nobody can take ----------------------------------------------------------------


def start(orch, username: str = "pemda_a") -> int:
    who = actor(username)
    return orch.start("antrean", who.region_code, {"kelompok": ""}, actor=who)


def stuck_by_service(orch) -> set[str]:
    """The rule asked of the service, task by task: a ready task is stuck when no active account
    may work it (`_ready_task(work=True)`, as a claim and a completion ask); an assigned task when
    its assignee may not."""
    stuck = set()
    with orch.session() as s:
        accounts = {
            name: KSDPL_ACCESS.actor(name, split_names(groups), region)
            for name, groups, region in s.execute(
                select(User.username, User.groups, User.region_code).where(User.active)
            )
        }
        for task_id, assignee in s.execute(select(Task.id, Task.assignee).where(Task.status == "ready")):
            who = [accounts[assignee]] if assignee in accounts else [] if assignee else accounts.values()
            if not any(_may_work(orch, s, task_id, account) for account in who):
                stuck.add(task_id)
    return stuck


def _may_work(orch, s, task_id: str, account) -> bool:
    try:
        orch._ready_task(s, task_id, account, work=True)
    except (Forbidden, NotFound):
        return False
    return True


def stuck_now(orch) -> set[str]:
    with orch.session() as s:
        found = set(s.scalars(stuck_tasks(s, KSDPL_ACCESS)))
    assert found == stuck_by_service(orch)
    return found


def names(orch, ids: set[str]) -> set[tuple[int, str]]:
    with orch.session() as s:
        return set(s.execute(select(Task.instance_id, Task.bpmn_id).where(Task.id.in_(ids))).all())


def deactivate(orch, *usernames: str, active: bool = False) -> None:
    with orch.uow() as uow:
        uow.session.execute(update(User).where(User.username.in_(usernames)).values(active=active))
        uow.commit()


def test_the_queue_holds_every_task_the_rule_calls_stuck(antrean):
    """Each way a task can be stuck, in two regions, as accounts leave and come back, after a
    claim and a reassignment: the query finds what the service says, task by task, no more, no
    fewer. Finding: a regional account named on another region's task counted as able to take
    it, which the service refuses (Kota A's kada_a on Kota B's "Kada", pemda_a2 assigned
    Kota B's "Ditugaskan")."""
    a, b = start(antrean, "pemda_a"), start(antrean, "pemda_b")
    assert names(antrean, stuck_now(antrean)) == {
        (case, task) for case in (a, b) for task in ("Humas", "Budi", "Kosong")
    } | {(b, "Kada"), (b, "Ditugaskan")}

    deactivate(antrean, "dprd_a", "kemenlu", "pemda_a2")
    assert names(antrean, stuck_now(antrean)) == {
        (case, task) for case in (a, b) for task in ("Humas", "Budi", "Kosong", "Kemenlu", "Ditugaskan")
    } | {(a, "Dprd"), (b, "Kada")}  # Kota B keeps its DPRD; "dprd, kemendagri" keeps Kemendagri

    deactivate(antrean, "kemendagri")
    assert (a, "DprdAtauKemendagri") in names(antrean, stuck_now(antrean))
    assert (b, "DprdAtauKemendagri") not in names(antrean, stuck_now(antrean))

    deactivate(antrean, "dprd_a", "kemenlu", "pemda_a2", "kemendagri", active=True)
    with antrean.session() as s:
        budi = s.scalar(select(Task.id).where(Task.instance_id == a, Task.bpmn_id == "Budi"))
        kosong = s.scalar(select(Task.id).where(Task.instance_id == a, Task.bpmn_id == "Kosong"))
        dprd = s.scalar(select(Task.id).where(Task.instance_id == a, Task.bpmn_id == "Dprd"))
    operator = KSDPL_ACCESS.actor("operator", ["operator"])
    antrean.reassign(budi, operator, "Budi belum punya akun", assignee="kada_a")
    antrean.reassign(kosong, operator, "Tanpa kandidat", group="pemda")
    antrean.claim(dprd, actor("dprd_a"))
    deactivate(antrean, "dprd_a")  # the claimed task is stuck on its assignee, not its group
    found = names(antrean, stuck_now(antrean))
    assert (a, "Budi") not in found and (a, "Kosong") not in found and (a, "Dprd") in found

    with antrean.uow() as uow:  # a national account in a regional group; an operator named "budi"
        uow.session.execute(
            update(User).where(User.username == "kemendagri").values(groups="kemendagri,dprd")
        )
        budi = {"name": "Budi", "password_hash": "-", "groups": "operator", "created_at": clock.now()}
        uow.session.add(User(username="budi", active=True, **budi))
        uow.commit()
    c = start(antrean, "pemda_a")
    found = names(antrean, stuck_now(antrean))
    assert (c, "Dprd") not in found and (c, "Budi") in found  # operators work no task


def test_the_queue_and_the_dashboard_read_no_task_and_no_case_one_by_one(antrean, login):
    """Finding (bench/console.py): the rule as a clause asked each ready task for an active
    holder, 570-640 ms a request at 100 000 cases, and the dashboard grouped the case rows.
    Now the queue starts from the offers nobody serves and the dashboard adds up `case_counts`."""
    if not antrean.database_url.startswith("sqlite"):
        pytest.skip("the plan checked is SQLite's")
    for username in ("pemda_a", "pemda_b"):
        start(antrean, username)
    deactivate(antrean, "dprd_a")
    as_if_large(antrean.db)
    operator = login("operator")
    with reads_sent(antrean.db) as reads:
        queue, board = operator.get("/konsol/antrean"), operator.get("/konsol")
    assert queue.status_code == 200 and board.status_code == 200
    assert "Dprd" in queue.get_data(as_text=True)
    for statement, parameters in reads:
        plan = sqlite_plan(antrean.db, statement, parameters)
        for table in ("tasks", "task_candidates", "instances"):
            assert f"SCAN {table}" not in plan, plan


def test_the_queue_reads_the_reassignment_choices_of_every_region_at_once(antrean, login):
    """Finding (stop 26): the queue read the accounts a task may be reassigned to once for each
    region on the page, up to a page's 50 statements. One statement now serves every row, and
    each row still offers its own region's staff and the national offices, no other region's."""
    a, b = start(antrean, "pemda_a"), start(antrean, "pemda_b")
    operator = login("operator")
    with reads_sent(antrean.db) as reads:
        queue = operator.get("/konsol/antrean").get_data(as_text=True)
    assert len([statement for statement, _ in reads if "ORDER BY users.name" in statement]) == 1
    with antrean.session() as s:
        humas = dict(s.execute(select(Task.instance_id, Task.id).where(Task.bpmn_id == "Humas")).all())
    national = {"kemendagri", "kemenlu"}
    for case, own, other in ((a, "pemda_a", "pemda_b"), (b, "pemda_b", "pemda_a")):
        row = queue[queue.index(f'data-task="{humas[case]}"') :].split("</tr>")[0]
        offered = set(re.findall(r'value="pengguna:([^"]+)"', row))
        assert own in offered and other not in offered and national <= offered, offered


def test_queue_pages_past_the_cap(antrean, login, monkeypatch):
    """More tasks than the cap: the count says "lebih dari", the pages go on without a last one,
    and a page past the end says so."""
    from web import counting

    monkeypatch.setattr(counting, "COUNT_CAP", 2)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    start(antrean)  # Humas, Budi and Kosong: three stuck tasks
    operator = login("operator")
    first = operator.get("/konsol/antrean").get_data(as_text=True)
    assert "lebih dari 2" in first and "Halaman 1</span>" in first and "halaman=2" in first
    second = operator.get("/konsol/antrean?halaman=2").get_data(as_text=True)
    assert "Halaman 2</span>" in second and "halaman=3" not in second
    assert "Tidak ada tugas di halaman 9" in operator.get("/konsol/antrean?halaman=9").get_data(as_text=True)
    assert '<span class="n">lebih dari 2</span> tugas tanpa pelaksana' in operator.get("/konsol").get_data(
        as_text=True
    )


def test_incidents_page_past_the_cap_in_the_order_of_an_index(antrean, login, monkeypatch):
    """Open incidents count to the cap and page as the other lists do, read oldest first along
    `ix_incidents_open` (an outage can open one per case): no sort of every open incident."""
    from web import counting

    monkeypatch.setattr(counting, "COUNT_CAP", 2)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    case = start(antrean)
    with antrean.uow() as uow:
        uow.session.add_all(
            Incident(instance_id=case, bpmn_id=f"Kirim{n}", message=f"gagal {n}", created_at=clock.now())
            for n in range(3)
        )
        uow.commit()
    operator = login("operator")
    with reads_sent(antrean.db) as reads:
        first = operator.get("/konsol/insiden").get_data(as_text=True)
    assert "lebih dari 2" in first and "Kirim0" in first and "Kirim2" not in first and "halaman=2" in first
    second = operator.get("/konsol/insiden?halaman=2").get_data(as_text=True)
    assert "Kirim2" in second and "halaman=3" not in second
    assert "Tidak ada gangguan di halaman 9" in operator.get("/konsol/insiden?halaman=9").get_data(
        as_text=True
    )
    if antrean.database_url.startswith("sqlite"):
        [(statement, parameters)] = [(q, p) for q, p in reads if "FROM incidents" in q and "ORDER BY" in q]
        plan = sqlite_plan(antrean.db, statement, parameters)
        assert "ix_incidents_open" in plan and "TEMP B-TREE" not in plan, plan

"""The inbox at scale, on SQLite and PostgreSQL: pages of a fixed size, filters, search and counts in
SQL, the `task_candidates` index kept in step with the tasks, and no list reading case state or forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.access import candidate_of, visible_instances
from engine.clock import clock
from engine.models import CalendarOverride, Instance, Task, TaskCandidate
from engine.service import Orchestrator
from engine.store import alembic_config
from engine.views import list_instances, list_tasks
from tests.statements import statements_sent
from tests.web.conftest import (
    KOTA_A,
    KOTA_B,
    KSDPL_ACCESS,
    MONDAY,
    PENJAJAKAN,
    START_VALUES,
    AuthActions,
    actor,
    add_pdf,
    app_config,
    make_registry,
    ready_task,
    seeded,
    start_case,
)
from web import create_app
from web.inbox_query import FILTERS, PAGE_SIZE, InboxQuery, inbox_page


@pytest.fixture
def orch(db_url) -> Iterator:
    orchestrator = seeded(Orchestrator(db_url, make_registry()))
    yield orchestrator
    orchestrator.close()


@pytest.fixture
def login(orch):
    app = create_app(app_config(orch))

    def make(username: str):
        client = app.test_client()
        assert AuthActions(client).login(username).status_code == 302
        return client

    return make


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


def task_links(response) -> list[str]:
    return re.findall(r'href="/tugas/([0-9a-f-]{36})"', response.get_data(as_text=True))


def start_many(orch, n: int, username: str = "pemda_a", **values) -> list[int]:
    return [start_case(orch, username, **values) for _ in range(n)]


def candidates(orch, task_id: str) -> set[tuple[str, str, str | None]]:
    with orch.session() as s:
        return {
            (row.kind, row.name, row.region_code)
            for row in s.execute(select(TaskCandidate).where(TaskCandidate.task_id == task_id)).scalars()
        }


def test_a_page_holds_a_page_of_rows_and_does_not_grow_with_the_cases(orch, login):
    start_many(orch, PAGE_SIZE + 2)
    client = login("pemda_a")
    first = client.get("/")
    assert len(task_links(first)) == PAGE_SIZE
    start_many(orch, PAGE_SIZE * 2)
    again = client.get("/")
    assert len(task_links(again)) == PAGE_SIZE
    # the same rows' worth of HTML: only counts and ids differ
    assert abs(len(again.data) - len(first.data)) < 0.02 * len(first.data)
    assert f"Halaman 1 dari 4 ({3 * PAGE_SIZE + 2} tugas)" in again.get_data(as_text=True)

    seen = []
    for page in range(1, 5):
        seen += task_links(client.get(f"/?hal={page}"))
    assert len(seen) == len(set(seen)) == 3 * PAGE_SIZE + 2
    assert task_links(client.get("/?hal=99")) == task_links(client.get("/?hal=4"))  # past the end: the last
    assert task_links(client.get("/?hal=-3")) == task_links(client.get("/"))


def test_sorts_and_search_by_title_business_key_or_partner(orch, login):
    who = actor("pemda_a")
    clock.set(MONDAY - timedelta(days=1))
    older = orch.start("uji", KOTA_A, {**START_VALUES, "judul_kerja_sama": "Kerja sama Fukuoka"}, actor=who)
    clock.set(MONDAY)
    newer = orch.start(
        "uji",
        KOTA_A,
        {**START_VALUES, "judul_kerja_sama": "Sister city 100%", "nama_mitra": "Kota Busan"},
        actor=who,
        business_key="KS-77",
    )
    client = login("pemda_a")
    older_task, newer_task = ready_task(orch, older, "Penjajakan"), ready_task(orch, newer, "Penjajakan")
    assert task_links(client.get("/?urut=terbaru")) == [newer_task, older_task]
    assert task_links(client.get("/?urut=terlama")) == [older_task, newer_task]
    assert task_links(client.get("/?q=kerja SAMA")) == [older_task]
    assert task_links(client.get("/?q=fukuoka")) == [older_task]  # the partner, as every list searches
    assert task_links(client.get("/?q=busan")) == [newer_task]
    assert task_links(client.get("/?q=ks-77")) == [newer_task]
    assert task_links(client.get("/?q=100%25")) == [newer_task]
    assert task_links(client.get("/?q=%25")) == [newer_task]  # a % is a character, not a wildcard
    assert task_links(client.get("/?q=_")) == []
    nothing = client.get("/?q=tidak-ada")
    assert task_links(nothing) == [] and "Tidak ada tugas untuk saringan ini" in nothing.get_data(
        as_text=True
    )


def test_candidates_follow_start_claim_reassignment_completion_and_cancel(orch):
    case = start_case(orch, "pemda_a")
    task_id = ready_task(orch, case, "Penjajakan")
    assert candidates(orch, task_id) == {("group", "pemda", KOTA_A)}
    orch.claim(task_id, actor("pemda_a"))
    assert candidates(orch, task_id) == {("group", "pemda", KOTA_A), ("assignee", "pemda_a", KOTA_A)}
    orch.assign(task_id, "pemda_a2", actor("operator"))
    assert candidates(orch, task_id) == {("group", "pemda", KOTA_A), ("assignee", "pemda_a2", KOTA_A)}
    orch.unclaim(task_id, actor("pemda_a2"))
    assert candidates(orch, task_id) == {("group", "pemda", KOTA_A)}

    document_id = add_pdf(orch, case, task_id)
    orch.complete_task(task_id, {**PENJAJAKAN, "kajian": str(document_id)}, actor("pemda_a"))
    assert candidates(orch, task_id) == set()
    dprd_task = ready_task(orch, case, "PersetujuanDprd")
    assert candidates(orch, dprd_task) == {("group", "dprd", KOTA_A)}
    orch.cancel(case, actor("operator"))
    assert candidates(orch, dprd_task) == set()
    with orch.session() as s:
        assert s.scalars(select(TaskCandidate)).all() == []


def _row_rule(orch, who) -> set[str]:
    """The ready tasks `candidate_of` (one row's comma-separated columns) gives the actor."""
    with orch.session() as s:
        return set(
            s.scalars(
                select(Task.id)
                .join(Instance, Instance.id == Task.instance_id)
                .where(Task.status == "ready", visible_instances(who), candidate_of(who))
            )
        )


def test_the_index_lists_what_the_row_rule_allows(orch):
    for username in ("pemda_a", "pemda_b", "pemda_a"):
        start_case(orch, username)
    claimed = ready_task(orch, start_case(orch, "pemda_b"), "Penjajakan")
    orch.claim(claimed, actor("pemda_b"))
    people = [actor(name) for name in ("pemda_a", "pemda_a2", "pemda_b", "dprd_a", "kemendagri")]
    people.append(KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"]))
    for who in people:
        with orch.session() as s:
            listed = {row["id"] for row in list_tasks(s, actor=who).rows}
            page = inbox_page(s, who, clock.now(), InboxQuery())
        assert listed == _row_rule(orch, who) == {row.task_id for row in page.rows}, who.username


def test_soon_and_late_filters_agree_with_each_rows_countdown_in_every_zone_and_calendar(orch):
    """The SQL filters give the rows whose own deadline says soon/late: national staff see WIB and
    WIT cases, and Kota B has a day off of its own inside the window."""
    for days_back in range(0, 24):
        clock.set(MONDAY - timedelta(days=days_back, hours=days_back % 5))
        start_case(orch, "pemda_a")
        start_case(orch, "pemda_b")
    with orch.uow() as uow:
        uow.session.add(
            CalendarOverride(
                day=date(2027, 5, 11), region_code=KOTA_B, is_holiday=True, created_at=clock.now()
            )
        )
        uow.commit()
    national = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])
    for now in [MONDAY + timedelta(days=days, hours=15) for days in range(-7, 5)]:
        for who in (national, actor("pemda_b"), actor("pemda_a")):
            with orch.session() as s:
                every, counts = every_row(s, who, now, "semua")
                soon, _ = every_row(s, who, now, "segera")
                late, _ = every_row(s, who, now, "terlambat")
            assert {r.task_id for r in soon} == {r.task_id for r in every if r.deadline.due_soon}
            assert {r.task_id for r in late} == {r.task_id for r in every if r.deadline.overdue}
            assert counts["segera"] == len(soon) and counts["terlambat"] == len(late)


def every_row(s, who, now, name: str) -> tuple[list, dict[str, int]]:
    """Every page of one filter, and the counts."""
    first = inbox_page(s, who, now, InboxQuery(filter=name))
    rows = list(first.rows)
    for page in range(2, first.pages + 1):
        rows += inbox_page(s, who, now, InboxQuery(filter=name, page=page)).rows
    assert len(rows) == first.matching
    return rows, first.counts


def _reads_whole(statement: str, column: str) -> bool:
    """The statement selects the column itself, not one value extracted from it in SQL."""
    return bool(re.search(rf"(?<!json_extract\()(?<!CAST\(){re.escape(column)}\b", statement))


def test_lists_never_read_case_state_variables_or_forms(orch, login):
    start_many(orch, 3)
    start_case(orch, "pemda_b")
    client, operator = login("pemda_a"), login("operator")
    with statements_sent() as sent:
        for url in ("/", "/?filter=segera&q=kerja", "/?filter=saya&tahap=2&urut=terbaru", "/?hal=2"):
            assert client.get(url).status_code == 200
        with orch.session() as s:
            assert len(list_tasks(s, actor=actor("pemda_a")).rows) == 3
            assert len(list_tasks(s, group="pemda", limit=2).rows) == 2
            assert list_instances(s, limit=2).total == 4
        for url in ("/konsol/kasus", "/konsol/kasus?q=kota&urut=judul"):  # the console's case list
            assert operator.get(url).status_code == 200
        for url in ("/kasus", "/kasus?q=kota"):  # the staff case list
            assert client.get(url).status_code == 200
    listened = [statement for statement in sent if statement.lstrip().upper().startswith("SELECT")]
    assert any("task_candidates" in statement for statement in listened)
    for statement in listened:
        for column in ("instances.state", "instances.variables", "tasks.form", "tasks.submitted"):
            assert not _reads_whole(statement, column), (column, statement)


def test_pages_showing_a_case_beside_something_else_never_load_its_state(orch, login):
    """A case's state (4-15 KB) is for steps, which read it with Core: an ORM load of a case
    leaves it out (`Instance.state` is deferred), so the task page, the console's incidents and
    its queue of tasks nobody can take, which each loaded it with every row, no longer do."""
    task_id = ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan")
    client, operator = login("pemda_a"), login("operator")
    with statements_sent() as sent:
        assert client.get(f"/tugas/{task_id}").status_code == 200
        for url in ("/konsol/insiden", "/konsol/antrean"):
            assert operator.get(url).status_code == 200
    selects = [statement for statement in sent if statement.lstrip().upper().startswith("SELECT")]
    assert any("FROM tasks JOIN instances" in statement for statement in selects)
    assert not [statement for statement in selects if _reads_whole(statement, "instances.state")]


def test_cli_lists_page_with_totals(orch):
    ids = start_many(orch, 5)
    with orch.session() as s:
        first = list_instances(s, limit=2)
        rest = list_instances(s, limit=2, offset=4)
        tasks = list_tasks(s, limit=3, offset=3)
    assert [row["id"] for row in first.rows] == ids[::-1][:2] and first.total == 5
    assert [row["id"] for row in rest.rows] == [ids[0]]
    assert len(tasks.rows) == 2 and tasks.total == 5 and "form" not in tasks.rows[0]


def test_migration_fills_the_candidates_of_existing_ready_tasks(orch):
    from alembic import command

    claimed = ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan")
    orch.claim(claimed, actor("pemda_a"))
    other = ready_task(orch, start_case(orch, "pemda_b"), "Penjajakan")
    before = {task_id: candidates(orch, task_id) for task_id in (claimed, other)}
    config = alembic_config(orch.database_url)
    command.downgrade(
        config, "0009"
    )  # before task_candidates (0007; 0012, 0010, 0011, 0013 and 0014 follow it)
    command.upgrade(config, "head")
    assert {task_id: candidates(orch, task_id) for task_id in (claimed, other)} == before
    assert before[claimed] == {("group", "pemda", KOTA_A), ("assignee", "pemda_a", KOTA_A)}
    assert before[other] == {("group", "pemda", KOTA_B)}


def test_national_staff_read_every_deadline_on_their_own_clock_too(orch):
    """Issue 12, times: a national account (WIB) sees a Jayapura case's deadline on the region's
    day and, beside it, on its own clock; a case already in WIB needs no second time."""
    clock.set(MONDAY)
    start_case(orch, "pemda_a")
    start_case(orch, "pemda_b")
    national = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])
    with orch.session() as s:
        page = inbox_page(s, national, clock.now(), InboxQuery(), "Asia/Jakarta")
    labels = {row.region.code: row.deadline.label for row in page.rows if row.deadline}
    assert set(labels) == {KOTA_A, KOTA_B}
    assert labels[KOTA_B].count("WIT") == 1 and labels[KOTA_B].endswith("WIB)")
    assert "(" not in labels[KOTA_A] and labels[KOTA_A].endswith("WIB")


def copies_match_their_tasks(orch) -> None:
    """Every candidate row carries its task's stage, deadline and creation (the inbox's order)."""
    with orch.session() as s:
        rows = s.execute(select(TaskCandidate, Task).join(Task, Task.id == TaskCandidate.task_id)).all()
    assert rows
    for candidate, task in rows:
        assert task.status == "ready"
        copied = (candidate.stage, candidate.due_at, candidate.created_at)
        assert copied == (task.stage, task.due_at, task.created_at)


def test_candidate_rows_copy_the_task_through_claims_reassignments_and_the_migration(orch):
    from alembic import command

    operator = actor("operator")
    clock.set(MONDAY - timedelta(days=3))
    claimed = ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan")
    clock.set(MONDAY)
    moved = ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan")
    orch.claim(claimed, actor("pemda_a"))
    orch.reassign(moved, operator, "cuti", assignee="pemda_a2")
    copies_match_their_tasks(orch)
    assert ("assignee", "pemda_a2", KOTA_A) in candidates(orch, moved)
    orch.reassign(moved, operator, "kembali ke grup", group="pemda")
    copies_match_their_tasks(orch)
    config = alembic_config(orch.database_url)
    command.downgrade(config, "0013")  # before the copies (0014)
    command.upgrade(config, "head")
    copies_match_their_tasks(orch)


def test_counts_stop_at_the_cap_and_say_more(orch, login, monkeypatch):
    import web.counting as counting

    monkeypatch.setattr(counting, "COUNT_CAP", 3)
    start_many(orch, 3)
    client = login("pemda_a")
    text = client.get("/").get_data(as_text=True)
    assert "3 tugas" in text and "lebih dari" not in text  # at the cap: exact
    start_many(orch, 2)
    with orch.session() as s:
        page = inbox_page(s, actor("pemda_a"), clock.now(), InboxQuery(), stages=[2])
    # the stage list has its own cap (STAGE_COUNT_CAP, 100): 5 is under it
    assert (page.total, page.counts["semua"], page.stage_counts[2], page.pages) == (4, 4, 5, None)
    assert len(page.rows) == 5 and not page.has_next  # the rows are all there, only counts stop
    text = client.get("/").get_data(as_text=True)
    assert "lebih dari 3 tugas" in text


def test_stage_counts_stop_at_their_own_lower_cap(orch, login, monkeypatch):
    """The stage list counts to STAGE_COUNT_CAP ("lebih dari 100"), the tabs and the pager of a
    chosen stage to COUNT_CAP: the nine stage counts stay cheap in a region with many tasks."""
    import web.inbox_query as inbox_query

    monkeypatch.setattr(inbox_query, "STAGE_COUNT_CAP", 2)  # the caps are keys of the statements' cache
    start_many(orch, 3)
    with orch.session() as s:
        page = inbox_page(s, actor("pemda_a"), clock.now(), InboxQuery(), stages=[2])
        chosen = inbox_page(s, actor("pemda_a"), clock.now(), InboxQuery(stage=2), stages=[2])
    assert (page.total, page.counts["semua"], page.stage_counts[2]) == (3, 3, 3)  # 3: more than 2
    assert (chosen.matching, chosen.pages, len(chosen.rows)) == (3, 1, 3)  # the pager counts on
    text = login("pemda_a").get("/").get_data(as_text=True)
    assert re.search(r"<option value=\"2\">2\. [^<]+ \(lebih dari 2\)</option>", text)
    assert "3 tugas" in text


def test_counts_and_pages_count_a_task_offered_several_ways_once(orch):
    """A claimed task is offered by group and by assignment; a national account in two groups
    sees a task offered to both: each is one row and counts once."""
    ids = start_many(orch, 3)
    claimed = ready_task(orch, ids[0], "Penjajakan")
    orch.claim(claimed, actor("pemda_a"))
    with orch.session() as s:
        page = inbox_page(s, actor("pemda_a"), clock.now(), InboxQuery(), stages=[2])
        mine = inbox_page(s, actor("pemda_a"), clock.now(), InboxQuery(filter="saya"))
    assert (page.total, page.counts["saya"], page.stage_counts[2], len(page.rows)) == (3, 1, 3, 3)
    assert [row.task_id for row in mine.rows] == [claimed]
    national = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])
    orch.reassign(claimed, actor("operator"), "ke dua grup", group="pemda")
    with orch.uow() as uow:  # offered to both of its groups
        uow.session.add(TaskCandidate(task_id=claimed, kind="group", name="kemendagri", region_code=KOTA_A))
        uow.commit()
    with orch.session() as s:
        page = inbox_page(s, national, clock.now(), InboxQuery())
    assert page.total == 3 and sorted(row.task_id for row in page.rows) == sorted(
        ready_task(orch, i, "Penjajakan") for i in ids
    )


def _sqlite_plan(orch, statement, values) -> str:
    with orch.db.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        params = compiled.construct_params(values)
        positional = tuple(params[name] for name in compiled.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional).all()
    return "\n".join(row[-1] for row in rows)


def test_the_first_page_reads_index_ranges_in_order_and_sorts_only_the_merged_few(orch):
    """Each range of the page statement is read from an index in the page's order (no sort of
    the person's tasks: the LIMIT stops the read), regional and national alike."""
    from web.inbox_query import _Shape, _statements

    if not orch.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL plans a test's few rows differently: bench/inbox.py shows its plan")
    start_many(orch, 3)
    for national, index in ((False, "ix_task_candidates_region_due"), (True, "ix_task_candidates_due")):
        shape = _Shape(1, national, 0, False, False, False, "semua", False, "batas", ())
        page = _statements(shape, 1000, 100).page_ids
        values = {"group0": "pemda", "me": "x", "region": KOTA_A, "wanted": 26}
        values |= {"page_offset": 0, "page_limit": 26}
        plan = _sqlite_plan(orch, page, values)
        assert index in plan, plan
        # only the merged rows (at most 4 ranges x 26) are sorted: the outer ORDER BY
        assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 1, plan


def test_a_deadline_soon_in_wib_but_not_yet_in_wit_is_soon_for_the_wib_case_only(orch):
    """One instant on both cases' tasks: still the fifth working day in Kota A (WIB), already the
    sixth in Kota B (WIT, two hours ahead). The national filter bounds its range by the earliest and
    latest cutoffs and looks up the zone only between them: this instant is between."""
    from engine.views import calendars_for
    from web.formatting import deadline

    wib = ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan")
    wit = ready_task(orch, start_case(orch, "pemda_b"), "Penjajakan")
    with orch.session() as s:
        calendar = calendars_for(s, [])[None]
    hours = (MONDAY + timedelta(hours=h) for h in range(24 * 21))
    instant = next(
        t
        for t in hours
        if deadline(t, "Asia/Jakarta", MONDAY, calendar).due_soon
        and not deadline(t, "Asia/Jayapura", MONDAY, calendar).due_soon
    )
    with orch.uow() as uow:
        for model in (Task, TaskCandidate):
            key = model.id if model is Task else model.task_id
            uow.session.execute(model.__table__.update().where(key.in_([wib, wit])).values(due_at=instant))
        uow.commit()
    national = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])
    with orch.session() as s:
        soon, counts = every_row(s, national, MONDAY, "segera")
        every, _ = every_row(s, national, MONDAY, "semua")
    assert {r.task_id for r in soon} == {wib} == {r.task_id for r in every if r.deadline.due_soon}
    assert counts["segera"] == 1


@pytest.mark.parametrize(
    "who, search, mode",
    [
        ("pemda_a", "", "force_generic_plan"),
        ("pemda_a", "kerja", "force_custom_plan"),
        ("nasional", "", "force_generic_plan"),
        ("nasional", "kerja", "force_custom_plan"),
    ],
)
def test_postgresql_plans_the_inbox_once_but_a_search_per_request(orch, who, search, mode):
    """On the generic plan a national search for a word in every title took 8.6 s at 100,000
    cases (the titles read first, then each one's tasks): planned with the text it takes 0.1 s.
    A regional search that finds nothing read every case of the region on the generic plan
    (129 ms at 100,000 cases), planned with the text its trigram indexes (0.1 ms). Every other
    inbox statement runs on one plan (`bench/inbox.py` measures both)."""
    if orch.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's plan cache")
    start_case(orch, "pemda_a")
    person = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"]) if who == "nasional" else actor(who)
    with orch.session() as s, statements_sent() as sent:
        inbox_page(s, person, clock.now(), InboxQuery(search=search))
    [setting] = [line for line in sent if "plan_cache_mode" in line]
    assert mode in setting and ("max_parallel_workers_per_gather', '0'" in setting) == bool(search)


@pytest.mark.parametrize("who, generic", [("pemda_a", True), ("nasional", False)])
def test_postgresql_counts_a_common_regional_search_on_the_generic_plan(orch, monkeypatch, who, generic):
    """A regional search that finds more tasks than it counts itself (`TALLY_CAP`) sends its
    counts and page on the generic plan, which reads the ranges in order (a word in every title
    at 100,000 cases: 30 ms against 34 ms planned with it); a national one stays planned."""
    from web import inbox_query

    if orch.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's plan cache")
    monkeypatch.setattr(inbox_query, "TALLY_CAP", 0)
    start_case(orch, "pemda_a")
    person = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"]) if who == "nasional" else actor(who)
    with orch.session() as s, statements_sent() as sent:
        page = inbox_page(s, person, clock.now(), InboxQuery(search="kerja"))
    assert page.counts["semua"] == 1
    settings = [line for line in sent if "plan_cache_mode" in line]
    assert "force_custom_plan" in settings[0]
    assert settings[1:] == (["SET LOCAL plan_cache_mode = force_generic_plan"] if generic else [])


def test_psycopg_parses_the_inbox_statements_once(orch):
    """The inbox's counts (about 22 KiB) and page statements are longer than psycopg's own 4 KiB
    limit for remembering a statement's parsed placeholders (`engine.store`): at the second
    request every statement comes from its cache, none is parsed again."""
    if orch.database_url.startswith("sqlite"):
        pytest.skip("psycopg's statement cache")
    from psycopg import _queries

    start_case(orch, "pemda_a")
    person = KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])
    for _ in range(2):
        before = _queries._query2pg.cache_info()
        with orch.session() as s, statements_sent() as sent:
            inbox_page(s, person, clock.now(), InboxQuery(), stages=range(1, 13))
    assert max(map(len, sent)) > 4096  # the counts: above psycopg's own limit
    assert _queries._query2pg.cache_info().hits - before.hits == len(sent)


def test_a_search_counts_what_it_found_as_the_counts_statement_does(orch, monkeypatch):
    """A search finding at most TALLY_CAP tasks is counted from them (`_tally`); the counts
    statement, forced here, says the same for every person, search, filter and stage."""
    import web.inbox_query as inbox_query

    for days_back in range(0, 24, 2):  # ten working days to a deadline: some late, some soon
        clock.set(MONDAY - timedelta(days=days_back, hours=days_back % 5))
        start_case(orch, "pemda_a", judul_kerja_sama=f"Kerja sama kota kembar {days_back}")
        start_case(orch, "pemda_b", judul_kerja_sama=f"Kerja sama kota {days_back}")
    orch.claim(ready_task(orch, start_case(orch, "pemda_a"), "Penjajakan"), actor("pemda_a"))
    with orch.uow() as uow:
        uow.session.add(
            CalendarOverride(
                day=date(2027, 5, 11), region_code=KOTA_B, is_holiday=True, created_at=clock.now()
            )
        )
        uow.commit()
    people = [actor("pemda_a"), actor("pemda_b"), KSDPL_ACCESS.actor("nasional", ["kemendagri", "pemda"])]
    now = MONDAY + timedelta(days=2, hours=15)
    tallied, nonzero = 0, set()
    for who in people:
        for search in ("kembar", "kota", "kembar 1", "zzz"):
            for name in FILTERS:
                for stage in (None, 2, 5):
                    query = InboxQuery(search=search, filter=name, stage=stage)
                    with orch.session() as s, statements_sent() as sent:
                        found = inbox_page(s, who, now, query, stages=(2, 5))
                    tallied += not any("count(*)" in line for line in sent)
                    monkeypatch.setattr(inbox_query, "TALLY_CAP", -1)
                    with orch.session() as s:
                        counted = inbox_page(s, who, now, query, stages=(2, 5))
                    monkeypatch.undo()
                    assert (found.counts, found.stage_counts, found.matching, found.total) == (
                        counted.counts,
                        counted.stage_counts,
                        counted.matching,
                        counted.total,
                    ), (who.username, search, name, stage)
                    assert [r.task_id for r in found.rows] == [r.task_id for r in counted.rows]
                    nonzero |= {key for key, n in found.counts.items() if n}
                    nonzero |= {f"stage {key}" for key, n in found.stage_counts.items() if n}
    assert tallied == len(people) * 4 * len(FILTERS) * 3  # none sent the counts statement
    assert nonzero == {*FILTERS, "stage 2"}, nonzero  # every count was put to the test

"""The staff case list: search, filters, sort and pages on projection columns, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, event, insert, inspect, select

from engine.clock import clock
from engine.models import Instance
from tests.statements import as_if_large, reads_sent, sqlite_plan, statements_sent
from tests.web.conftest import MONDAY, actor, start_case, text_of, to_dprd
from web import case_search as searching
from web import caselist
from web.case_search import case_search


@pytest.fixture
def db_file(db_url) -> str:
    """The web fixtures on both databases: the list's SQL is what is tested here."""
    return db_url


@pytest.fixture
def cases(orch):
    """Three cases of Kota A (WIB) and one of Kota B (WIT), started on a known Monday."""
    clock.set(MONDAY)
    fukuoka = start_case(orch, "pemda_a", judul_kerja_sama="Kota kembar Fukuoka")
    busan = start_case(
        orch, "pemda_a", judul_kerja_sama="Pendidikan vokasi", nama_mitra="Kota Busan", negara_mitra="KR"
    )
    lembaga = start_case(
        orch,
        "pemda_a",
        judul_kerja_sama="Beasiswa lembaga",
        nama_mitra="Yayasan Sakura",
        negara_mitra="JP",
        jenis_kerja_sama="KSDLL",
    )
    dprd, _task = to_dprd(orch, "pemda_b")
    return {"fukuoka": fukuoka, "busan": busan, "lembaga": lembaga, "dprd_b": dprd}


def listed(client, query: str = "") -> list[int]:
    html = client.get(f"/kasus{query}").get_data(as_text=True)
    return [int(n) for n in re.findall(r'<td><a href="/kasus/(\d+)">', html)]


def test_search_by_title_partner_country_and_business_key(orch, login, cases):
    client = login("kemendagri")
    assert listed(client, "?q=busan") == [cases["busan"]]  # partner, any case
    assert listed(client, "?q=Vokasi") == [cases["busan"]]  # title
    assert listed(client, "?q=kr") == [cases["busan"]]  # country code
    assert set(listed(client, "?q=jp")) == {cases["lembaga"]}
    assert listed(client, "?q=50%25") == []  # LIKE wildcards are text, not patterns
    assert listed(client, f"?q=%23{cases['fukuoka']}") == [cases["fukuoka"]]
    page = text_of(client.get("/kasus?q=busan"))
    assert "Daftar kasus 1 kasus" in page and "Hapus saringan" in page


@pytest.mark.parametrize(
    "text, expected",
    [
        ("busan", {"busan"}),  # partner
        ("VOKASI", {"busan"}),  # title, any case
        ("kr", {"busan"}),  # country
        ("%", {"dana"}),  # LIKE's wildcards are themselves
        ("_khusus", {"dana"}),
        ("50%", {"dana"}),
        ("/", set()),  # and so is the escape character
        ("#fukuoka", {"fukuoka"}),  # a case number, with or without "#"
        ("fukuoka-id", {"fukuoka"}),
        ("école", {"dana"}),  # any letter's case, not only ASCII's
    ],
)
def test_every_list_finds_the_same_cases(orch, cases, text, expected, monkeypatch):
    """A search means one thing on every list: the inbox, the case list, the console and the API
    (`web.case_search`). Before, the console and the API read `%` and `_` as wildcards, the
    inbox did not search partners or countries, and each read partner and country elsewhere.
    On SQLite each way of asking (`case_search.reading`): the cases the FTS5 table found, the
    table in each statement (past `FEW`), and LIKE (past `MANY`)."""
    dana = start_case(orch, "pemda_a", judul_kerja_sama="Dana 50% hibah_khusus ÉCOLE")
    ids = {**cases, "dana": dana}
    number = str(ids["fukuoka"])
    text = text.replace("fukuoka-id", number).replace("#fukuoka", f"#{number}")
    who, now = actor("pemda_a"), clock.now()
    for few, many in ((searching.FEW, searching.MANY), (0, searching.MANY), (0, 0)):
        monkeypatch.setattr(searching, "FEW", few)
        monkeypatch.setattr(searching, "MANY", many)
        with orch.session() as s:
            found = _found_by_each_list(s, who, now, text)
        assert found == dict.fromkeys(found, {ids[name] for name in expected}), (few, many)


def _found_by_each_list(s, who, now, text: str) -> dict[str, set[int]]:
    from web.api import queries as api
    from web.console import queries as console
    from web.inbox_query import InboxQuery, inbox_page

    return {
        "case list": {row.id for row in caselist.case_page(s, who, caselist.CaseQuery(text=text), now).rows},
        "inbox": {row.instance_id for row in inbox_page(s, who, now, InboxQuery(search=text)).rows},
        "console": {
            row[0].id
            for row in console.case_page(s, console.CaseFilters(q=text, region=who.region_code), now).rows
        },
        "api": {row["id"] for row in api.cases(s, who, api.CaseFilters(q=text), api.Page(1, 50), now)[0]},
    }


def _plan(orch, statement) -> str:
    """The database's plan for `statement`; PostgreSQL told to use an index wherever it can, as
    it would at 100,000 cases (with four cases it reads the table)."""
    with orch.db.begin() as conn:
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            return "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


def test_a_search_reads_the_trigram_index(orch, cases, monkeypatch):
    """The search's expressions are the indexed ones (migration 0015), so at 100,000 cases it
    reads the cases that match: PostgreSQL's trigram index on each column, SQLite's FTS5 table
    (in the statement when the text finds more than `FEW` cases, made 0 here; see the next test
    for fewer). A text too short for trigrams is compared with every case, and finds the same."""
    monkeypatch.setattr(searching, "FEW", 0)
    with orch.session() as s:
        searches = {
            text: select(Instance.id).where(case_search(s, text)) for text in ("busan", "kr", "sakura")
        }
    plan = _plan(orch, searches["busan"])
    if orch.db.dialect.name == "postgresql":
        for column in ("title", "business_key", "partner", "country"):
            assert f"ix_instances_{column}_trgm" in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan and "instances_search" not in _plan(orch, searches["kr"]), plan
    with orch.session() as s:
        found = {text: set(s.scalars(statement)) for text, statement in searches.items()}
    assert found == {"busan": {cases["busan"]}, "kr": {cases["busan"]}, "sakura": {cases["lembaga"]}}


def test_a_search_that_finds_few_cases_reads_only_those(orch, cases, login):
    """Finding (bench/console.py, bench/inbox.py at 100,000 cases): SQLite's search was written
    `(id IN (FTS5 rowids)) = 1 OR id = ?`, a test of every case in reach against the list: 34 ms
    on the console and 147 ms in a regional inbox for a search finding one case. Asked as the
    cases the FTS5 table found (`case_search.reading`), no list reads the cases, nor the inbox
    the person's ranges of tasks, beyond those cases; and the inbox reads their ready tasks, not
    every task they ever had (9 ms against 1 ms for 111 cases of 100,000)."""
    from web.api import queries as api

    if not orch.database_url.startswith("sqlite"):
        pytest.skip("the plan checked is SQLite's")
    as_if_large(orch.db)
    client = login("pemda_a")
    operator = login("operator")
    with reads_sent(orch.db) as reads:
        pages = [client.get("/kasus?q=busan"), operator.get("/konsol/kasus?q=busan"), client.get("/?q=busan")]
        with orch.session() as s:
            [listed_by_api], _ = api.cases(
                s, actor("pemda_a"), api.CaseFilters(q="busan"), api.Page(1, 50), clock.now()
            )
    assert [page.status_code for page in pages] == [200] * 3 and listed_by_api["id"] == cases["busan"]
    assert all(f"/kasus/{cases['busan']}" in page.get_data(as_text=True) for page in pages)
    statements = [(q, p) for q, p in reads if re.search(r"(FROM|JOIN) instances\b", q)]
    assert len(statements) >= 6
    for statement, parameters in statements:
        plan = sqlite_plan(orch.db, statement, parameters)
        assert not re.search(r"SCAN instances\b", plan), plan
        if "JOIN tasks" in statement:  # those cases' ready tasks, not every task they ever had
            assert (
                "SEARCH tasks USING INDEX ix_tasks_instance_status_due (instance_id=? AND status=?)" in plan
            ), plan
        assert not re.search(
            r"task_candidates USING (COVERING )?INDEX ix_task_candidates_\w+ \(kind=", plan
        ), plan


def test_the_search_index_follows_the_cases(orch, cases):
    """SQLite's FTS5 table is kept by triggers on `instances` (migration 0015): a case is found
    as soon as it starts, by its new partner once that changes, and not once it is gone."""

    def found(text: str) -> set[int]:
        with orch.session() as s:
            return set(s.scalars(select(Instance.id).where(case_search(s, text))))

    seoul = start_case(orch, "pemda_a", judul_kerja_sama="Pertukaran pelajar", nama_mitra="Kota Seoul")
    assert found("seoul") == {seoul} and found("pelajar") == {seoul}
    with orch.uow() as uow:
        uow.session.get(Instance, seoul).partner = "Kota Incheon"
        uow.session.get(Instance, cases["busan"]).stage = 3  # another column: the index row stays
        uow.commit()
    assert found("seoul") == set() and found("incheon") == {seoul} and found("busan") == {cases["busan"]}
    with orch.db.begin() as conn:  # no step deletes a case; a bare row shows the trigger would follow
        row = dict(conn.execute(select(Instance.__table__).where(Instance.id == seoul)).mappings().one())
        del row["id"]
        row["title"] = "Kerja sama Osaka"
        copy = conn.execute(insert(Instance).values(row)).inserted_primary_key[0]
    assert found("osaka") == {copy}
    with orch.db.begin() as conn:
        conn.execute(delete(Instance).where(Instance.id == copy))
    assert found("osaka") == set()


def test_search_finds_a_business_key(orch, login):
    who = actor("pemda_a")
    orch.start(
        "uji",
        who.region_code,
        {**_values(), "judul_kerja_sama": "Impor"},
        actor=who,
        business_key="KSD-2027-17",
    )
    start_case(orch, "pemda_a")
    assert len(listed(login("pemda_a"), "?q=ksd-2027")) == 1


def _values() -> dict[str, str]:
    from tests.web.conftest import START_VALUES

    return dict(START_VALUES)


def test_filters_stage_status_kind_overdue_and_waiting_for_me(orch, login, cases):
    national = login("kemendagri")
    assert listed(national, "?tahap=5") == [cases["dprd_b"]]
    assert set(listed(national, "?tahap=2")) == {cases["fukuoka"], cases["busan"], cases["lembaga"]}
    assert listed(national, "?jenis=KSDLL") == [cases["lembaga"]]
    orch.cancel(cases["busan"], actor("operator"))
    assert listed(national, "?status=cancelled") == [cases["busan"]]
    assert cases["busan"] not in listed(national, "?status=running")
    assert listed(national, "?status=completed") == []
    assert listed(national, "?terlambat=1") == []
    # the DPRD of Kota B must act on its case; Kota A's Pemda on its three
    assert listed(login("dprd_b"), "?saya=1") == [cases["dprd_b"]]
    assert set(listed(login("pemda_a"), "?saya=1")) == {cases["fukuoka"], cases["lembaga"]}
    assert listed(login("dprd_a"), "?saya=1") == []
    clock.set(MONDAY + timedelta(days=120))  # past every deadline; the cancelled case has none
    assert set(listed(national, "?terlambat=1")) == {cases["dprd_b"], cases["fukuoka"], cases["lembaga"]}
    assert listed(national, "?terlambat=1&tahap=5") == [cases["dprd_b"]]
    page = text_of(national.get("/kasus?terlambat=1&tahap=5"))
    assert "Terlambat" in page and "Daftar kasus 1 kasus" in page
    # bad values are ignored, not errors
    assert national.get("/kasus?tahap=x&status=hapus&urut=1;drop&halaman=-3").status_code == 200


def test_sort_and_pages(orch, login, cases, monkeypatch):
    monkeypatch.setattr(caselist, "PAGE_SIZE", 2)
    client = login("kemendagri")
    first, second = listed(client, "?urut=judul"), listed(client, "?urut=judul&halaman=2")
    assert first + second == [cases["lembaga"], cases["dprd_b"], cases["fukuoka"], cases["busan"]]
    page = client.get("/kasus?urut=judul&q=a").get_data(as_text=True)
    assert 'href="/kasus?q=a&amp;urut=judul&amp;halaman=2" rel="next"' in page
    assert "Halaman 1 dari 2" in text_of(client.get("/kasus?urut=judul"))
    assert listed(client, "?urut=judul&halaman=99") == second  # past the end: the last page
    assert listed(client, "?urut=mitra")[0] == cases["busan"]  # Kota Busan before Kota Fukuoka
    assert listed(client, "?urut=tahap&halaman=2")[-1] == cases["dprd_b"]


def test_regional_staff_see_only_their_region(orch, login, cases):
    assert cases["dprd_b"] not in listed(login("pemda_a"), "?q=kota")
    assert listed(login("pemda_b")) == [cases["dprd_b"]]


def test_a_national_user_reads_every_time_in_one_zone(orch, login, cases):
    """Kota B is in WIT: its times are shown in WIB to Kemendagri, in WIT to Kota B's staff."""
    page = text_of(login("kemendagri").get("/kasus"))
    assert "WIT" not in page.replace("WITA", "")
    assert "Waktu dalam WIB" in page and "3 Mei 2027 pukul 09.00 WIB" in page
    page = text_of(login("dprd_b").get("/kasus"))
    assert "3 Mei 2027 pukul 11.00 WIT" in page and "WIB" not in page


def test_the_list_reads_no_case_state_or_variables(orch, login, cases, app):
    client = login("kemendagri")
    with statements_sent(_engine_of(orch)) as statements:
        assert client.get("/kasus?q=kota&terlambat=1&saya=1&urut=mitra").status_code == 200
        assert client.get("/kasus").status_code == 200
    listing = [s for s in statements if "FROM instances" in s]
    assert listing, statements
    for statement in listing:
        assert "instances.state" not in statement and "instances.variables" not in statement
    assert any("count(*)" in s.lower() for s in listing)


def test_a_national_list_reads_regions_and_calendars_once_for_the_page(orch, login, cases):
    """Cases of Kota A and Kota B: their regions come with the page's cases and their calendars in
    one statement, not two per region (a national list shows cases of many regions); then from the
    process's cache until the next decree."""
    client = login("kemendagri")
    client.get("/kasus")
    orch.set_calendar_override(date(2027, 12, 24), True, None, "Cuti bersama", user="operator")
    for overrides_read in (1, 0):
        with statements_sent(_engine_of(orch)) as statements:
            page = text_of(client.get("/kasus"))
        assert "3 Mei 2027 pukul 09.00 WIB" in page  # the deadlines are still there
        assert not [s for s in statements if "FROM regions" in s]  # joined to the cases, not read again
        assert any("FROM instances LEFT OUTER JOIN regions" in s for s in statements), statements
        assert sum("FROM calendar_overrides" in s for s in statements) == overrides_read, statements


def _engine_of(orch):
    with orch.session() as s:
        return s.get_bind()


def test_every_filter_and_sort_has_an_index(orch):
    with orch.session() as s:
        inspector = inspect(s.get_bind())
        leading = {index["column_names"][0] for index in inspector.get_indexes("instances")}
        task_indexes = {tuple(index["column_names"]) for index in inspector.get_indexes("tasks")}
    for column in (
        "stage",
        "status",
        "kind",
        "country",
        "business_key",
        "updated_at",
        "started_at",
        "title",
        "partner",
        "region_code",
    ):
        assert column in leading, column
    assert ("instance_id", "status", "due_at") in task_indexes  # overdue and waiting-for-me per case


def _page_plans(orch, who, query: caselist.CaseQuery) -> list[str]:
    """The plan of each statement of the list's page that reads `instances`."""
    recorded: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        recorded.append((statement, parameters))

    event.listen(orch.db, "before_cursor_execute", record)
    try:
        with orch.session() as s:
            caselist.case_page(s, who, query, clock.now())
    finally:
        event.remove(orch.db, "before_cursor_execute", record)
    plans = []
    with orch.db.begin() as conn:
        explain = "EXPLAIN" if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as at 100,000 cases (see _plan)
        for statement, parameters in recorded:
            if "FROM instances" in statement:
                rows = conn.exec_driver_sql(f"{explain} {statement}", parameters).all()
                plans.append("\n".join(str(row[-1]) for row in rows))
    return plans


ORDER_INDEXES = {
    "diperbarui": "ix_instances_updated_at",
    "dimulai": "ix_instances_started_at",
    "terlama": "ix_instances_started_at",
    "judul": "ix_instances_title",
    "mitra": "ix_instances_partner",
    "tahap": "ix_instances_stage_updated",
}


@pytest.mark.parametrize("sort", list(caselist.SORTS))
def test_every_sort_and_a_stage_are_read_in_the_order_of_an_index(orch, cases, sort):
    """The page is read along an index in its order and LIMIT stops it, so at 100,000 cases it
    reads 26 rows, not every case that matches sorted (the tie-break on the case number goes in
    the sort's direction: with `id DESC` after `partner ASC` every case was sorted). SQLite's plan
    sorts nothing; PostgreSQL, which knows these tables hold four rows, may sort what it read."""
    queries = {ORDER_INDEXES[sort]: caselist.CaseQuery(sort=sort)}
    if sort == "diperbarui":
        queries["ix_instances_stage_updated"] = caselist.CaseQuery(stage=2)
    for index, query in queries.items():
        page_plan = _page_plans(orch, actor("kemendagri"), query)[-1]
        assert index in page_plan, page_plan
        if orch.db.dialect.name == "sqlite":
            assert "TEMP B-TREE" not in page_plan, page_plan


def test_the_count_stops_at_the_cap_and_the_pages_go_on(orch, login, cases, monkeypatch):
    """Past `COUNT_CAP` the list says "lebih dari", its pager has no last page and pages on by
    asking for one row more than it shows; the console's case list alike."""
    from web import counting

    monkeypatch.setattr(caselist, "PAGE_SIZE", 1)
    client = login("kemendagri")
    monkeypatch.setattr(counting, "COUNT_CAP", 4)  # at the cap: exact
    page = text_of(client.get("/kasus?urut=judul"))
    assert "Daftar kasus 4 kasus" in page and "Halaman 1 dari 4" in page
    monkeypatch.setattr(counting, "COUNT_CAP", 2)
    seen = []
    for number in range(1, 5):
        response = client.get(f"/kasus?urut=judul&halaman={number}")
        page = response.get_data(as_text=True)
        assert "lebih dari 2 kasus" in text_of(response) and f"Halaman {number}</span>" in page
        assert ('rel="next"' in page) == (number < 4)
        seen += listed(client, f"?urut=judul&halaman={number}")
    assert seen == [cases["lembaga"], cases["dprd_b"], cases["fukuoka"], cases["busan"]]
    past = text_of(client.get("/kasus?urut=judul&halaman=5"))  # how many pages is not known
    assert "Tidak ada kasus di halaman 5. Ke halaman pertama" in past
    huge = "9" * 30  # an offset past 64-bit integers: the pager stops at MAX_PAGE
    for page in (client.get(f"/kasus?halaman={huge}"), login("pemda_a").get(f"/?hal={huge}")):
        assert page.status_code == 200
    assert f"Tidak ada kasus di halaman {counting.MAX_PAGE}." in text_of(client.get(f"/kasus?halaman={huge}"))
    console = login("operator")
    monkeypatch.setattr("web.console.queries.PAGE_SIZE", 1)
    response = console.get("/konsol/kasus?halaman=2")
    page = response.get_data(as_text=True)
    assert "lebih dari 2" in text_of(response) and "Halaman 2</span>" in page and "Berikutnya" in page
    assert console.get(f"/konsol/kasus?halaman={huge}").status_code == 200


def test_task_filters_ask_each_case_when_most_have_such_a_task(orch, login, cases, monkeypatch):
    """Past `COUNT_CAP` such tasks, *Menunggu saya* and *Terlambat* ask each case read in the
    page's order instead of listing the tasks (web/case_tasks.py): the same cases either way."""
    from web import counting

    mine = {cases[name] for name in ("fukuoka", "busan", "lembaga")}
    national = login("kemendagri")
    for cap in (1000, 1):
        monkeypatch.setattr(counting, "COUNT_CAP", cap)
        clock.set(MONDAY)
        assert listed(login("dprd_b"), "?saya=1") == [cases["dprd_b"]]
        client = login("pemda_a")
        with statements_sent(_engine_of(orch)) as statements:
            assert set(listed(client, "?saya=1")) == mine
        page = [s for s in statements if "FROM instances LEFT OUTER JOIN regions" in s]
        assert len(page) == 1 and ("EXISTS (SELECT" in page[0]) == (cap == 1), page
        assert listed(login("dprd_a"), "?saya=1") == []
        assert listed(national, "?terlambat=1") == []
        clock.set(MONDAY + timedelta(days=120))  # past every deadline
        with statements_sent(_engine_of(orch)) as statements:
            assert set(listed(national, "?terlambat=1")) == set(cases.values())
        page = [s for s in statements if "FROM instances LEFT OUTER JOIN regions" in s]
        assert len(page) == 1 and ("EXISTS (SELECT" in page[0]) == (cap == 1), page


def test_list_columns_follow_the_case(orch, cases):
    """A later step that changes a listed variable changes the column too."""
    from engine.models import Instance

    with orch.session() as s:
        row = s.get(Instance, cases["busan"])
        assert (row.partner, row.country, row.kind) == ("Kota Busan", "KR", "KSDPL")


def test_init_db_fills_the_list_columns_of_existing_cases(tmp_path):
    """Cases started before revision 0010 are found by partner, country and kind after `init-db`."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from engine.service import Orchestrator
    from engine.store import alembic_config
    from tests.web.conftest import make_registry

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO process_definitions (id, key, version, name, files, sha256, spiff_version, "
                "deployed_at) VALUES (1, 'ksdpl', 1, '', '{}', '', '3.2.0', '2027-01-04 02:00:00')"
            )
        )
        for n, variables in enumerate(
            ('{"nama_mitra": "Kitakyushu", "negara_mitra": "JP", "jenis_kerja_sama": "ksdpl"}', "{}"), 1
        ):
            conn.execute(
                text(
                    "INSERT INTO instances (id, definition_id, process_key, process_version, title, status, "
                    "variables, state, spiff_version, lock_version, started_at, updated_at) VALUES (:id, 1, "
                    "'ksdpl', 1, 'Lama', 'running', :variables, '{}', '3.2.0', 1, '2027-01-04 02:00:00', "
                    "'2027-01-04 02:00:00')"
                ),
                {"id": n, "variables": variables},
            )
    command.upgrade(alembic_config(url), "head")
    orch = Orchestrator(url, make_registry())
    assert orch.fill_list_columns(batch=1) == 1
    assert orch.fill_list_columns() == 0  # once done, nothing left
    orch.close()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT partner, country, kind FROM instances ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("Kitakyushu", "JP", "ksdpl"), (None, None, None)]


def test_revision_0010_goes_down_and_up_again_with_cases(orch, cases):
    """A downgrade keeps the cases (no copy of `instances`, which other tables point at)."""
    from alembic import command

    from engine.models import Instance
    from engine.store import alembic_config

    config = alembic_config(orch.database_url)
    command.downgrade(config, "0012")  # before 0010 (0011, 0013 and 0014 follow it)
    command.upgrade(config, "head")
    assert orch.fill_list_columns() == 4
    with orch.session() as s:
        assert s.get(Instance, cases["busan"]).partner == "Kota Busan"


def test_numbers_in_the_query_string_are_read_or_ignored_never_a_500(login):
    """`str.isdigit` takes "²" and "١٢", which `int` refuses or reads as 12, and a stage past
    64-bit integers overflowed the database's parameter: each was a 500 on some list."""
    staff, operator = login("pemda_a"), login("operator")
    hostile = ("²", "9" * 30, "-1", "1.5", "١٢")
    for value in hostile:
        for client, path in (
            (staff, f"/?hal={value}"),
            (staff, f"/kasus?halaman={value}"),
            (staff, f"/kasus?tahap={value}"),
            (operator, f"/konsol/kasus?halaman={value}"),
            (operator, f"/konsol/kasus?tahap={value}"),
            (operator, f"/konsol/antrean?halaman={value}"),
            (operator, f"/konsol/insiden?halaman={value}"),
            (operator, f"/konsol/kalender?tahun={value}"),
        ):
            assert client.get(path).status_code == 200, (path, value)

"""The inbox's read side: one page of the ready tasks a person may do, with counts, from SQL.

Only the columns the page shows are read (never the case state or a form). The tasks offered to
the person are index ranges of `task_candidates` (one per group, name and assignment), whose rows
carry copies of the task's stage, deadline and creation: the first page reads each range in the
page's order and stops at the page's LIMIT, and each count reads at most `counting.COUNT_CAP` + 1
entries ("lebih dari 1.000" past it), each stage of the stage list at most `STAGE_COUNT_CAP` + 1 ("lebih
dari 100"); a search that finds few tasks is counted from them (`_tally`). A page holds at most
`PAGE_SIZE` rows, and its cost stays the same whatever the number of cases. Regions, calendars,
partner names and assignee names are read once for the page's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Connection,
    Integer,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from engine.access import Actor
from engine.calendar import TIMEZONES, WorkingCalendar, local_today, start_of_day
from engine.models import CalendarOverride, Instance, Region, Task, TaskCandidate
from engine.views import calendars_for

from . import case_search, counting
from .accounts import display_names
from .formatting import DUE_SOON_WORKING_DAYS, Deadline, deadline
from .views import DEFAULT_TIMEZONE, RegionView, region_of

PAGE_SIZE = 25

FILTERS: dict[str, str] = {
    "semua": "Semua",
    "segera": "Segera jatuh tempo (≤ 5 hari kerja)",
    "terlambat": "Terlambat",
    "saya": "Diambil oleh saya",
}

SORTS: dict[str, str] = {
    "batas": "Batas waktu terdekat",
    "terbaru": "Tugas terbaru",
    "terlama": "Tugas terlama",
}

# The case variables shown beside each task (read from the projection with SQL's JSON functions).
PARTNER, COUNTRY = "nama_mitra", "negara_mitra"


class json_text(FunctionElement):
    """One top-level key of a JSON text column, as text: only that value leaves the database."""

    type = String()
    inherit_cache = True
    name = "json_text"


@compiles(json_text)
def _json_text_sqlite(element, compiler, **kw) -> str:
    column, key = list(element.clauses)
    return f"json_extract({compiler.process(column, **kw)}, {compiler.process(literal('$.') + key, **kw)})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element, compiler, **kw) -> str:
    column, key = list(element.clauses)
    return f"(CAST({compiler.process(column, **kw)} AS JSON) ->> {compiler.process(key, **kw)})"


@dataclass(frozen=True)
class InboxRow:
    task_id: str
    task_name: str
    stage: int | None
    definition_id: int  # the case's deployed version, which names its stages
    instance_id: int
    case_title: str
    partner: str
    country: str
    region: RegionView
    candidate_groups: str
    deadline: Deadline | None
    assignee: str | None
    assignee_name: str | None
    mine: bool

    @property
    def taken_by_other(self) -> bool:
        return self.assignee is not None and not self.mine


@dataclass(frozen=True)
class InboxQuery:
    """What the person asked for: a filter, a stage, a search text, a sort and a page (from 1)."""

    filter: str = "semua"
    stage: int | None = None
    search: str = ""
    sort: str = "batas"
    page: int = 1

    @classmethod
    def parse(cls, args: Any, stages: dict[int, str]) -> InboxQuery:
        """From the query string; anything unknown falls back to its default."""
        chosen = args.get("filter", "semua")
        stage = args.get("tahap", type=int)
        sort = args.get("urut", "batas")
        page = counting.asked_page(args.get("hal"))
        return cls(
            filter=chosen if chosen in FILTERS else "semua",
            stage=stage if stage in stages else None,
            search=(args.get("q") or "").strip()[:100],
            sort=sort if sort in SORTS else "batas",
            page=page,
        )


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int  # every ready task offered to the person (past `counting.COUNT_CAP`: that + 1)
    counts: dict[str, int]  # per filter, within the search (capped alike)
    stage_counts: dict[int, int]  # per stage asked for, within the search (STAGE_COUNT_CAP + 1: more)
    matching: int  # with the filter, stage and search applied: what the pages divide (capped alike)
    page: int
    pages: int | None  # None when `matching` is past the cap: how many is not known
    has_next: bool


# The stage list's nine counts stop sooner than `counting.COUNT_CAP` ("lebih dari 100"): at that cap
# they read nine times 1,001 entries per request in a region holding thousands of tasks, the part of
# the page that grew with the cases; the list only tells where the work is, the chosen stage's
# pager counts to 1,000.
STAGE_COUNT_CAP = 100


ZONES = sorted(set(TIMEZONES.values()))


Calendars = dict[str | None, WorkingCalendar]


def _soon_cutoffs(
    session: Session, actor: Actor, now: datetime, zone: str | None
) -> tuple[int, dict[str, Any], Calendars]:
    """The instants before which a task's deadline is at most `DUE_SOON_WORKING_DAYS` working
    days away, in each case's own zone and calendar: the start of the (N+1)-th working day after
    its region's today (`formatting.deadline` says the same of one row). Regional: one (`soon`),
    in `zone` (the actor's region's, read here when not given).
    National: one per zone on the national calendar (`soon_z<i>`, ZONES) and one per region with
    days of its own (`own_r<i>`, `soon_r<i>`), whose number is returned for the statement's shape,
    and the earliest and latest of them all (`soon_first`, `soon_last`: `_soon_condition`).
    Also the calendars read (national under None): the page's rows use them."""

    def cutoff(tz: str, calendar: WorkingCalendar) -> datetime:
        zone = TIMEZONES.get(tz, tz)
        return start_of_day(
            calendar.add_working_days(local_today(now, zone), DUE_SOON_WORKING_DAYS + 1), zone
        )

    if not actor.national:
        if zone is None:
            zone = session.scalar(select(Region.timezone).where(Region.code == actor.region_code))
        calendars = calendars_for(session, [actor.region_code])
        return 0, {"soon": cutoff(zone or DEFAULT_TIMEZONE, calendars[actor.region_code])}, calendars
    own = sorted(
        code
        for code in session.scalars(
            select(CalendarOverride.region_code).where(CalendarOverride.region_code.is_not(None)).distinct()
        )
    )
    own_calendars = calendars_for(session, own)
    national = own_calendars[None]
    zones = {
        code: tz
        for code, tz in session.execute(select(Region.code, Region.timezone).where(Region.code.in_(own)))
    }
    values: dict[str, Any] = {f"soon_z{i}": cutoff(zone, national) for i, zone in enumerate(ZONES)}
    values["soon_default"] = cutoff(DEFAULT_TIMEZONE, national)
    for i, code in enumerate(own):
        values[f"own_r{i}"] = code
        values[f"soon_r{i}"] = cutoff(zones.get(code, DEFAULT_TIMEZONE), own_calendars[code])
    cutoffs = [value for name, value in values.items() if name.startswith("soon_")]
    values["soon_first"], values["soon_last"] = min(cutoffs), max(cutoffs)
    return len(own), values, own_calendars


def _instant(name: str) -> BindParameter:
    return bindparam(name, type_=TaskCandidate.due_at.type)


def _soon_condition(national: bool, own: int) -> ColumnElement[bool]:
    """A candidate row's deadline is before `_soon_cutoffs`' cutoff for its case. Nationally the
    cutoffs of the zones and of the regions with days of their own lie within hours or days of each
    other: the row's range is bounded by the latest (`soon_last`), a deadline before the earliest
    (`soon_first`) is soon wherever the case is, and only the rows in between look up their
    region's zone. So one plan serves every request, an index range whatever the values."""
    due = TaskCandidate.due_at
    if not national:
        return due <= _instant("soon")
    zone = select(Region.timezone).where(Region.code == TaskCandidate.region_code).scalar_subquery()
    by_zone = case(
        {zone_name: _instant(f"soon_z{i}") for i, zone_name in enumerate(ZONES)},
        value=zone,
        else_=_instant("soon_default"),
    )
    whens = [
        (TaskCandidate.region_code == bindparam(f"own_r{i}"), _instant(f"soon_r{i}")) for i in range(own)
    ]
    exact = case(*whens, else_=by_zone) if whens else by_zone
    return and_(due <= _instant("soon_last"), or_(due <= _instant("soon_first"), due <= exact))


def _kind(kind: str) -> ColumnElement[str]:
    """A range's kind (group, user, assignee) written into the statement, not bound: PostgreSQL's
    generic plan then knows how few rows a kind holds (bound, all three looked alike, a third of
    the table each, and the national ranges were planned as sequential scans: 43 ms, not 2 ms, at
    100,000 cases)."""
    assert kind in ("group", "user", "assignee"), kind  # never a person's input
    return literal_column(f"'{kind}'", String)


# the values of `case_search.search_values`, bound
_SEARCH_VALUES = (bindparam("pattern"), bindparam("phrase"), bindparam("case_id"))
_FOUND = bindparam("found", type_=String)  # `case_search.Reading.found`


@dataclass(frozen=True)
class _Shape:
    """What a request's statements are built from; the values (names, region, times, search
    pattern, page) are bound parameters, so each shape is built once (`_statements`)."""

    groups: int
    national: bool
    own: int  # regions with a calendar of their own (national: the soon cutoff per region)
    search: bool
    indexed: bool  # the search is asked through the trigram indexes (`case_search.Reading`)
    found: bool  # SQLite: the search is asked as the few cases it finds (`case_search.Reading`)
    filter: str
    stage: bool
    sort: str
    stages: tuple[int, ...]


class _Offered:
    """The ready tasks offered to the person, as one index range of `task_candidates` per way
    they are offered (each group, their name, their assignment), with a filter and a stage on the
    candidate rows' copies of the task's deadline and stage. A range read in order stops at a
    LIMIT, and a task offered several ways is kept in its first range only (NOT EXISTS on the
    primary key), so ranges add up without counting a task twice."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        self.keys = [("group", bindparam(f"group{i}")) for i in range(shape.groups)]
        self.keys += [("user", bindparam("me")), ("assignee", bindparam("me"))]
        self.soon = _soon_condition(shape.national, shape.own)

    def due_test(self, chosen: str) -> ColumnElement[bool] | None:
        """The deadline test of filter `chosen` on a candidate row (None: the filter has none)."""
        if chosen == "segera":
            return and_(TaskCandidate.due_at > _instant("now"), self.soon)
        if chosen == "terlambat":
            return TaskCandidate.due_at <= _instant("now")
        return None

    def ranges(self, chosen: str, stage: ColumnElement | None) -> list[Select]:
        """One SELECT from `task_candidates` per range, with filter `chosen` and `stage` applied."""
        keys = [("assignee", bindparam("me"))] if chosen == "saya" else self.keys
        result = []
        for index, (kind, name) in enumerate(keys):
            statement = (
                select()
                .select_from(TaskCandidate)
                .where(TaskCandidate.kind == _kind(kind), TaskCandidate.name == name)
            )
            if not self.shape.national:
                statement = statement.where(TaskCandidate.region_code == bindparam("region"))
            if stage is not None:
                statement = statement.where(TaskCandidate.stage == stage)
            due_test = self.due_test(chosen)
            if due_test is not None:
                statement = statement.where(due_test)
            if index:
                earlier = aliased(TaskCandidate)
                statement = statement.where(
                    ~exists().where(
                        earlier.task_id == TaskCandidate.task_id,
                        or_(*(and_(earlier.kind == _kind(k), earlier.name == n) for k, n in keys[:index])),
                    )
                )
            if self.shape.search:
                statement = (
                    statement.join(Task, and_(Task.id == TaskCandidate.task_id, Task.status == "ready"))
                    .join(Instance, Instance.id == Task.instance_id)
                    .where(
                        case_search.matching(
                            *_SEARCH_VALUES,
                            use_index=self.shape.indexed,
                            found=_FOUND if self.shape.found else None,
                        )
                    )
                )
            result.append(statement)
        return result

    def count(self, chosen: str, stage: ColumnElement | None, cap: int) -> ScalarSelect:
        """How many, reading at most `cap` + 1 index entries (`cap` + 1 means more)."""
        parts = [part.add_columns(TaskCandidate.task_id) for part in self.ranges(chosen, stage)]
        taken = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
        capped = select(taken.c.task_id).limit(cap + 1).subquery()
        return select(func.count()).select_from(capped).scalar_subquery()

    def found(self) -> CompoundSelect | Select:
        """Under a search: the tasks it finds among the person's ranges, at most `TALLY_CAP` + 1,
        each with what the counts tell apart (stage, and as 0/1: soon, late, claimed by me)."""
        flags = (
            TaskCandidate.stage,
            case((self.due_test("segera"), 1), else_=0).label("soon"),
            case((self.due_test("terlambat"), 1), else_=0).label("late"),
            # the "saya" range: the assignee's candidate row is written from the task's assignee
            case((Task.assignee == bindparam("me"), 1), else_=0).label("mine"),
        )
        parts = [part.add_columns(*flags) for part in self.ranges("semua", None)]
        return (union_all(*parts) if len(parts) > 1 else parts[0]).limit(TALLY_CAP + 1)

    def page_ids(self, chosen: str, stage: ColumnElement | None, sort: str) -> Select:
        """The page's task ids: each range read in the page's order up to `wanted` rows (offset
        plus limit), merged, then the page cut (`page_offset`, `page_limit`). Under a search asked
        as the cases it finds (`_Shape.found`) the ranges are not read in order: SQLite read a
        region's whole range in the page's order looking for the few tasks of those cases."""
        wanted = bindparam("wanted", type_=Integer)
        columns = (TaskCandidate.task_id, TaskCandidate.due_at, TaskCandidate.created_at)
        parts = []
        for part in self.ranges(chosen, stage):
            part = part.add_columns(*columns)
            if self.shape.found:  # a few cases' tasks: read them by case, sorted once below
                parts.append(part)
                continue
            if sort != "batas":
                parts.append(part.order_by(*_order(sort, TaskCandidate)).limit(wanted))
                continue
            # dated first by deadline, then undated by creation: each half an index range read in
            # the index's order (SQLite sorts NULL first, PostgreSQL last: hence two halves; the
            # undated half orders by its NULL deadline too, so PostgreSQL sees the index's order)
            in_order = (TaskCandidate.due_at, TaskCandidate.created_at, TaskCandidate.task_id)
            parts.append(part.where(TaskCandidate.due_at.is_not(None)).order_by(*in_order).limit(wanted))
            if chosen not in ("segera", "terlambat"):  # these have a deadline
                parts.append(part.where(TaskCandidate.due_at.is_(None)).order_by(*in_order).limit(wanted))
        merged = union_all(*(select(part.subquery()) for part in parts)).subquery()
        return (
            select(merged.c.task_id)
            .order_by(*_order(sort, merged.c))
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer))
        )


def _order(sort: str, columns) -> tuple:
    if sort == "terbaru":
        return (columns.created_at.desc(), columns.task_id.desc())
    if sort == "terlama":
        return (columns.created_at, columns.task_id)
    return (columns.due_at.is_(None), columns.due_at, columns.created_at, columns.task_id)


# A search that finds at most this many tasks is counted from what it found (`_tally`): a search
# for a case by its name or key finds a few. One that finds more reads only this many rows more
# than the counts statement it then sends.
TALLY_CAP = 200


@dataclass(frozen=True)
class _Statements:
    counts: Select  # every count in one statement: one round trip
    page_ids: Select
    found: CompoundSelect | Select | None  # under a search (`_Offered.found`)


@lru_cache(maxsize=512)
def _statements(shape: _Shape, cap: int, stage_cap: int) -> _Statements:
    """The statements of a page of a shape whose counts stop past `cap` (the stage list's past
    `stage_cap`): the caps are built into them, so they are part of the cache's key."""
    offered = _Offered(shape)
    chosen_stage = bindparam("stage", type_=Integer) if shape.stage else None
    wanted = [(name, offered.count(name, None, cap)) for name in FILTERS]
    stages = [(f"stage_{n}", offered.count("semua", literal(n), stage_cap)) for n in shape.stages]
    wanted += stages
    if shape.stage:
        wanted.append(("matching", offered.count(shape.filter, chosen_stage, cap)))
    counts = select(*(count.label(name) for name, count in wanted))
    page_ids = offered.page_ids(shape.filter, chosen_stage, shape.sort)
    return _Statements(counts, page_ids, offered.found() if shape.search else None)


# Each filter as a test of a row of `_Offered.found`.
_TESTS = {
    "semua": lambda row: True,
    "segera": lambda row: row.soon == 1,
    "terlambat": lambda row: row.late == 1,
    "saya": lambda row: row.mine == 1,
}


def _tally(
    found: list, query: InboxQuery, stages: tuple[int, ...]
) -> tuple[dict[str, int], dict[int, int], int]:
    """The counts of a search, from the tasks it found (all of them: at most `TALLY_CAP`): one
    read of the person's ranges instead of one per count, which read every range to its end when
    the search finds few (at 100,000 cases 0.3-0.4 s for a search finding nothing). The flags come
    from the same SQL as the counts' (`_Offered.found`)."""
    counts = {name: sum(1 for row in found if _TESTS[name](row)) for name in FILTERS}
    stage_counts = {
        number: min(sum(1 for row in found if row.stage == number), STAGE_COUNT_CAP + 1) for number in stages
    }
    chosen = _TESTS[query.filter]
    matching = sum(1 for row in found if chosen(row) and query.stage in (None, row.stage))
    return counts, stage_counts, matching


def _plan_mode(connection: Connection, shape: _Shape) -> None:
    """PostgreSQL: how the inbox's statements are planned, for the rest of this read transaction.

    Generic plans (planned once per connection: psycopg prepares the statements): left to itself
    (`plan_cache_mode = auto`) the server compares the generic plan's estimate with the custom
    plans' and, once a region holds thousands of tasks, planned the 50-subquery counts statement
    again at every request: 4.9 ms against 1.6 ms on the generic plan at 100,000 cases. Every range
    is an index range on (kind, name[, region]) cut by a LIMIT whatever the values, so one plan
    fits all; nationally too, since the "segera" test stopped joining each row's region
    (`_soon_condition`) and the kinds are written into the statement (`_kind`).

    Except a search, planned at each request: whether to read the person's ranges and look up
    each case, or the cases matching first (their trigram indexes, migration 0015), depends on how
    many match, which only the text tells. On the generic plan a word in every title ("kota") took
    8.6 s at 100,000 cases nationally, planned with the text 0.1 s; a regional search that finds
    nothing took 129 ms on the generic plan (every case of the region read), 7 ms planned. A
    search runs without parallel workers: starting them took 25 ms of a 37 ms statement, and a
    search for a title that 1,111 of 100,000 cases hold fell from 85-102 ms to 42-43 ms."""
    if connection.dialect.name == "postgresql":
        if shape.search:
            connection.exec_driver_sql(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
                " set_config('max_parallel_workers_per_gather', '0', true)"
            )
        else:
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")


def _plan_common_search(connection: Connection, shape: _Shape) -> None:
    """PostgreSQL: a regional search that found more than `TALLY_CAP` tasks sends its counts and
    page on the generic plan, which reads the person's ranges in order and stops at each LIMIT.
    At 100,000 cases (in process, alternating) a word in every title ("kota") took 34 ms planned
    with its text throughout, 30 ms so; every statement generic took 27 ms, but 124 ms for a title
    1,111 cases hold and 170 ms for one none holds (48 and 8 ms planned). A national search stays
    planned with its text: on the generic plan "kota" took 8.6 s (above)."""
    if connection.dialect.name == "postgresql" and not shape.national:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")


def inbox_page(
    session: Session,
    actor: Actor,
    now: datetime,
    query: InboxQuery,
    viewer_tz: str | None = None,
    stages: Iterable[int] = (),
) -> InboxPage:
    """One page of the actor's inbox with the counts the tabs and the list of `stages` show;
    deadlines also on the viewer's clock (`viewer_tz`: the actor's, their region's or WIB
    nationally) where the case's region has another."""
    if not actor.national and actor.region_code is None:  # a regional account without a region
        return InboxPage([], 0, dict.fromkeys(FILTERS, 0), {}, 0, 1, 1, False)
    own, values, calendars = _soon_cutoffs(session, actor, now, None if actor.national else viewer_tz)
    groups = sorted(actor.groups)
    stage_list = tuple(sorted(set(stages)))
    how = case_search.reading(session, query.search)
    shape = _Shape(
        len(groups),
        actor.national,
        own,
        bool(query.search),
        how.use_index,
        how.found is not None,
        query.filter,
        query.stage is not None,
        query.sort,
        stage_list,
    )
    statements = _statements(shape, counting.COUNT_CAP, STAGE_COUNT_CAP)
    values |= {f"group{i}": group for i, group in enumerate(groups)}
    values |= {"me": actor.username, "region": actor.region_code, "now": now, "stage": query.stage}
    values |= case_search.search_values(query.search) | {"found": how.found}
    connection = session.connection()
    _plan_mode(connection, shape)
    found = connection.execute(statements.found, values).all() if statements.found is not None else None
    if found is not None and len(found) <= TALLY_CAP:
        counts, stage_counts, matching = _tally(found, query, stage_list)
    else:
        if found is not None:
            _plan_common_search(connection, shape)
        counted = connection.execute(statements.counts, values).one()._mapping
        counts = {name: int(counted[name]) for name in FILTERS}
        stage_counts = {number: int(counted[f"stage_{number}"]) for number in stage_list}
        matching = int(counted["matching"]) if query.stage is not None else counts[query.filter]
    pager = counting.Pager.of(matching, query.page, PAGE_SIZE)
    # The page's ids (PAGE_SIZE + 1: is there a next page), then the columns shown, for those only.
    values |= {"wanted": pager.offset + pager.limit, "page_offset": pager.offset, "page_limit": pager.limit}
    ids = list(connection.execute(statements.page_ids, values).scalars())
    has_next, ids = len(ids) > PAGE_SIZE, ids[:PAGE_SIZE]
    shown = {row.id: row for row in connection.execute(_SHOWN, {"ids": ids})}
    rows = [shown[task_id] for task_id in ids if task_id in shown]
    return InboxPage(
        rows=_rows(session, actor, now, rows, viewer_tz, calendars),
        total=counts["semua"],
        counts=counts,
        stage_counts=stage_counts,
        matching=matching,
        page=pager.page,
        pages=pager.pages,
        has_next=has_next,
    )


# The columns a page's rows show, for the page's task ids (`ids`, expanding): built once.
_SHOWN = (
    select(
        Task.id,
        Task.name,
        func.coalesce(Task.stage, Instance.stage).label("stage"),
        Task.candidate_groups,
        Task.assignee,
        Task.due_at,
        Instance.id.label("instance_id"),
        Instance.definition_id,
        Instance.title,
        Instance.region_code,
        json_text(Instance.variables, literal(PARTNER)).label("partner"),
        json_text(Instance.variables, literal(COUNTRY)).label("country"),
        Region.name.label("region_name"),
        Region.level.label("region_level"),
        Region.timezone.label("region_timezone"),
    )
    .join(Instance, Instance.id == Task.instance_id)
    .outerjoin(Region, Region.code == Instance.region_code)
    .where(Task.id.in_(bindparam("ids", expanding=True)))
)


def _rows(
    session: Session, actor: Actor, now: datetime, found, viewer_tz: str | None, calendars: Calendars
) -> list[InboxRow]:
    """The page's rows with what they show from other tables, each read once for the page. The
    cutoffs' calendars serve the rows: a regional person's rows are in their region, and nationally
    every region with days of its own was read (the others keep the national calendar)."""
    if not actor.national:
        missing = sorted({row.region_code for row in found if row.region_code} - calendars.keys())
        if missing:
            calendars = calendars | calendars_for(session, missing)
    names = display_names(session, {row.assignee for row in found if row.assignee})
    result = []
    for row in found:
        region = region_of(row.region_code, row.region_name, row.region_level, row.region_timezone)
        calendar = calendars.get(row.region_code, calendars[None])
        result.append(
            InboxRow(
                task_id=row.id,
                task_name=row.name,
                stage=row.stage,
                definition_id=row.definition_id,
                instance_id=row.instance_id,
                case_title=row.title,
                partner=str(row.partner or "-"),
                country=str(row.country or "-"),
                region=region,
                candidate_groups=row.candidate_groups,
                deadline=deadline(row.due_at, region.timezone, now, calendar, viewer_tz)
                if row.due_at
                else None,
                assignee=row.assignee,
                assignee_name=names.get(row.assignee) if row.assignee else None,
                mine=row.assignee == actor.username,
            )
        )
    return result

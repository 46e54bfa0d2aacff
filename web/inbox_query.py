"""The inbox's read side: one page of the ready tasks a person may do, with counts, from SQL.

Only the columns the page shows are read (never the case state or a form), the tasks offered to
the person come from the `task_candidates` index, filters, search, sort and counts are SQL, and a
page holds at most `PAGE_SIZE` rows: the page and its cost stay the same whatever the number of
cases. Regions, calendars, partner names and assignee names are read once for the page's rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from engine.access import Actor, offered_to, visible_instances
from engine.calendar import TIMEZONES, WorkingCalendar, local_today, start_of_day
from engine.models import CalendarOverride, Instance, Region, Task

from .accounts import display_names
from .formatting import DUE_SOON_WORKING_DAYS, Deadline, deadline
from .views import DEFAULT_TIMEZONE, RegionView

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
        page = args.get("hal", 1, type=int) or 1
        return cls(
            filter=chosen if chosen in FILTERS else "semua",
            stage=stage if stage in stages else None,
            search=(args.get("q") or "").strip()[:100],
            sort=sort if sort in SORTS else "batas",
            page=max(page, 1),
        )


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int  # every ready task offered to the person
    counts: dict[str, int]  # per filter, within the search
    stage_counts: dict[int, int]  # per stage, within the search
    matching: int  # with the filter, stage and search applied: what the pages divide
    page: int
    pages: int


_stage = func.coalesce(Task.stage, Instance.stage)


def _soon_cutoff(session: Session, actor: Actor, now: datetime) -> ColumnElement:
    """The instant before which a task's deadline is at most `DUE_SOON_WORKING_DAYS` working days
    away, in each case's own zone and calendar: the start of the (N+1)-th working day after its
    region's today (`formatting.deadline` says the same of one row)."""

    def cutoff(tz: str, calendar: WorkingCalendar) -> datetime:
        zone = TIMEZONES.get(tz, tz)
        return start_of_day(
            calendar.add_working_days(local_today(now, zone), DUE_SOON_WORKING_DAYS + 1), zone
        )

    if not actor.national:
        region = session.get(Region, actor.region_code) if actor.region_code else None
        calendar = calendars_for(session, [actor.region_code])[actor.region_code]
        return literal(cutoff(region.timezone if region else DEFAULT_TIMEZONE, calendar), Task.due_at.type)
    # national: one cutoff per zone on the national calendar, and one per region with its own days
    national = calendars_for(session, [])[None]
    own = sorted(
        code
        for code in session.scalars(
            select(CalendarOverride.region_code).where(CalendarOverride.region_code.is_not(None)).distinct()
        )
    )
    own_calendars = calendars_for(session, own)
    zones = {
        code: tz
        for code, tz in session.execute(select(Region.code, Region.timezone).where(Region.code.in_(own)))
    }
    whens = [
        (
            Instance.region_code == code,
            literal(cutoff(zones.get(code, DEFAULT_TIMEZONE), own_calendars[code]), Task.due_at.type),
        )
        for code in own
    ]
    by_zone = case(
        *(
            (Region.timezone == zone, literal(cutoff(zone, national), Task.due_at.type))
            for zone in sorted(set(TIMEZONES.values()))
        ),
        else_=literal(cutoff(DEFAULT_TIMEZONE, national), Task.due_at.type),
    )
    return case(*whens, else_=by_zone) if whens else by_zone


def _filter_clause(name: str, actor: Actor, now: datetime, soon: ColumnElement) -> ColumnElement[bool]:
    if name == "segera":
        return and_(Task.due_at > now, Task.due_at <= soon)
    if name == "terlambat":
        return Task.due_at <= now
    if name == "saya":
        return Task.assignee == actor.username
    return literal(True)


def _order(sort: str) -> tuple:
    if sort == "terbaru":
        return (Task.created_at.desc(), Task.id.desc())
    if sort == "terlama":
        return (Task.created_at, Task.id)
    return (Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)


def inbox_page(
    session: Session, actor: Actor, now: datetime, query: InboxQuery, viewer_tz: str | None = None
) -> InboxPage:
    """One page of the actor's inbox with the counts the tabs and the stage list show; deadlines
    also on the viewer's clock (`viewer_tz`) where the case's region has another."""
    base = [Task.status == "ready", offered_to(actor), visible_instances(actor)]
    if query.search:
        text = query.search.lower()
        base.append(
            or_(
                func.lower(Instance.title).contains(text, autoescape=True),
                func.lower(func.coalesce(Instance.business_key, "")).contains(text, autoescape=True),
            )
        )
    joined = (
        select()
        .select_from(Task)
        .join(Instance, Instance.id == Task.instance_id)
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(*base)
    )
    soon = _soon_cutoff(session, actor, now)
    clauses = {name: _filter_clause(name, actor, now, soon) for name in FILTERS}

    # One pass over the actor's tasks: per stage, how many and how many per filter.
    per_stage = session.execute(
        joined.add_columns(
            _stage.label("stage"),
            *(func.coalesce(func.sum(case((clauses[name], 1), else_=0)), 0).label(name) for name in FILTERS),
        ).group_by(_stage)
    ).all()
    counts = {name: sum(int(getattr(row, name)) for row in per_stage) for name in FILTERS}
    stage_counts = {row.stage: int(row.semua) for row in per_stage if row.stage is not None}
    matching = (
        counts[query.filter]
        if query.stage is None
        else sum(int(getattr(row, query.filter)) for row in per_stage if row.stage == query.stage)
    )
    chosen = [clauses[query.filter]] if query.filter != "semua" else []
    if query.stage is not None:
        chosen.append(_stage == query.stage)
    pages = max(1, -(-matching // PAGE_SIZE))
    page = min(query.page, pages)
    # The page's ids first (the covering indexes answer it), then the columns shown, for those only.
    ids = list(
        session.scalars(
            joined.add_columns(Task.id)
            .where(*chosen)
            .order_by(*_order(query.sort))
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    shown = {
        row.id: row
        for row in session.execute(
            select(
                Task.id,
                Task.name,
                _stage.label("stage"),
                Task.candidate_groups,
                Task.assignee,
                Task.due_at,
                Instance.id.label("instance_id"),
                Instance.definition_id,
                Instance.title,
                Instance.region_code,
                Region.name.label("region_name"),
                Region.level.label("region_level"),
                Region.timezone.label("region_timezone"),
            )
            .join(Instance, Instance.id == Task.instance_id)
            .outerjoin(Region, Region.code == Instance.region_code)
            .where(Task.id.in_(ids))
        )
    }
    found = [shown[task_id] for task_id in ids if task_id in shown]
    return InboxPage(
        rows=_rows(session, actor, now, found, viewer_tz),
        total=counts["semua"],
        counts=counts,
        stage_counts=stage_counts,
        matching=matching,
        page=page,
        pages=pages,
    )


def _rows(session: Session, actor: Actor, now: datetime, found, viewer_tz: str | None) -> list[InboxRow]:
    """The page's rows with what they show from other tables, each read once for the page."""
    instance_ids = sorted({row.instance_id for row in found})
    partners = {
        row.id: (row.partner, row.country)
        for row in session.execute(
            select(
                Instance.id,
                json_text(Instance.variables, literal(PARTNER)).label("partner"),
                json_text(Instance.variables, literal(COUNTRY)).label("country"),
            ).where(Instance.id.in_(instance_ids))
        )
    }
    calendars = calendars_for(session, sorted({row.region_code for row in found if row.region_code}))
    names = display_names(session, {row.assignee for row in found if row.assignee})
    result = []
    for row in found:
        region = (
            RegionView(row.region_code, row.region_name, row.region_level, row.region_timezone)
            if row.region_name is not None
            else RegionView(row.region_code, row.region_code or "Nasional", None, DEFAULT_TIMEZONE)
        )
        partner, country = partners.get(row.instance_id, (None, None))
        result.append(
            InboxRow(
                task_id=row.id,
                task_name=row.name,
                stage=row.stage,
                definition_id=row.definition_id,
                instance_id=row.instance_id,
                case_title=row.title,
                partner=str(partner or "-"),
                country=str(country or "-"),
                region=region,
                candidate_groups=row.candidate_groups,
                deadline=deadline(row.due_at, region.timezone, now, calendars[row.region_code], viewer_tz)
                if row.due_at
                else None,
                assignee=row.assignee,
                assignee_name=names.get(row.assignee) if row.assignee else None,
                mine=row.assignee == actor.username,
            )
        )
    return result


def calendars_for(session: Session, codes: list[str | None]) -> dict[str | None, WorkingCalendar]:
    """Each region's working calendar (national overrides, its own winning) and the national one
    under None, from one query."""
    wanted = [code for code in codes if code]
    rows = session.execute(
        select(
            CalendarOverride.region_code,
            CalendarOverride.day,
            CalendarOverride.is_holiday,
            CalendarOverride.description,
        ).where(or_(CalendarOverride.region_code.is_(None), CalendarOverride.region_code.in_(wanted)))
    ).all()
    national = [row for row in rows if row.region_code is None]
    own: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.region_code is not None:
            own[row.region_code].append(row)

    def build(entries) -> WorkingCalendar:
        return WorkingCalendar(
            {row.day: row.is_holiday for row in entries},
            {row.day: row.description for row in entries if row.description},
        )

    result: dict[str | None, WorkingCalendar] = {None: build(national)}
    for code in wanted:
        result[code] = build(national + own[code]) if own[code] else result[None]
    return result

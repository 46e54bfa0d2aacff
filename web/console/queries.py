"""The console's reads: counts and pages as SQL on the projection tables, never the state JSON.

Every list is paginated and every dashboard number is one `count(*)`, so no page grows with the
number of cases. Partner, country and kind are the case's list columns, and a search means what
it means everywhere (`web.case_search`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, defer

from engine.access import AccessPolicy, offered_to_group
from engine.calendar import end_of_day, local_today, start_of_day
from engine.models import Incident, Instance, Region, Task, User

from .. import counting
from ..case_search import case_search
from ..case_tasks import with_a_task
from ..views import calendar_for

WIB = "Asia/Jakarta"  # the console's own clock: a national office's
PAGE_SIZE = 25
DPRD_GROUP = "dprd"
DPRD_WINDOW_WORKING_DAYS = 10

# Each sort's columns (`counting.index_order` adds the tie-break and the direction).
SORTS: dict[str, tuple[Any, ...]] = {
    "id": (),
    "judul": (Instance.title,),
    "tahap": (Instance.stage, Instance.updated_at),
    "mulai": (Instance.started_at,),
    "diperbarui": (Instance.updated_at,),
}


def _in_list(column, value) -> ColumnElement[bool]:
    """`value` (an SQL expression) is one of the comma-separated entries of `column`."""
    padded = literal(",") + func.replace(func.coalesce(column, ""), " ", "") + literal(",")
    return padded.contains(literal(",") + value + literal(","))


def nobody_can_take(policy: AccessPolicy) -> ColumnElement[bool]:
    """A ready task no active account can do: its assignee is disabled or unknown, or (unassigned)
    none of its candidate groups has an active member (in the case's region, for a regional
    group) and none of its candidate users is active. Use with Task joined to Instance."""
    assignee_active = exists(select(User.id).where(User.active, User.username == Task.assignee))
    holders = [
        and_(
            offered_to_group(group),
            exists(
                select(User.id).where(
                    User.active,
                    _in_list(User.groups, literal(group)),
                    *([User.region_code == Instance.region_code] if group in policy.regional_groups else []),
                )
            ),
        )
        for group in sorted(policy.groups)
    ]
    named = exists(select(User.id).where(User.active, _in_list(Task.candidate_users, User.username)))
    return and_(
        Task.status == "ready",
        or_(
            and_(Task.assignee.is_not(None), ~assignee_active),
            and_(Task.assignee.is_(None), ~or_(named, *holders)),
        ),
    )


def dprd_window(session: Session, now: datetime) -> datetime:
    """The end of the 10th working day from today (national calendar, WIB)."""
    day = calendar_for(session, None).add_working_days(local_today(now, WIB), DPRD_WINDOW_WORKING_DAYS)
    return end_of_day(day, WIB)


def overdue_tasks(now: datetime) -> ColumnElement[bool]:
    return and_(Task.status == "ready", Task.due_at < now)


def dprd_soon(session: Session, now: datetime) -> ColumnElement[bool]:
    return and_(
        Task.status == "ready",
        offered_to_group(DPRD_GROUP),
        Task.due_at >= now,
        Task.due_at <= dprd_window(session, now),
    )


OPEN_INCIDENT = and_(Incident.resolved_at.is_(None))


@dataclass
class Dashboard:
    by_status: dict[str, int]
    suspended: int
    by_stage: list[tuple[int | None, str | None, int]]
    overdue: int
    dprd_soon: int
    dprd_until: datetime
    incidents: int
    nobody: int
    by_region: list[tuple[str | None, str, int]]
    stage_days: list[StageDays]


@dataclass(frozen=True)
class StageDays:
    """How long cases stayed in a stage: the median of working days from a stage's first task to
    its last completed one, over stage visits that ended within `STAGE_DAYS_WINDOW`."""

    stage: int
    name: str | None
    median: float
    visits: int


STAGE_DAYS_WINDOW = timedelta(days=90)  # recent work only: the figure stays current and bounded


def stage_days(session: Session, now: datetime) -> list[StageDays]:
    """Median working days per stage (national calendar, WIB days), from the task projection."""
    left = func.max(Task.completed_at)
    visits = session.execute(
        select(Task.stage, func.min(Task.created_at), left)
        .join(Instance, Instance.id == Task.instance_id)
        .where(
            Task.stage.is_not(None),
            or_(Instance.stage > Task.stage, Instance.status != "running"),  # the case has moved on
        )
        .group_by(Task.instance_id, Task.stage)
        .having(left >= now - STAGE_DAYS_WINDOW)
    ).all()
    calendar = calendar_for(session, None)
    days: dict[int, list[int]] = {}
    for stage, entered, ended in visits:
        first, last = local_today(entered, WIB), local_today(ended, WIB)
        days.setdefault(stage, []).append(max(calendar.working_days_between(first, last), 0))
    names = dict(
        session.execute(
            select(Instance.stage, func.max(Instance.stage_name))
            .where(Instance.stage.in_(days))
            .group_by(Instance.stage)
        ).all()
    )
    return [StageDays(stage, names.get(stage), float(median(n)), len(n)) for stage, n in sorted(days.items())]


def _count(session: Session, query) -> int:
    """How many rows `query` gives: `count(*)` over its FROM and WHERE, not over a subquery of
    every column it selects."""
    counted = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return session.scalar(counted) or 0


def dashboard(session: Session, policy: AccessPolicy, now: datetime) -> Dashboard:
    tasks = select(Task.id).join(Instance, Instance.id == Task.instance_id)
    by_stage = session.execute(
        select(Instance.stage, func.max(Instance.stage_name), func.count())
        .where(Instance.status == "running")
        .group_by(Instance.stage)
        .order_by(Instance.stage)
    ).all()
    by_region = session.execute(
        select(Instance.region_code, func.max(Region.name), func.count())
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(Instance.status == "running")
        .group_by(Instance.region_code)
        .order_by(func.count().desc(), Instance.region_code)
    ).all()
    return Dashboard(
        by_status=dict(
            session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all()
        ),
        suspended=session.scalar(
            select(func.count()).where(Instance.suspended_at.is_not(None), Instance.status == "running")
        )
        or 0,
        by_stage=[(stage, name, n) for stage, name, n in by_stage],
        overdue=_count(session, tasks.where(overdue_tasks(now))),
        dprd_soon=_count(session, tasks.where(dprd_soon(session, now))),
        dprd_until=dprd_window(session, now),
        incidents=session.scalar(select(func.count()).where(OPEN_INCIDENT).select_from(Incident)) or 0,
        nobody=_count(session, tasks.where(nobody_can_take(policy))),
        by_region=[(code, name or code or "Nasional", n) for code, name, n in by_region],
        stage_days=stage_days(session, now),
    )


# --- the case list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """The case list's search, filters, sort and page, read from the query string."""

    q: str = ""
    status: str = ""
    stage: int | None = None
    region: str = ""
    kind: str = ""
    overdue: bool = False
    incident: bool = False
    dprd: bool = False
    started_from: date | None = None
    started_to: date | None = None
    sort: str = "diperbarui"
    descending: bool = True
    page: int = 1

    @classmethod
    def from_args(cls, args) -> CaseFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None

        def number(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

        sort = args.get("urut", "diperbarui")
        return cls(
            q=args.get("q", "").strip()[:200],
            status=args.get("status", "") if args.get("status") in STATUS_FILTERS else "",
            stage=number("tahap"),
            region=args.get("wilayah", "").strip()[:20],
            kind=args.get("jenis", "").strip()[:60],
            overdue=args.get("terlambat") == "1",
            incident=args.get("insiden") == "1",
            dprd=args.get("dprd") == "1",
            started_from=day("dari"),
            started_to=day("sampai"),
            sort=sort if sort in SORTS else "diperbarui",
            descending=args.get("arah", "turun") != "naik",
            page=max(number("halaman") or 1, 1),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string of this list with some values changed (for sort and page links)."""
        values = {
            "q": self.q,
            "status": self.status,
            "tahap": self.stage,
            "wilayah": self.region,
            "jenis": self.kind,
            "terlambat": "1" if self.overdue else "",
            "insiden": "1" if self.incident else "",
            "dprd": "1" if self.dprd else "",
            "dari": self.started_from.isoformat() if self.started_from else "",
            "sampai": self.started_to.isoformat() if self.started_to else "",
            "urut": self.sort,
            "arah": "turun" if self.descending else "naik",
            "halaman": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


STATUS_FILTERS = {
    "running": "Berjalan",
    "suspended": "Ditangguhkan",
    "completed": "Selesai",
    "cancelled": "Dibatalkan",
}


@dataclass
class CasePage:
    rows: list[tuple[Instance, str, str, str, str]]  # case, region name, partner, country, kind
    total: int  # past `counting.COUNT_CAP`: that + 1 ("lebih dari 1.000")
    page: int
    pages: int | None  # None past the cap
    has_next: bool


def case_page(session: Session, filters: CaseFilters, now: datetime) -> CasePage:
    where: list[ColumnElement[bool]] = []
    if filters.q.strip():
        where.append(case_search(filters.q))
    if filters.status == "suspended":
        where += [Instance.status == "running", Instance.suspended_at.is_not(None)]
    elif filters.status:
        where.append(Instance.status == filters.status)
    if filters.stage is not None:
        where.append(Instance.stage == filters.stage)
    if filters.region:
        where.append(Instance.region_code == filters.region)
    if filters.kind:
        where.append(Instance.kind == filters.kind)
    if filters.overdue:
        late = overdue_tasks(now)
        where.append(with_a_task(session, select(Task.instance_id).where(late), late))
    if filters.dprd:
        soon = dprd_soon(session, now)
        where.append(with_a_task(session, select(Task.instance_id).where(soon), soon))
    if filters.incident:
        where.append(Instance.id.in_(select(Incident.instance_id).where(OPEN_INCIDENT)))
    if filters.started_from:
        where.append(Instance.started_at >= start_of_day(filters.started_from, WIB))
    if filters.started_to:
        where.append(Instance.started_at <= end_of_day(filters.started_to, WIB))
    total = counting.capped_count(session, select(Instance.id).where(*where))
    pager = counting.Pager.of(total, filters.page, PAGE_SIZE)
    rows = session.execute(
        select(Instance, Region.name, Instance.partner, Instance.country, Instance.kind)
        .options(defer(Instance.variables, raiseload=True))
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(*where)
        .order_by(*counting.index_order(SORTS[filters.sort], filters.descending))
        .limit(pager.limit)
        .offset(pager.offset)
    ).all()
    has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return CasePage(
        rows=[
            (i, region or i.region_code or "Nasional", p or "-", c or "-", k or "-")
            for i, region, p, c, k in rows
        ],
        total=total,
        page=pager.page,
        pages=pager.pages,
        has_next=has_next,
    )


# --- the queue of tasks nobody can take ----------------------------------------------------------------


@dataclass(frozen=True)
class StuckTask:
    task: Task
    instance: Instance
    region_name: str
    why: str


def stuck_tasks(session: Session, policy: AccessPolicy, page: int) -> tuple[list[StuckTask], int, int]:
    """Tasks nobody can take, oldest first, each with why; (rows, total, pages)."""
    base = (
        select(Task, Instance, Region.name)
        .join(Instance, Instance.id == Task.instance_id)
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(nobody_can_take(policy))
    )
    total = _count(session, base)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    rows = session.execute(
        base.order_by(Task.created_at, Task.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return (
        [StuckTask(t, i, name or i.region_code or "Nasional", _why(t, name, policy)) for t, i, name in rows],
        total,
        pages,
    )


def _why(task: Task, region_name: str | None, policy: AccessPolicy) -> str:
    if task.assignee:
        return f"Penerima tugas ({task.assignee}) nonaktif atau tidak ada"
    groups = [g for g in task.candidate_groups.split(",") if g.strip()]
    if not groups and not task.candidate_users.strip():
        return "Tugas tanpa kandidat (grup maupun pengguna)"
    names = ", ".join(policy.label(g.strip()) for g in groups) or "-"
    where = f" di {region_name}" if region_name and any(g in policy.regional_groups for g in groups) else ""
    return f"Tidak ada akun aktif grup {names}{where}"

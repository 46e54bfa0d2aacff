"""The console's reads: counts and pages as SQL on the projection tables, never the state JSON.

Every list is paginated and counted to a cap (`web.counting`); the dashboard adds up the case
counts the triggers keep (`engine.case_counts`), and the queue of tasks nobody can take starts
from the accounts (`web.console.unserved`), so no page grows with the number of cases. Partner,
country and kind are the case's list columns, and a search means what it means everywhere
(`web.case_search`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, defer

from engine.access import AccessPolicy
from engine.calendar import end_of_day, local_today, start_of_day
from engine.ids import parse_id
from engine.models import CaseCount, Incident, Instance, Region, Task, TaskCandidate

from .. import counting
from ..case_search import case_search
from ..case_tasks import with_a_task
from ..views import calendar_for
from .unserved import stuck_tasks

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


def dprd_window(session: Session, now: datetime) -> datetime:
    """The end of the 10th working day from today (national calendar, WIB)."""
    day = calendar_for(session, None).add_working_days(local_today(now, WIB), DPRD_WINDOW_WORKING_DAYS)
    return end_of_day(day, WIB)


def overdue_tasks(now: datetime) -> ColumnElement[bool]:
    return and_(Task.status == "ready", Task.due_at < now)


def dprd_soon(session: Session, now: datetime) -> ColumnElement[bool]:
    """Ready tasks offered to the DPRD due within the window: one range of the candidate index
    (its rows copy the task's deadline), not every ready task's candidate groups."""
    offered = select(TaskCandidate.task_id).where(
        TaskCandidate.kind == "group",
        TaskCandidate.name == DPRD_GROUP,
        TaskCandidate.due_at >= now,
        TaskCandidate.due_at <= dprd_window(session, now),
    )
    return Task.id.in_(offered)


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


def _stage_names(session: Session, stages) -> dict[int, str | None]:
    """Each stage's name as its most recently moved case shows it: one index seek per stage."""
    return {
        stage: session.scalar(
            select(Instance.stage_name)
            .where(Instance.stage == stage)
            .order_by(Instance.updated_at.desc(), Instance.id.desc())
            .limit(1)
        )
        for stage in stages
    }


def stage_days(session: Session, now: datetime) -> list[StageDays]:
    """Median working days per stage (national calendar, WIB days), from the task projection:
    the cases with a task completed in the window (`ix_tasks_completed`), then their tasks, so
    what is read follows recent work, not every case there ever was."""
    since = now - STAGE_DAYS_WINDOW
    left = func.max(Task.completed_at)
    visits = session.execute(
        select(Task.stage, func.min(Task.created_at), left)
        .join(Instance, Instance.id == Task.instance_id)
        .where(
            Task.instance_id.in_(select(Task.instance_id).where(Task.completed_at >= since)),
            Task.stage.is_not(None),
            or_(Instance.stage > Task.stage, Instance.status != "running"),  # the case has moved on
        )
        .group_by(Task.instance_id, Task.stage)
        .having(left >= since)
    ).all()
    calendar = calendar_for(session, None)
    days: dict[int, list[int]] = {}
    for stage, entered, ended in visits:
        first, last = local_today(entered, WIB), local_today(ended, WIB)
        days.setdefault(stage, []).append(max(calendar.working_days_between(first, last), 0))
    names = _stage_names(session, sorted(days))
    return [StageDays(stage, names[stage], float(median(n)), len(n)) for stage, n in sorted(days.items())]


def _capped(session: Session, *where: ColumnElement[bool], of: Any = Task.id) -> int:
    return counting.capped_count(session, select(of).where(*where))


def dashboard(session: Session, policy: AccessPolicy, now: datetime) -> Dashboard:
    """The tables of cases by status, stage and region add up `case_counts` (exact, one row per
    group: `engine.case_counts`); the tiles count no further than the lists they open
    (`counting.COUNT_CAP`)."""
    groups = session.execute(
        select(
            CaseCount.status,
            CaseCount.stage,
            CaseCount.region_code,
            CaseCount.suspended,
            func.sum(CaseCount.n),
        ).group_by(CaseCount.status, CaseCount.stage, CaseCount.region_code, CaseCount.suspended)
    ).all()
    by_status: Counter[str] = Counter()
    by_stage: Counter[int | None] = Counter()
    by_region: Counter[str | None] = Counter()
    suspended = 0
    for status, stage, region, held, n in groups:
        by_status[status] += n
        if status == "running" and n:
            by_stage[stage] += n
            by_region[region] += n
            suspended += n if held else 0
    names = _stage_names(session, sorted(s for s, n in by_stage.items() if s is not None and n))
    region_names = dict(
        session.execute(select(Region.code, Region.name).where(Region.code.in_(list(by_region)))).all()
    )
    return Dashboard(
        by_status={status: n for status, n in by_status.items() if n},
        suspended=suspended,
        by_stage=[
            (stage, names.get(stage), n) for stage, n in sorted(by_stage.items(), key=_stage_order) if n
        ],
        overdue=_capped(session, overdue_tasks(now)),
        dprd_soon=_capped(session, dprd_soon(session, now)),
        dprd_until=dprd_window(session, now),
        incidents=_capped(session, OPEN_INCIDENT, of=Incident.id),
        nobody=_capped(session, Task.id.in_(stuck_tasks(session, policy))),
        by_region=[
            (code, region_names.get(code) or code or "Nasional", n)
            for code, n in sorted(by_region.items(), key=lambda item: (-item[1], item[0] or ""))
            if n
        ],
        stage_days=stage_days(session, now),
    )


def _stage_order(item: tuple[int | None, int]) -> tuple[bool, int]:
    """Stages in order, cases without a stage last (as SQL's NULLS LAST on PostgreSQL)."""
    return (item[0] is None, item[0] or 0)


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

        sort = args.get("urut", "diperbarui")
        return cls(
            q=args.get("q", "").strip()[:200],
            status=args.get("status", "") if args.get("status") in STATUS_FILTERS else "",
            stage=parse_id(args.get("tahap", "")),
            region=args.get("wilayah", "").strip()[:20],
            kind=args.get("jenis", "").strip()[:60],
            overdue=args.get("terlambat") == "1",
            incident=args.get("insiden") == "1",
            dprd=args.get("dprd") == "1",
            started_from=day("dari"),
            started_to=day("sampai"),
            sort=sort if sort in SORTS else "diperbarui",
            descending=args.get("arah", "turun") != "naik",
            page=counting.asked_page(args.get("halaman")),
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


def region_choices(session: Session) -> list:
    """(code, name) of every region by name, for the console's region pickers."""
    return session.execute(select(Region.code, Region.name).order_by(Region.name)).all()


STATUS_FILTERS = {
    "running": "Berjalan",
    "suspended": "Ditangguhkan",
    "completed": "Selesai",
    "cancelled": "Dibatalkan",
}


def case_page(session: Session, filters: CaseFilters, now: datetime) -> counting.Page[tuple]:
    """Rows of (case, region name, partner, country, kind)."""
    where: list[ColumnElement[bool]] = []
    if filters.q.strip():
        where.append(case_search(session, filters.q))
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
    shown = [
        (i, region or i.region_code or "Nasional", p or "-", c or "-", k or "-")
        for i, region, p, c, k in rows
    ]
    return counting.Page.of(shown, total, pager)


# --- the queue of tasks nobody can take ----------------------------------------------------------------


@dataclass(frozen=True)
class StuckTask:
    task: Task
    instance: Instance
    region_name: str
    why: str


def stuck_page(session: Session, policy: AccessPolicy, page: int) -> counting.Page[StuckTask]:
    """Tasks nobody can take (`web.console.unserved`), oldest first, each with why."""
    # The ids in the page's order, as many as the count reads: the count and every page up to
    # the cap come from this one reading of the offers nobody serves; a page past it asks again.
    ordered = (
        select(Task.id).where(Task.id.in_(stuck_tasks(session, policy))).order_by(Task.created_at, Task.id)
    )
    first = session.scalars(ordered.limit(counting.COUNT_CAP + 1)).all()
    pager = counting.Pager.of(len(first), page, PAGE_SIZE)
    if len(first) <= counting.COUNT_CAP or pager.offset + pager.limit <= len(first):
        ids = first[pager.offset : pager.offset + pager.limit]
    else:
        ids = session.scalars(ordered.limit(pager.limit).offset(pager.offset)).all()
    rows = session.execute(
        select(Task, Instance, Region.name)
        .join(Instance, Instance.id == Task.instance_id)
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(Task.id.in_(ids))
        .order_by(Task.created_at, Task.id)
    ).all()
    stuck = [
        StuckTask(t, i, name or i.region_code or "Nasional", _why(t, name, policy)) for t, i, name in rows
    ]
    return counting.Page.of(stuck, len(first), pager)


def incident_page(session: Session, page: int) -> counting.Page[tuple[Incident, Instance]]:
    """Open incidents, oldest first (`ix_incidents_open`)."""
    total = _capped(session, OPEN_INCIDENT, of=Incident.id)
    pager = counting.Pager.of(total, page, PAGE_SIZE)
    rows = session.execute(
        select(Incident, Instance)
        .join(Instance, Instance.id == Incident.instance_id)
        .where(OPEN_INCIDENT)
        .order_by(Incident.created_at, Incident.id)
        .limit(pager.limit)
        .offset(pager.offset)
    ).all()
    return counting.Page.of([tuple(row) for row in rows], total, pager)


def _why(task: Task, region_name: str | None, policy: AccessPolicy) -> str:
    if task.assignee:
        return f"Penerima tugas ({task.assignee}) nonaktif atau tidak ada"
    groups = [g for g in task.candidate_groups.split(",") if g.strip()]
    if not groups and not task.candidate_users.strip():
        return "Tugas tanpa kandidat (grup maupun pengguna)"
    names = ", ".join(policy.label(g.strip()) for g in groups) or "-"
    where = f" di {region_name}" if region_name and any(g in policy.regional_groups for g in groups) else ""
    return f"Tidak ada akun aktif grup {names}{where}"

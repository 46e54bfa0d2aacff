"""The staff case list: search, filters, sort and pages, as one SQL query on projection columns.

Only the list columns of `instances` are read (never the state or the variables JSON), the count
stops at `counting.COUNT_CAP` + 1 rows, and every filter and sort has an index (migration 0010).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from engine.access import Actor, offers_to, visible_instances
from engine.ids import parse_id
from engine.models import Instance, Region, Task, TaskCandidate

from . import counting
from .case_search import case_search
from .case_tasks import with_a_task
from .views import RegionView, region_of

PAGE_SIZE = 25
MAX_QUERY = 100

# Each sort: its label, its columns, descending (`counting.index_order` adds the tie-break).
SORTS: dict[str, tuple[str, tuple[Any, ...], bool]] = {
    "diperbarui": ("Terakhir diperbarui", (Instance.updated_at,), True),
    "dimulai": ("Terbaru dimulai", (Instance.started_at,), True),
    "terlama": ("Terlama dimulai", (Instance.started_at,), False),
    "judul": ("Judul (A–Z)", (Instance.title,), False),
    "mitra": ("Mitra (A–Z)", (Instance.partner,), False),
    # within a stage, the case left alone longest first (the order of ix_instances_stage_updated)
    "tahap": ("Tahap (awal ke akhir)", (Instance.stage, Instance.updated_at), False),
}
STATUSES = ("running", "completed", "cancelled")


@dataclass(frozen=True)
class CaseQuery:
    """What the person asked for, read from the query string and cleaned (bad values ignored)."""

    text: str = ""
    stage: int | None = None
    status: str = ""
    kind: str = ""
    overdue: bool = False
    mine: bool = False
    sort: str = "diperbarui"
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> CaseQuery:
        stage = args.get("tahap", "")
        page = args.get("halaman", "")
        status = args.get("status", "")
        sort = args.get("urut", "")
        return cls(
            text=" ".join(str(args.get("q", "")).split())[:MAX_QUERY],
            stage=parse_id(stage),
            status=status if status in STATUSES else "",
            kind=str(args.get("jenis", ""))[:50],
            overdue=args.get("terlambat") == "1",
            mine=args.get("saya") == "1",
            sort=sort if sort in SORTS else "diperbarui",
            page=counting.asked_page(page),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string for a link to another page or sort of the same list."""
        values = {
            "q": self.text,
            "tahap": self.stage,
            "status": self.status,
            "jenis": self.kind,
            "terlambat": "1" if self.overdue else "",
            "saya": "1" if self.mine else "",
            "urut": self.sort if self.sort != "diperbarui" else "",
            "halaman": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None)}

    @property
    def filtered(self) -> bool:
        return bool(self.text or self.stage or self.status or self.kind or self.overdue or self.mine)


@dataclass(frozen=True)
class CaseRow:
    id: int
    title: str
    business_key: str | None
    partner: str | None
    country: str | None
    kind: str | None
    stage: int | None
    definition_id: int
    status: str
    region_code: str | None
    region: RegionView
    updated_at: datetime
    next_due_at: datetime | None
    overdue: bool


def _overdue(session: Session, now: datetime) -> ColumnElement[bool]:
    late = and_(Task.status == "ready", Task.due_at < now)
    return with_a_task(session, select(Task.instance_id).where(late), late)


def _waiting_for(session: Session, actor: Actor) -> ColumnElement[bool]:
    """A ready task of the case is offered to the actor (group, name or claimed): listed from the
    actor's side through the `task_candidates` index, as the inbox does, or asked per case."""
    who = offers_to(actor)
    offers = select(TaskCandidate.task_id).where(who)
    listed = select(Task.instance_id).where(Task.status == "ready", Task.id.in_(offers))
    offered = exists().where(TaskCandidate.task_id == Task.id, who)
    return with_a_task(session, listed, and_(Task.status == "ready", offered))


def where(session: Session, query: CaseQuery, actor: Actor, now: datetime) -> ColumnElement[bool]:
    clauses = [visible_instances(actor)]
    if query.text:
        clauses.append(case_search(session, query.text))
    if query.stage is not None:
        clauses.append(Instance.stage == query.stage)
    if query.status:
        clauses.append(Instance.status == query.status)
    if query.kind:
        clauses.append(Instance.kind == query.kind)
    if query.overdue:
        clauses.append(_overdue(session, now))
    if query.mine:
        clauses.append(_waiting_for(session, actor))
    return and_(*clauses)


def case_page(session: Session, actor: Actor, query: CaseQuery, now: datetime) -> counting.Page[CaseRow]:
    """One page of the cases the actor sees that match, with how many match (to the cap)."""
    condition = where(session, query, actor, now)
    total = counting.capped_count(session, select(Instance.id).where(condition))
    pager = counting.Pager.of(total, query.page, PAGE_SIZE)
    _label, columns, descending = SORTS[query.sort]
    result = session.execute(
        select(
            Instance.id,
            Instance.title,
            Instance.business_key,
            Instance.partner,
            Instance.country,
            Instance.kind,
            Instance.stage,
            Instance.definition_id,
            Instance.status,
            Instance.updated_at,
            Instance.region_code,
            Region.name.label("region_name"),
            Region.level.label("region_level"),
            Region.timezone.label("region_timezone"),
        )
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(condition)
        .order_by(*counting.index_order(columns, descending))
        .offset(pager.offset)
        .limit(pager.limit)
    ).all()
    due = _next_due(session, [row.id for row in result])
    rows = [
        CaseRow(
            id=row.id,
            title=row.title,
            business_key=row.business_key,
            partner=row.partner,
            country=row.country,
            kind=row.kind,
            stage=row.stage,
            definition_id=row.definition_id,
            status=row.status,
            region_code=row.region_code,
            region=region_of(row.region_code, row.region_name, row.region_level, row.region_timezone),
            updated_at=row.updated_at,
            next_due_at=due.get(row.id),
            overdue=due.get(row.id) is not None and due[row.id] <= now,
        )
        for row in result
    ]
    return counting.Page.of(rows, total, pager)


_NEXT_DUE = (
    select(Task.instance_id, func.min(Task.due_at))
    .where(
        Task.instance_id.in_(bindparam("ids", expanding=True)),
        Task.status == "ready",
        Task.due_at.is_not(None),
    )
    .group_by(Task.instance_id)
)


def _next_due(session: Session, ids: list[int]) -> dict[int, datetime]:
    """The soonest deadline of a ready task, for the cases of one page (one grouped query)."""
    if not ids:
        return {}
    rows = session.execute(_NEXT_DUE, {"ids": ids}).all()
    return {instance_id: due for instance_id, due in rows}


def kinds(session: Session, options: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """The kinds to filter on: the start form's options when it has them, else those in use."""
    if options:
        return [(str(o.get("id")), str(o.get("name") or o.get("id"))) for o in options if o.get("id")]
    used = session.scalars(select(Instance.kind).where(Instance.kind.is_not(None)).distinct().limit(50))
    return [(kind, kind) for kind in used]

"""The API's lists: cases, tasks, incidents, history and documents, filtered and paginated in SQL.

Every query carries the actor's clause (`visible_instances`, `candidate_of`), so a token sees
exactly what its user sees on the web, and a page costs the same with ten cases or ten thousand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, defer

from engine.access import Actor, candidate_of, offered_to, visible_instances
from engine.forms import describe
from engine.models import AuditEvent, Document, Incident, Instance, Region, Task
from engine.views import instance_summary, task_summary

from ..case_search import case_search
from ..case_tasks import with_a_task
from ..counting import index_order

SORTS: dict[str, tuple[Any, ...]] = {
    "id": (),
    "started_at": (Instance.started_at,),
    "updated_at": (Instance.updated_at,),
    "stage": (Instance.stage, Instance.updated_at),
    "title": (Instance.title,),
}


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class CaseFilters:
    q: str | None = None
    status: str | None = None
    stage: int | None = None
    region: str | None = None
    kind: str | None = None
    overdue: bool | None = None
    incident: bool | None = None
    started_from: date | None = None
    started_to: date | None = None
    sort: str = "-updated_at"


def _paged(session: Session, query: Select, page: Page) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.execute(query.limit(page.size).offset(page.offset)))
    return rows, total


def _started_between(session: Session, first: date | None, last: date | None) -> ColumnElement[bool]:
    """Started on or after `first` and on or before `last`, each day in the case's own region's zone."""
    zones = set(session.scalars(select(Region.timezone).distinct())) | {"Asia/Jakarta"}
    clauses = []
    for zone in sorted(zones):
        tz = ZoneInfo(zone)
        bounds = []
        if first is not None:
            bounds.append(Instance.started_at >= datetime.combine(first, time(), tzinfo=tz))
        if last is not None:
            bounds.append(Instance.started_at < datetime.combine(last + timedelta(days=1), time(), tzinfo=tz))
        in_zone = Region.timezone == zone
        if zone == "Asia/Jakarta":
            in_zone = or_(in_zone, Region.timezone.is_(None))  # a case without a region
        clauses.append(and_(in_zone, *bounds))
    return or_(*clauses)


def cases(
    session: Session, actor: Actor, filters: CaseFilters, page: Page, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    query = (
        select(Instance)
        .options(defer(Instance.variables))
        .outerjoin(Region, Region.code == Instance.region_code)
        .where(visible_instances(actor))
    )
    if filters.q and filters.q.strip():
        query = query.where(case_search(session, filters.q))
    if filters.status:
        query = query.where(Instance.status == filters.status)
    if filters.stage is not None:
        query = query.where(Instance.stage == filters.stage)
    if filters.region:
        query = query.where(Instance.region_code == filters.region)
    if filters.kind:
        query = query.where(Instance.kind == filters.kind)
    if filters.overdue is not None:
        due = and_(Task.status == "ready", Task.due_at < now)
        late = with_a_task(session, select(Task.instance_id).where(due), due)
        query = query.where(late if filters.overdue else ~late)
    if filters.incident is not None:
        stuck = exists().where(Incident.instance_id == Instance.id, Incident.resolved_at.is_(None))
        query = query.where(stuck if filters.incident else ~stuck)
    if filters.started_from or filters.started_to:
        query = query.where(_started_between(session, filters.started_from, filters.started_to))
    query = query.order_by(*index_order(SORTS[filters.sort.lstrip("-")], filters.sort.startswith("-")))
    rows, total = _paged(session, query, page)
    return [instance_summary(row[0]) for row in rows], total


TASK_SCOPES = ("all", "mine", "groups")


def tasks(
    session: Session, actor: Actor, scope: str, instance_id: int | None, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Ready tasks the actor may do, soonest deadline first: all of them, only those assigned to
    the actor (`mine`), or only those offered to their groups that nobody took yet (`groups`)."""
    query = (
        select(Task)
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.status == "ready", offered_to(actor), visible_instances(actor))  # as the inbox
    )
    if scope == "mine":
        query = query.where(Task.assignee == actor.username)
    elif scope == "groups":
        query = query.where(Task.assignee.is_(None))
    if instance_id is not None:
        query = query.where(Task.instance_id == instance_id)
    query = query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)
    rows, total = _paged(session, query, page)
    return [task_summary(row[0]) for row in rows], total


def task(session: Session, actor: Actor, task_id: str) -> dict[str, Any] | None:
    """A task of a case the actor sees (any status) with its form, and whether the actor may do it."""
    row = session.execute(
        select(Task, candidate_of(actor).label("offered"))
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.id == task_id, visible_instances(actor))
    ).first()
    if row is None:
        return None
    data = task_summary(row[0])
    data["form"] = [describe(f) for f in json.loads(row[0].form or "[]")]
    data["may_do"] = bool(row.offered) and row[0].status == "ready"
    return data


def incidents(
    session: Session, actor: Actor, open_only: bool | None, instance_id: int | None, page: Page
) -> tuple[list[dict[str, Any]], int]:
    query = (
        select(Incident).join(Instance, Instance.id == Incident.instance_id).where(visible_instances(actor))
    )
    if open_only is not None:
        query = query.where(
            Incident.resolved_at.is_(None) if open_only else Incident.resolved_at.is_not(None)
        )
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    rows, total = _paged(session, query.order_by(Incident.id.desc()), page)
    return [incident_summary(row[0], actor.is_operator) for row in rows], total


def incident_summary(incident: Incident, with_traceback: bool) -> dict[str, Any]:
    return {
        "id": incident.id,
        "instance_id": incident.instance_id,
        "element": incident.bpmn_id,
        "message": incident.message,
        "traceback": incident.traceback if with_traceback else None,
        "created_at": incident.created_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "resolved_by": incident.resolved_by,
    }


def incident(session: Session, actor: Actor, incident_id: int) -> dict[str, Any] | None:
    found = session.scalar(
        select(Incident)
        .join(Instance, Instance.id == Incident.instance_id)
        .where(Incident.id == incident_id, visible_instances(actor))
    )
    return incident_summary(found, actor.is_operator) if found else None


def history(session: Session, instance_id: int, page: Page) -> tuple[list[dict[str, Any]], int]:
    """The case's audit trail, oldest first (the case is already known to be visible)."""
    query = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    rows, total = _paged(session, query, page)
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "task_id": e.task_id,
            "element": e.bpmn_id,
            "detail": json.loads(e.detail or "{}"),
        }
        for (e,) in rows
    ], total


def document_summary(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "instance_id": document.instance_id,
        "task_id": document.task_id,
        "field": document.field,
        "stage": document.stage,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at.isoformat(),
    }


def documents(session: Session, instance_id: int) -> list[dict[str, Any]]:
    query = (
        select(Document)
        .options(defer(Document.content))
        .where(Document.instance_id == instance_id)
        .order_by(Document.id)
    )
    return [document_summary(d) for d in session.scalars(query)]


def document_meta(session: Session, document_id: int) -> dict[str, Any] | None:
    found = session.scalar(
        select(Document).options(defer(Document.content)).where(Document.id == document_id)
    )
    return document_summary(found) if found else None

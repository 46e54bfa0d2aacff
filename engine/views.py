"""The read side: plain dicts from the projection tables, for the CLI, the JSON API and the console.

Nothing here deserialises a workflow: lists and details come from indexed rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, true
from sqlalchemy.orm import Session

from .access import Actor, offered_to, visible_instances
from .calendar import WorkingCalendar
from .models import AuditEvent, CalendarOverride, Incident, Instance, Job, Region, Task, TaskCandidate, Timer

# The operators' overrides of the national ones and of some regions (built once: steps and pages ask).
_OVERRIDES = select(
    CalendarOverride.region_code,
    CalendarOverride.day,
    CalendarOverride.is_holiday,
    CalendarOverride.description,
).where(
    or_(
        CalendarOverride.region_code.is_(None),
        CalendarOverride.region_code.in_(bindparam("codes", expanding=True)),
    )
)


# Keys of `Session.info`: the process's calendar cache (the orchestrator's sessions carry it) and
# the calendar version a request read with its account (`web.db.keep_frame`).
CALENDAR_CACHE = "ksdpl_calendars"
CALENDAR_VERSION_READ = "ksdpl_calendar_version"


def calendars_for(session: Session, codes: Iterable[str | None]) -> dict[str | None, WorkingCalendar]:
    """Each region's working calendar (the national overrides, its own winning) and the national
    one under None: from the process's cache when the session knows the calendar version it read
    (a web request reads it with its account), else from one query."""
    cache, version = session.info.get(CALENDAR_CACHE), session.info.get(CALENDAR_VERSION_READ)
    if cache is not None and version is not None:
        return cache.many(session, codes, version)
    return read_calendars(session, codes)


def read_calendars(session: Session, codes: Iterable[str | None]) -> dict[str | None, WorkingCalendar]:
    """`calendars_for` from one query: the only place calendars are read from the database."""
    wanted = sorted({code for code in codes if code})
    national, own = [], defaultdict(list)
    for row in session.execute(_OVERRIDES, {"codes": wanted}):
        (national if row.region_code is None else own[row.region_code]).append(row)

    def build(entries) -> WorkingCalendar:
        return WorkingCalendar(
            {row.day: row.is_holiday for row in entries},
            {row.day: row.description for row in entries if row.description},
        )

    result: dict[str | None, WorkingCalendar] = {None: build(national)}
    for code in wanted:
        result[code] = build(national + own[code]) if own[code] else result[None]
    return result


class CalendarCache:
    """Working calendars per region with the operators' overrides, built once per calendar
    version: the newest decree's id. A decree writes its override and its row in one
    transaction, so whoever reads the version reads it with the overrides it stands for; a step
    reads it in the query that loads its case, a page with its account. Neither therefore
    computes a deadline on a calendar older than a decree committed before it began, in
    whichever process the decree was entered."""

    def __init__(self) -> None:
        self._entries: dict[str | None, tuple[int, WorkingCalendar]] = {}

    def get(self, s: Session, region_code: str | None, version: int) -> WorkingCalendar:
        return self.many(s, [region_code], version)[region_code]

    def many(
        self, s: Session, codes: Iterable[str | None], version: int
    ) -> dict[str | None, WorkingCalendar]:
        """The calendars of `codes` and the national one (under None); the ones not built at this
        version yet are read in one query. What is returned was built at `version` or read now,
        never taken back from the cache after a write: a thread that read an older version may
        have written its older calendar meanwhile."""
        result: dict[str | None, WorkingCalendar] = {}
        stale = []
        for code in {None, *(code for code in codes if code)}:
            entry = self._entries.get(code)
            if entry is not None and entry[0] == version:
                result[code] = entry[1]
            else:
                stale.append(code)
        if stale:
            read = read_calendars(s, stale)
            for code in stale:
                result[code] = read[code]
                self._entries[code] = (version, read[code])
        return result


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def instance_summary(instance) -> dict[str, Any]:
    """A case as lists show it; `instance` is an Instance or a row of `INSTANCE_LIST_COLUMNS`."""
    return {
        "id": instance.id,
        "process": instance.process_key,
        "version": instance.process_version,
        "title": instance.title,
        "business_key": instance.business_key,
        "region": instance.region_code,
        "status": instance.status,
        "stage": instance.stage,
        "stage_name": instance.stage_name,
        "started_at": _iso(instance.started_at),
        "updated_at": _iso(instance.updated_at),
        "ended_at": _iso(instance.ended_at),
    }


def task_summary(task, with_form: bool = False) -> dict[str, Any]:
    """A task as lists show it; `task` is a Task or a row of `TASK_LIST_COLUMNS` (without a form)."""
    data = {
        "id": task.id,
        "instance_id": task.instance_id,
        "element": task.bpmn_id,
        "name": task.name,
        "lane": task.lane,
        "stage": task.stage,
        "status": task.status,
        "candidate_groups": [g for g in task.candidate_groups.split(",") if g],
        "assignee": task.assignee,
        "due_at": _iso(task.due_at),
        "created_at": _iso(task.created_at),
        "completed_at": _iso(task.completed_at),
        "completed_by": task.completed_by,
    }
    if with_form:
        data["form"] = json.loads(task.form)
    return data


def _scope(actor: Actor | None) -> ColumnElement[bool]:
    return visible_instances(actor) if actor is not None else true()


# What the lists show: never the case state, its variables or a task's form.
INSTANCE_LIST_COLUMNS = (
    Instance.id,
    Instance.process_key,
    Instance.process_version,
    Instance.title,
    Instance.business_key,
    Instance.region_code,
    Instance.status,
    Instance.stage,
    Instance.stage_name,
    Instance.started_at,
    Instance.updated_at,
    Instance.ended_at,
)
TASK_LIST_COLUMNS = (
    Task.id,
    Task.instance_id,
    Task.bpmn_id,
    Task.name,
    Task.lane,
    Task.stage,
    Task.status,
    Task.candidate_groups,
    Task.assignee,
    Task.due_at,
    Task.created_at,
    Task.completed_at,
    Task.completed_by,
)
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Listing:
    """One page of a list and how many rows the whole list has (counted by SQL)."""

    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def list_instances(
    s: Session,
    actor: Actor | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Listing:
    """Cases, newest first (the primary key orders them: no sort on an unindexed column)."""
    where = [_scope(actor)] + ([Instance.status == status] if status else [])
    total = s.scalar(select(func.count()).select_from(Instance).where(*where)) or 0
    rows = s.execute(
        select(*INSTANCE_LIST_COLUMNS).where(*where).order_by(Instance.id.desc()).limit(limit).offset(offset)
    )
    return Listing([instance_summary(row) for row in rows], total, limit, offset)


def list_tasks(
    s: Session,
    actor: Actor | None = None,
    instance_id: int | None = None,
    group: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Listing:
    """Ready user tasks by due date (none last), those offered to `group` or to `actor` from the
    `task_candidates` index; their forms are in `instance_detail`."""
    where = [Task.status == "ready", _scope(actor)]
    if actor is not None:
        where.append(offered_to(actor))
    if instance_id is not None:
        where.append(Task.instance_id == instance_id)
    if group:
        offered = select(TaskCandidate.task_id).where(
            TaskCandidate.kind == "group", TaskCandidate.name == group
        )
        where.append(Task.id.in_(offered))
    joined = select().select_from(Task).join(Instance, Instance.id == Task.instance_id).where(*where)
    total = s.scalar(joined.add_columns(func.count())) or 0
    rows = s.execute(
        joined.add_columns(*TASK_LIST_COLUMNS)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)
        .limit(limit)
        .offset(offset)
    )
    return Listing([task_summary(row) for row in rows], total, limit, offset)


def instance_detail(s: Session, instance_id: int, actor: Actor | None = None) -> dict[str, Any] | None:
    instance = s.scalars(select(Instance).where(Instance.id == instance_id, _scope(actor))).first()
    if instance is None:
        return None
    region = s.get(Region, instance.region_code) if instance.region_code else None
    data = instance_summary(instance)
    data["region_name"] = region.name if region else None
    data["timezone"] = region.timezone if region else None
    data["variables"] = json.loads(instance.variables)
    data["tasks"] = [
        task_summary(t, with_form=True)
        for t in s.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "ready"))
    ]
    data["timers"] = [
        {
            "id": t.id,
            "element": t.bpmn_id,
            "name": t.name,
            "due_at": _iso(t.due_at),
            "interrupting": t.interrupting,
        }
        for t in s.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.due_at))
    ]
    data["jobs"] = [
        {
            "id": j.id,
            "element": j.bpmn_id,
            "name": j.name,
            "topic": j.topic,
            "status": j.status,
            "attempts": j.attempts,
            "max_attempts": j.max_attempts,
            "next_run_at": _iso(j.next_run_at),
            "last_error": j.last_error,
        }
        for j in s.scalars(select(Job).where(Job.instance_id == instance_id))
    ]
    data["incidents"] = [
        {
            "id": i.id,
            "element": i.bpmn_id,
            "message": i.message,
            "created_at": _iso(i.created_at),
            "resolved_at": _iso(i.resolved_at),
        }
        for i in s.scalars(select(Incident).where(Incident.instance_id == instance_id).order_by(Incident.id))
    ]
    data["history"] = [
        {
            "at": _iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "task_id": e.task_id,
            "element": e.bpmn_id,
            "detail": json.loads(e.detail),
        }
        for e in s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
        )
    ]
    return data

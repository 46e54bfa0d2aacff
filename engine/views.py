"""The read side: plain dicts from the projection tables, for the CLI, the JSON API and the console.

Nothing here deserialises a workflow: lists and details come from indexed rows.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from .access import Actor, candidate_of, offered_to_group, visible_instances
from .models import AuditEvent, Incident, Instance, Job, Region, Task, Timer


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def instance_summary(instance: Instance) -> dict[str, Any]:
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


def task_summary(task: Task, with_form: bool = False) -> dict[str, Any]:
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


def list_instances(
    s: Session, actor: Actor | None = None, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(Instance).where(_scope(actor)).order_by(Instance.id.desc()).limit(limit)
    if status:
        query = query.where(Instance.status == status)
    return [instance_summary(i) for i in s.scalars(query)]


def list_tasks(
    s: Session,
    actor: Actor | None = None,
    instance_id: int | None = None,
    group: str | None = None,
    status: str = "ready",
) -> list[dict[str, Any]]:
    query = (
        select(Task)
        .join(Instance, Instance.id == Task.instance_id)
        .where(_scope(actor), Task.status == status)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
    )
    if actor is not None:
        query = query.where(candidate_of(actor))
    if instance_id is not None:
        query = query.where(Task.instance_id == instance_id)
    if group:
        query = query.where(offered_to_group(group))
    return [task_summary(t, with_form=True) for t in s.scalars(query)]


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

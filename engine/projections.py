"""Projections: the task, job and timer rows a step leaves behind, written beside the state.

This is the hot path of every step, so it uses Core statements built once (their compiled form
and cache key are reused), reads nothing (what is projected mirrors the state as loaded), writes
only the rows that changed, and on PostgreSQL sends them as one statement (`writes.Writes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy import case as sql_case

from . import notices
from .access import candidate_rows
from .attributes import compile_attribute
from .models import CalendarDecree, Instance, Job, Region, Task, TaskCandidate, TaskDraft, Timer
from .runtime import Case, dumps, ext, parse_retry_cycle
from .timers import due_date, parse_instant
from .writes import Writes

# The working-day calendar's version: the newest decree (0 before any). Read with every case.
CALENDAR_VERSION = select(func.coalesce(func.max(CalendarDecree.id), 0)).scalar_subquery()
# Whether anyone keeps a draft of one of the case's tasks: closing tasks then deletes them.
HAS_DRAFTS = exists().where(TaskDraft.instance_id == Instance.id)

LOAD_COLUMNS = (
    Instance.state,
    Instance.variables.label("projected_variables"),
    Instance.lock_version,
    Instance.definition_id,
    Instance.process_key,
    Instance.region_code,
    Instance.status.label("instance_status"),
    Instance.suspended_at,
    Instance.business_key,
    Region.name.label("region_name"),
    Region.level.label("region_level"),
    Region.timezone.label("region_timezone"),
    CALENDAR_VERSION.label("calendar_version"),
    HAS_DRAFTS.label("has_drafts"),
)
LOAD = (
    select(*LOAD_COLUMNS)
    .outerjoin(Region, Region.code == Instance.region_code)
    .where(Instance.id == bindparam("id"))
)

SAVE = (
    update(Instance)
    .where(Instance.id == bindparam("iid"), Instance.lock_version == bindparam("seen"))
    .values(
        state=bindparam("state"),
        lock_version=bindparam("next"),
        status=bindparam("status"),
        stage=bindparam("stage"),
        stage_name=bindparam("stage_name"),
        variables=bindparam("variables"),
        partner=bindparam("partner"),
        country=bindparam("country"),
        kind=bindparam("kind"),
        updated_at=bindparam("now"),
        ended_at=bindparam("ended"),
    )
)

CLOSE_TASKS = (
    update(Task)
    .where(Task.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=sql_case((Task.id == bindparam("done"), "completed"), else_="cancelled"),
        completed_at=bindparam("now"),
        completed_by=sql_case((Task.id == bindparam("done"), bindparam("user")), else_=None),
        submitted=sql_case((Task.id == bindparam("done"), bindparam("values")), else_=None),
    )
)
DELETE_DRAFTS = delete(TaskDraft).where(TaskDraft.task_id.in_(bindparam("ids", expanding=True)))
DROP_CANDIDATES = delete(TaskCandidate).where(TaskCandidate.task_id.in_(bindparam("ids", expanding=True)))
DELETE_JOBS = delete(Job).where(Job.id.in_(bindparam("ids", expanding=True)))
INSERT_TASKS = insert(Task)
INSERT_CANDIDATES = insert(TaskCandidate)
INSERT_JOBS = insert(Job)
INSERT_TIMERS = insert(Timer)
DELETE_TIMERS = delete(Timer).where(Timer.id.in_(bindparam("ids", expanding=True)))
REDATE_TASK = (  # a decree moved a working-day due date (decrees.py)
    update(Task)
    .where(Task.id == bindparam("tid"))
    .values(due_at=bindparam("due"), follow_up_at=bindparam("follow_up"))
)
REDATE_CANDIDATES = (  # ... and the inbox's copy of it
    update(TaskCandidate).where(TaskCandidate.task_id == bindparam("tid")).values(due_at=bindparam("due"))
)
# PostgreSQL: tell sleeping workers a step created work (engine/worker.py listens on the channel).
WORK_CHANNEL = "ksdpl_work"
WAKE_WORKERS = select(func.pg_notify(WORK_CHANNEL, ""))
MOVE_TIMER = (  # a timer moved to a new due time is free for any worker to lease (engine/jobs.py)
    update(Timer)
    .where(Timer.id == bindparam("tid"))
    .values(due_at=bindparam("due"), locked_by=None, locked_until=None)
)


LIST_COLUMNS = {"partner": 200, "country": 10, "kind": 50}  # column: length


def list_values(variables: dict[str, Any], names: dict[str, str]) -> dict[str, str | None]:
    """The case's list columns from its variables (`HandlerRegistry.list_columns`), cut to fit."""
    values: dict[str, str | None] = {}
    for column, length in LIST_COLUMNS.items():
        value = variables.get(names.get(column, ""))
        values[column] = str(value)[:length] if value not in (None, "") else None
    return values


@dataclass(frozen=True)
class NextTask:
    name: str
    candidate_groups: list[str]
    due_at: datetime | None
    id: str = ""  # the task's id: what `complete` and the API take next
    element: str = ""


def _evaluate(kind: str, text: str | None, task, functions) -> Any:
    """A Camunda attribute of a task (dueDate, assignee, candidateGroups, ...), compiled as the
    deploy check compiled it (`engine.attributes`)."""
    attribute = compile_attribute(kind, text, task.task_spec.bpmn_id)
    return attribute.evaluate(task.data, functions) if attribute is not None else None


def due_dates(task, functions, timezone: str) -> tuple[datetime | None, datetime | None]:
    """A user task's due and follow-up instants (`camunda:dueDate`, `camunda:followUpDate`);
    a `P...` duration counts from the functions' `now` (when the task arrived)."""
    info = ext(task)
    now = functions["now"]()
    return (
        due_date(_evaluate("dueDate", info.get("due_date"), task, functions), timezone, now),
        due_date(_evaluate("followUpDate", info.get("follow_up_date"), task, functions), timezone, now),
    )


def _evaluate_list(kind: str, values: list[str] | None, task, functions) -> list[str]:
    return _evaluate(kind, ", ".join(values or []), task, functions) or []


@dataclass(frozen=True)
class Completion:
    """The user task a step completed: its row closes as completed, the others as cancelled."""

    task_id: str
    user: str | None
    values: str  # JSON


def write(
    conn: Writes,
    instance_id: int,
    case: Case,
    functions: dict[str, Callable[..., Any]],
    timezone: str,
    now: datetime,
    completion: Completion | None = None,
    actor: str | None = None,
    notify: bool = True,
    region_code: str | None = None,
) -> list[NextTask]:
    """Bring the task, job and timer rows of one case in line with its state; tell the people a
    new task is for (`actor`, who caused the step, is not told; nobody when `notify` is false,
    as while an import replays steps long past).

    What the rows held before is `case.projected` (they were written with the state just
    loaded), so nothing needs reading first. `region_code` is the case's: its tasks' candidate
    rows carry it."""
    before = case.projected
    next_tasks = _write_tasks(
        conn,
        instance_id,
        case,
        functions,
        timezone,
        now,
        before.tasks,
        completion,
        actor,
        notify,
        region_code,
    )
    new_jobs = _write_jobs(conn, instance_id, case, now, before.jobs)
    new_timers = _write_timers(conn, instance_id, case, timezone, now, before.timers)
    if (new_jobs or new_timers) and conn.dialect.name == "postgresql":
        conn.execute(WAKE_WORKERS)  # delivered when the step commits, never for a rolled-back one
    return next_tasks


def _write_tasks(
    conn,
    instance_id,
    case,
    functions,
    timezone,
    now,
    existing: frozenset[str],
    completion: Completion | None,
    actor: str | None,
    notify: bool,
    region_code: str | None,
) -> list[NextTask]:
    ready = {str(task.id): task for task in case.ready_user_tasks()}
    gone = existing - ready.keys()
    if gone:
        done = completion or Completion("", None, "")
        conn.execute(DROP_CANDIDATES, {"ids": sorted(gone)})
        conn.execute(
            CLOSE_TASKS,
            {"ids": sorted(gone), "now": now, "done": done.task_id, "user": done.user, "values": done.values},
        )
        if case.has_drafts is not False:  # a closed task's drafts are done with (unknown: look)
            conn.execute(DELETE_DRAFTS, {"ids": sorted(gone)})
    rows, due_by_id = [], {}
    for task_id in ready.keys() - existing:
        task = ready[task_id]
        info = ext(task)
        due, follow_up = due_dates(task, functions, timezone)
        due_by_id[task_id] = due
        rows.append(
            {
                "id": task_id,
                "instance_id": instance_id,
                "bpmn_id": task.task_spec.bpmn_id,
                "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                "lane": task.task_spec.lane,
                "stage": info.get("stage"),
                "status": "ready",
                "candidate_groups": ",".join(
                    _evaluate_list("candidateGroups", info.get("candidate_groups"), task, functions)
                ),
                "candidate_users": ",".join(
                    _evaluate_list("candidateUsers", info.get("candidate_users"), task, functions)
                ),
                "assignee": _evaluate("assignee", info.get("assignee"), task, functions),
                "priority": int(info["priority"]) if (info.get("priority") or "").isdigit() else None,
                "due_at": due,
                "follow_up_at": follow_up,
                "form": dumps(info.get("form") or []),
                "handler": info.get("handler"),
                "created_at": now,
            }
        )
    if rows:
        conn.execute(INSERT_TASKS, rows)
        candidates = [candidate for row in rows for candidate in candidate_rows(row, region_code)]
        if candidates:
            conn.execute(INSERT_CANDIDATES, candidates)
        if notify:
            conn.execute(notices.OUTBOX, [notices.task_ready(row, actor) for row in rows])
    return [
        NextTask(
            task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            list(ext(task).get("candidate_groups") or []),
            due_by_id.get(task_id),
            id=task_id,
            element=task.task_spec.bpmn_id,
        )
        for task_id, task in ready.items()
    ]


def _write_jobs(conn, instance_id, case, now, existing: frozenset[str]) -> bool:
    open_jobs = {str(task.id): task for task in case.open_jobs()}
    gone = existing - open_jobs.keys()
    if gone:
        conn.execute(DELETE_JOBS, {"ids": sorted(gone)})
    rows = []
    for task_id in open_jobs.keys() - existing:
        task = open_jobs[task_id]
        info = ext(task)
        tries, delay = parse_retry_cycle(info.get("retry_cycle"))
        rows.append(
            {
                "id": task_id,
                "instance_id": instance_id,
                "bpmn_id": task.task_spec.bpmn_id,
                "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                "topic": info["topic"],
                "status": "ready",
                "attempts": 0,
                "max_attempts": tries,
                "retry_delay_seconds": int(delay.total_seconds()),
                "next_run_at": now,
            }
        )
    if rows:
        conn.execute(INSERT_JOBS, rows)
    return bool(rows)


def _write_timers(conn, instance_id, case, timezone, now, existing: dict[str, str]) -> bool:
    """A row per timer that will still fire; a spent cycle or an ended case has none. True when a
    row was added."""
    running = case.status == "running"
    waiting = {timer.id: timer for timer in case.waiting_timers() if timer.due and running}
    gone = existing.keys() - waiting.keys()
    if gone:
        conn.execute(DELETE_TIMERS, {"ids": sorted(gone)})
    rows = []
    for timer_id, timer in waiting.items():
        due = parse_instant(timer.due, timezone)
        if timer_id not in existing:
            rows.append(
                {
                    "id": timer_id,
                    "instance_id": instance_id,
                    "bpmn_id": timer.bpmn_id,
                    "name": timer.name,
                    "due_at": due,
                    "interrupting": timer.interrupting,
                    "attached_to": timer.attached_to,
                    "created_at": now,
                }
            )
        elif existing[timer_id] != timer.due:
            conn.execute(MOVE_TIMER, {"tid": timer_id, "due": due})
    if rows:
        conn.execute(INSERT_TIMERS, rows)
    return bool(rows)

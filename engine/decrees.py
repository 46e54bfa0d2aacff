"""Calendar decrees: an operator changes the working days, and every waiting deadline follows.

`set_calendar_override` records the override, the decree and one re-evaluation job per running
case of the decree's region (of every region for a national decree) in one transaction. The
worker works the jobs off, each in a step of its own (`_reevaluate_leased`): it recomputes the
variables handlers derived from the calendar (`calendar_derived` + `recompute` on the handler),
then the due dates of ready tasks and the waiting date timers whose expressions count working
days or read such a variable. A job that loses a race is tried again on the next pass, a case
that has ended is skipped, and a job that fails three times is reported as failed
(`calendar_status`) until an operator retries it.

Why nothing is missed while people keep working: the decree's id is the calendar's version and
every step reads it with its case (`LOAD`), so a step that starts after the decree computes on
the new calendar; a step that loaded its case before the decree loses its race against the
job (the job always moves the case's `lock_version`), or commits first and the job then
re-evaluates what it wrote. A start holds its region's row shared while the decree takes it
exclusively, so the decree's list of running cases includes every case started before it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from .access import Actor
from .calendar import local_today
from .clock import clock
from .errors import Conflict, EngineError, Forbidden, NotFound, Unavailable
from .expressions import ExpressionError
from .models import (
    AuditEvent,
    CalendarDecree,
    CalendarOverride,
    DecreeJob,
    Instance,
    Region,
    Task,
    Timer,
    UTCDateTime,
)
from .projections import LOAD, REDATE_CANDIDATES, REDATE_TASK, due_dates
from .runtime import Case, counts_working_days, ext
from .scripting import build_functions

if TYPE_CHECKING:
    from .jobs import RunReport
    from .service import _Env

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(seconds=30)
STATUSES = ("done", "skipped", "pending", "failed")

TOUCH = (
    update(Instance)
    .where(Instance.id == bindparam("iid"), Instance.lock_version == bindparam("seen"))
    .values(lock_version=bindparam("next"))
)


@dataclass(frozen=True)
class DecreeQueued:
    decree_id: int
    cases: int  # running cases queued for re-evaluation


def _mentions(names: frozenset[str]) -> Callable[[str | None], bool]:
    """Whether an expression depends on the calendar: it counts working days or reads a variable
    some handler derives from the calendar."""
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None

    def depends(expression: str | None) -> bool:
        if not expression:
            return False
        return counts_working_days(expression) or bool(pattern and pattern.search(expression))

    return depends


def _descends_from(task, ancestor) -> bool:
    node = task.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


class Decrees:
    """Mixed into `Orchestrator`: decrees, their status, and the worker's re-evaluation steps."""

    # --- operators --------------------------------------------------------------------------------
    def set_calendar_override(
        self,
        day: date,
        is_holiday: bool,
        region_code: str | None = None,
        description: str = "",
        user: str | None = None,
        actor: Actor | None = None,
    ) -> DecreeQueued:
        """Record a decree's change to the working days (nationally or for one region) and queue
        the re-evaluation of every running case it may affect, in one transaction."""
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengubah kalender kerja")
        user = actor.username if actor else user
        with self.uow() as uow:
            s = uow.session
            regions = select(Region.code)
            if region_code is not None:
                regions = regions.where(Region.code == region_code)
            # Exclusive against starts in flight (they hold their region FOR SHARE): the list of
            # running cases below then includes theirs. SQLite: its one writer serialises them.
            locked = s.scalars(regions.order_by(Region.code).with_for_update()).all()
            if region_code is not None and not locked:
                raise NotFound(f"Wilayah '{region_code}' tidak dikenal")
            now = clock.now()
            same_region = (
                CalendarOverride.region_code.is_(None)
                if region_code is None
                else CalendarOverride.region_code == region_code
            )
            row = s.scalars(select(CalendarOverride).where(CalendarOverride.day == day, same_region)).first()
            row = row or CalendarOverride(day=day, region_code=region_code, created_at=now)
            row.is_holiday, row.description, row.created_by = is_holiday, description[:200], user
            decree = CalendarDecree(
                day=day,
                region_code=region_code,
                is_holiday=is_holiday,
                description=description[:200],
                created_by=user,
                created_at=now,
            )
            s.add_all([row, decree])
            s.flush()
            running = select(
                literal(decree.id),
                Instance.id,
                literal("pending"),
                literal(0),
                literal(now, UTCDateTime()),
            ).where(Instance.status == "running")
            if region_code is not None:
                running = running.where(Instance.region_code == region_code)
            s.execute(
                insert(DecreeJob).from_select(
                    ["decree_id", "instance_id", "status", "attempts", "next_run_at"], running
                )
            )
            cases = s.scalar(select(func.count()).where(DecreeJob.decree_id == decree.id))
            self._audit(
                s,
                None,
                user,
                "calendar",
                detail={
                    "decree": decree.id,
                    "day": day,
                    "holiday": is_holiday,
                    "region": region_code,
                    "description": description,
                    "cases": cases,
                },
            )
            uow.commit()
            return DecreeQueued(decree.id, cases)

    def calendar_status(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest decrees with their progress: cases queued, done, skipped (the case had
        ended), pending and failed, and the errors of failed ones."""
        with self.session() as s:
            decrees = list(s.scalars(select(CalendarDecree).order_by(CalendarDecree.id.desc()).limit(limit)))
            ids = [d.id for d in decrees]
            counts: dict[int, dict[str, int]] = {i: dict.fromkeys(STATUSES, 0) for i in ids}
            for decree_id, status, n in s.execute(
                select(DecreeJob.decree_id, DecreeJob.status, func.count())
                .where(DecreeJob.decree_id.in_(ids))
                .group_by(DecreeJob.decree_id, DecreeJob.status)
            ):
                counts[decree_id][status] = n
            failures: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            for job in s.scalars(
                select(DecreeJob)
                .where(DecreeJob.decree_id.in_(ids), DecreeJob.status == "failed")
                .order_by(DecreeJob.id)
            ):
                failures[job.decree_id].append({"instance": job.instance_id, "error": job.last_error})
        return [
            {
                "decree": d.id,
                "day": d.day,
                "holiday": d.is_holiday,
                "region": d.region_code,
                "description": d.description,
                "by": d.created_by,
                "at": d.created_at,
                "cases": sum(counts[d.id].values()),
                **counts[d.id],
                "failures": failures[d.id],
            }
            for d in decrees
        ]

    def retry_decree(self, decree_id: int, actor: Actor | None = None, user: str | None = None) -> int:
        """Queue a decree's failed re-evaluations again; returns how many."""
        user = actor.username if actor else user
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengulang penghitungan batas waktu")
        with self.uow() as uow:
            s = uow.session
            if s.get(CalendarDecree, decree_id) is None:
                raise NotFound(f"Ketetapan kalender {decree_id} tidak ditemukan")
            retried = s.execute(
                update(DecreeJob)
                .where(DecreeJob.decree_id == decree_id, DecreeJob.status == "failed")
                .values(status="pending", attempts=0, next_run_at=clock.now(), finished_at=None)
            ).rowcount
            self._audit(s, None, user, "calendar-retry", detail={"decree": decree_id, "cases": retried})
            uow.commit()
            return retried

    # --- the worker -------------------------------------------------------------------------------
    def _reevaluate_leased(self, s: Session, job: DecreeJob, report: RunReport, now: datetime) -> None:
        """Re-evaluate one case for one decree in a step of its own (a job the worker leased).
        A lost race raises `Conflict`: the worker tries again on a later pass."""
        decree = s.get(CalendarDecree, job.decree_id)
        try:
            with s.begin_nested():
                outcome = self._reevaluate(s, job.instance_id, decree)
        except (Conflict, Unavailable):
            raise
        except Exception as err:  # recorded on the job, shown by `calendar status`, never lost
            job.attempts += 1
            job.last_error = f"{type(err).__name__}: {err}"
            log.warning(
                "decree %s, case %s: re-evaluation failed, attempt %s of %s: %s",
                decree.id,
                job.instance_id,
                job.attempts,
                MAX_ATTEMPTS,
                err,
            )
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.finished_at = "failed", now
            else:
                job.next_run_at = now + RETRY_DELAY * (2 ** (job.attempts - 1))
            report.reevaluations_failed += 1
        else:
            job.status, job.finished_at = outcome, now
            report.cases_reevaluated += 1
        job.locked_by = job.locked_until = None  # done, or due again at its next try

    def _reevaluate(self, s: Session, instance_id: int, decree: CalendarDecree) -> str:
        """One case on the new calendar: derived variables, due dates, date timers. Returns the
        job's outcome: `done`, or `skipped` for a case that has ended."""
        row = s.connection().execute(LOAD, {"id": instance_id}).first()
        if row is None or row.instance_status != "running":
            return "skipped"
        case, env = self._load_case(s, instance_id, row)
        depends = _mentions(frozenset(self.registry.calendar_derived))
        tasks = [
            task
            for task in case.ready_user_tasks()
            if depends(ext(task).get("due_date")) or depends(ext(task).get("follow_up_date"))
        ]
        timers = [
            task
            for task in case.workflow.event_manager.tasks.values()
            if isinstance(getattr(task.task_spec, "event_definition", None), TimeDateEventDefinition)
            and depends(task.task_spec.event_definition.expression)
        ]
        if not (tasks or timers):
            # Nothing here counts working days; still move the version, so a step that loaded this
            # case on the old calendar (and may add such a deadline) loses its race and runs again.
            if (
                s.connection()
                .execute(TOUCH, {"iid": instance_id, "seen": row.lock_version, "next": row.lock_version + 1})
                .rowcount
                != 1
            ):
                raise Conflict("Kasus sudah diubah oleh pengguna lain")
            return "done"
        try:
            self._recompute_derived(s, instance_id, case, env, [*tasks, *timers], decree)
            self._redate(s, instance_id, case, env, tasks, timers)
        except (SpiffWorkflowException, ExpressionError) as err:
            raise EngineError(f"Proses gagal dijalankan: {err}") from err
        case.earlier_variables = json.loads(row.projected_variables)
        case.has_drafts = bool(row.has_drafts)
        self._save(
            s,
            instance_id,
            row.lock_version,
            case,
            env,
            decree.created_by,
            ("recompute", None, None, {"decree": decree.id, "day": decree.day, "reason": "kalender diubah"}),
        )
        return "done"

    def _recompute_derived(
        self, s: Session, instance_id: int, case: Case, env: _Env, waiting: list, decree: CalendarDecree
    ) -> None:
        """For each waiting deadline, the nearest handler before it on its path that derives
        variables from the calendar computes them again; the open tasks after it carry them on."""
        sources = []
        for task in waiting:
            node = task.parent
            while node is not None:
                info = self.registry.handler_of(node)
                if info is not None and info.recompute is not None and node.state == TaskState.COMPLETED:
                    if all(node is not known for known, _ in sources):
                        sources.append((node, info))
                    break
                node = node.parent
        if not sources:
            return
        open_tasks = [
            *case.ready_user_tasks(),
            *case.open_jobs(),
            *case.workflow.event_manager.tasks.values(),
        ]
        for source, info in sources:
            after = [task for task in open_tasks if _descends_from(task, source)]
            variables = dict(source.data)  # what the handler saw, with the values the case has now
            if after:
                variables.update({k: after[0].data[k] for k in info.calendar_derived if k in after[0].data})
            ctx = self._context(s, instance_id, case, source, env, None, variables)
            ctx.idempotency_key = f"decree:{decree.id}:{source.id}"
            ran_at = s.scalar(  # the handler's own "now": the step that completed its task
                select(AuditEvent.at)
                .where(AuditEvent.instance_id == instance_id, AuditEvent.task_id == str(source.id))
                .order_by(AuditEvent.id.desc())
                .limit(1)
            )
            if ran_at is not None:
                ctx.now, ctx.today = ran_at, local_today(ran_at, env.timezone)
            values = {k: v for k, v in (info.recompute(ctx) or {}).items() if k in info.calendar_derived}
            self._outbox(s, instance_id, env.region, ctx.idempotency_key, ctx.notifications)
            # the open tasks and the path down to them: a boundary event takes its data from the
            # (completed) split above it when it fires, not from itself
            on_path: dict[int, Any] = {}
            for task in after:
                node = task
                while node is not None and node is not source:
                    on_path[id(node)] = node
                    node = node.parent
            for task in on_path.values():
                task.set_data(**values)
            case.written.update(values)

    def _redate(self, s: Session, instance_id: int, case: Case, env: _Env, tasks: list, timers: list) -> None:
        """Evaluate the deadlines again on the new calendar, as of the moment each was first set
        (`today()` in "5 working days from today" is the day the task arrived, not today)."""
        conn = s.connection()
        since = dict(
            conn.execute(
                select(Task.id, Task.created_at).where(
                    Task.instance_id == instance_id, Task.status == "ready"
                )
            ).all()
        )
        timer_rows = {
            t.id: t
            for t in conn.execute(
                select(Timer.id, Timer.created_at, Timer.attached_to).where(Timer.instance_id == instance_id)
            )
        }
        by_element = {t.task_spec.bpmn_id: since.get(str(t.id)) for t in case.ready_user_tasks()}
        engine_functions = env.script_engine.functions

        def functions_at(moment: datetime | None) -> dict[str, Callable[..., Any]]:
            moment = moment or clock.now()
            return build_functions(env.calendar, env.timezone, now=lambda: moment)

        for task in tasks:
            due, follow_up = due_dates(task, functions_at(since.get(str(task.id))), env.timezone)
            conn.execute(REDATE_TASK, {"tid": str(task.id), "due": due, "follow_up": follow_up})
            conn.execute(REDATE_CANDIDATES, {"tid": str(task.id), "due": due})
        try:
            for task in timers:
                row = timer_rows.get(str(task.id))
                moment = (row.created_at or by_element.get(row.attached_to)) if row is not None else None
                env.script_engine.functions = functions_at(moment)
                task.internal_data.pop("event_value", None)
                task.task_spec.event_definition.has_fired(task)  # evaluates it again, as SpiffWorkflow does
        finally:
            env.script_engine.functions = engine_functions
        case.fire_due_timers()  # a deadline the decree moved into the past passes now

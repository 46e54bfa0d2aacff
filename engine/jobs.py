"""The worker's side of the orchestrator: due jobs and timers, retries, incidents.

Mixed into `Orchestrator`. Each job or timer is one step in its own transaction; on PostgreSQL
rows are claimed with `FOR UPDATE SKIP LOCKED`, so any number of workers run side by side.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import notices, timers
from .access import Actor
from .clock import clock
from .errors import Conflict, Forbidden, NotFound, Unavailable
from .models import DecreeJob, Incident, Instance, Job, StartTimer, Timer, WorkerHeartbeat

if TYPE_CHECKING:
    from .runtime import Case
    from .service import _Env

log = logging.getLogger(__name__)

# Cases an operator holds: their jobs and timers wait until resumed (console.Console.resume).
SUSPENDED = select(Instance.id).where(Instance.suspended_at.is_not(None))


@dataclass
class RunReport:
    jobs_run: int = 0
    jobs_failed: int = 0
    incidents: int = 0
    timers_fired: int = 0
    cases_reevaluated: int = 0  # after a calendar decree (decrees.py)
    reevaluations_failed: int = 0
    conflicts: int = 0
    # what the worker's delivery did after the jobs and timers (engine.delivery)
    reminders: int = 0
    notified: int = 0
    emails_sent: int = 0
    emails_failed: int = 0

    @property
    def total(self) -> int:
        return (
            self.jobs_run
            + self.jobs_failed
            + self.timers_fired
            + self.cases_reevaluated
            + self.reevaluations_failed
        )

    def add(self, other: RunReport) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


class NoProgress(RuntimeError):
    """A step that changed nothing it was due to change; repeating it would change nothing either."""


def fire(case: Case, timer: Timer) -> None:
    """Fire a due timer. It counts as fired only when its event left WAITING (or, for a cycle,
    its next firing moved on); otherwise `NoProgress`, which opens an incident on the element
    instead of the worker trying it again and again."""
    before = {t.id: t.due for t in case.waiting_timers()}
    case.fire_due_timers()
    after = {t.id: t.due for t in case.waiting_timers()}
    if timer.id in after and after[timer.id] == before.get(timer.id):
        raise NoProgress(
            f"the engine did not fire this timer at its due time {timer.due_at.isoformat()} "
            f"(it still waits for {after[timer.id] or 'nothing'})"
        )


class Work:
    """Run what is due: service-task jobs (with retries and incidents) and timers."""

    def next_due(self, instance_id: int | None = None) -> datetime | None:
        """When the earliest job or timer (of one case, if given) is due (for the worker's scheduler)."""
        jobs = select(func.min(Job.next_run_at)).where(
            Job.status == "ready", Job.instance_id.not_in(SUSPENDED)
        )
        timers = select(func.min(Timer.due_at)).where(Timer.instance_id.not_in(SUSPENDED))
        start_timers = select(func.min(StartTimer.due_at))
        decrees = select(func.min(DecreeJob.next_run_at)).where(DecreeJob.status == "pending")
        if instance_id is not None:
            jobs = jobs.where(Job.instance_id == instance_id)
            timers = timers.where(Timer.instance_id == instance_id)
            decrees = decrees.where(DecreeJob.instance_id == instance_id)
        with self.session() as s:
            job = s.scalar(jobs)
            timer = s.scalar(timers)
            decree = s.scalar(decrees)
            start = s.scalar(start_timers) if instance_id is None else None
        due = [moment for moment in (job, timer, decree, start) if moment is not None]
        return min(due) if due else None

    def next_job_due(self) -> datetime | None:
        """When the earliest ready job of a running, unheld case is due (the worker's 1-s poll)."""
        with self.session() as s:
            return s.scalar(
                select(func.min(Job.next_run_at)).where(
                    Job.status == "ready", Job.instance_id.not_in(SUSPENDED)
                )
            )

    def heartbeat(self, worker_id: str) -> None:
        """The worker finished a loop: `/healthz` and `/metrics` read how long ago."""
        now = clock.now()
        with self.uow() as uow:
            s = uow.session
            beat = update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id).values(beat_at=now)
            if s.execute(beat).rowcount == 0:
                s.add(WorkerHeartbeat(worker_id=worker_id[:200], beat_at=now))
            uow.commit()

    # --- timer start events -------------------------------------------------------------------
    def _schedule_start_timer(self, s: Session, definition_id: int, deployment, now: datetime) -> None:
        """A new version replaces the previous version's start timer (as in Camunda 7)."""
        s.execute(delete(StartTimer).where(StartTimer.process_key == deployment.key))
        if deployment.start_timer is None:
            return
        kind, text = deployment.start_timer
        zone_name = self.default_timezone  # a case started by a timer has no region
        remaining = timers.parse_cycle(text, zone_name).repetitions if kind == "timeCycle" else 1
        s.add(
            StartTimer(
                process_key=deployment.key,
                definition_id=definition_id,
                bpmn_id=deployment.start_event_id,
                kind=kind,
                expression=text,
                timezone=zone_name,
                due_at=timers.first_due(kind, text, zone_name, now),
                remaining=remaining,
                fired=0,
            )
        )

    def _run_one_start_timer(self, report: RunReport, seen: set[str]) -> bool:
        """Start one case for a due timer start event, and move the timer to its next firing (or
        drop it after its last) in the same transaction."""
        now = clock.now()
        with self.uow() as uow:
            s = uow.session
            due = select(StartTimer).where(StartTimer.due_at <= now, StartTimer.id.not_in(seen))
            row = self._claim(s, due.order_by(StartTimer.due_at))
            if row is None:
                return False
            seen.add(row.id)
            try:
                with s.begin_nested():
                    instance_id = self.joined(s.connection()).start(row.process_key, None, {})
                    self._audit(
                        s,
                        instance_id,
                        None,
                        "timer",
                        bpmn_id=row.bpmn_id,
                        detail={"timer": row.bpmn_id, "due": row.due_at, "start": True},
                    )
                report.timers_fired += 1
            except Unavailable:
                raise
            except Exception as err:  # the firing is spent either way; the log says why no case began
                log.warning(
                    "start timer %s of %s did not start a case: %s", row.bpmn_id, row.process_key, err
                )
                report.incidents += 1
            row.fired += 1
            row.remaining = None if row.remaining is None else row.remaining - 1
            following = (
                timers.parse_cycle(row.expression, row.timezone).next_after(row.due_at, now)
                if row.kind == "timeCycle"
                else None
            )
            if row.remaining == 0 or following is None:
                s.delete(row)
            else:
                row.due_at = following
            uow.commit()
            return True

    def run_due(
        self, worker_id: str = "worker", limit: int = 1000, instance_id: int | None = None
    ) -> RunReport:
        """Run every job and fire every timer due now (of one case, if given), each in its own step.
        A case waiting to be re-evaluated after a calendar decree is re-evaluated first: its timers
        wait for it."""
        report = RunReport()
        seen: set[str] = set()
        seen_decree_jobs: set[int] = set()
        seen_start_timers: set[int] = set()
        while report.total + report.conflicts < limit:
            if not (
                (instance_id is None and self._run_one_decree(report, seen_decree_jobs))
                or (instance_id is None and self._run_one_start_timer(report, seen_start_timers))
                or self._run_one_timer(report, seen, instance_id)
                or self._run_one_job(worker_id, report, seen, instance_id)
            ):
                break
        return report

    def _claim(self, s: Session, query):
        return s.scalars(query.limit(1).with_for_update(skip_locked=True)).first()

    def _run_one_timer(self, report: RunReport, seen: set[str], instance_id: int | None = None) -> bool:
        now = clock.now()
        with self.uow() as uow:
            s = uow.session
            blocked = select(Incident.job_id).where(
                Incident.resolved_at.is_(None), Incident.job_id.is_not(None)
            )
            reevaluating = select(DecreeJob.instance_id).where(DecreeJob.status == "pending")
            running = select(Instance.id).where(Instance.status == "running")
            due = select(Timer).where(
                Timer.due_at <= now,
                Timer.id.not_in(seen),
                Timer.id.not_in(blocked),
                Timer.instance_id.not_in(reevaluating),
                Timer.instance_id.in_(running),
                Timer.instance_id.not_in(SUSPENDED),
            )
            if instance_id is not None:
                due = due.where(Timer.instance_id == instance_id)
            timer = self._claim(s, due.order_by(Timer.due_at))
            if timer is None:
                return False
            seen.add(timer.id)
            try:
                with s.begin_nested():
                    self._step(
                        s,
                        timer.instance_id,
                        None,
                        lambda case, env: fire(case, timer),
                        "timer",
                        task_id=timer.id,
                        bpmn_id=timer.bpmn_id,
                        detail={"timer": timer.name, "due": timer.due_at},
                    )
            except Conflict:
                report.conflicts += 1
                return True
            except Unavailable:
                raise  # the database, not the case: the worker backs off and reconnects
            except Exception as err:  # the path after the timer failed: an incident, retried by an operator
                self._open_incident(
                    s,
                    timer.instance_id,
                    timer.id,
                    timer.bpmn_id,
                    f"{timer.name}: {type(err).__name__}: {err}",
                    {"timer": timer.name},
                    now,
                )
                uow.commit()
                report.incidents += 1
                return True
            uow.commit()
            report.timers_fired += 1
            return True

    def _run_one_job(
        self, worker_id: str, report: RunReport, seen: set[str], instance_id: int | None = None
    ) -> bool:
        now = clock.now()
        with self.uow() as uow:
            s = uow.session
            due = select(Job).where(
                Job.status == "ready",
                Job.next_run_at <= now,
                Job.id.not_in(seen),
                Job.instance_id.not_in(SUSPENDED),
            )
            if instance_id is not None:
                due = due.where(Job.instance_id == instance_id)
            job = self._claim(s, due.order_by(Job.next_run_at))
            if job is None:
                return False
            seen.add(job.id)
            handler = self.registry.service_handler(job.topic)

            def apply(case: Case, env: _Env) -> None:
                if handler is None:
                    raise LookupError(f"no handler registered for topic '{job.topic}'")
                task = case.task(job.id)
                ctx = self._context(s, job.instance_id, case, task, env, None, task.data)
                result = handler.function(ctx) or {}
                self._outbox(s, job.instance_id, env.region, f"job:{job.id}", ctx.notifications)
                case.complete_job(job.id, dict(result))

            try:
                with s.begin_nested():
                    self._step(
                        s,
                        job.instance_id,
                        None,
                        apply,
                        "job",
                        task_id=job.id,
                        bpmn_id=job.bpmn_id,
                        detail={"topic": job.topic, "job": job.name},
                    )
            except Conflict:
                report.conflicts += 1
                return True
            except Unavailable:
                raise  # the handler may have run: its next run has the same ctx.idempotency_key
            except Exception as err:  # a handler's failure of any kind is recorded, never lost
                self._job_failed(s, job, err, now)
                report.jobs_failed += 1
                if job.status == "failed":
                    report.incidents += 1
                uow.commit()
                return True
            uow.commit()
            report.jobs_run += 1
            return True

    def _open_incident(
        self,
        s: Session,
        instance_id: int,
        source_id: str,
        bpmn_id: str,
        message: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        """Stop a path until an operator retries it: the failure with its traceback, and its audit
        event; the operators are told."""
        incident = Incident(
            instance_id=instance_id,
            job_id=source_id,
            bpmn_id=bpmn_id,
            message=message,
            traceback=traceback.format_exc(),
            created_at=now,
        )
        s.add(incident)
        s.flush()
        notices.incident(
            s.connection(), incident.id, instance_id, bpmn_id, message, self.registry.access.operator_groups
        )
        self._audit(
            s,
            instance_id,
            None,
            "incident",
            task_id=source_id,
            bpmn_id=bpmn_id,
            detail={**detail, "error": message},
        )

    def _job_failed(self, s: Session, job: Job, err: Exception, now: datetime) -> None:
        job.attempts += 1
        job.last_error = f"{type(err).__name__}: {err}"
        log.warning(
            "job %s (%s) failed, attempt %s of %s: %s", job.id, job.topic, job.attempts, job.max_attempts, err
        )
        if job.attempts >= job.max_attempts:
            job.status = "failed"
            self._open_incident(
                s,
                job.instance_id,
                job.id,
                job.bpmn_id,
                f"{job.name}: {job.last_error}",
                {"topic": job.topic},
                now,
            )
        else:
            job.next_run_at = now + timedelta(seconds=job.retry_delay_seconds * (2 ** (job.attempts - 1)))
            self._audit(
                s,
                job.instance_id,
                None,
                "job-failed",
                task_id=job.id,
                bpmn_id=job.bpmn_id,
                detail={"topic": job.topic, "error": job.last_error, "attempt": job.attempts},
            )

    def retry(self, incident_id: int, actor: Actor | None = None, user: str | None = None) -> None:
        """Give a failed job its tries back; the worker runs it on its next tick."""
        user = actor.username if actor else user
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengulang job")
        with self.uow() as uow:
            s = uow.session
            incident = s.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"Insiden {incident_id} tidak ditemukan")
            if incident.resolved_at is not None:
                raise Conflict(f"Insiden {incident_id} sudah ditangani")
            now = clock.now()
            # Conditional: of two operators retrying at once, one retries, the other is told.
            resolved = s.execute(
                update(Incident)
                .where(Incident.id == incident_id, Incident.resolved_at.is_(None))
                .values(resolved_at=now, resolved_by=user)
            ).rowcount
            if resolved != 1:
                raise Conflict(f"Insiden {incident_id} sudah ditangani")
            retried = s.execute(
                update(Job)
                .where(Job.id == incident.job_id)
                .values(status="ready", attempts=0, next_run_at=now, locked_by=None, locked_until=None)
            ).rowcount
            if not retried and s.get(Timer, incident.job_id) is None:
                # An engine task that failed after a person's step: run it again now, one step
                # audited as the retry; if it fails again nothing changes and the incident stays open.
                self._step(
                    s,
                    incident.instance_id,
                    user,
                    lambda case, env: case.retry_task(incident.job_id),
                    "retry",
                    task_id=incident.job_id,
                    bpmn_id=incident.bpmn_id,
                    detail={"incident": incident_id},
                )
            else:
                self._audit(
                    s,
                    incident.instance_id,
                    user,
                    "retry",
                    bpmn_id=incident.bpmn_id,
                    detail={"incident": incident_id},
                )
            uow.commit()

"""The worker's side of the orchestrator: due jobs and timers, retries, incidents.

Mixed into `Orchestrator`. A worker leases a batch of due rows (jobs, timers, timer start
events, decree jobs) in a short transaction of its own: `FOR UPDATE SKIP LOCKED LIMIT n` on
PostgreSQL, so concurrent workers take different rows, and each row gets `locked_by` (a token
for this batch) and `locked_until`. Then it fires each row in its own step, in its own
transaction that first takes the row again (`FOR UPDATE`, still its token, still due): a row
whose lease ran out and went to another worker is skipped, so nothing runs twice; a worker
that dies leaves its rows leased, and another takes them when the lease ends, so nothing is
lost. A step that loses a race keeps its row leased until the end of the run (`run_due`): it
is tried again on the next run, never in a loop within one; a step that fails opens an incident.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BindParameter,
    Exists,
    Integer,
    Row,
    Select,
    Update,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from . import notices, timers
from .access import Actor
from .clock import clock
from .errors import Conflict, Forbidden, NotFound, Unavailable
from .models import DecreeJob, Incident, Instance, Job, Region, StartTimer, Timer, WorkerHeartbeat
from .projections import LOAD_COLUMNS

if TYPE_CHECKING:
    from .runtime import Case
    from .service import _Env

log = logging.getLogger(__name__)

BATCH = 10  # rows leased at a time: a claim per 10 steps, and small enough to share out evenly
LEASE = timedelta(minutes=5)  # a row not yet started by then goes to another worker

Leased = DecreeJob | Job | StartTimer | Timer


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


@dataclass(frozen=True)
class Kind:
    """Rows a worker leases and fires one per step: which may run (`runnable`), when each is due,
    and in which order a batch takes them."""

    model: type[Leased]
    runnable: Callable[[], Select]
    due: Any  # the column saying when a row is due
    order: Any
    # The take reads the case's state too (`projections.LOAD`, for the step): a statement less a step.
    loads_case: bool = False

    @cached_property
    def take(self) -> Select:
        """A leased row again, locked for its step, if still the run's (`token`), runnable and
        due (`now`); built once, it runs once a step."""
        model = self.model
        query = self.runnable()
        if self.loads_case:  # the runnable query joins the case
            query = query.add_columns(*LOAD_COLUMNS).outerjoin(Region, Region.code == Instance.region_code)
        return query.where(
            model.id == bindparam("id"),
            model.locked_by == bindparam("token"),
            self.due <= bindparam("now"),
        ).with_for_update(of=model)

    def runnable_rows(self, of_case: bool) -> Select:
        """The runnable rows, of one case (`instance_id`) if `of_case`: for statements built once."""
        rows = self.runnable()
        return rows.where(self.model.instance_id == bindparam("instance_id")) if of_case else rows

    @cached_property
    def due_ids(self) -> Select:
        """The ids of up to `n` rows due and free at `now`, in the kind's order, locked unless
        another worker holds them (skipped, not waited for); built once, it runs at every lease."""
        return self._due_ids(self.runnable_rows(of_case=False))

    @cached_property
    def due_ids_of_case(self) -> Select:
        """`due_ids` of one case (`instance_id`)."""
        return self._due_ids(self.runnable_rows(of_case=True))

    def _due_ids(self, runnable: Select) -> Select:
        return (
            self._due_and_free(runnable)
            .order_by(self.order)
            .limit(bindparam("n", type_=Integer))
            .with_for_update(of=self.model, skip_locked=True)
        )

    def any_due(self, of_case: bool) -> Exists:
        """Whether a row is due and free at `now`: what `due_ids` would lease, unlocked."""
        return self._due_and_free(self.runnable_rows(of_case)).exists()

    def _due_and_free(self, runnable: Select) -> Select:
        """The ids of the runnable rows due and free at `now`: one rule for the lease and the probe."""
        model, now = self.model, bindparam("now")
        return runnable.with_only_columns(model.id).where(self.due <= now, _free(model, now))

    @cached_property
    def lease(self) -> Update:
        """Lease the rows of `ids` still free at `now` to `token` until `until`: the leased ids."""
        model = self.model
        return (
            update(model)
            .where(model.id.in_(bindparam("ids", expanding=True)), _free(model, bindparam("now")))
            .values(locked_by=bindparam("token"), locked_until=bindparam("until"))
            .returning(model.id)
        )


def _runnable_timers() -> Select:
    """Timers of running cases no operator holds, not stopped by an open incident, and not of a
    case waiting to be re-evaluated after a calendar decree (its timers wait for it). A join on
    the case and two anti-joins on indexed columns: the same plan with or without statistics."""
    blocked = select(Incident.id).where(Incident.job_id == Timer.id, Incident.resolved_at.is_(None))
    reevaluating = select(DecreeJob.id).where(
        DecreeJob.instance_id == Timer.instance_id, DecreeJob.status == "pending"
    )
    return (
        select(Timer)
        .join(Instance, Instance.id == Timer.instance_id)
        .where(
            Instance.status == "running",
            Instance.suspended_at.is_(None),
            ~blocked.exists(),
            ~reevaluating.exists(),
        )
    )


def _runnable_jobs() -> Select:
    """Ready jobs of cases no operator holds."""
    return (
        select(Job)
        .join(Instance, Instance.id == Job.instance_id)
        .where(Job.status == "ready", Instance.suspended_at.is_(None))
    )


def _pending_decree_jobs() -> Select:
    return select(DecreeJob).where(DecreeJob.status == "pending")


TIMERS = Kind(Timer, _runnable_timers, Timer.due_at, Timer.due_at, loads_case=True)
JOBS = Kind(Job, _runnable_jobs, Job.next_run_at, Job.next_run_at, loads_case=True)
START_TIMERS = Kind(StartTimer, lambda: select(StartTimer), StartTimer.due_at, StartTimer.due_at)
DECREE_JOBS = Kind(DecreeJob, _pending_decree_jobs, DecreeJob.next_run_at, DecreeJob.id)


@cache
def _probe(kinds: tuple[Kind, ...], of_case: bool) -> Select:
    """One row: for each kind, whether it has a row due and free (`now`; of `instance_id`)."""
    return select(*(kind.any_due(of_case) for kind in kinds))


@cache
def _next_due(kinds: tuple[Kind, ...], of_case: bool) -> Select:
    """One row: for each kind the earliest due time (`now`) of a free row (along the due-time
    index) and of a leased one (the end of its lease, if later); of `instance_id` if `of_case`."""
    now, moments = bindparam("now"), []
    for kind in kinds:
        model, runnable = kind.model, kind.runnable_rows(of_case)
        free = runnable.with_only_columns(kind.due).where(_free(model, now)).order_by(kind.due).limit(1)
        later = sql_case((model.locked_until > kind.due, model.locked_until), else_=kind.due)
        leased = runnable.with_only_columns(func.min(later)).where(model.locked_until > now)
        moments += [free.scalar_subquery(), leased.scalar_subquery()]
    return select(*moments)


def _free(model: type[Leased], now: datetime | BindParameter[Any]):
    """Not leased, or its lease has run out."""
    return or_(model.locked_until.is_(None), model.locked_until <= now)


def _lease(s: Session, kind: Kind, instance_id: int | None, n: int, now: datetime, token: str) -> list:
    """Lease up to `n` due rows to `token`: the ids, in the kind's order. Rows another worker has
    locked are skipped, not waited for; the conditional update keeps SQLite (no row locks) from
    leasing a row twice."""
    if instance_id is None:
        ids = list(s.scalars(kind.due_ids, {"now": now, "n": n}))
    else:
        ids = list(s.scalars(kind.due_ids_of_case, {"now": now, "n": n, "instance_id": instance_id}))
    if not ids:
        return []
    leased = set(
        s.execute(
            kind.lease,
            {"ids": ids, "now": now, "token": token, "until": now + LEASE},
            execution_options={"synchronize_session": False},
        ).scalars()
    )
    return [row_id for row_id in ids if row_id in leased]


def _release(s: Session, model: type[Leased], token: str, ids: list | None = None) -> None:
    """Give back rows leased to `token` (those of `ids`, or all)."""
    mine = model.locked_by == token
    s.execute(
        update(model)
        .where(mine if ids is None else mine & model.id.in_(ids))
        .values(locked_by=None, locked_until=None),
        execution_options={"synchronize_session": False},
    )


@dataclass
class _Run:
    """One `run_due`: its lease token, its report, and the kinds of which rows are still leased to
    it (lost races; the rest of a batch an error interrupted), given back at its end."""

    token: str
    report: RunReport
    kept: set[type[Leased]] = field(default_factory=set)


Runner = Callable[[Session, Any, "RunReport", datetime], None]


class Work:
    """Run what is due: service-task jobs (with retries and incidents) and timers."""

    def next_due(self, instance_id: int | None = None) -> datetime | None:
        """When the earliest job or timer (of one case, if given) may run: the worker sleeps until
        then. A leased row counts from the end of its lease; rows that wait for an operator
        (incidents, held cases) do not count, so a worker never wakes for what it may not run."""
        kinds = [JOBS, TIMERS, DECREE_JOBS] + ([START_TIMERS] if instance_id is None else [])
        return self._earliest(kinds, instance_id)

    def next_job_due(self) -> datetime | None:
        """When the earliest ready job of a running, unheld case may run (the worker's 1-s poll)."""
        return self._earliest([JOBS], None)

    def _earliest(self, kinds: list[Kind], instance_id: int | None) -> datetime | None:
        """The earliest moment of `_next_due` over the kinds, read in one statement."""
        query = _next_due(tuple(kinds), instance_id is not None)
        with self.session() as s:
            row = s.execute(query, {"now": clock.now(), "instance_id": instance_id}).one()
        due = [moment for moment in row if moment is not None]
        return min(due) if due else None

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

    def _start_by_timer(self, s: Session, row: StartTimer, report: RunReport, now: datetime) -> None:
        """Start one case for a due timer start event, and move the timer to its next firing (or
        drop it after its last) in the same transaction."""
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
            log.warning("start timer %s of %s did not start a case: %s", row.bpmn_id, row.process_key, err)
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
            row.due_at, row.locked_by, row.locked_until = following, None, None

    def run_due(
        self, worker_id: str = "worker", limit: int | None = 1000, instance_id: int | None = None
    ) -> RunReport:
        """Run every job and fire every timer due now (of one case, if given), each in its own step,
        leasing them in batches: kind after kind, each until none is due (decree jobs first, so a
        case waiting to be re-evaluated after a calendar decree is re-evaluated before its timers
        fire; then timer start events, timers, jobs), and again while anything ran, since a step
        may make new work due; at most `limit` steps (None: no limit). Each pass first asks in one
        read which kinds have anything due (`_due_kinds`), so a run with nothing to do costs that
        read, not an empty lease per kind. Each row at most once a run: one whose step lost a race
        stays leased to the run and goes back at its end."""
        run = _Run(f"{worker_id[:60]}/{uuid.uuid4().hex[:16]}", RunReport())
        kinds: list[tuple[Kind, Runner]] = [(TIMERS, self._fire_timer), (JOBS, self._run_job)]
        if instance_id is None:
            kinds = [(DECREE_JOBS, self._reevaluate_leased), (START_TIMERS, self._start_by_timer), *kinds]
        try:
            while due := self._due_kinds([kind for kind, _ in kinds], instance_id):
                ran = False
                for kind, runner in kinds:
                    if kind.model not in due:
                        continue
                    while n := self._batch_size(run.report, limit):
                        leased = self._run_batch(run, kind, runner, n, instance_id)
                        ran = ran or leased > 0
                        if leased < n:  # none of this kind was left due: the next pass asks again
                            break
                    else:
                        return run.report  # the run's limit
                if not ran:  # what was due went to another worker first
                    break
        finally:
            if run.kept:
                with contextlib.suppress(Conflict, Unavailable), self.uow() as uow:  # else the lease ends
                    for model in run.kept:
                        _release(uow.session, model, run.token)
                    uow.commit()
        return run.report

    def _due_kinds(self, kinds: list[Kind], instance_id: int | None) -> set[type[Leased]]:
        """The kinds (their models) with a row due and free now (of one case, if given), read in
        one statement."""
        probe = _probe(tuple(kinds), instance_id is not None)
        with self.session() as s:
            found = s.execute(probe, {"now": clock.now(), "instance_id": instance_id}).one()
        return {kind.model for kind, due in zip(kinds, found, strict=True) if due}

    def release_leases(self, worker_id: str) -> None:
        """Give back every row a run of this worker left leased because the database went away
        under it (the run could not give them back): called when the database is back, so they
        need not wait for their lease to end. A run of the worker still going (none: its runs
        take turns) would find its rows gone and skip them."""
        mine = f"{worker_id[:60]}/"
        with self.uow() as uow:
            for model in (DecreeJob, StartTimer, Timer, Job):
                uow.session.execute(
                    update(model)
                    .where(model.locked_by.startswith(mine, autoescape=True))
                    .values(locked_by=None, locked_until=None),
                    execution_options={"synchronize_session": False},
                )
            uow.commit()

    @staticmethod
    def _batch_size(report: RunReport, limit: int | None) -> int:
        """How many rows the next batch may lease: `BATCH`, fewer near the run's limit (steps,
        lost races included; None: no limit)."""
        return BATCH if limit is None else max(0, min(BATCH, limit - report.total - report.conflicts))

    def _run_batch(self, run: _Run, kind: Kind, runner: Runner, n: int, instance_id: int | None) -> int:
        """Lease a batch of due rows of one kind, then run each in its own transaction: how many
        it leased."""
        try:
            with self.uow() as uow:
                ids = _lease(uow.session, kind, instance_id, n, clock.now(), run.token)
                uow.commit()
        except Conflict:  # SQLite: another writer came first; the next run leases again
            run.report.conflicts += 1
            return 0
        try:
            for row_id in ids:
                self._run_leased(run, kind, runner, row_id)
        except BaseException:
            run.kept.add(kind.model)  # the rest of the batch goes back at the end of the run
            raise
        return len(ids)

    def _run_leased(self, run: _Run, kind: Kind, runner: Runner, row_id: Any) -> None:
        """One leased row in a transaction of its own: take it again (locked, still this run's,
        still runnable and due) and run it. A row that is not is given back
        untouched; one whose step lost a race stays leased until the run ends."""
        now = clock.now()
        model = kind.model
        with self.uow() as uow:
            s = uow.session
            taken = s.execute(kind.take, {"id": row_id, "token": run.token, "now": now}).first()
            if taken is not None:
                try:  # its step deletes the row or frees it
                    runner(s, taken if kind.loads_case else taken[0], run.report, now)
                    uow.commit()
                    return
                except Conflict:  # another step moved the case first: the next run tries again
                    run.report.conflicts += 1
                    run.kept.add(model)
                    return
        # After the transaction ended (on SQLite it may hold the write lock until then).
        with contextlib.suppress(Conflict), self.uow() as uow:  # else the lease runs out
            _release(uow.session, model, run.token, [row_id])
            uow.commit()

    def _fire_timer(self, s: Session, taken: Row, report: RunReport, now: datetime) -> None:
        """`taken`: the timer and its case (`TIMERS.take`)."""
        timer: Timer = taken[0]
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
                    loaded=taken,
                )
        except (Conflict, Unavailable):
            raise  # Unavailable: the database, not the case; the worker backs off and reconnects
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
            timer.locked_by = timer.locked_until = None  # it waits for the incident, not the lease
            report.incidents += 1
            return
        report.timers_fired += 1  # its row is gone, or moved to its next firing and free

    def _run_job(self, s: Session, taken: Row, report: RunReport, now: datetime) -> None:
        """`taken`: the job and its case (`JOBS.take`)."""
        job: Job = taken[0]
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
                    loaded=taken,
                )
        except (Conflict, Unavailable):
            raise  # Unavailable: the handler may have run; its next run has the same idempotency key
        except Exception as err:  # a handler's failure of any kind is recorded, never lost
            self._job_failed(s, job, err, now)
            report.jobs_failed += 1
            if job.status == "failed":
                report.incidents += 1
            return
        report.jobs_run += 1  # its task completed: its row is gone

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
        job.locked_by = job.locked_until = None
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

"""The orchestrator's commands. Each is one transaction: load, apply, run engine steps, save the
state and every projection, commit. A failure anywhere rolls all of it back.

Concurrency: every step bumps `instances.lock_version` with `UPDATE ... WHERE lock_version = :seen`.
A writer that read an older version changes nothing and gets `Conflict`.

`Orchestrator` is this module's commands plus `deployments.Deployments` (deploy, check, the spec
cache), `jobs.Work` (what the worker runs: due jobs and timers, retries, incidents),
`decrees.Decrees` (calendar decrees and the re-evaluation of the deadlines they move),
`reminders.Reminders` (deadline reminders for the outbox), `letters.Letters` (drafted letters),
`imports.Imports` (existing cases brought in by replaying their history through the diagram) and
`console.Console` (operators' commands: reassign, atas nama, suspend, migrate, ... with a reason).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from . import forms, notices, projections
from .access import Actor, add_candidate, candidate_of, visible_instances
from .calendar import WorkingCalendar, local_today
from .clock import clock
from .config import WARM_CASES, Settings
from .console import Console
from .decrees import DecreeQueued, Decrees
from .deployments import Deployments, DeployResult
from .drafts import Drafts
from .errors import MSG_OPERATOR_WORK, Conflict, EngineError, Forbidden, NotFound, ValidationFailed
from .expressions import ExpressionError
from .imports import Imports
from .jobs import RunReport, Work
from .letters import Letters
from .metrics import STEP_SECONDS
from .models import (
    AuditEvent,
    Comment,
    Document,
    Instance,
    LookupValue,
    OutboxMessage,
    Region,
    Task,
    TaskCandidate,
    User,
)
from .parser import ParsedDeployment
from .projections import CALENDAR_VERSION, LOAD, LOAD_COLUMNS, SAVE, Completion, NextTask
from .registry import HandlerContext, HandlerRegistry, RegionInfo
from .reminders import Reminders
from .runtime import SPIFF_VERSION, Case, dumps, ext
from .scripting import ExpressionScriptEngine, build_functions
from .store import UnitOfWork, joined_sessions, make_engine, read_session
from .text import multi_line, single_line
from .views import CALENDAR_CACHE, CalendarCache
from .warm import WarmCases
from .writes import Writes

__all__ = [
    "DecreeQueued",
    "DeployResult",
    "NewDocument",
    "NextTask",
    "Orchestrator",
    "RunReport",
    "StepResult",
]


AUDIT = insert(AuditEvent)
INSERT_DOCUMENT = insert(Document).returning(Document.id)
TASK_COLUMNS = (
    Task.id,
    Task.instance_id,
    Task.status,
    Task.assignee,
    Task.form,
    Task.bpmn_id,
    Task.name,
    Task.stage,
)
TASK_AND_CASE = (
    select(*TASK_COLUMNS, *LOAD_COLUMNS)
    .join(Instance, Instance.id == Task.instance_id)
    .outerjoin(Region, Region.code == Instance.region_code)
)
READY_TASK = TASK_AND_CASE.where(Task.id == bindparam("id"))
DOCUMENT_OWNERS = select(Document.id, Document.instance_id).where(
    Document.id.in_(bindparam("ids", expanding=True))
)
# The task alone (its case joined for the actor's checks): what a caller that does not step it needs,
# without reading the case's stored state.
TASK_ONLY = select(*TASK_COLUMNS).join(Instance, Instance.id == Task.instance_id)
READY_TASK_ONLY = TASK_ONLY.where(Task.id == bindparam("id"))

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_BUSINESS_KEY = 200  # the columns' lengths: PostgreSQL refuses longer values, SQLite keeps them
MAX_FIELD_NAME = 100
MSG_TAKEN = "Tugas ini sudah diambil oleh {who}"


@dataclass(frozen=True)
class NewDocument:
    """A file to store with a step: its (checked) name and type, and its bytes."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StepResult:
    instance_id: int
    status: str
    stage: int | None
    stage_name: str | None
    next_tasks: list[NextTask]
    incident: str | None = None  # the engine failed after the step's own change: see complete_task


@dataclass
class _Env:
    """What one case's step needs besides its state: its region, calendar and script engine."""

    region: RegionInfo | None
    timezone: str
    calendar: WorkingCalendar
    script_engine: ExpressionScriptEngine
    lookups: Callable[[str], dict[str, str]] = field(default=lambda name: {})
    business_key: str | None = None


class Orchestrator(Deployments, Work, Decrees, Reminders, Letters, Imports, Drafts, Console):
    """Deploys diagrams, starts cases and applies every state change as one step."""

    def __init__(
        self,
        database_url: str,
        registry: HandlerRegistry,
        *,
        default_timezone: str = "Asia/Jakarta",
        warm_cases: int = WARM_CASES,
    ):
        self.database_url = database_url
        self.registry = registry
        self.default_timezone = default_timezone
        self.db = make_engine(database_url)
        self._parsed: dict[int, dict[str, ParsedDeployment]] = {}
        self._stage_names: dict[int, dict[int, str]] = {}
        self._calendars = CalendarCache()
        # Its sessions carry the calendar cache: a read that knows its calendar version takes the
        # calendars from it (`views.calendars_for`).
        self._sessions = sessionmaker(self.db, expire_on_commit=False, info={CALENDAR_CACHE: self._calendars})
        self._warm = WarmCases(warm_cases)  # the workflows its steps saved (`warm`)
        self._warm.attach(self._sessions)
        self.after_load: Callable[[int], None] | None = None  # test hook: runs between load and save
        # Added to every audit event's detail (an import records where its steps came from).
        self.provenance: dict[str, Any] = {}
        self.sends_notifications = True  # False while replaying history: those messages are long past

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str | None = None) -> Orchestrator:
        """The orchestrator the settings describe (the CLI's and the web app's one way to build it)."""
        return cls(
            database_url or settings.database_url,
            settings.registry(),
            default_timezone=settings.timezone,
            warm_cases=settings.warm_cases,
        )

    # --- sessions -------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading projections (screens, lists, the CLI)."""
        with read_session(self._sessions) as session:
            yield session

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def close(self) -> None:
        self.db.dispose()

    def joined(self, connection: Connection) -> Orchestrator:
        """This orchestrator with every unit of work a savepoint of `connection`'s transaction
        (`store.one_transaction`): its commands, unchanged, become parts of one all-or-nothing
        change that the caller commits or rolls back. Caches are shared; `self` is untouched."""
        view = copy.copy(self)
        view._sessions = joined_sessions(connection)
        view.provenance = dict(self.provenance)
        return view

    # --- per-region environment ---------------------------------------------------------------
    def _env(self, s: Session, region: RegionInfo | None, calendar_version: int) -> _Env:
        timezone = region.timezone if region else self.default_timezone
        calendar = self._calendars.get(s, region.code if region else None, calendar_version)

        def lookups(name: str) -> dict[str, str]:
            return dict(
                s.execute(
                    select(LookupValue.code, LookupValue.label).where(LookupValue.list_name == name)
                ).all()
            )

        return _Env(
            region,
            timezone,
            calendar,
            ExpressionScriptEngine(build_functions(calendar, timezone), timezone),
            lookups,
        )

    @staticmethod
    def _region_of(row) -> RegionInfo | None:
        """The region of a case loaded with `LOAD_COLUMNS`."""
        if not row.region_code:
            return None
        return RegionInfo(row.region_code, row.region_name, row.region_level, row.region_timezone)

    # --- starting a case ------------------------------------------------------------------------
    def start(
        self,
        key: str,
        region_code: str | None,
        raw_values: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
        business_key: str | None = None,
        user: str | None = None,
        documents: Mapping[str, NewDocument] | None = None,
    ) -> int:
        """Start a case of the newest version, its start form's values checked like any task form.
        `documents` (file field -> file) are stored on the new case in the same transaction."""
        user = actor.username if actor else user
        documents = documents or {}
        if business_key is not None and len(business_key) > MAX_BUSINESS_KEY:
            raise ValidationFailed({"business_key": f"Paling banyak {MAX_BUSINESS_KEY} karakter"})
        began = time.perf_counter()
        with self.uow() as uow:
            s = uow.session
            definition = self._latest(s, key)
            deployment = self._deployment(s, definition.id, key)
            if actor is not None and not self.registry.access.may_start(
                actor, deployment.starter_groups, deployment.starter_users, region_code
            ):
                who = self.registry.access.starters_text(deployment.starter_groups)
                raise Forbidden(f"Hanya {who} yang dapat memulai kasus ini")
            region = None
            if region_code is not None:
                # Shared with other starts; a decree takes it exclusively, so the decree's list of
                # running cases includes this one, or this start sees the decree (decrees.py).
                region = s.scalars(
                    select(Region).where(Region.code == region_code).with_for_update(read=True)
                ).first()
                if region is None:
                    raise NotFound(f"Wilayah '{region_code}' tidak dikenal")
            self._file_fields_only(deployment.start_form, documents)
            placeholders = dict.fromkeys(documents, "1")  # the real ids follow the instance's
            values = self._validated(
                deployment.start_form, {**(raw_values or {}), **placeholders}, None, s, set(documents)
            )
            if deployment.initiator:
                values[deployment.initiator] = user  # as Camunda's camunda:initiator
            calendar_version = s.scalar(select(CALENDAR_VERSION))
            info = RegionInfo(region.code, region.name, region.level, region.timezone) if region else None
            env = self._env(s, info, calendar_version)
            now = clock.now()
            first_text = (
                str(values[f["id"]]) for f in deployment.start_form if isinstance(values.get(f["id"]), str)
            )
            title = single_line(next(first_text, None) or business_key or key) or key
            instance = Instance(
                definition_id=definition.id,
                process_key=key,
                process_version=definition.version,
                business_key=business_key,
                title=title[:300],
                region_code=region_code,
                status="running",
                state="{}",
                spiff_version=SPIFF_VERSION,
                lock_version=0,
                started_at=now,
                started_by=user,
                updated_at=now,
            )
            s.add(instance)
            s.flush()
            for field_id, upload in documents.items():
                values[field_id] = self._store_document(s, instance.id, 1, None, field_id, upload, user)
            case = Case.create(deployment, env.script_engine, values)
            self._save(
                s,
                instance.id,
                0,
                case,
                env,
                user,
                ("start", None, None, {"values": values, "version": definition.version}),
            )
            if s.scalar(select(CALENDAR_VERSION)) != calendar_version:  # SQLite: a decree came first
                raise Conflict("Kalender kerja baru saja diubah; ulangi")
            STEP_SECONDS.labels("start").observe(time.perf_counter() - began)
            uow.commit()
            return instance.id

    # --- steps on a running case -----------------------------------------------------------------
    def _step(
        self,
        s: Session,
        instance_id: int,
        user: str | None,
        apply: Callable[[Case, _Env], None],
        action: str,
        *,
        task_id: str | None = None,
        bpmn_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        loaded=None,
        completion: Completion | None = None,
    ) -> StepResult:
        """Load a case (unless the caller's query already did), apply one command, run the engine,
        save; audited as `action`."""
        began = time.perf_counter()
        row = loaded or s.connection().execute(LOAD, {"id": instance_id}).first()
        if row is None:
            raise NotFound(f"Kasus {instance_id} tidak ditemukan")
        if row.instance_status != "running":
            state = "selesai" if row.instance_status == "completed" else "dibatalkan"
            raise Conflict(f"Kasus {instance_id} sudah {state}")
        if row.suspended_at is not None:
            raise Conflict(f"Kasus {instance_id} sedang ditangguhkan operator")
        case, env = self._load_case(s, instance_id, row)
        try:
            apply(case, env)
        except (SpiffWorkflowException, ExpressionError) as err:
            raise EngineError(f"Proses gagal dijalankan: {err}") from err
        case.earlier_variables = json.loads(row.projected_variables)
        case.has_drafts = bool(row.has_drafts)
        result = self._save(
            s, instance_id, row.lock_version, case, env, user, (action, task_id, bpmn_id, detail), completion
        )
        STEP_SECONDS.labels(action).observe(time.perf_counter() - began)
        return result

    def _load_case(self, s: Session, instance_id: int, row) -> tuple[Case, _Env]:
        """A running case as a step takes it (a `LOAD` row): its environment, and its workflow,
        kept by this process or restored (`warm`)."""
        env = self._env(s, self._region_of(row), row.calendar_version)
        env.business_key = row.business_key
        deployment = self._deployment(s, row.definition_id, row.process_key)
        case = self._warm.load(instance_id, row.state, deployment, env.script_engine)
        if self.after_load:
            self.after_load(instance_id)
        return case, env

    def _save(
        self,
        s: Session,
        instance_id: int,
        seen: int,
        case: Case,
        env: _Env,
        user: str | None,
        audit: tuple[str, str | None, str | None, Mapping[str, Any] | None],
        completion: Completion | None = None,
    ) -> StepResult:
        """Write the state and the projections that changed; lose to a concurrent writer cleanly."""
        now = clock.now()
        case.anchor = self._recomputed  # the dump keeps what a decree reads (`pruning`)
        status = case.status
        stage, stage_name = case.stage()
        variables = case.variables()
        conn = s.connection()
        state = case.dump()
        # A lost race (another writer, SQLite's stale snapshot) raises Conflict here, see store.database_error
        updated = conn.execute(
            SAVE,
            {
                "iid": instance_id,
                "seen": seen,
                "next": seen + 1,
                "state": state,
                "status": status,
                "stage": stage,
                "stage_name": stage_name,
                "variables": dumps(variables),
                **projections.list_values(variables, self.registry.list_columns),
                "now": now,
                "ended": now if status != "running" else None,
            },
        ).rowcount
        if updated != 1:
            raise Conflict("Kasus sudah diubah oleh pengguna lain; muat ulang lalu coba lagi")
        self._warm.saved(s, instance_id, state, case)
        writes = Writes(conn)  # on PostgreSQL one statement, after the state's (`writes`)
        action, task_id, bpmn_id, detail = audit
        self._audit(
            s, instance_id, user, action, task_id=task_id, bpmn_id=bpmn_id, detail=detail, into=writes
        )
        try:
            next_tasks = projections.write(
                writes,
                instance_id,
                case,
                env.script_engine.functions,
                env.timezone,
                now,
                completion,
                user,
                self.sends_notifications,
                env.region.code if env.region else None,
            )
        except ExpressionError as err:  # a task's assignee, due date, ... (engine.attributes)
            raise EngineError(f"Proses gagal dijalankan: {err}") from err
        if status == "completed":
            self._audit(s, instance_id, None, "completed", into=writes)
        writes.flush()
        return StepResult(instance_id, status, stage, stage_name, next_tasks)

    def _recomputed(self, task) -> bool:
        """Whether a calendar decree runs a task's handler again (`decrees`), from the data it saw."""
        info = self.registry.handler_of(task)
        return info is not None and info.recompute is not None

    def _audit(
        self,
        s: Session,
        instance_id: int | None,
        actor: str | None,
        action: str,
        *,
        task_id: str | None = None,
        bpmn_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        into: Writes | None = None,
    ) -> None:
        (into or s.connection()).execute(
            AUDIT,
            {
                "instance_id": instance_id,
                "at": clock.now(),
                "actor": actor,
                "action": action,
                "task_id": task_id,
                "bpmn_id": bpmn_id,
                "detail": dumps({**(detail or {}), **self.provenance}),
            },
        )

    def _outbox(
        self, s: Session, instance_id: int, region: RegionInfo | None, key: str, notifications
    ) -> None:
        """Notifications keyed on the task, so a retried job writes each message once."""
        if not self.sends_notifications:
            return
        region_code = region.code if region else None
        for n, note in enumerate(notifications):
            exists = s.scalar(select(OutboxMessage.id).where(OutboxMessage.key == f"{key}:{n}"))
            if exists is None:
                s.connection().execute(
                    notices.OUTBOX,
                    notices.message(
                        f"{key}:{n}",
                        "pesan",
                        note.subject,
                        body=note.body,
                        instance_id=instance_id,
                        groups=notices.split(note.recipient_group),
                        users=note.users,
                        region_code=region_code,
                    ),
                )

    def _validated(
        self,
        fields: list[dict],
        raw: Mapping[str, Any],
        instance_id: int | None,
        s: Session,
        staged: set[str] | frozenset[str] = frozenset(),
        variables: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Typed values, or `ValidationFailed`; `staged` file fields get their document with the step;
        `variables` (the case's) decide the fields that apply only to some cases (`onlyWhen`)."""
        values, errors = forms.coerce_values(fields, raw, variables)
        files = {
            f["id"]: values[f["id"]]
            for f in fields
            if f["type"] == "file" and f["id"] not in staged and values.get(f["id"]) is not None
        }
        if files:  # one query for all of a form's documents
            owners = dict(s.connection().execute(DOCUMENT_OWNERS, {"ids": sorted(set(files.values()))}).all())
            for field_id, document_id in files.items():
                owner = owners.get(document_id)
                if owner is None or owner != instance_id:
                    errors[field_id] = "Dokumen tidak ditemukan pada kasus ini"
        if errors:
            raise ValidationFailed(errors)
        return values

    @staticmethod
    def _file_fields_only(fields: list[dict], documents: Mapping[str, Any]) -> None:
        """A file given for a name that is no file field of the form is refused, never stored unused."""
        file_fields = {f["id"] for f in fields if f.get("type") == "file"}
        unknown = sorted(set(documents) - file_fields)
        if unknown:
            raise ValidationFailed(dict.fromkeys(unknown, "Bukan isian berkas pada formulir ini"))

    def _context(
        self,
        s: Session,
        instance_id: int,
        case: Case,
        task,
        env: _Env,
        user: str | None,
        variables: Mapping[str, Any],
    ) -> HandlerContext:
        now = clock.now()
        return HandlerContext(
            variables=dict(variables),
            instance_id=instance_id,
            business_key=env.business_key,
            region=env.region,
            now=now,
            today=local_today(now, env.timezone),
            calendar=env.calendar,
            task_id=str(task.id),
            bpmn_id=task.task_spec.bpmn_id,
            task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            stage=ext(task).get("stage"),
            user=user,
            properties=dict(ext(task).get("properties") or {}),
            lookups=env.lookups,
            idempotency_key=str(task.id),
        )

    def _ready_task(
        self, s: Session, task_id: str, actor: Actor | None, *, work: bool = False, with_case: bool = False
    ):
        """A task the actor may see; 404 for another region's task, 409 when no longer ready.
        `work`: the actor means to do it (claim, complete, attach): operators never do, they
        reassign it to someone whose task it is. `with_case`: with what loading its case needs
        (`LOAD_COLUMNS`, the stored state among them), for a step; the others (claims, uploads,
        letters) read the task alone."""
        if actor is None:
            task = (
                s.connection().execute(READY_TASK if with_case else READY_TASK_ONLY, {"id": task_id}).first()
            )
        else:
            query = (
                (TASK_AND_CASE if with_case else TASK_ONLY)
                .add_columns(candidate_of(actor).label("allowed"))
                .where(Task.id == task_id, visible_instances(actor))
            )
            task = s.connection().execute(query).first()
        if task is None:
            raise NotFound("Tugas tidak ditemukan")
        if task.status == "completed":
            raise Conflict("Tugas ini sudah diselesaikan")
        if task.status != "ready":
            raise Conflict("Tugas ini sudah tidak berlaku")
        if actor is not None and work and actor.is_operator:
            raise Forbidden(MSG_OPERATOR_WORK)
        if actor is not None and not actor.is_operator and not task.allowed:
            raise Forbidden("Anda tidak berhak mengerjakan tugas ini")
        return task

    # --- user tasks ------------------------------------------------------------------------------
    def complete_task(
        self,
        task_id: str,
        raw_values: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
        user: str | None = None,
        documents: Mapping[str, NewDocument] | None = None,
        *,
        strict: bool = False,
        variables: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> StepResult:
        """Check the submitted values against the form and the task's handler, then complete it.

        A web form's extra inputs are ignored; with `strict` (the CLI, an API) a value that is
        not a field of the task's form is refused, never dropped. `variables` are typed process
        variables, taken only by a task without `camunda:formData` (as Camunda's REST API).
        `documents` (field -> uploaded file) are stored in the same transaction as the completion:
        a refused or conflicting submission leaves no file, row or history entry behind; so does a
        `comment` typed in the task form, stored with the completion or not at all."""
        user = actor.username if actor else user
        comment = self._comment_body(comment) if (comment or "").strip() else None
        with self.uow() as uow:
            s = uow.session
            row = self._ready_task(s, task_id, actor, work=True, with_case=True)
            if row.assignee and actor is not None and row.assignee != actor.username:
                raise Conflict(f"Tugas ini sedang dikerjakan oleh {row.assignee}")
            fields = json.loads(row.form)
            field_ids = {f["id"] for f in fields}
            if fields and variables:
                raise ValidationFailed(
                    {
                        name: "Tugas ini memakai formulir; isi nilainya sebagai isian (name=value)"
                        for name in variables
                    }
                )
            if strict and fields:
                unknown = [name for name in raw_values or {} if name not in field_ids]
                if unknown:
                    listed = ", ".join(sorted(field_ids))
                    raise ValidationFailed(
                        {name: f"Bukan isian formulir tugas ini (isian: {listed})" for name in unknown}
                    )
            if strict and not fields and raw_values:
                variables = {**raw_values, **(variables or {})}  # no form: each value is a string variable
            raw_values = dict(raw_values or {}) if fields else {}
            self._file_fields_only(fields, documents or {})
            for field_id, upload in (documents or {}).items():
                raw_values[field_id] = self._store_document(
                    s, row.instance_id, row.stage, task_id, field_id, upload, user
                )
            values = self._validated(
                fields, raw_values, row.instance_id, s, variables=json.loads(row.projected_variables)
            )
            if variables:
                values.update(variables)
            instance_id = row.instance_id
            failure: dict[str, Any] = {}

            def apply(case: Case, env: _Env) -> None:
                task = case.task(task_id)
                derived: Mapping[str, Any] = {}
                handler_name = ext(task).get("handler")
                if handler_name:
                    handler = self.registry.user_handler(handler_name)
                    if handler is None:
                        raise EngineError(f"Handler '{handler_name}' tidak terdaftar")
                    ctx = self._context(s, instance_id, case, task, env, user, {**task.data, **values})
                    derived = handler.function(ctx) or {}
                    self._outbox(s, instance_id, env.region, f"task:{task_id}", ctx.notifications)
                try:
                    case.complete_user_task(task_id, {**values, **derived})
                except (SpiffWorkflowException, ExpressionError) as err:
                    failed = case.failed_tasks()
                    if not failed or case.task(task_id).state != TaskState.COMPLETED:
                        raise
                    # The person's work stands; the engine step after it is an incident.
                    failure["task"], failure["error"] = failed[0], err

            result = self._step(
                s,
                instance_id,
                user,
                apply,
                "complete",
                task_id=task_id,
                bpmn_id=row.bpmn_id,
                detail={"task": row.name, "values": values},
                loaded=row,
                completion=Completion(task_id, user, dumps(values)),
            )
            if comment is not None:
                self._add_comment(s, instance_id, comment, user, task_id)
            if failure:
                failed = failure["task"]
                message = f"{failed.task_spec.bpmn_name or failed.task_spec.bpmn_id}: {failure['error']}"
                self._open_incident(
                    s,
                    instance_id,
                    str(failed.id),
                    failed.task_spec.bpmn_id,
                    message,
                    {"after": row.name},
                    clock.now(),
                )
                result = dataclasses.replace(result, incident=message)
            uow.commit()
            return result

    def set_variables(
        self, instance_id: int, values: Mapping[str, Any], actor: Actor | None = None, user: str | None = None
    ) -> None:
        """An operator fixes case variables (then retries the incident that read them)."""
        user = actor.username if actor else user
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengubah variabel kasus")
        if not values:
            raise ValidationFailed({"variabel": "Tidak ada variabel yang diubah"})
        with self.uow() as uow:
            self._step(
                uow.session,
                instance_id,
                user,
                lambda case, env: case.set_variables(dict(values)),
                "set-var",
                detail={"values": dict(values)},
            )
            uow.commit()

    def claim(self, task_id: str, actor: Actor) -> None:
        """Take a task so others see it is being worked on. Of two people claiming at once, one
        wins: the update is conditional on the task still being ready and free."""
        with self.uow() as uow:
            s = uow.session
            task = self._ready_task(s, task_id, actor, work=True)
            if task.assignee == actor.username:
                return
            if task.assignee:
                raise Conflict(MSG_TAKEN.format(who=task.assignee))
            self._assign(s, task, actor.username, "claim", actor)
            uow.commit()

    def unclaim(self, task_id: str, actor: Actor) -> None:
        with self.uow() as uow:
            s = uow.session
            task = self._ready_task(s, task_id, actor)
            if task.assignee and task.assignee != actor.username and not actor.is_operator:
                raise Forbidden(f"Tugas ini diambil oleh {task.assignee}")
            self._assign(s, task, None, "unclaim", actor)
            uow.commit()

    def request_release(self, task_id: str, actor: Actor, reason: str = "") -> None:
        """A person whose task it could be asks the operators to free it from the colleague who
        holds it (they may not take it from them): recorded in the history, sent to the operators."""
        reason = single_line(reason)[:500]
        with self.uow() as uow:
            s = uow.session
            task = self._ready_task(s, task_id, actor, work=True)
            if not task.assignee or task.assignee == actor.username:
                raise Conflict("Tugas ini tidak sedang diambil orang lain")
            self._audit(
                s,
                task.instance_id,
                actor.username,
                "release-request",
                task_id=task.id,
                bpmn_id=task.bpmn_id,
                detail={"holder": task.assignee, "reason": reason},
            )
            notices.release_requested(
                s.connection(), task, actor.username, reason, self.registry.access.operator_groups
            )
            uow.commit()

    def assign(
        self, task_id: str, assignee: str | None, actor: Actor | None = None, user: str | None = None
    ) -> None:
        """An operator gives a ready task to someone who may do it (or back to its groups with `None`)."""
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengalihkan tugas")
        user = actor.username if actor else user
        with self.uow() as uow:
            s = uow.session
            task = self._ready_task(s, task_id, actor)
            if assignee is not None:
                target = self._account(s, assignee)
                if target.is_operator:
                    raise Forbidden(MSG_OPERATOR_WORK)
                self._ready_task(s, task_id, target, work=True)  # their region, their group
            self._assign(s, task, assignee, "assign", user)
            uow.commit()

    def _assign(self, s: Session, task, assignee: str | None, action: str, actor: Actor | str | None) -> None:
        """Set the assignee only if nobody changed it since `task` was read (one winner)."""
        username = actor.username if isinstance(actor, Actor) else actor
        seen = Task.assignee.is_(None) if task.assignee is None else Task.assignee == task.assignee
        changed = s.execute(
            update(Task).where(Task.id == task.id, Task.status == "ready", seen).values(assignee=assignee)
        ).rowcount
        if changed != 1:
            now = s.scalar(select(Task.assignee).where(Task.id == task.id))
            raise Conflict(MSG_TAKEN.format(who=now) if now else "Tugas ini baru saja diubah; muat ulang")
        # the inbox's index follows the assignee (engine/access.offered_to)
        s.execute(
            delete(TaskCandidate).where(TaskCandidate.task_id == task.id, TaskCandidate.kind == "assignee")
        )
        if assignee is not None:
            s.execute(add_candidate(task.id, "assignee", assignee))
        self._audit(
            s,
            task.instance_id,
            username,
            action,
            task_id=task.id,
            bpmn_id=task.bpmn_id,
            detail={"task": task.name, **({"assignee": assignee} if action == "assign" else {})},
        )
        notices.assignment(s.connection(), task, task.assignee, assignee, username, action)

    # --- accounts ------------------------------------------------------------------------------
    def _account(self, s: Session, username: str) -> Actor:
        user = s.execute(
            select(User.username, User.groups, User.region_code, User.active).where(
                User.username == username.strip().lower()
            )
        ).first()
        if user is None or not user.active:
            raise NotFound(f"Pengguna '{username}' tidak ditemukan atau tidak aktif")
        groups = [g.strip() for g in (user.groups or "").split(",") if g.strip()]
        return self.registry.access.actor(user.username, groups, user.region_code)

    def account(self, username: str) -> Actor:
        """The actor of an existing, enabled account: the CLI's `--user` acts as exactly this
        person, checked like the web (region, group, claim)."""
        with self.session() as s:
            return self._account(s, username)

    # --- documents and comments ----------------------------------------------------------------
    def _visible_instance(self, s: Session, instance_id: int, actor: Actor | None) -> Instance:
        query = select(Instance).where(Instance.id == instance_id)
        if actor is not None:
            query = query.where(visible_instances(actor))
        instance = s.scalars(query).first()
        if instance is None:
            raise NotFound("Kasus tidak ditemukan")
        return instance

    def add_document(
        self,
        instance_id: int,
        filename: str,
        content_type: str,
        content: bytes,
        actor: Actor | None = None,
        task_id: str | None = None,
        field: str | None = None,
        user: str | None = None,
    ) -> int:
        user = actor.username if actor else user
        if field is not None and len(field) > MAX_FIELD_NAME:
            raise ValidationFailed({"field": f"Paling banyak {MAX_FIELD_NAME} karakter"})
        with self.uow() as uow:
            s = uow.session
            if task_id is None:
                stage = self._visible_instance(s, instance_id, actor).stage
            else:  # the task's read checks the case too; its stage, else the case's (_store_document)
                stage = self._task_to_attach_to(s, instance_id, task_id, actor).stage
            upload = NewDocument(filename, content_type, content)
            document_id = self._store_document(s, instance_id, stage, task_id, field, upload, user)
            uow.commit()
            return document_id

    def _task_to_attach_to(self, s: Session, instance_id: int, task_id: str, actor: Actor | None):
        """The ready task of this case a file is uploaded for. When it is not, a case the actor
        cannot see is named first ("Kasus tidak ditemukan"), as it was checked first."""
        try:
            task = self._ready_task(s, task_id, actor, work=True)
        except (NotFound, Conflict, Forbidden):
            self._visible_instance(s, instance_id, actor)
            raise
        if task.instance_id != instance_id:
            self._visible_instance(s, instance_id, actor)
            raise NotFound("Tugas tidak ditemukan")
        return task

    def _store_document(
        self,
        s: Session,
        instance_id: int,
        stage: int | None,
        task_id: str | None,
        field: str | None,
        upload: NewDocument,
        user: str | None,
        audit: bool = True,
    ) -> int:
        """One document row and (unless the caller records its own, as a drafted letter does) its
        history entry, in the caller's transaction."""
        content = upload.content
        if len(content) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed({field or "file": "Berkas terlalu besar (maks. 10 MB)"})
        if not content:
            raise ValidationFailed({field or "file": "Berkas kosong"})
        if stage is None:
            stage = s.scalar(select(Instance.stage).where(Instance.id == instance_id))
        filename = single_line(upload.filename)[-255:] or "berkas"
        sha256 = hashlib.sha256(content).hexdigest()
        values = {
            "instance_id": instance_id,
            "task_id": task_id,
            "stage": stage,
            "field": field,
            "filename": filename,
            "content_type": upload.content_type[:100],
            "size": len(content),
            "sha256": sha256,
            "content": content,
            "uploaded_by": user,
            "uploaded_at": clock.now(),
        }
        document_id = s.connection().execute(INSERT_DOCUMENT, values).scalar_one()
        if audit:
            detail = {"document": document_id, "filename": filename, "sha256": sha256}
            self._audit(s, instance_id, user, "document", task_id=task_id, detail=detail)
        return document_id

    def add_comment(
        self,
        instance_id: int,
        body: str,
        actor: Actor | None = None,
        task_id: str | None = None,
        user: str | None = None,
    ) -> int:
        user = actor.username if actor else user
        body = self._comment_body(body)
        with self.uow() as uow:
            s = uow.session
            self._visible_instance(s, instance_id, actor)
            comment_id = self._add_comment(s, instance_id, body, user, task_id)
            uow.commit()
            return comment_id

    @staticmethod
    def _comment_body(body: str | None) -> str:
        body = multi_line(body)
        if not body:
            raise ValidationFailed({"komentar": "Komentar tidak boleh kosong"})
        if len(body) > 4000:
            raise ValidationFailed({"komentar": "Komentar paling banyak 4000 karakter"})
        return body

    def _add_comment(
        self, s: Session, instance_id: int, body: str, user: str | None, task_id: str | None
    ) -> int:
        comment = Comment(
            instance_id=instance_id,
            task_id=task_id,
            author=user or "sistem",
            body=body,
            created_at=clock.now(),
        )
        s.add(comment)
        s.flush()
        self._audit(s, instance_id, user, "comment", task_id=task_id, detail={"comment": comment.id})
        return comment.id

    # --- operators -------------------------------------------------------------------------------
    def cancel(self, instance_id: int, actor: Actor | None = None, user: str | None = None) -> None:
        user = actor.username if actor else user
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat membatalkan kasus")
        with self.uow() as uow:
            self._step(uow.session, instance_id, user, lambda case, env: case.cancel(), "cancel")
            uow.commit()

    def fill_list_columns(self, batch: int = 500) -> int:
        """Copy the list columns (`registry.list_columns`) of cases that predate them (migration
        0010) from their variables; later steps keep them current. Returns how many were filled."""
        if not self.registry.list_columns:
            return 0
        filled, after = 0, 0
        while True:
            with self.uow() as uow:
                s = uow.session
                rows = s.execute(
                    select(Instance.id, Instance.variables)
                    .where(
                        Instance.id > after,
                        Instance.partner.is_(None),
                        Instance.country.is_(None),
                        Instance.kind.is_(None),
                    )
                    .order_by(Instance.id)
                    .limit(batch)
                ).all()
                for row in rows:
                    values = projections.list_values(
                        json.loads(row.variables or "{}"), self.registry.list_columns
                    )
                    if any(values.values()):
                        s.execute(update(Instance).where(Instance.id == row.id).values(**values))
                        filled += 1
                uow.commit()
            if len(rows) < batch:
                return filled
            after = rows[-1].id

    def seed_lookups(self) -> dict[str, int]:
        """Fill each list the handlers declared, if it is still empty; operators edit it afterwards."""
        added = {}
        with self.uow() as uow:
            s = uow.session
            for name, defaults in self.registry.lookup_defaults.items():
                if s.scalar(select(LookupValue.code).where(LookupValue.list_name == name).limit(1)) is None:
                    s.add_all(
                        LookupValue(list_name=name, code=code, label=label)
                        for code, label in defaults.items()
                    )
                    added[name] = len(defaults)
            uow.commit()
        return added

"""Database tables: the engine's durable state and the projections the screens read.

An instance's SpiffWorkflow state is stored once, as text (never jsonb: SpiffWorkflow 3.2
restores task data by key order). Everything a list or a screen needs (tasks, timers, jobs,
incidents, audit) is a projection written in the same transaction as the state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from . import tables


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use engine.clock")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = tables.metadata


class Region(Base):
    """A regional government with its time zone; its level is one the handler package names."""

    __table__ = tables.regions  # declared for Core reads without the ORM (engine/tables.py)
    code: Mapped[str]
    name: Mapped[str]
    level: Mapped[str]
    timezone: Mapped[str]
    province_code: Mapped[str | None]


class CalendarOverride(Base):
    """An operator's correction of the working-day calendar (a decree adds or moves a holiday)."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("day", "region_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: national
    is_holiday: Mapped[bool] = mapped_column(Boolean)  # True adds a day off, False makes it a working day
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarDecree(Base):
    """One `calendar set`: an override entered, and the cases whose deadlines it re-evaluates.

    Its id is the calendar's version: every step reads the newest one with its case, so no
    process computes a deadline on a calendar older than a decree it can see."""

    __tablename__ = "calendar_decrees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: national
    is_holiday: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecreeJob(Base):
    """Re-evaluating one case's deadlines after a decree: durable work the worker does in a step
    of its own, retried after a conflict, skipped when the case has ended."""

    __tablename__ = "decree_jobs"
    __table_args__ = (
        UniqueConstraint("decree_id", "instance_id"),
        Index("ix_decree_jobs_due", "status", "next_run_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decree_id: Mapped[int] = mapped_column(ForeignKey("calendar_decrees.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # pending | done | skipped | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the lease (engine/jobs.py)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LookupValue(Base):
    """An operator-editable list of values that handlers read (e.g. countries without relations)."""

    __tablename__ = "lookup_values"
    list_name: Mapped[str] = mapped_column(String(60), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")


class ProcessDefinition(Base):
    """One deployed version of a process: its files, stored once and parsed once per process."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    files: Mapped[str] = mapped_column(Text)  # JSON {filename: text}
    sha256: Mapped[str] = mapped_column(String(64))
    spiff_version: Mapped[str] = mapped_column(String(20))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str | None] = mapped_column(String(100))


class Instance(Base):
    """A case. `lock_version` rises on every step: a writer that read an older one loses."""

    __tablename__ = "instances"
    # The case lists filter and sort on these (web/caselist.py); a sort's index ends with the case
    # number, its tie-break, so the index alone gives the page's order (migration 0016).
    __table_args__ = (
        Index("ix_instances_stage_updated", "stage", "updated_at", "id"),  # a stage's cases, newest first
        Index("ix_instances_kind", "kind"),
        Index("ix_instances_country", "country"),
        Index("ix_instances_business_key", "business_key"),
        Index("ix_instances_updated_at", "updated_at", "id"),
        Index("ix_instances_region_updated", "region_code", "updated_at", "id"),  # a region's default page
        Index("ix_instances_started_at", "started_at", "id"),
        Index("ix_instances_title", "title", "id"),
        Index("ix_instances_partner", "partner", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    process_version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # ix_instances_region_updated
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed | cancelled
    stage: Mapped[int | None] = mapped_column(Integer)
    stage_name: Mapped[str | None] = mapped_column(String(200))
    variables: Mapped[str] = mapped_column(Text, default="{}")  # JSON projection of the case variables
    # Columns the lists search and filter on, copied from the variables the registry names
    # (`HandlerRegistry.list_columns`), so a list never parses the variables of every case.
    partner: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(10))
    kind: Mapped[str | None] = mapped_column(String(50))
    # SpiffWorkflow state without the spec (4-15 KB): steps read it with Core (`projections.LOAD`),
    # so an ORM load of a case never does unless asked (a page showing cases has no use for it)
    state: Mapped[str] = mapped_column(Text, deferred=True)
    spiff_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # held by an operator


# A ready task's columns when the diagram offered it to no group and no user (the projections
# write empty strings, never NULL); the WHERE of a partial index, so queries repeat it literally.
OFFERED_TO_NO_ONE = "candidate_groups = '' AND candidate_users = ''"


class CaseCount(Base):
    """How many cases each (status, stage, region, suspended, process version) holds, as rows to
    add up.

    Triggers on `instances` (migration 0017) add a row of +1 when a case enters a group and -1 when
    it leaves one, and never update a row, so steps running at once never wait on each other or
    deadlock; `engine.case_counts.compact` folds the rows into one per group (the worker, every
    minute). The console's dashboard, its deployments page and `/metrics` add these up instead of
    counting every case.
    """

    __tablename__ = "case_counts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    stage: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(20))
    suspended: Mapped[bool] = mapped_column(Boolean)
    definition_id: Mapped[int] = mapped_column(Integer)  # the process version (no foreign key: only sums)
    n: Mapped[int] = mapped_column(Integer)


class Task(Base):
    """A user task, ready or completed. Its id is SpiffWorkflow's task id (a UUID)."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_ready", "status", "due_at"),
        Index("ix_tasks_instance_status_due", "instance_id", "status", "due_at"),  # "overdue" per case
        # Covers what the inbox filters, sorts and counts on, so its pages never read the wide rows.
        Index("ix_tasks_inbox", "id", "status", "due_at", "created_at", "stage", "assignee", "instance_id"),
        Index("ix_tasks_completed", "completed_at"),  # the console's recent stage visits
        # The few ready tasks offered to no one, for the console's queue without reading the rest.
        Index(
            "ix_tasks_offered_to_no_one",
            "status",
            sqlite_where=text(OFFERED_TO_NO_ONE),
            postgresql_where=text(OFFERED_TO_NO_ONE),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    lane: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    candidate_groups: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    candidate_users: Mapped[str] = mapped_column(String(500), default="")
    assignee: Mapped[str | None] = mapped_column(String(100))  # claimed by / assigned to
    priority: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    form: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of form fields
    handler: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    submitted: Mapped[str | None] = mapped_column(Text)  # JSON of the submitted values


class TaskCandidate(Base):
    """Who a ready task is offered to: one row per candidate group, candidate user and assignee.

    The inbox's index (instead of matching the comma-separated columns with LIKE): written with
    the task by the projections, its assignee row rewritten on claim and reassignment, every row
    deleted when the task closes. `region_code` is the case's, so a regional list reads only its
    region's rows. `stage`, `due_at` and `created_at` copy the task's (a decree's new deadline
    too), so the inbox pages and counts from these rows alone; `stage` is the task's own, so a
    task without one (a process without stages) is in no stage's count.
    """

    __tablename__ = "task_candidates"
    __table_args__ = (
        # The inbox's first page is a range of one of these read in order and cut by LIMIT, and
        # its counts are ranges of them: regional (with the region) and national, in deadline
        # order, and per stage.
        Index(
            "ix_task_candidates_region_due", "kind", "name", "region_code", "due_at", "created_at", "task_id"
        ),
        Index(
            "ix_task_candidates_region_stage",
            "kind",
            "name",
            "region_code",
            "stage",
            "due_at",
            "created_at",
            "task_id",
        ),
        Index("ix_task_candidates_due", "kind", "name", "due_at", "created_at", "task_id"),
        Index("ix_task_candidates_stage", "kind", "name", "stage", "due_at", "created_at", "task_id"),
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # group | user | assignee
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    region_code: Mapped[str | None] = mapped_column(String(20))
    # copies of the task's own stage, deadline and creation, so the inbox sorts and counts here
    stage: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Timer(Base):
    """A waiting timer event and when it is due. Id: the SpiffWorkflow task id."""

    __tablename__ = "timers"
    __table_args__ = (  # leased rows only: when the earliest lease ends (Work.next_due)
        Index(
            "ix_timers_leased",
            "locked_until",
            postgresql_where=text("locked_until IS NOT NULL"),
            sqlite_where=text("locked_until IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    interrupting: Mapped[bool] = mapped_column(Boolean, default=False)
    attached_to: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the case reached it
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the lease (engine/jobs.py)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StartTimer(Base):
    """A timer start event of the newest version of a process: the worker starts a case at each
    firing (engine/jobs.py), as Camunda 7 does; deploying a new version replaces it."""

    __tablename__ = "start_timers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # timeDate | timeDuration | timeCycle
    expression: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(50))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    remaining: Mapped[int | None] = mapped_column(Integer)  # firings still to come; None: no end
    fired: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the lease (engine/jobs.py)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Job(Base):
    """A service task waiting for (or being run by) a worker. Id: the SpiffWorkflow task id."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "next_run_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    topic: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # ready | failed (incident open)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_delay_seconds: Mapped[int] = mapped_column(Integer, default=300)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """A job that ran out of retries: its path stops until an operator retries it."""

    __tablename__ = "incidents"
    __table_args__ = (  # the worker leaves a timer with an open incident alone (engine/jobs.py)
        Index(
            "ix_incidents_open_job",
            "job_id",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        # the console's open incidents, oldest first, read in order and cut by LIMIT
        Index(
            "ix_incidents_open",
            "created_at",
            "id",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class AuditEvent(Base):
    """Append-only history: who did what, when, on which task."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class OutboxMessage(Base):
    """A notification written in the step that caused it; delivered later, at least once.

    Addressed to groups (comma-separated; a regional group means its members in the case's
    region) and/or named users. The worker fans it out (`sent_at`): one in-app notification per
    recipient and the e-mails their preferences ask for. `recipients` counts the active users it is
    for (its `actor`, who is not told, included), so a message meant for nobody shows to operators.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key: a retried job writes once
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))  # the task the message is about (its link)
    kind: Mapped[str] = mapped_column(String(40), default="pesan")  # pesan | tugas | klaim | pengingat | ...
    recipient_group: Mapped[str] = mapped_column(String(300), default="")  # comma-separated groups
    recipient_users: Mapped[str] = mapped_column(String(500), default="")  # comma-separated usernames
    region_code: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(100))  # who caused it: never told of their own act
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # fanned out to recipients
    recipients: Mapped[int | None] = mapped_column(Integer)


class Notification(Base):
    """One outbox message as one person sees it in the app (the bell), read or not."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("outbox_id", "user_id"),
        Index("ix_notifications_unread", "user_id", "read_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # for tomorrow's digest
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("email_deliveries.id"))


class EmailDelivery(Base):
    """One e-mail to one address: a message (preference "each") or a daily digest.

    Its text and `message_id` are fixed when it is queued, so every attempt sends the same mail:
    a worker that dies after the server accepted it and before `sent_at` is written sends it once
    more, with the same Message-ID. Temporary failures are retried with backoff; then `failed`.
    """

    __tablename__ = "email_deliveries"
    __table_args__ = (Index("ix_email_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # each | digest
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Document(Base):
    """An uploaded file. Stored in the database so every web process and worker sees it."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    stage: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str | None] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TaskDraft(Base):
    """What a person typed into a task form and saved without completing: one per task and user,
    restored when they return, deleted when the task is completed."""

    __tablename__ = "task_drafts"
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    # the case, so loading it says in the same statement whether any draft must go (projections)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    values: Mapped[str] = mapped_column(Text, default="{}")  # JSON {field id: text as typed}
    comment: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Comment(Base):
    """A remark on a case, optionally about one task."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportedCase(Base):
    """A case brought in from a file by the `import` command: one per business key, so importing the
    same file again adds nothing; it says which file and row the case came from."""

    __tablename__ = "imported_cases"
    __table_args__ = (UniqueConstraint("process_key", "business_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    row: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str | None] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A staff account. Members of regional groups (AccessPolicy.regional_groups) have a region."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    groups: Mapped[str] = mapped_column(String(300), default="")  # comma-separated
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(254))
    notify_mode: Mapped[str] = mapped_column(String(10), default="each")  # e-mail: each | digest | none
    # Raised by logout, a password change and disabling: every older session cookie stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Wrong passwords since the last successful login; at LOCK_AFTER the account locks (`locked_at`)
    # until an admin unlocks it or sets a new password.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token of one user for the JSON API. Only its SHA-256 is stored: the token itself
    is shown once, when it is created (the `token create` command)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerHeartbeat(Base):
    """Each worker's last completed loop, for `/healthz` and `/metrics`."""

    __tablename__ = "worker_heartbeats"
    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """Failed logins of one username from one address, shared by every web process: each failure
    past the first few doubles the wait before the next attempt (`blocked_until`)."""

    __tablename__ = "login_failures"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # "<username> <address>"
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)

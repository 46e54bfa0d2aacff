"""The read side: what the inbox, task and case pages show, as queries on the projections.

Authorisation lives here, in SQL: every query is filtered with `visible_instances` or
`offered_to`, and a single row is looked up by id *with* that clause, so a guessed id of
another region's case finds nothing (404) rather than something the template must hide.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import Actor, candidate_of, visible_instances
from engine.calendar import WorkingCalendar
from engine.forms import display_value
from engine.models import (
    AuditEvent,
    Comment,
    Document,
    Incident,
    Instance,
    Job,
    Region,
    Task,
    Timer,
)
from engine.registry import HandlerRegistry
from engine.views import calendars_for

from .accounts import display_names
from .formatting import Deadline, deadline, due_label, format_datetime, groups_label

DEFAULT_TIMEZONE = "Asia/Jakarta"

# Case variables that name the partner and the kind of cooperation, in the order shown.
SUMMARY_VARIABLES: tuple[tuple[str, str], ...] = (
    ("nama_mitra", "Mitra"),
    ("negara_mitra", "Negara"),
    ("tingkat_mitra", "Tingkat mitra"),
    ("jenis_kerja_sama", "Jenis"),
    ("sumber_prakarsa", "Sumber prakarsa"),
)

ACTION_LABELS = {
    "start": "Memulai kasus",
    "complete": "Menyelesaikan tugas",
    "claim": "Mengambil tugas",
    "unclaim": "Melepas tugas",
    "release-request": "Meminta operator melepas tugas",
    "assign": "Mengalihkan tugas",
    "letter": "Membuat draf surat",
    "document": "Mengunggah dokumen",
    "comment": "Menambahkan komentar",
    "cancel": "Membatalkan kasus",
    "retry": "Mengulang proses sistem",
    "timer": "Batas waktu tercapai",
    "job": "Sistem menjalankan",
    "job-failed": "Proses sistem gagal, dicoba lagi",
    "incident": "Gangguan proses sistem",
    "completed": "Kasus selesai",
    "recompute": "Batas waktu dihitung ulang (kalender kerja diubah)",
    "reassign": "Mengalihkan tugas (operator)",
    "suspend": "Menangguhkan kasus",
    "resume": "Melanjutkan kasus",
    "variable": "Mengubah variabel kasus",
    "migrate": "Memindahkan kasus ke versi proses lain",
    "reschedule": "Memindahkan batas waktu (operator)",
    "set-var": "Operator mengubah variabel kasus",
}


@dataclass(frozen=True)
class RegionView:
    code: str | None
    name: str
    level: str | None
    timezone: str


def region_of(code: str | None, name: str | None, level: str | None, timezone: str | None) -> RegionView:
    """A case's region as read with it (`name` None: its code names no region, or it has none):
    one without a row reads as its code, or "Nasional", on WIB."""
    if name is None:
        return RegionView(code, code or "Nasional", None, DEFAULT_TIMEZONE)
    return RegionView(code, name, level, timezone)


def region_view(session: Session, code: str | None) -> RegionView:
    region = session.get(Region, code) if code else None
    if region is None:
        return region_of(code, None, None, None)
    return region_of(region.code, region.name, region.level, region.timezone)


def calendar_for(session: Session, region_code: str | None) -> WorkingCalendar:
    """National plus regional operator overrides; the region's own entries win."""
    return calendars_for(session, [region_code])[region_code]


def list_deadlines(
    session: Session,
    rows: list[tuple[int, datetime | None, str | None]],
    now: datetime,
    viewer_tz: str,
    known: Iterable[RegionView] = (),
) -> dict[int, tuple[Deadline, str]]:
    """For a list page: each row's deadline (working days on its region's calendar) and its
    instant on the viewer's clock, so a list reads in one zone. `rows`: (id, due_at, region);
    `known`: regions the list's own statement read."""
    regions = _Regions(session)
    regions.preload({code for _row_id, due_at, code in rows if due_at is not None}, known)
    result = {}
    for row_id, due_at, code in rows:
        found = regions.deadline(due_at, code, now)
        if found is not None:
            result[row_id] = (found, due_label(found.due_at, viewer_tz))
    return result


class _Regions:
    """Region and calendar per code, loaded once per page."""

    def __init__(self, session: Session, viewer_tz: str | None = None) -> None:
        self._session = session
        self._viewer_tz = viewer_tz
        self._regions: dict[str | None, RegionView] = {}
        self._calendars: dict[str | None, WorkingCalendar] = {}

    def preload(self, codes: set[str | None], known: Iterable[RegionView] = ()) -> None:
        """The regions and calendars of a list's rows in at most two statements, not two per
        region (a national person's case list shows cases of many regions); the regions in
        `known` are not read again."""
        for view in known:
            self._regions.setdefault(view.code, view)
        codes = {code for code in codes if code}
        missing = sorted(codes - self._regions.keys())
        if missing:
            found = {
                code: (name, level, timezone)
                for code, name, level, timezone in self._session.execute(
                    select(Region.code, Region.name, Region.level, Region.timezone).where(
                        Region.code.in_(missing)
                    )
                )
            }
            for code in missing:
                self._regions[code] = region_of(code, *found.get(code, (None, None, None)))
        if uncalendared := sorted(codes - self._calendars.keys()):
            self._calendars |= calendars_for(self._session, uncalendared)

    def region(self, code: str | None) -> RegionView:
        if code not in self._regions:
            self._regions[code] = region_view(self._session, code)
        return self._regions[code]

    def deadline(self, due_at: datetime | None, code: str | None, now: datetime) -> Deadline | None:
        if due_at is None:
            return None
        if code not in self._calendars:
            self._calendars[code] = calendar_for(self._session, code)
        return deadline(due_at, self.region(code).timezone, now, self._calendars[code], self._viewer_tz)


def variables_of(instance: Instance) -> dict[str, Any]:
    try:
        variables = json.loads(instance.variables or "{}")
    except ValueError:
        return {}
    return variables if isinstance(variables, dict) else {}


def form_of(task: Task) -> list[dict[str, Any]]:
    try:
        fields = json.loads(task.form or "[]")
    except ValueError:
        return []
    return [f for f in fields if isinstance(f, dict) and f.get("id")] if isinstance(fields, list) else []


# --- a task --------------------------------------------------------------------------------------


def task_for(session: Session, actor: Actor, task_id: str) -> tuple[Task, Instance] | None:
    """A task of a case the actor may see (in any status), or None: another region's is not found."""
    row = session.execute(
        select(Task, Instance)
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.id == task_id, visible_instances(actor))
    ).first()
    return (row[0], row[1]) if row else None


def task_deadline(
    session: Session, task: Task, instance: Instance, now: datetime, viewer_tz: str | None = None
) -> Deadline | None:
    return _Regions(session, viewer_tz).deadline(task.due_at, instance.region_code, now)


def may_do(session: Session, actor: Actor, task_id: str) -> bool:
    """The task is offered to the actor (group, name or assignee), whatever its status."""
    return session.scalar(select(Task.id).where(Task.id == task_id, candidate_of(actor))) is not None


# --- a case --------------------------------------------------------------------------------------


def case_for(session: Session, actor: Actor, instance_id: int) -> Instance | None:
    return session.scalar(select(Instance).where(Instance.id == instance_id, visible_instances(actor)))


def document_for(session: Session, actor: Actor, document_id: int) -> Document | None:
    return session.scalar(
        select(Document)
        .join(Instance, Instance.id == Document.instance_id)
        .where(Document.id == document_id, visible_instances(actor))
    )


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    at_label: str
    actor: str
    action: str
    subject: str
    values: list[tuple[str, str, int | None]] = field(default_factory=list)  # label, text, document id
    imported: str = ""  # where an imported step came from: file, row, who imported it and when


@dataclass(frozen=True)
class KeyDate:
    label: str
    value: str
    stage: int | None


INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})  # the browser shows these


@dataclass(frozen=True)
class DocumentRow:
    """A document as the case page lists it: what it is (its field's label), when, by whom, and
    whether a later upload for the same field replaced it."""

    id: int
    filename: str
    label: str
    stage: int | None
    task_name: str | None
    uploader: str
    uploaded_at: str
    size: int
    sha256: str
    content_type: str
    superseded: bool

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES


@dataclass(frozen=True)
class FieldValue:
    label: str
    value: str
    document_id: int | None = None


@dataclass(frozen=True)
class OpenTask:
    id: str
    name: str
    stage: int | None
    groups: str
    assignee_name: str | None
    deadline: Deadline | None
    may_do: bool


@dataclass(frozen=True)
class DeadlineRow:
    what: str
    who: str
    deadline: Deadline


@dataclass
class CaseView:
    instance: Instance
    region: RegionView
    variables: dict[str, Any]
    summary: list[tuple[str, str]]
    key_dates: list[KeyDate]
    open_tasks: list[OpenTask]
    deadlines: list[DeadlineRow]
    system_work: list[str]
    documents_by_stage: list[tuple[int | None, list[DocumentRow]]]
    history: list[HistoryEntry]
    comments: list[tuple[Comment, str, str]]
    data_by_stage: list[tuple[int | None, list[FieldValue]]] = field(default_factory=list)
    viewer_tz: str = DEFAULT_TIMEZONE

    @property
    def next_deadline(self) -> DeadlineRow | None:
        return self.deadlines[0] if self.deadlines else None

    @property
    def key_dates_by_stage(self) -> list[tuple[int | None, list[KeyDate]]]:
        """Key dates under one heading per stage, so a label names its stage once."""
        groups: dict[int | None, list[KeyDate]] = defaultdict(list)
        for key_date in self.key_dates:
            groups[key_date.stage].append(key_date)
        return sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or 0))

    @property
    def documents(self) -> list[DocumentRow]:
        return [document for _stage, documents in self.documents_by_stage for document in documents]


def case_view(
    session: Session,
    actor: Actor,
    instance: Instance,
    now: datetime,
    start_fields: list[dict[str, Any]] | None = None,
    registry: HandlerRegistry | None = None,
    viewer_tz: str | None = None,
) -> CaseView:
    """Everything the case page and the task page's summary show. `instance` is already visible.

    `start_fields` (the start form) gives labels and option names to the values the case began with;
    `registry` the group labels and the deadlines handlers derived from the calendar (key dates).
    """
    labels = registry.access.labels if registry else {}
    regions = _Regions(session, viewer_tz)
    region = regions.region(instance.region_code)
    tz = viewer_tz or region.timezone  # instants read on the viewer's clock
    variables = variables_of(instance)
    tasks = list(
        session.scalars(select(Task).where(Task.instance_id == instance.id).order_by(Task.created_at))
    )
    forms = {task.id: form_of(task) for task in tasks}
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    comments = list(
        session.scalars(
            select(Comment).where(Comment.instance_id == instance.id).order_by(Comment.created_at)
        )
    )
    names = display_names(
        session,
        {t.assignee for t in tasks} | {e.actor for e in events} | {c.author for c in comments},
    )
    actionable = set(
        session.scalars(select(Task.id).where(Task.instance_id == instance.id, candidate_of(actor)))
    )

    # fields of every form of the case, for labels and Indonesian display of values
    all_fields: dict[str, dict[str, Any]] = {f["id"]: f for f in start_fields or [] if f.get("id")}
    field_stage: dict[str, int | None] = dict.fromkeys(all_fields, 1)
    for task in tasks:
        for f in forms[task.id]:
            all_fields.setdefault(f["id"], f)
            field_stage.setdefault(f["id"], task.stage)

    summary = [
        (label, display_value(all_fields.get(key, {"id": key}), variables.get(key)))
        for key, label in SUMMARY_VARIABLES
        if variables.get(key) not in (None, "")
    ]
    key_dates = [KeyDate("Dimulai", format_datetime(instance.started_at, tz), 1)]
    for key, f in all_fields.items():
        if f.get("type") == "date" and variables.get(key):
            key_dates.append(
                KeyDate(str(f.get("label") or key), display_value(f, variables[key]), field_stage[key])
            )
    for key, label in (registry.calendar_derived if registry else {}).items():
        if label and variables.get(key):  # e.g. a deadline a calendar decree may move
            key_dates.append(KeyDate(label, display_value({"id": key, "type": "date"}, variables[key]), None))
    if instance.ended_at:
        key_dates.append(KeyDate("Berakhir", format_datetime(instance.ended_at, tz), instance.stage))

    open_tasks = [
        OpenTask(
            id=task.id,
            name=task.name,
            stage=task.stage,
            groups=task.candidate_groups,
            assignee_name=names.get(task.assignee) if task.assignee else None,
            deadline=regions.deadline(task.due_at, instance.region_code, now),
            may_do=task.id in actionable,
        )
        for task in tasks
        if task.status == "ready"
    ]
    deadlines = [
        DeadlineRow(t.name, groups_label(t.groups, labels), t.deadline)
        for t in open_tasks
        if t.deadline is not None
    ]
    for timer in session.scalars(
        select(Timer).where(Timer.instance_id == instance.id).order_by(Timer.due_at)
    ):
        timer_deadline = regions.deadline(timer.due_at, instance.region_code, now)
        if timer_deadline is not None:
            deadlines.append(DeadlineRow(timer.name or timer.bpmn_id, "Sistem (otomatis)", timer_deadline))
    deadlines.sort(key=lambda row: row.deadline.due_at)

    system_work = [
        f"Diproses sistem: {job.name}" + (" (gagal, menunggu operator)" if job.status == "failed" else "")
        for job in session.scalars(select(Job).where(Job.instance_id == instance.id))
    ]
    system_work += [
        f"Gangguan: {incident.message.splitlines()[0][:200]}"
        for incident in session.scalars(
            select(Incident).where(Incident.instance_id == instance.id, Incident.resolved_at.is_(None))
        )
    ]

    documents = _documents(session, instance, tasks, all_fields, variables, names, tz)
    filenames = {document.id: document.filename for document in documents}
    by_stage: dict[int | None, list[DocumentRow]] = defaultdict(list)
    for document in documents:
        by_stage[document.stage].append(document)
    documents_by_stage = sorted(by_stage.items(), key=lambda item: (item[0] is None, item[0] or 0))

    task_names = {task.id: task.name for task in tasks}
    history = [
        _history_entry(event, names, task_names, forms, all_fields, filenames, tz)
        for event in events
        if event.action != "deploy"
    ]
    return CaseView(
        instance=instance,
        region=region,
        variables=variables,
        summary=summary,
        key_dates=key_dates,
        open_tasks=open_tasks,
        deadlines=deadlines,
        system_work=system_work,
        documents_by_stage=documents_by_stage,
        history=history,
        comments=[
            (
                comment,
                names.get(comment.author, comment.author),
                format_datetime(comment.created_at, tz),
            )
            for comment in comments
        ],
        data_by_stage=_data_by_stage(all_fields, field_stage, variables, filenames),
        viewer_tz=tz,
    )


def _documents(
    session: Session,
    instance: Instance,
    tasks: list[Task],
    all_fields: dict[str, dict[str, Any]],
    variables: dict[str, Any],
    names: dict[str, str],
    tz: str,
) -> list[DocumentRow]:
    """The case's documents (without their bytes), oldest first. Of several uploads for one field,
    the one the case's value names (else the newest) is current; the others are superseded."""
    rows = session.execute(
        select(
            Document.id,
            Document.filename,
            Document.field,
            Document.stage,
            Document.task_id,
            Document.uploaded_by,
            Document.uploaded_at,
            Document.size,
            Document.sha256,
            Document.content_type,
        )
        .where(Document.instance_id == instance.id)
        .order_by(Document.uploaded_at, Document.id)
    ).all()
    uploaders = display_names(session, {row.uploaded_by for row in rows})
    task_names = {task.id: task.name for task in tasks}
    current: dict[str, int] = {}
    for row in rows:
        if row.field:
            current[row.field] = row.id  # the newest so far
    for field_id in current:
        named = variables.get(field_id)
        if isinstance(named, int) and any(r.id == named and r.field == field_id for r in rows):
            current[field_id] = named
    return [
        DocumentRow(
            id=row.id,
            filename=row.filename,
            label=str((all_fields.get(row.field or "") or {}).get("label") or row.field or "Dokumen"),
            stage=row.stage,
            task_name=task_names.get(row.task_id or ""),
            uploader=uploaders.get(row.uploaded_by, row.uploaded_by) if row.uploaded_by else "Sistem",
            uploaded_at=format_datetime(row.uploaded_at, tz),
            size=row.size,
            sha256=row.sha256,
            content_type=row.content_type,
            superseded=bool(row.field) and current.get(row.field) != row.id,
        )
        for row in rows
    ]


def _data_by_stage(
    all_fields: dict[str, dict[str, Any]],
    field_stage: dict[str, int | None],
    variables: dict[str, Any],
    filenames: dict[int, str],
) -> list[tuple[int | None, list[FieldValue]]]:
    """The case's current values under the stage whose form first asked for them: each field
    once, so a value asked again at a later stage is not listed twice."""
    groups: dict[int | None, list[FieldValue]] = defaultdict(list)
    seen: set[tuple[int | None, str, str]] = set()
    for key, f in all_fields.items():
        value = variables.get(key)
        if value in (None, ""):
            continue
        stage = field_stage.get(key)
        label = str(f.get("label") or key)
        if f.get("type") == "file" and isinstance(value, int):
            row = FieldValue(label, filenames.get(value, f"Dokumen #{value}"), value)
        else:
            row = FieldValue(label, display_value(f, value))
        if (stage, label, row.value) in seen:  # two fields with one label and value: show once
            continue
        seen.add((stage, label, row.value))
        groups[stage].append(row)
    return sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or 0))


def _detail(event: AuditEvent) -> dict[str, Any]:
    try:
        detail = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def _history_entry(
    event: AuditEvent,
    names: dict[str, str],
    task_names: dict[str, str],
    forms: dict[str, list[dict[str, Any]]],
    all_fields: dict[str, dict[str, Any]],
    filenames: dict[int, str],
    tz: str,
) -> HistoryEntry:
    detail = _detail(event)
    subject = str(
        detail.get("task")
        or detail.get("timer")
        or detail.get("job")
        or detail.get("filename")
        or task_names.get(event.task_id or "", "")
    )
    values: list[tuple[str, str, int | None]] = []
    submitted = detail.get("values") if event.action in ("start", "complete") else None
    if isinstance(submitted, dict):
        fields = {f["id"]: f for f in forms.get(event.task_id or "", [])}
        for key, value in submitted.items():
            f = fields.get(key) or all_fields.get(key) or {"id": key}
            label = str(f.get("label") or key)
            if f.get("type") == "file" and isinstance(value, int):
                values.append((label, filenames.get(value, f"Dokumen #{value}"), value))
            else:
                values.append((label, display_value(f, value), None))
    values += _operator_detail(detail)
    action = ACTION_LABELS.get(event.action, event.action)
    if event.action == "complete" and detail.get("on_behalf_of"):
        action = "Menyelesaikan tugas atas nama"
    return HistoryEntry(
        at=event.at,
        at_label=format_datetime(event.at, tz),
        actor=names.get(event.actor, event.actor) if event.actor else "Sistem",
        action=action,
        subject=subject,
        values=values,
        imported=_imported(detail.get("import"), names, tz),
    )


def _operator_detail(detail: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    """What an operator's action adds to its history line: for whom, the change, and why."""
    rows: list[tuple[str, str, int | None]] = []
    if detail.get("on_behalf_of"):
        rows.append(("Atas nama", str(detail["on_behalf_of"]), None))
    if detail.get("assignee") or detail.get("group"):
        rows.append(("Kepada", str(detail.get("assignee") or detail.get("group")), None))
    if "name" in detail and "new" in detail:
        rows.append((f"Variabel {detail['name']}", f"{detail.get('old')!r} → {detail['new']!r}", None))
    if "timer" in detail and "new" in detail:
        rows.append(("Batas baru", str(detail["new"]), None))
    if "from" in detail and "to" in detail:
        rows.append(("Versi", f"{detail['from']} → {detail['to']}", None))
    if detail.get("reason"):
        rows.append(("Alasan", str(detail["reason"]), None))
    return rows


def _imported(origin: Any, names: dict[str, str], tz: str) -> str:
    """'dari kerja-sama.csv baris 3, diimpor oleh Fajar Operator pada 27 April 2026 pukul 10.00 WIB'."""
    if not isinstance(origin, dict):
        return ""
    by = origin.get("by")
    try:
        when = format_datetime(datetime.fromisoformat(str(origin.get("at"))), tz)
    except ValueError:
        when = "-"
    return (
        f"dari {origin.get('file') or '-'} baris {origin.get('row') or '-'}, diimpor oleh "
        f"{names.get(by, by) if by else 'Sistem'} pada {when}"
    )

"""Existing cases brought in by replaying their history through the diagram (the `import` command).

One row of a CSV file is one case. The import starts it and completes every user task on the way
to the row's target task with the row's values and documents, each on the date the row gives, by
the same commands a person uses (so the forms and handlers check every value); between steps the
case's own due jobs and timers run at their moments, as the worker would run them. Deadlines,
yearly schedules and watches therefore come out exactly as if the case had run in the system.

A row is all or nothing: all its steps run in one database transaction (`store.one_transaction`,
every command a savepoint of it) that is committed only when the case waits at its target, so a
refused row leaves no case, task, document or audit event. Time moves only for the importing
thread (`clock.local`). Every audit event of an imported case says who imported it, when, and
from which file and row; notifications of replayed steps are not sent (they are long past).

Columns: `business_key` (one case per key: importing a file again adds nothing), `region`,
`target` (a user task id, `Task_X@n` for its n-th round in a loop), form field ids, and
`tanggal_<element id>` for the day each task was done (`@k` for its k-th round). A blank cell
keeps what the case already holds, as the web form pre-fills it; a blank decision takes the
branch that leads to the target; a blank date means right after the previous step.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .access import Actor
from .calendar import local_today
from .clock import clock
from .documents import DocumentRefused, clean_filename, document_type
from .errors import EngineError, Forbidden, ValidationFailed
from .flowgraph import FlowGraph, Node
from .forms import MSG_DATE, format_day, is_readonly
from .models import ImportedCase, Incident, Instance, Job, ProcessDefinition, Region, Task, Timer
from .store import one_transaction

if TYPE_CHECKING:
    from .jobs import RunReport
    from .service import Orchestrator

log = logging.getLogger(__name__)

BUSINESS_KEY, REGION, TARGET = "business_key", "region", "target"
DATE_PREFIX = "tanggal_"
STEP_TIME = time(9)  # a step done on a given day is replayed at 09:00 local time (today: not after now)
MAX_STEPS = 2000  # no loop without an exit: a row never takes more steps than this
_VARIABLE_DEFAULT = re.compile(r"[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- what an import reports --------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    what: str
    element: str
    due_at: datetime
    overdue: bool


@dataclass
class RowResult:
    """What happened to one row: `created` (or `valid` in a dry run), `skipped` or `refused`."""

    row: int
    business_key: str | None
    status: str
    instance_id: int | None = None
    target: str | None = None
    timezone: str | None = None
    stage: int | None = None
    stage_name: str | None = None
    waiting: list[str] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    element: str | None = None
    field: str | None = None  # the refused field (declared after the last call of `field()`)
    message: str | None = None

    @property
    def next_deadline(self) -> Deadline | None:
        return self.deadlines[0] if self.deadlines else None


@dataclass
class ImportReport:
    filename: str
    sha256: str
    process_key: str
    check: bool
    rows: list[RowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def refused(self) -> int:
        return self.count("refused")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row, result in zip(data["rows"], self.rows, strict=True):
            row["next_deadline"] = asdict(result.next_deadline) if result.next_deadline else None
        data["counts"] = {s: self.count(s) for s in ("created", "valid", "skipped", "refused")}
        return data


class Refusal(Exception):
    """A row stops: the element (and field) where, and why. Nothing of the row is kept."""

    def __init__(
        self,
        element: str | None,
        field: str | None = None,
        message: str = "",
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.element, self.errors = element, dict(errors or {})
        self.field = field or next(iter(self.errors), None)
        self.message = message or "; ".join(f"{name}: {text}" for name, text in self.errors.items())
        super().__init__(self.message)


class _AlreadyThere(Exception):
    def __init__(self, instance_id: int | None) -> None:
        self.instance_id = instance_id


# --- documents named in a file -----------------------------------------------------------------


class DocumentSource(Protocol):
    """Where the documents a file names come from: `(original file name, content)` for a name,
    `LookupError` with a message when there is no such document."""

    def read(self, name: str) -> tuple[str, bytes]: ...


class DirectoryDocuments:
    """Documents as paths relative to a directory (the CSV file's), never outside it."""

    def __init__(self, base: Path) -> None:
        self.base = base.resolve()

    def read(self, name: str) -> tuple[str, bytes]:
        relative = Path(name.strip())
        path = (self.base / relative).resolve()
        if relative.is_absolute() or not path.is_relative_to(self.base):
            raise LookupError(f"Berkas '{name}' harus berada di folder berkas CSV (jalur relatif)")
        if not path.is_file():
            raise LookupError(f"Berkas '{name}' tidak ditemukan")
        return path.name, path.read_bytes()


# --- columns and rows --------------------------------------------------------------------------


def _prefilled(f: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
    """What the web form shows in a field before anyone types: a `${name}` default's variable,
    else the case's variable of the same name."""
    default = f.get("default")
    match = _VARIABLE_DEFAULT.fullmatch(default.strip()) if isinstance(default, str) else None
    return variables.get(match[1]) if match else variables.get(f["id"])


def _column(name: str, k: int) -> str:
    return name if k == 1 else f"{name}@{k}"


def date_column(element: str, k: int = 1) -> str:
    return _column(DATE_PREFIX + element, k)


def parse_target(graph: FlowGraph, text: str) -> tuple[str, int]:
    """`Task_X` or `Task_X@n` (its n-th round): the user task the case should wait at."""
    element, _, suffix = (text or "").strip().partition("@")
    rounds = int(suffix) if suffix.isdigit() else (1 if not suffix else 0)
    if not element:
        raise Refusal(None, TARGET, "Wajib diisi: id tugas tempat kasus menunggu")
    if graph.user_task(element) is None or rounds < 1:
        tasks = ", ".join(sorted(n.id for n in graph.nodes.values() if n.is_user_task))
        raise Refusal(None, TARGET, f"'{text}' bukan tugas pengguna dalam proses ini (pilihan: {tasks})")
    return element, rounds


@dataclass
class _Row:
    number: int
    cells: dict[tuple[str, str, int], str]  # (kind, name, round) -> text; kind: key | field | date
    overflow: bool = False  # more cells than the header has columns

    def get(self, kind: str, name: str, k: int = 1) -> str:
        return self.cells.get((kind, name, k), "")

    def field(self, name: str, k: int = 1) -> str:
        return self.get("field", name, k)

    @property
    def blank(self) -> bool:
        return not any(self.cells.values()) and not self.overflow

    @cached_property
    def days(self) -> dict[tuple[str, int], date]:
        """The `tanggal_` cells: (element, round) -> the day that step was done."""
        days = {}
        for (kind, name, k), text in self.cells.items():
            if kind == "date" and text:
                if not _ISO_DAY.fullmatch(text):
                    raise Refusal(name, date_column(name, k), MSG_DATE)
                try:
                    days[name, k] = date.fromisoformat(text)
                except ValueError:
                    raise Refusal(name, date_column(name, k), MSG_DATE) from None
        return days

    def date(self, element: str, k: int) -> date | None:
        return self.days.get((element, k))

    def mentions(self, node: Node, k: int) -> bool:
        """Whether the row says anything about the k-th round of a task: its date or a field."""
        return bool(self.get("date", node.id, k)) or any(self.field(f["id"], k) for f in node.form)


def _read_rows(text: str, graph: FlowGraph) -> list[_Row]:
    """The file's rows, every column understood; an unknown or repeated column refuses the file."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise EngineError("Berkas kosong: baris pertama harus berisi nama kolom")
    fields = {f["id"] for node in graph.nodes.values() for f in node.form}
    dated = {n.id for n in graph.nodes.values() if n.is_user_task or n.kind == "startEvent"}
    keys: list[tuple[str, str, int] | None] = []
    unknown, seen = [], set()
    for raw in header:
        name, _, suffix = raw.strip().partition("@")
        k = int(suffix) if suffix.isdigit() and int(suffix) >= 1 else (1 if not suffix else 0)
        if not raw.strip():
            keys.append(None)
            continue
        if name in (BUSINESS_KEY, REGION, TARGET) and not suffix:
            key = ("key", name, 1)
        elif k and name.startswith(DATE_PREFIX) and name[len(DATE_PREFIX) :] in dated:
            key = ("date", name[len(DATE_PREFIX) :], k)
        elif k and name in fields:
            key = ("field", name, k)
        else:
            unknown.append(raw.strip())
            continue
        if key in seen:
            raise EngineError(f"Kolom '{raw.strip()}' muncul dua kali")
        seen.add(key)
        keys.append(key)
    if unknown:
        raise EngineError(
            f"Kolom tidak dikenal: {', '.join(unknown)} (bukan {BUSINESS_KEY}, {REGION}, {TARGET}, "
            f"isian formulir proses ini, atau {DATE_PREFIX}<id tugas>)"
        )
    rows = []
    for number, values in enumerate(reader, start=2):
        cells = {key: value.strip() for key, value in zip(keys, values, strict=False) if key is not None}
        overflow = any(v.strip() for v in values[len(keys) :])
        rows.append(_Row(number, cells, overflow))
    return rows


# --- the import ----------------------------------------------------------------------------------


@dataclass
class _Waiting:
    id: str
    bpmn_id: str
    name: str
    k: int  # the round: how often this task has waited in this case, this time included
    created_at: datetime
    due_at: datetime | None


@dataclass
class _State:
    status: str
    stage: int | None
    stage_name: str | None
    variables: dict[str, Any]
    ready: list[_Waiting]
    timers: list[Timer]


class _Replay:
    """One row carried through the diagram inside the row's transaction (`view`)."""

    def __init__(
        self,
        view: Orchestrator,
        graph: FlowGraph,
        process_key: str,
        row: _Row,
        documents: DocumentSource,
        now: datetime,
        user: str | None,
    ) -> None:
        self.view, self.graph, self.key, self.row = view, graph, process_key, row
        self.documents, self.now, self.user = documents, now, user
        self.target, self.rounds = parse_target(graph, row.get("key", TARGET))
        self.start = graph.start_event()
        self.done: set[tuple[str, int]] = set()
        self.instance_id = 0

    # --- time ------------------------------------------------------------------------------------
    def at(self, day: date) -> datetime:
        """The moment a step done on `day` is replayed: 09:00 in the case's region, or now if earlier."""
        return min(datetime.combine(day, STEP_TIME, tzinfo=ZoneInfo(self.timezone)), self.now)

    def moment(self, day: date, element: str, column: str) -> datetime:
        """When a step done on `day` is replayed; never before the previous step, never after today."""
        today = local_today(self.now, self.timezone)
        if day > today:
            raise Refusal(
                element, column, f"Tanggal {format_day(day)} setelah hari ini ({format_day(today)})"
            )
        at = self.at(day)
        current = clock.now()
        if at < current:
            if local_today(current, self.timezone) == day:
                return current
            raise Refusal(
                element,
                column,
                f"Tanggal {format_day(day)} sebelum langkah sebelumnya "
                f"({format_day(local_today(current, self.timezone))}); urutan tanggal mengikuti diagram",
            )
        return at

    def advance(self, until: datetime) -> bool:
        """Run the case's due jobs and timers, each at its own moment, up to `until`; whether any ran."""
        ran = False
        due = self.view.next_due(self.instance_id)
        for _ in range(MAX_STEPS):
            if due is None or due > until:
                break
            self.set_time(max(due, clock.now()))
            self.check(self.view.run_due(instance_id=self.instance_id))
            ran = True
            due = self.view.next_due(self.instance_id)
            if due is not None and due <= clock.now():
                raise self.stalled()
        else:
            raise self.stalled()
        if until > clock.now():
            self.set_time(until)
        return ran

    def check(self, report: RunReport) -> None:
        """A system step that failed stops the row at its element (the worker would retry it; an
        import of history should not)."""
        if not (report.jobs_failed or report.incidents or report.conflicts):
            return
        with self.view.session() as s:
            incident = s.scalars(
                select(Incident).where(Incident.instance_id == self.instance_id).order_by(Incident.id)
            ).first()
            if incident is not None:
                raise Refusal(incident.bpmn_id, message=f"Proses sistem gagal: {incident.message}")
            job = s.scalars(
                select(Job).where(Job.instance_id == self.instance_id, Job.last_error.is_not(None))
            ).first()
            if job is not None:
                raise Refusal(job.bpmn_id, message=f"Proses sistem gagal: {job.name}: {job.last_error}")
        raise Refusal(None, message="Kasus diubah oleh proses lain selama impor")

    def stalled(self) -> Refusal:
        with self.view.session() as s:
            timer = s.scalars(
                select(Timer).where(Timer.instance_id == self.instance_id).order_by(Timer.due_at)
            ).first()
        return Refusal(timer.bpmn_id if timer else None, message="Proses tidak bergerak (tidak ada kemajuan)")

    # --- the case --------------------------------------------------------------------------------
    def state(self) -> _State:
        with self.view.session() as s:
            instance = s.execute(
                select(Instance.status, Instance.stage, Instance.stage_name, Instance.variables).where(
                    Instance.id == self.instance_id
                )
            ).one()
            rounds: Counter[str] = Counter()
            ready = []
            for task in s.execute(
                select(Task.id, Task.bpmn_id, Task.name, Task.status, Task.created_at, Task.due_at)
                .where(Task.instance_id == self.instance_id)
                .order_by(Task.created_at, Task.id)
            ):
                rounds[task.bpmn_id] += 1
                if task.status == "ready":
                    ready.append(
                        _Waiting(
                            task.id,
                            task.bpmn_id,
                            task.name,
                            rounds[task.bpmn_id],
                            task.created_at,
                            task.due_at,
                        )
                    )
            timers = list(
                s.scalars(select(Timer).where(Timer.instance_id == self.instance_id).order_by(Timer.due_at))
            )
            return _State(
                instance.status,
                instance.stage,
                instance.stage_name,
                json.loads(instance.variables or "{}"),
                ready,
                timers,
            )

    def run(self, region: Region) -> RowResult:
        self.timezone = region.timezone
        with clock.local() as set_time:
            self.set_time = set_time
            start_day = self.row.date(self.start.id, 1) or min(
                self.row.days.values(), default=local_today(self.now, self.timezone)
            )
            set_time(self.at(start_day))
            self.moment(start_day, self.start.id, date_column(self.start.id))  # not after today
            self.done.add((self.start.id, 1))
            values = {
                f["id"]: self.row.field(f["id"])
                for f in self.start.form
                if self.row.field(f["id"]) and not is_readonly(f)
            }
            try:
                self.instance_id = self.view.start(
                    self.key,
                    region.code,
                    values,
                    business_key=self.row.get("key", BUSINESS_KEY),
                    user=self.user,
                )
            except ValidationFailed as err:
                raise Refusal(self.start.id, errors=err.errors) from None
            self.record()
            reached = self.walk()
            self.advance(self.now)
            state = self.state()
            if reached.id not in {task.id for task in state.ready}:
                raise Refusal(
                    self.target,
                    message=f"Sampai hari ini kasus tidak lagi menunggu di {self.target}: sekarang "
                    f"{self.where(state)}",
                )
            for element, k in self.row.days:
                if (element, k) not in self.done:
                    raise Refusal(
                        element,
                        date_column(element, k),
                        "Tanggal diisi, tetapi tugas ini tidak dilalui sebelum kasus sampai di target",
                    )
            return self.result(state)

    def record(self) -> None:
        """The case's business key taken for this process (one case per key, whatever races)."""
        business_key = self.row.get("key", BUSINESS_KEY)
        provenance = self.view.provenance["import"]
        try:
            with self.view.uow() as uow:
                s = uow.session
                row = s.scalars(
                    select(ImportedCase).where(
                        ImportedCase.process_key == self.key, ImportedCase.business_key == business_key
                    )
                ).first()
                if row is not None and row.instance_id != self.instance_id:
                    live = s.scalar(select(Instance.status).where(Instance.id == row.instance_id))
                    if live not in (None, "cancelled"):  # another importer took the key meanwhile
                        raise _AlreadyThere(row.instance_id)
                row = row or ImportedCase(process_key=self.key, business_key=business_key)
                row.instance_id = self.instance_id
                row.filename, row.file_sha256 = provenance["file"], provenance["sha256"]
                row.row, row.imported_by = self.row.number, provenance["by"]
                row.imported_at = self.now
                s.add(row)
                uow.commit()
        except IntegrityError:
            raise _AlreadyThere(None) from None

    def walk(self) -> _Waiting:
        """Complete tasks until the case waits at its target; return the target's task."""
        state: _State | None = None  # read again whenever something may have changed it
        for _ in range(MAX_STEPS):
            if self.advance(clock.now()) or state is None:
                state = self.state()
            if state.status != "running":
                raise Refusal(
                    None, TARGET, f"Kasus berakhir ({self.ended(state)}) sebelum sampai di {self.target}"
                )
            for task in state.ready:
                if task.bpmn_id == self.target and task.k == self.rounds:
                    return task
            todo = [
                task
                for task in state.ready
                if self.row.mentions(self.graph.nodes[task.bpmn_id], task.k)
                and not (task.bpmn_id == self.target and task.k >= self.rounds)
            ]
            if todo:
                task = min(todo, key=lambda t: (self.row.date(t.bpmn_id, t.k) or date.min, t.created_at))
                self.complete(task, state)
                state = None
                continue
            if clock.now() >= self.now:
                raise self.stuck(state)
            later = (self.at(day) for day in self.row.days.values())
            if self.advance(min([at for at in later if at > clock.now()] + [self.now])):
                state = None
        raise Refusal(None, message="Proses tidak bergerak (tidak ada kemajuan)")

    def complete(self, task: _Waiting, state: _State) -> None:
        """Do a waiting task on its day, as the row fills it in; time runs on to that day first."""
        column = date_column(task.bpmn_id, task.k)
        day = self.row.date(task.bpmn_id, task.k)
        at = self.moment(day, task.bpmn_id, column) if day else clock.now()
        if self.advance(at):
            state = self.state()
            if task.id not in {t.id for t in state.ready}:
                raise Refusal(
                    task.bpmn_id,
                    column,
                    f"Pada {format_day(local_today(at, self.timezone))} tugas ini sudah tidak menunggu: "
                    f"kasus {self.where(state)}",
                )
        values = self.values(task, state.variables)
        try:
            self.view.complete_task(task.id, values, user=self.user)
        except ValidationFailed as err:
            raise Refusal(task.bpmn_id, errors=err.errors) from None
        except EngineError as err:
            raise Refusal(task.bpmn_id, message=str(err)) from None
        self.done.add((task.bpmn_id, task.k))

    def values(self, task: _Waiting, variables: Mapping[str, Any]) -> dict[str, Any]:
        """What a person would submit: the row's cells, else what the form shows pre-filled."""
        node = self.graph.nodes[task.bpmn_id]
        decisions = self.graph.decisions(node.id)
        raw: dict[str, Any] = {}
        for f in node.form:
            field_id, cell = f["id"], self.row.field(f["id"], task.k)
            if is_readonly(f):
                continue
            if field_id in decisions and not cell:
                raw[field_id] = self.decision(node, f, task.k)
            elif cell and f.get("type") == "file":
                raw[field_id] = self.upload(task, field_id, cell)
            elif cell:
                raw[field_id] = cell
            elif field_id not in decisions and (known := _prefilled(f, variables)) is not None:
                raw[field_id] = known
        return raw

    def decision(self, node: Node, f: Mapping[str, Any], k: int) -> str:
        """A blank decision takes the branch that leads to the target; say so when none or several do."""
        options = [o["id"] for o in f.get("options") or []]
        toward = self.graph.options_toward(node.id, f["id"], self.target)
        if len(toward) == 1:
            return toward[0]
        column = _column(f["id"], k)
        if not toward:
            raise Refusal(
                node.id,
                column,
                f"Keputusan '{f['id']}' belum diisi dan tidak ada pilihan ({', '.join(options)}) "
                f"yang menuju {self.target}",
            )
        raise Refusal(
            node.id,
            column,
            f"Keputusan '{f['id']}' belum diisi: {' dan '.join(toward)} sama-sama menuju {self.target}; "
            "isi kolom ini",
        )

    def upload(self, task: _Waiting, field_id: str, name: str) -> int:
        try:
            filename, content = self.documents.read(name)
            filename = clean_filename(filename)
            content_type = document_type(filename, content)
        except (LookupError, DocumentRefused) as err:
            raise Refusal(task.bpmn_id, field_id, str(err)) from None
        try:
            return self.view.add_document(
                self.instance_id,
                filename,
                content_type,
                content,
                task_id=task.id,
                field=field_id,
                user=self.user,
            )
        except ValidationFailed as err:
            raise Refusal(task.bpmn_id, errors=err.errors) from None

    # --- what the row says ------------------------------------------------------------------------
    def ended(self, state: _State) -> str:
        return state.stage_name or ("selesai" if state.status == "completed" else "dibatalkan")

    def where(self, state: _State) -> str:
        if state.status != "running":
            return f"sudah berakhir ({self.ended(state)})"
        waiting = ", ".join(f"{t.name} ({t.bpmn_id})" for t in state.ready)
        timers = ", ".join(f"{t.name} ({t.bpmn_id})" for t in state.timers)
        return f"menunggu {waiting or timers or 'proses sistem'}"

    def stuck(self, state: _State) -> Refusal:
        if state.ready:
            task = state.ready[0]
            node = self.graph.nodes[task.bpmn_id]
            columns = [_column(f["id"], task.k) for f in node.form] + [date_column(node.id, task.k)]
            return Refusal(
                node.id,
                None,
                f"Kasus menunggu di {task.name} ({node.id}), tetapi baris ini tidak mengisi tugas itu "
                f"(kolom {', '.join(columns)}); belum sampai di {self.target}",
            )
        timer = state.timers[0] if state.timers else None
        if timer is not None:
            due = format_day(local_today(timer.due_at, self.timezone))
            return Refusal(
                timer.bpmn_id,
                None,
                f"Kasus menunggu {timer.name} ({due}); sampai hari ini belum sampai di {self.target}",
            )
        return Refusal(None, None, f"Kasus {self.where(state)}; belum sampai di {self.target}")

    def result(self, state: _State) -> RowResult:
        deadlines = [
            Deadline(t.name, t.bpmn_id, t.due_at, t.due_at <= self.now) for t in state.ready if t.due_at
        ] + [Deadline(t.name, t.bpmn_id, t.due_at, t.due_at <= self.now) for t in state.timers]
        return RowResult(
            self.row.number,
            self.row.get("key", BUSINESS_KEY),
            "created",
            instance_id=self.instance_id,
            target=_column(self.target, self.rounds),
            timezone=self.timezone,
            stage=state.stage,
            stage_name=state.stage_name,
            waiting=[t.name for t in state.ready],
            deadlines=sorted(deadlines, key=lambda d: d.due_at),
        )


class Imports:
    """`import_csv` and `import_template`, mixed into `Orchestrator`."""

    def _import_process(self: Orchestrator, process_key: str | None) -> tuple[str, FlowGraph]:
        with self.session() as s:
            if process_key is None:
                keys = sorted(set(s.scalars(select(ProcessDefinition.key))))
                if len(keys) != 1:
                    raise EngineError(
                        f"Sebutkan prosesnya (deploy: {', '.join(keys)})" if keys else "Belum ada proses"
                    )
                process_key = keys[0]
            files = self._files(s, self._latest(s, process_key).id)
        return process_key, FlowGraph.from_files(files, process_key)

    def import_template(self: Orchestrator, target: str, process_key: str | None = None) -> list[str]:
        """The columns a file needs to bring cases to `target` (`Task_X` or `Task_X@n`): the start
        form, then every task on the shortest way there (round by round through a loop) with its
        fields and its date. Decisions that only one branch toward the target can take are left
        out: they default to that branch."""
        _key, graph = self._import_process(process_key)
        try:
            element, rounds = parse_target(graph, target)
        except Refusal as err:
            raise EngineError(err.message) from None
        start = graph.start_event()
        path = graph.route(start.id, element)
        loop = graph.route(element, element) if rounds > 1 else []
        if path is None or loop is None:
            raise EngineError(f"{target} tidak dapat dicapai dari {start.id}")
        columns = [BUSINESS_KEY, REGION, TARGET]
        columns += [f["id"] for f in start.form if not is_readonly(f)]
        columns.append(date_column(start.id))
        seen: Counter[str] = Counter()
        for node_id in path + loop * (rounds - 1):
            node = graph.nodes[node_id]
            if not node.is_user_task:
                continue
            seen[node_id] += 1
            k = seen[node_id]
            if node_id == element and k == rounds:
                break
            decided = {
                name
                for name in graph.decisions(node_id)
                if len(graph.options_toward(node_id, name, element)) == 1
            }
            for f in node.form:
                column = _column(f["id"], k)
                if not is_readonly(f) and f["id"] not in decided and column not in columns:
                    columns.append(column)
            columns.append(date_column(node_id, k))
        return columns

    def import_csv(
        self: Orchestrator,
        content: bytes,
        filename: str,
        documents: DocumentSource,
        *,
        process_key: str | None = None,
        check: bool = False,
        actor: Actor | None = None,
        user: str | None = None,
    ) -> ImportReport:
        """Bring in one case per row (see the module docstring). With `check`, every row runs
        exactly the same way and is then rolled back: the report says what would happen."""
        user = actor.username if actor else user
        if actor is not None and not actor.is_operator:
            raise Forbidden("Hanya operator yang dapat mengimpor kasus")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise EngineError(f"{filename}: bukan teks UTF-8 (simpan sebagai CSV UTF-8)") from None
        key, graph = self._import_process(process_key)
        rows = _read_rows(text, graph)
        now = clock.now()
        report = ImportReport(filename, hashlib.sha256(content).hexdigest(), key, check)
        first_row: dict[str, int] = {}
        for row in rows:
            if row.blank:
                continue
            business_key = row.get("key", BUSINESS_KEY)
            try:
                if business_key in first_row:
                    raise Refusal(
                        None,
                        BUSINESS_KEY,
                        f"Kunci '{business_key}' sudah dipakai baris {first_row[business_key]}",
                    )
                if business_key:
                    first_row[business_key] = row.number
                result = self._import_row(graph, key, row, documents, report, now, user)
            except Refusal as refusal:
                result = RowResult(
                    row.number,
                    business_key or None,
                    "refused",
                    element=refusal.element,
                    field=refusal.field,
                    message=refusal.message,
                    errors=refusal.errors,
                )
            report.rows.append(result)
        return report

    def _import_row(
        self: Orchestrator,
        graph: FlowGraph,
        key: str,
        row: _Row,
        documents: DocumentSource,
        report: ImportReport,
        now: datetime,
        user: str | None,
    ) -> RowResult:
        business_key = row.get("key", BUSINESS_KEY)
        if row.overflow:
            raise Refusal(None, None, "Baris ini berisi lebih banyak sel daripada kolom")
        if not business_key:
            raise Refusal(None, BUSINESS_KEY, "Wajib diisi: kunci unik kasus ini (mis. nomor naskah)")
        if len(business_key) > 200:
            raise Refusal(None, BUSINESS_KEY, "Paling banyak 200 karakter")
        parse_target(graph, row.get("key", TARGET))
        row.days  # noqa: B018 (reads every date: a bad one refuses the row before anything runs)
        try:
            with one_transaction(self.db) as connection:
                view = self.joined(connection)
                view.sends_notifications = False
                view.provenance = {
                    "import": {
                        "by": user,
                        "at": now.isoformat(),
                        "file": report.filename,
                        "sha256": report.sha256,
                        "row": row.number,
                    }
                }
                with view.session() as s:
                    region = s.get(Region, row.get("key", REGION)) if row.get("key", REGION) else None
                    existing = s.scalar(
                        select(Instance.id).where(
                            Instance.process_key == key,
                            Instance.business_key == business_key,
                            Instance.status != "cancelled",
                        )
                    )
                if existing is not None:
                    raise _AlreadyThere(existing)
                if region is None:
                    code = row.get("key", REGION)
                    raise Refusal(
                        None,
                        REGION,
                        f"Wilayah '{code}' tidak dikenal" if code else "Wajib diisi: kode wilayah",
                    )
                result = _Replay(view, graph, key, row, documents, now, user).run(region)
                if report.check:
                    result.status, result.instance_id = "valid", None  # rolled back: the id is not kept
                else:
                    connection.commit()
                return result
        except _AlreadyThere as there:
            return RowResult(
                row.number,
                business_key,
                "skipped",
                instance_id=there.instance_id,
                message=f"Sudah ada sebagai kasus {there.instance_id}"
                if there.instance_id
                else "Sudah diimpor bersamaan oleh proses lain",
            )
        except Refusal:
            raise
        except EngineError as err:
            raise Refusal(None, None, str(err)) from None
        except Exception as err:  # a bug or an outage: this row is refused and rolled back, the rest go on
            log.exception("import of %s row %s failed", report.filename, row.number)
            raise Refusal(None, None, f"Kesalahan sistem: {type(err).__name__}: {err}") from None

"""Walks a KSDPL case through the engine the way the web front end does.

`Case.complete("Task_X", field=value)` finds the ready task by its BPMN id, fills the form as a
browser would (fields already known to the case are pre-filled, decision fields never are),
uploads a small PDF for every required `file` field, sends everything as strings and completes
the task. Required text and date fields the test does not care about get a placeholder text and
the region's today; enum decisions must always be given explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.calendar import local_today
from engine.clock import clock
from engine.errors import ValidationFailed
from engine.models import AuditEvent, Document, Instance, Job, OutboxMessage, Task, Timer
from engine.service import NewDocument, Orchestrator, RunReport, StepResult

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# Enum fields that choose a gateway branch: the form shows them empty every time (FIELDS.md, ◆).
DECISIONS = frozenset(
    {
        "hasil_penjajakan",
        "tindak_lanjut_kelayakan",
        "keputusan_dprd",
        "tindak_lanjut_penolakan",
        "hasil_verifikasi",
    }
)

# The six prerequisites Pemda ticks (the seventh, diplomatic relations, is looked up).
ALL_PREREQUISITES = {
    "urusan_pemerintah_daerah": True,
    "kesetaraan_status": True,
    "tanpa_kantor_perwakilan": True,
    "tidak_campur_tangan": True,
    "sesuai_rencana_pembangunan": True,
    "hibah_sesuai_ketentuan": True,
}


def as_browser_value(value: Any) -> str:
    """What an HTML form posts: ISO dates, "on" for a ticked box, "" for an empty input."""
    if isinstance(value, bool):
        return "on"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def placeholder(field: Mapping[str, Any]) -> str:
    """Some text that satisfies the field's length constraints."""
    text = f"Isian uji: {field['label']}"
    constraints = field.get("constraints") or {}
    longest = int(constraints["maxlength"]) if constraints.get("maxlength") else None
    shortest = int(constraints["minlength"]) if constraints.get("minlength") else 0
    text = text.ljust(shortest, "x")
    return text[:longest] if longest else text


class Case:
    """One KSDPL case and the clock, as a test sees them."""

    # Note the case's stage after each command (`stages`, a read per command): tests check the
    # path by it; a client of the product (bench/throughput.py) does not keep it.
    notes_stages = True
    # Send the files with the completion (`complete_task(documents=...)`, as the web's task form and
    # the API's multipart completion do) instead of uploading each first (`add_document`).
    files_with_completion = False

    def __init__(self, orch: Orchestrator, instance_id: int, timezone: str) -> None:
        self.orch = orch
        self.id = instance_id
        self.timezone = timezone
        self.stages: list[int | None] = []  # the case's stage after each command, repeats collapsed
        self._note_stage()

    # --- time -------------------------------------------------------------------------------
    def at(self, moment: datetime) -> None:
        """Move the engine clock (an aware instant)."""
        clock.set(moment)

    def on(self, day: date, hour: int = 9) -> None:
        """Move the clock to `hour`:00 local time of `day` in the case's region."""
        clock.set(datetime.combine(day, time(hour), tzinfo=ZoneInfo(self.timezone)))

    @property
    def today(self) -> date:
        return local_today(clock.now(), self.timezone)

    # --- commands -------------------------------------------------------------------------------
    def form_values(
        self,
        task: Task,
        given: Mapping[str, Any],
        known: Mapping[str, Any] | None = None,
        files: dict[str, NewDocument] | None = None,
    ) -> dict[str, str]:
        """The strings a browser would post for `task`, with `given` typed in by the user; `known`:
        the case's variables the form is pre-filled with (read here when not given). A file is
        uploaded first, its id posted; with `files`, put there to be sent with the completion."""
        known = self.variables() if known is None else known
        fields = json.loads(task.form)
        posted: dict[str, str] = {}
        for field in fields:
            field_id, kind = field["id"], field["type"]
            required = "required" in field["constraints"]
            if field_id in given:
                value = given[field_id]
                if kind == "file" and isinstance(value, bytes):
                    value = self.upload(task, field_id, value, files)
            elif kind == "file":
                value = self.upload(task, field_id, PDF, files) if required else None
            elif known.get(field_id) is not None and field_id not in DECISIONS:
                value = known[field_id]  # pre-filled from the case
            elif kind == "boolean" or not required:
                value = None
            elif kind == "date":
                value = self.today
            elif kind in ("string", "textarea"):
                value = placeholder(field)
            else:
                raise AssertionError(f"{task.bpmn_id}: the test must choose {field_id} ({kind})")
            if (kind == "boolean" and not value) or (files is not None and field_id in files):
                continue  # an unticked checkbox sends nothing; a file goes with the completion
            posted[field_id] = as_browser_value(value)
        unknown = set(given) - {field["id"] for field in fields}
        assert not unknown, f"{task.bpmn_id} has no fields {sorted(unknown)}"
        return posted

    def upload(
        self, task: Task, field_id: str, content: bytes, files: dict[str, NewDocument] | None = None
    ) -> int | None:
        if files is not None:
            files[field_id] = NewDocument(f"{field_id}.pdf", "application/pdf", content)
            return None
        return self.orch.add_document(
            self.id,
            f"{field_id}.pdf",
            "application/pdf",
            content,
            task_id=task.id,
            field=field_id,
            user="uji",
        )

    def complete(self, bpmn_id: str, user: str = "uji", **values: Any) -> StepResult:
        task, known = self.task_page(bpmn_id)
        files: dict[str, NewDocument] | None = {} if self.files_with_completion else None
        posted = self.form_values(task, values, known, files)
        result = self.orch.complete_task(task.id, posted, user=user, documents=files or None)
        self._note_stage()
        return result

    def refused(self, bpmn_id: str, **values: Any) -> dict[str, str]:
        """Submit a form the engine must refuse; check nothing changed and return the messages."""
        task, known = self.task_page(bpmn_id)
        posted = self.form_values(task, values, known)  # uploads first: a browser uploads before it submits
        before = self.snapshot()
        with pytest.raises(ValidationFailed) as refusal:
            self.orch.complete_task(task.id, posted, user="uji")
        assert self.snapshot() == before
        return refusal.value.errors

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused command must leave as it was."""
        with self.orch.session() as s:
            instance = s.get(Instance, self.id)
            assert instance is not None
            tasks = s.scalars(select(Task).where(Task.instance_id == self.id))
            timers = s.scalars(select(Timer).where(Timer.instance_id == self.id))
            return {
                "instance": (instance.lock_version, instance.state, instance.variables, instance.stage),
                "tasks": sorted((t.id, t.status) for t in tasks),
                "timers": sorted((t.id, t.due_at) for t in timers),
                "jobs": s.scalar(select(func.count()).select_from(Job).where(Job.instance_id == self.id)),
                "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
                "audit": s.scalar(select(func.count()).select_from(AuditEvent)),
            }

    def run_worker(self) -> RunReport:
        """What the worker does on its next tick: every due job and timer."""
        report = self.orch.run_due()
        self._note_stage()
        return report

    def wait_until(self, due: datetime) -> RunReport:
        """The worker ticks one second before `due` (nothing fires) and at `due` (a timer fires)."""
        self.at(due - timedelta(seconds=1))
        early = self.run_worker()
        assert early.timers_fired == 0 and early.jobs_run == 0, f"fired before {due}: {early}"
        self.at(due)
        report = self.run_worker()
        assert report.timers_fired >= 1, f"nothing fired at {due}"
        return report

    def _note_stage(self) -> None:
        if not self.notes_stages:
            return
        stage = self.instance().stage
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)

    # --- what the screens show -------------------------------------------------------------------
    def ready(self) -> list[Task]:
        with self.orch.session() as s:
            return list(
                s.scalars(
                    select(Task)
                    .where(Task.instance_id == self.id, Task.status == "ready")
                    .order_by(Task.created_at, Task.bpmn_id)
                )
            )

    def ready_ids(self) -> list[str]:
        return [task.bpmn_id for task in self.ready()]

    def task(self, bpmn_id: str) -> Task:
        return self.task_page(bpmn_id)[0]

    def task_page(self, bpmn_id: str) -> tuple[Task, dict[str, Any]]:
        """The one ready task with this BPMN id and its case's variables, read together as the
        task's page reads them (one statement)."""
        with self.orch.session() as s:
            rows = s.execute(
                select(Task, Instance.variables)
                .join(Instance, Instance.id == Task.instance_id)
                .where(Task.instance_id == self.id, Task.status == "ready", Task.bpmn_id == bpmn_id)
            ).all()
        assert len(rows) == 1, f"ready tasks: {self.ready_ids()}, not {bpmn_id}"
        return rows[0][0], json.loads(rows[0][1])

    def instance(self) -> Instance:
        with self.orch.session() as s:
            instance = s.get(Instance, self.id)
            assert instance is not None
            return instance

    def variables(self) -> dict[str, Any]:
        return json.loads(self.instance().variables)

    def stage(self) -> tuple[int | None, str | None]:
        instance = self.instance()
        return instance.stage, instance.stage_name

    def status(self) -> str:
        return self.instance().status

    def timers(self) -> dict[str, Timer]:
        with self.orch.session() as s:
            return {t.bpmn_id: t for t in s.scalars(select(Timer).where(Timer.instance_id == self.id))}

    def outbox(self, kind: str = "pesan") -> list[OutboxMessage]:
        """The messages of this case of one kind; by default the handlers' (not task notices)."""
        with self.orch.session() as s:
            return list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.instance_id == self.id, OutboxMessage.kind == kind)
                    .order_by(OutboxMessage.id)
                )
            )

    def documents(self) -> list[Document]:
        with self.orch.session() as s:
            query = select(Document).where(Document.instance_id == self.id).order_by(Document.id)
            return list(s.scalars(query))

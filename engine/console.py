"""What operators do to a case from the console, each checked here (operators only) and audited
with the reason they gave: reassign a task, complete one "atas nama" someone, cancel, suspend and
resume a case, correct a variable, move a timer, move cases to another version, enter a calendar
decree, deploy. Plus the one read the console
needs from the state itself: where on the diagram a case is (`element_states`).

Mixed into `Orchestrator`. The same checks apply whichever door (web, CLI, API) a command comes
through: an `Actor` that is not an operator is refused with `Forbidden`.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, delete, select, update

from . import notices
from .access import Actor, add_candidate
from .clock import clock
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .models import Incident, Instance, ProcessDefinition, Task, TaskCandidate, Timer, User
from .projections import LOAD
from .runtime import Case

if TYPE_CHECKING:
    from .decrees import DecreeQueued
    from .deployments import DeployResult
    from .service import NewDocument, StepResult, _Env

MAX_REASON = 500
# SpiffWorkflow task states as the diagram marks them
_MARKS = {
    TaskState.COMPLETED: "completed",
    TaskState.READY: "active",
    TaskState.STARTED: "active",
    TaskState.WAITING: "waiting",
}


def check_reason(reason: str | None) -> str:
    """Every operator's change to a case says why; the reason goes into the history."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"alasan": "Alasan wajib diisi"})
    if len(reason) > MAX_REASON:
        raise ValidationFailed({"alasan": f"Alasan paling banyak {MAX_REASON} karakter"})
    return reason


def parse_value(text: str) -> Any:
    """A variable's new value as typed: a JSON literal (number, true/false, null, list, object,
    "quoted text") or, failing that, the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _operator(actor: Actor, what: str) -> None:
    if not actor.is_operator:
        raise Forbidden(f"Hanya operator yang dapat {what}")


def _held_or_not(s, instance_id: int) -> SimpleNamespace | None:
    """The case as `_step` loads it, suspended or not: an operator corrects a held case (the
    usual reason to hold it) while staff and the worker stay locked out."""
    row = s.connection().execute(LOAD, {"id": instance_id}).first()
    return SimpleNamespace(**{**row._asdict(), "suspended_at": None}) if row is not None else None


class Console:
    """Operators' commands; see the module docstring."""

    # --- tasks -----------------------------------------------------------------------------------
    def reassign(
        self,
        task_id: str,
        actor: Actor,
        reason: str,
        *,
        assignee: str | None = None,
        group: str | None = None,
    ) -> None:
        """Give a ready task to one active user, or offer it to one group (nobody holds it then)."""
        _operator(actor, "mengalihkan tugas")
        reason = check_reason(reason)
        if bool(assignee) == bool(group):
            raise ValidationFailed({"tujuan": "Pilih satu pengguna atau satu grup"})
        with self.uow() as uow:
            s = uow.session
            task = s.get(Task, task_id)
            if task is None:
                raise NotFound("Tugas tidak ditemukan")
            if task.status != "ready":
                raise Conflict("Tugas ini sudah tidak berlaku")
            previous = {"assignee": task.assignee, "groups": task.candidate_groups}
            if assignee:
                user = s.scalars(select(User).where(User.username == assignee)).first()
                if user is None or not user.active:
                    raise ValidationFailed({"pengguna": f"Pengguna '{assignee}' tidak ada atau nonaktif"})
                case_region = s.scalar(select(Instance.region_code).where(Instance.id == task.instance_id))
                them = self.registry.access.actor(user.username, user.groups.split(","), user.region_code)
                if them.is_operator:
                    raise ValidationFailed({"pengguna": "Operator tidak mengerjakan tugas bisnis"})
                if not them.national and them.region_code != case_region:
                    raise ValidationFailed(
                        {"pengguna": f"Pengguna '{assignee}' tidak dapat melihat kasus daerah ini"}
                    )
                values: dict[str, Any] = {"assignee": assignee}
            else:
                if group not in self.registry.access.groups - self.registry.access.operator_groups:
                    raise ValidationFailed({"grup": f"Grup '{group}' tidak dikenal atau grup operator"})
                values = {"assignee": None, "candidate_groups": group, "candidate_users": ""}
            changed = s.execute(
                update(Task).where(Task.id == task_id, Task.status == "ready").values(**values)
            ).rowcount
            if changed != 1:
                raise Conflict("Tugas ini baru saja diubah; muat ulang")
            # the inbox's index follows (engine/access.offered_to)
            gone = TaskCandidate.task_id == task_id
            if assignee:
                gone = and_(gone, TaskCandidate.kind == "assignee")
            s.execute(delete(TaskCandidate).where(gone))
            kind, name = ("assignee", assignee) if assignee else ("group", group)
            s.execute(add_candidate(task_id, kind, name))
            self._audit(
                s,
                task.instance_id,
                actor.username,
                "reassign",
                task_id=task_id,
                bpmn_id=task.bpmn_id,
                detail={
                    "task": task.name,
                    "assignee": assignee,
                    "group": group,
                    "previous": previous,
                    "reason": reason,
                },
            )
            notices.assignment(s.connection(), task, previous["assignee"], assignee, actor.username, "assign")
            uow.commit()

    def complete_on_behalf(
        self,
        task_id: str,
        raw_values: Mapping[str, Any],
        actor: Actor,
        reason: str,
        documents: Mapping[str, NewDocument] | None = None,
    ) -> StepResult:
        """Complete a task "atas nama" whoever it was for: the task's own completion (form,
        handler, documents in the same transaction), its history naming the operator, the person
        or groups it was done for, and why."""
        _operator(actor, "menyelesaikan tugas atas nama orang lain")
        reason = check_reason(reason)
        with self.session() as s:
            task = s.get(Task, task_id)
            if task is None:
                raise NotFound("Tugas tidak ditemukan")
            on_behalf_of = task.assignee or task.candidate_users or task.candidate_groups or "-"
        view = copy.copy(self)
        view.provenance = {**self.provenance, "on_behalf_of": on_behalf_of, "reason": reason}
        return view.complete_task(task_id, raw_values, None, actor.username, documents, strict=True)

    # --- cases -----------------------------------------------------------------------------------
    def cancel_case(self, instance_id: int, actor: Actor, reason: str) -> None:
        _operator(actor, "membatalkan kasus")
        reason = check_reason(reason)
        with self.uow() as uow:
            s = uow.session
            self._step(
                s,
                instance_id,
                actor.username,
                lambda case, env: case.cancel(),
                "cancel",
                detail={"reason": reason},
                loaded=_held_or_not(s, instance_id),
            )
            s.execute(update(Instance).where(Instance.id == instance_id).values(suspended_at=None))
            uow.commit()

    def suspend(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Hold a case: no task can be completed and no job or timer runs until it is resumed."""
        self._hold(instance_id, actor, reason, suspend=True)

    def resume(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Release a held case; what fell due meanwhile runs on the worker's next tick."""
        self._hold(instance_id, actor, reason, suspend=False)

    def _hold(self, instance_id: int, actor: Actor, reason: str, *, suspend: bool) -> None:
        _operator(actor, "menangguhkan atau melanjutkan kasus")
        reason = check_reason(reason)
        with self.uow() as uow:
            s = uow.session
            instance = s.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"Kasus {instance_id} tidak ditemukan")
            if instance.status != "running":
                raise Conflict(f"Kasus {instance_id} tidak sedang berjalan")
            if suspend == (instance.suspended_at is not None):
                state = "sudah ditangguhkan" if suspend else "tidak sedang ditangguhkan"
                raise Conflict(f"Kasus {instance_id} {state}")
            changed = s.execute(
                update(Instance)
                .where(Instance.id == instance_id, Instance.lock_version == instance.lock_version)
                .values(
                    suspended_at=clock.now() if suspend else None,
                    lock_version=instance.lock_version + 1,
                )
            ).rowcount
            if changed != 1:
                raise Conflict("Kasus sudah diubah oleh pengguna lain; muat ulang lalu coba lagi")
            action = "suspend" if suspend else "resume"
            self._audit(s, instance_id, actor.username, action, detail={"reason": reason})
            uow.commit()

    def set_variable(self, instance_id: int, name: str, value: Any, actor: Actor, reason: str) -> None:
        """Correct one case variable on every path that is waiting; the old value stays in history."""
        _operator(actor, "mengubah variabel kasus")
        reason = check_reason(reason)
        name = (name or "").strip()
        if not name.isidentifier() or name.startswith("_"):
            raise ValidationFailed({"nama": "Nama variabel tidak valid"})
        with self.uow() as uow:
            s = uow.session
            before = s.scalar(select(Instance.variables).where(Instance.id == instance_id))
            old = json.loads(before).get(name) if before else None

            def apply(case: Case, env: _Env) -> None:
                case.set_variables({name: value})
                last = case.workflow.last_task  # screens read it too (`Case.variables`)
                if last is not None:
                    last.data[name] = value

            self._step(
                s,
                instance_id,
                actor.username,
                apply,
                "variable",
                detail={"name": name, "old": old, "new": value, "reason": reason},
                loaded=_held_or_not(s, instance_id),
            )
            uow.commit()

    def reschedule_timer(
        self, instance_id: int, timer_id: str, due: datetime, actor: Actor, reason: str
    ) -> None:
        """Move a waiting date or duration timer to another instant; a cycle is refused. A later
        calendar decree evaluates the timer's expression again, as it does for every deadline."""
        _operator(actor, "mengubah batas waktu")
        reason = check_reason(reason)
        if due.tzinfo is None:
            raise ValidationFailed({"batas": "Waktu harus memuat zona waktu"})
        with self.uow() as uow:
            s = uow.session
            timer = s.get(Timer, timer_id)
            if timer is None or timer.instance_id != instance_id:
                raise NotFound("Timer tidak ditemukan pada kasus ini")
            old = timer.due_at

            def apply(case: Case, env: _Env) -> None:
                task = case.task(timer_id)
                if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                    raise ValidationFailed({"batas": "Timer berulang tidak dapat dipindah"})
                task.internal_data["event_value"] = due.isoformat()

            self._step(
                s,
                instance_id,
                actor.username,
                apply,
                "reschedule",
                task_id=timer_id,
                bpmn_id=timer.bpmn_id,
                detail={"timer": timer.name, "old": old, "new": due, "reason": reason},
                loaded=_held_or_not(s, instance_id),
            )
            uow.commit()

    def element_states(self, instance_id: int) -> dict[str, dict[str, int]]:
        """Per diagram element, how many times it completed and how many of it are active,
        waiting (a timer, a join) or failed (an open incident): what the diagram marks."""
        with self.session() as s:
            row = s.connection().execute(LOAD, {"id": instance_id}).first()
            if row is None:
                raise NotFound(f"Kasus {instance_id} tidak ditemukan")
            case = Case.load(row.state, self._deployment(s, row.definition_id, row.process_key), None)
            failed = s.scalars(
                select(Incident.bpmn_id).where(
                    Incident.instance_id == instance_id, Incident.resolved_at.is_(None)
                )
            ).all()
        states: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_MARKS.values(), 0))
        for task in case.workflow.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            mark = _MARKS.get(task.state)
            if bpmn_id and mark and mark != "completed":
                states[bpmn_id][mark] += 1
        for bpmn_id, count in case.completed_counts().items():  # the tasks the state dropped too
            states[bpmn_id]["completed"] += count
        for bpmn_id in failed:  # a failed job is still started in the state: it shows as failed only
            counts = states[bpmn_id]
            counts["failed"] = counts.get("failed", 0) + 1
            counts["active"] = max(counts["active"] - 1, 0)
        return dict(states)

    def migrate(self, instance_id: int, definition_id: int, actor: Actor, reason: str) -> int:
        """Move a running case to another deployed version of its process, where every element the
        case has reached (active, waiting, passed) still exists; refused naming the missing ones.
        Elements the case has not reached may be gone or new.
        Open tasks keep what they were created with; what comes next follows the new version.
        Returns the version the case now runs on."""
        _operator(actor, "memindahkan kasus ke versi lain")
        reason = check_reason(reason)
        with self.uow() as uow:
            s = uow.session
            target = s.get(ProcessDefinition, definition_id)
            if target is None:
                raise NotFound(f"Versi proses {definition_id} tidak ditemukan")
            row = s.connection().execute(LOAD, {"id": instance_id}).first()
            if row is None:
                raise NotFound(f"Kasus {instance_id} tidak ditemukan")
            if row.process_key != target.key:
                raise Conflict(f"Kasus {instance_id} bukan proses {target.key}")
            if row.instance_status != "running":
                raise Conflict(f"Kasus {instance_id} tidak sedang berjalan")
            if row.definition_id == target.id:
                raise Conflict(f"Kasus {instance_id} sudah pada versi {target.version}")
            new = self._deployment(s, target.id, target.key)
            old_case = Case.load(row.state, self._deployment(s, row.definition_id, row.process_key), None)
            known = set(new.spec.task_specs)
            for spec in new.subprocess_specs.values():
                known |= set(spec.task_specs)
            missing = sorted(old_case.bpmn_id(name) or name for name in old_case.reached_elements() - known)
            if missing:
                raise Conflict(
                    f"Kasus {instance_id} tidak dapat dipindah ke versi {target.version}: elemen "
                    f"{', '.join(missing)} tidak ada di versi itu"
                )
            env = self._env(s, self._region_of(row), row.calendar_version)
            env.business_key = row.business_key
            case = Case.load_onto(row.state, new, env.script_engine)
            case.earlier_variables = json.loads(row.projected_variables)
            old_version = s.scalar(select(Instance.process_version).where(Instance.id == instance_id))
            s.execute(
                update(Instance)
                .where(Instance.id == instance_id)
                .values(definition_id=target.id, process_version=target.version)
            )
            self._save(
                s,
                instance_id,
                row.lock_version,
                case,
                env,
                actor.username,
                ("migrate", None, None, {"from": old_version, "to": target.version, "reason": reason}),
            )
            uow.commit()
            return target.version

    # --- deployments and the calendar -------------------------------------------------------------
    def deploy_as(self, files: Mapping[str, str | bytes], actor: Actor) -> list[DeployResult]:
        _operator(actor, "men-deploy proses")
        return self.deploy(files, user=actor.username)

    def definition_files(self, definition_id: int) -> tuple[ProcessDefinition, dict[str, str]]:
        """A deployed version and its files as deployed (for download and for the diagram)."""
        with self.session() as s:
            definition = s.get(ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"Versi proses {definition_id} tidak ditemukan")
            return definition, json.loads(definition.files)

    def decree(
        self,
        actor: Actor,
        day: date,
        is_holiday: bool,
        region_code: str | None,
        number: str,
        note: str = "",
    ) -> DecreeQueued:
        """A calendar decree entered by an operator: its number is required and leads the text."""
        _operator(actor, "mengubah kalender kerja")
        number = (number or "").strip()
        if not number:
            raise ValidationFailed({"nomor": "Nomor keputusan wajib diisi"})
        description = f"{number}: {note.strip()}" if note.strip() else number
        return self.set_calendar_override(day, is_holiday, region_code, description, user=actor.username)

"""One case's workflow in memory: state in and out, and the engine steps it can take.

This module knows SpiffWorkflow and nothing of the database. The state written here holds
the instance's tasks and data only; its spec comes from the deployed version (parsed once
per process and cached), so a step never serialises or parses a spec.
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib.metadata import version as _dist_version
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as _SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from .jsonvalues import dumps as dumps  # where the engine modules read it
from .parser import ParsedDeployment

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = timedelta(minutes=5)
SPIFF_VERSION = f"{_dist_version('spiffworkflow')}/{_SERIALIZER_VERSION}"


def parse_retry_cycle(cycle: str | None) -> tuple[int, timedelta]:
    """`failedJobRetryTimeCycle` as Camunda writes it (`R3/PT5M`): tries and the delay between."""
    if not cycle:
        return DEFAULT_RETRIES, DEFAULT_RETRY_DELAY
    match = re.fullmatch(r"R(\d+)/P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", cycle.strip())
    if not match:
        raise ValueError(f"failedJobRetryTimeCycle {cycle!r} is not R<n>/<duration>")
    tries, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return max(tries, 1), timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class StateConverter(BpmnWorkflowConverter):
    """Writes a workflow without its spec; restores it onto spec objects passed in the dict."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _make_serializer() -> BpmnWorkflowSerializer:
    config = deepcopy(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = StateConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(
        date, lambda d: {"value": d.isoformat()}, lambda v: date.fromisoformat(v["value"]), "date"
    )
    registry.register(Decimal, lambda d: {"value": str(d)}, lambda v: Decimal(v["value"]), "decimal")
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()


@dataclass(frozen=True)
class TimerInfo:
    id: str
    bpmn_id: str
    name: str
    due: str | None
    interrupting: bool
    attached_to: str | None


@dataclass(frozen=True)
class OpenIds:
    """Ids of the ready user tasks and open jobs, and the waiting timers with their due values."""

    tasks: frozenset[str]
    jobs: frozenset[str]
    timers: dict[str, str]


def _attached_to(boundary_task) -> str | None:
    """The activity a boundary event sits on: its sibling under SpiffWorkflow's boundary split
    (the event spec itself does not record `attachedToRef`)."""
    siblings = boundary_task.parent.children if boundary_task.parent is not None else []
    return next((t.task_spec.bpmn_id for t in siblings if not hasattr(t.task_spec, "cancel_activity")), None)


def counts_working_days(expression: str | None) -> bool:
    """Whether an expression's value depends on the working-day calendar."""
    return bool(expression) and any(
        name in expression for name in ("add_working_days", "working_days_between")
    )


def ext(task) -> dict[str, Any]:
    """The Camunda 7 attributes the parser put on a task's spec."""
    return getattr(task.task_spec, "extensions", None) or {}


class Case:
    """A workflow plus the operations a step may apply to it."""

    def __init__(self, workflow: BpmnWorkflow) -> None:
        self.workflow = workflow
        self._open: tuple[list, list] | None = None  # (ready user tasks, open jobs), until the next change
        # What the stored projections hold: they are written with the state, so they mirror it as loaded.
        self.projected = OpenIds(frozenset(), frozenset(), {})
        # The variables screens saw after the previous step: branches that ended (a lapse warning,
        # an overdue report) leave their results there, as the main path never sees them.
        self.earlier_variables: dict[str, Any] = {}
        # Whether a task of the case has a draft (`projections.HAS_DRAFTS`, read when loading); None: unknown.
        self.has_drafts: bool | None = None
        # What the open tasks held when the case was loaded, and the values this step set itself
        # (a form, a handler's result): see `variables`.
        self.loaded_variables: dict[str, Any] = {}
        self.written: dict[str, Any] = {}
        self.cancelled = False  # ended by an operator: SpiffWorkflow then reports it as completed
        self.stage_names: dict[int, str] = {}  # the deployed version's (`ParsedDeployment.stages`)

    @classmethod
    def create(cls, deployment: ParsedDeployment, script_engine, variables: dict[str, Any]) -> Case:
        workflow = BpmnWorkflow(deployment.spec, deployment.subprocess_specs, script_engine=script_engine)
        workflow.task_tree.data.update(variables)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        case = cls(workflow)
        case.stage_names = deployment.stages
        case.has_drafts = False  # nobody has seen its tasks yet
        case.run_engine()
        return case

    @classmethod
    def load(cls, state: str, deployment: ParsedDeployment, script_engine) -> Case:
        dct = json.loads(state)
        SERIALIZER.migrate(dct)
        dct["spec"] = deployment.spec
        dct["subprocess_specs"] = dict(deployment.subprocess_specs)
        workflow = SERIALIZER.from_dict(dct)
        workflow.script_engine = script_engine
        case = cls(workflow)
        case.stage_names = deployment.stages
        case.projected = case.open_ids()
        case.loaded_variables = case._task_variables()  # a new dict; values are replaced, not mutated
        return case

    @classmethod
    def load_onto(cls, state: str, deployment: ParsedDeployment, script_engine) -> Case:
        """A case's state on another version's spec (migration): what the old version predicted
        beyond the open tasks is dropped and predicted again from the new one. Every task the
        case has reached must exist in the new spec (`reached_elements`)."""
        dct = json.loads(state)  # `load` migrates the serializer format afterwards
        known = set(deployment.spec.task_specs)
        tasks = dct["tasks"]
        doomed = [
            tid
            for tid, t in tasks.items()
            if t["state"] & (TaskState.FUTURE | TaskState.PREDICTED_MASK) and t["task_spec"] not in known
        ]
        while doomed:
            tid = doomed.pop()
            task = tasks.pop(tid, None)
            if task is None:
                continue
            parent = tasks.get(task["parent"])
            if parent is not None and tid in parent["children"]:
                parent["children"].remove(tid)
            doomed.extend(task["children"])
        case = cls.load(json.dumps(dct), deployment, script_engine)
        tasks_by_id = case.workflow.tasks
        for task in case.workflow.get_tasks(state=TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            if task.id not in tasks_by_id:  # under a prediction dropped above
                continue
            for child in list(task.children):
                predicted = child.has_state(TaskState.FUTURE | TaskState.PREDICTED_MASK)
                if predicted and not child.triggered and child.id in tasks_by_id:
                    case.workflow._remove_task(child.id)
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
        case._open = None
        return case

    def reached_elements(self) -> set[str]:
        """Names of the task specs the case has reached: finished, or open (ready, running, waiting)."""
        predicted = TaskState.FUTURE | TaskState.PREDICTED_MASK
        return {task.task_spec.name for task in self.workflow.get_tasks() if not task.has_state(predicted)}

    def dump(self) -> str:
        return SERIALIZER.serialize_json(self.workflow)

    # --- engine steps -------------------------------------------------------------------
    def run_engine(self) -> None:
        """Run gateways, events and other engine tasks until only people, jobs or timers are left.

        SpiffWorkflow notices a due timer at the end of `do_engine_steps` but runs what it made
        ready only on the next call, hence the loop."""
        self._open = None
        while True:
            self.workflow.do_engine_steps()
            if not self.workflow.get_tasks(state=TaskState.READY, manual=False):
                return

    def task(self, task_id: str):
        return self.workflow.get_task_from_id(UUID(task_id))

    def complete_user_task(self, task_id: str, values: dict[str, Any]) -> None:
        task = self.task(task_id)
        task.set_data(**values)
        self.written.update(values)
        task.run()
        self.run_engine()

    def complete_job(self, task_id: str, values: dict[str, Any]) -> None:
        task = self.task(task_id)
        task.set_data(**values)
        self.written.update(values)
        task.complete()
        self.run_engine()

    def failed_tasks(self) -> list:
        """Engine tasks that raised (a gateway whose condition failed): each is an incident."""
        return self.workflow.get_tasks(state=TaskState.ERROR)

    def retry_task(self, task_id: str) -> None:
        """Run a failed engine task again (after an operator fixed what it read)."""
        task = self.task(task_id)
        if task is None or task.state != TaskState.ERROR:
            raise LookupError(f"task {task_id} has not failed")
        self._open = None
        task._set_state(TaskState.READY)
        self.run_engine()

    def set_variables(self, values: dict[str, Any]) -> None:
        """An operator's correction: every task still to run sees the new values."""
        for task in self.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK | TaskState.ERROR):
            task.data.update(values)
        self.written.update(values)

    def fire_due_timers(self) -> None:
        self.workflow.refresh_timers()
        self.run_engine()

    def cancel(self) -> None:
        self._open = None
        self.cancelled = True
        self.workflow.cancel()

    # --- what the projections read ---------------------------------------------------------
    @property
    def status(self) -> str:
        """running | completed | cancelled, as the instance row stores it."""
        if self.cancelled:
            return "cancelled"
        return "completed" if self.workflow.completed else "running"

    def _open_tasks(self) -> tuple[list, list]:
        """One walk of the task tree for both lists; every screen-facing method reads it."""
        if self._open is None:
            ready, jobs = [], []
            for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.STARTED):
                if task.state == TaskState.READY and task.task_spec.manual:
                    ready.append(task)
                elif (
                    task.state == TaskState.STARTED
                    and isinstance(task.task_spec, ServiceTask)
                    and ext(task).get("topic")
                ):
                    jobs.append(task)
            self._open = (ready, jobs)
        return self._open

    def ready_user_tasks(self) -> list:
        return list(self._open_tasks()[0])

    def open_jobs(self) -> list:
        return list(self._open_tasks()[1])

    def waiting_timers(self) -> list[TimerInfo]:
        timers = []
        for task in self.workflow.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            details = definition.details(task)
            spec = task.task_spec
            attached = _attached_to(task) if hasattr(spec, "cancel_activity") else None
            timers.append(
                TimerInfo(
                    id=str(task.id),
                    bpmn_id=spec.bpmn_id,
                    name=spec.bpmn_name or spec.bpmn_id,
                    due=details.value if isinstance(details.value, str) else None,
                    interrupting=bool(getattr(spec, "cancel_activity", False)),
                    attached_to=attached,
                )
            )
        return timers

    def open_ids(self) -> OpenIds:
        return OpenIds(
            frozenset(str(t.id) for t in self.ready_user_tasks()),
            frozenset(str(t.id) for t in self.open_jobs()),
            {t.id: t.due for t in self.waiting_timers() if t.due},
        )

    def _task_variables(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        last = self.workflow.last_task
        if last is not None:
            data.update(last.data)
        for task in self.ready_user_tasks() + self.open_jobs():
            data.update(task.data)
        return data

    def variables(self) -> dict[str, Any]:
        """The case variables for screens (not for logic): last write wins, as in Camunda.

        Each parallel branch holds its own copy of the data, so a task waiting on the main path
        still carries a value a side branch has since replaced (`laporan_terlambat`). Hence the
        earlier projection is updated only with what this step changed: values the open tasks
        hold differently from when the case was loaded, then the values the step set itself."""
        data: dict[str, Any] = dict(self.earlier_variables)
        loaded = self.loaded_variables
        data.update(
            {
                key: value
                for key, value in self._task_variables().items()
                if key not in loaded or loaded[key] != value
            }
        )
        data.update(self.written)
        return {key: value for key, value in data.items() if not key.startswith("_")}

    def stage(self) -> tuple[int | None, str | None]:
        """The stage property of where the case waits (the furthest one when several branches
        wait), with the name the process gives that stage."""
        waiting = self.ready_user_tasks() + self.open_jobs()
        waiting += [
            task
            for task in self.workflow.event_manager.tasks.values()
            if not hasattr(task.task_spec, "cancel_activity")
        ]
        staged = [(ext(task).get("stage"), task) for task in waiting if ext(task).get("stage")]
        if staged:
            stage = max(number for number, _task in staged)
            return stage, self.stage_names.get(stage)
        finished = self.workflow.get_tasks(state=TaskState.COMPLETED)
        for task in sorted(finished, key=lambda t: t.last_state_change, reverse=True):
            if ext(task).get("stage"):
                return ext(task)["stage"], self.stage_names.get(ext(task)["stage"])
        return None, None

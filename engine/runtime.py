"""One case's workflow in memory: state in and out, and the engine steps it can take.

This module knows SpiffWorkflow and nothing of the database. The state written here holds
the instance's tasks and data only; its spec comes from the deployed version (parsed once
per process and cached), so a step never serialises or parses a spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib.metadata import version as _dist_version
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as _SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .jsonvalues import dumps as dumps  # where the engine modules read it
from .parser import ParsedDeployment
from .pruning import History, prune

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


# What SpiffWorkflow writes for most tasks: left out of the stored state, put back when loading
# (`internal_data` stays: timers keep their due values there, and tools read it).
_TASK_DEFAULTS = {
    "children": [],
    "triggered": False,
    "data": {},
    "delta": {},
    "typename": "Task",
}


def identical(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (1, 1.0 and True stay apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(identical, a, b))
    return a == b


class StateConverter(BpmnWorkflowConverter):
    """Writes a workflow without its spec; restores it onto spec objects passed in the dict.

    Compact: a task leaves out its id (the key it is written under), its parent (the task
    listing it as a child) and the fields at their usual value; a task whose data is closer to
    an earlier written task's than to its parent's (another branch carrying the same case
    variables) is written as the difference to that task's (`from`). States written without
    any of this load alike."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        top: list = []  # the top workflow's tasks that carry many variables, in the order written
        written = [(workflow, dct["tasks"])]
        written += [
            (workflow.subprocesses[UUID(key)], sub["tasks"]) for key, sub in dct["subprocesses"].items()
        ]
        for wf, tasks in written:
            carriers = top if wf is workflow else list(top)  # a sub-process reads its own and the top's
            for task, task_dct in zip(wf.tasks.values(), tasks.values(), strict=True):  # in the same order
                _rebase(task, task_dct, carriers)
                if len(task.data) >= _CARRIER and not task.has_state(_PREDICTED):
                    carriers.append(task)  # a prediction may be dropped (`Case.load_onto`)
            for key, task_dct in tasks.items():
                parent = task_dct["parent"]
                if parent is None or key in tasks[parent]["children"]:
                    del task_dct["parent"]
                if task_dct["id"] == key:
                    del task_dct["id"]
                _strip(task_dct)
        return dct

    def from_dict(self, dct):
        for tasks in [dct["tasks"], *(sub["tasks"] for sub in dct["subprocesses"].values())]:
            expand_tasks(tasks)
        return super().from_dict(dct)


def expand_tasks(tasks: dict[str, dict[str, Any]]) -> None:
    """The fields `StateConverter` leaves out, put back (in place; a no-op on a full layout)."""
    for key, task in tasks.items():
        task.setdefault("id", key)
        for child in task.get("children", ()):
            tasks[child].setdefault("parent", key)
    for task in tasks.values():
        task.setdefault("parent", None)
        for key, value in _TASK_DEFAULTS.items():
            if key not in task:
                task[key] = type(value)() if isinstance(value, dict | list) else value


_CARRIER = 8  # variables a task carries to be worth comparing with (`StateConverter`)
_PREDICTED = TaskState.FUTURE | TaskState.PREDICTED_MASK


def _difference(
    base: dict[str, Any], data: dict[str, Any], limit: int
) -> tuple[dict[str, Any], list[str]] | None:
    """What turns `base` into `data`: the values to set and the keys to drop; None once that is
    `limit` entries or more."""
    deletions = [key for key in base if key not in data]
    if len(deletions) >= limit:
        return None
    updates: dict[str, Any] = {}
    budget = limit - len(deletions)
    for key, value in data.items():
        if key in base and (base[key] is value or identical(base[key], value)):
            continue
        updates[key] = value
        if len(updates) >= budget:
            return None
    return updates, deletions


def _rebase(task, task_dct: dict[str, Any], carriers: list) -> None:
    """Write `task`'s data as the difference to the carrier it differs least from, when that is
    less than the difference to its parent (or, for a root, than all of it)."""
    if not carriers:
        return
    delta = task_dct.get("delta") or {}
    own = (
        len(task.data)
        if task.parent is None
        else len(delta.get("updates", ())) + len(delta.get("deletions", ()))
    )
    if own < _CARRIER:
        return
    best = None
    for carrier in carriers[-6:]:
        found = _difference(carrier.data, task.data, best[0] if best else own)
        if found is not None:
            best = (len(found[0]) + len(found[1]), carrier, *found)
    if best is not None:
        _cost, carrier, updates, deletions = best
        task_dct["from"] = str(carrier.id)
        task_dct["data"] = {}
        task_dct["delta"] = {"updates": updates, "deletions": deletions}


def _strip(task_dct: dict[str, Any]) -> None:
    """Leave out what loading puts back; an empty delta means "no data" (`StateTaskConverter`),
    so a delta is never emptied."""
    delta = task_dct.get("delta")
    if delta:
        if not delta.get("deletions"):
            delta.pop("deletions", None)
        elif not delta.get("updates"):
            delta.pop("updates", None)
    for key, value in _TASK_DEFAULTS.items():
        if key in task_dct and task_dct[key] == value:
            del task_dct[key]


class StateTaskConverter(TaskConverter):
    """A task without data (a predicted one) is written as such, not as its parent's data with
    every key deleted (SpiffWorkflow's delta); one written `from` another task (`StateConverter`)
    is that task's data with the difference. Older states load alike."""

    def to_dict(self, task):
        """SpiffWorkflow's own layout, its parent looked up once and no difference worked out
        for a task without data (at a late stage a dump looked up each task's parent six times)."""
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        elif not task.data:
            data, delta = {}, {}  # restored as empty data
        else:
            data = {}
            delta = {
                "updates": DeepMerge.get_updated_keys(parent.data, task.data),
                "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
            }
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow):
        base_id = dct.pop("from", None)
        if base_id is None:
            return super().from_dict(dct, workflow)
        delta, dct["delta"], dct["data"] = dct["delta"], {}, {}
        task = super().from_dict(dct, workflow)
        top = getattr(workflow, "top_workflow", None) or workflow
        base = workflow.tasks.get(UUID(base_id)) or top.tasks[UUID(base_id)]  # written before this one
        data = deepcopy(base.data)
        data.update(self.registry.restore(delta.get("updates", {})))
        for key in delta.get("deletions", ()):
            data.pop(key, None)
        task.data = data
        return task


class _CompactEncoder(json.JSONEncoder):
    """JSON without the spaces after separators: a tenth of a stored state is those spaces."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "separators": (",", ":")})


def _make_serializer() -> BpmnWorkflowSerializer:
    config = deepcopy(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = StateConverter
    config[Task] = StateTaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(
        date, lambda d: {"value": d.isoformat()}, lambda v: date.fromisoformat(v["value"]), "date"
    )
    registry.register(Decimal, lambda d: {"value": str(d)}, lambda v: Decimal(v["value"]), "decimal")
    return BpmnWorkflowSerializer(registry, json_encoder_cls=_CompactEncoder)


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


_ACTIVE = TaskState.READY | TaskState.STARTED


def _active_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    """The ready and started tasks, in the order `workflow.get_tasks(state=READY | STARTED)`
    gives them (SpiffWorkflow's `BpmnTaskIterator`: depth first, a sub-process's tree before the
    children of the task that runs it, nothing below a predicted task), without that iterator's
    per-task filter and list work: a step walks twice (the loaded case's open tasks, the end of
    the engine run), and the iterator cost several times this walk."""
    subprocesses = workflow.subprocesses
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        if task._state & _ACTIVE:
            yield task
        subprocess = subprocesses.get(task.id)
        if subprocess is not None or task._state >= TaskState.FUTURE:
            tasks = task.workflow.tasks
            stack.extend(tasks[child] for child in reversed(task._children))
        if subprocess is not None:  # (the iterator's test for a finished one never holds)
            stack.append(subprocess.task_tree)


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
        self.history = History()  # what the finished tasks dropped from the state left (`pruning`)
        # Completed tasks a caller reads above an open task (a handler a decree runs again): the
        # nearest one stays in the state (`pruning.prune`).
        self.anchor: Callable[[Any], bool] | None = None

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
        history = History.from_dict(dct.pop("history", None))  # absent from states stored before pruning
        SERIALIZER.migrate(dct)
        dct["spec"] = deployment.spec
        dct["subprocess_specs"] = dict(deployment.subprocess_specs)
        return cls.resume(SERIALIZER.from_dict(dct), history, deployment, script_engine)

    @classmethod
    def resume(
        cls, workflow: BpmnWorkflow, history: History, deployment: ParsedDeployment, script_engine
    ) -> Case:
        """A case around a workflow as its stored state restores it (`load`, or a workflow this
        process saved and kept: `warm`), with this step's script engine."""
        workflow.script_engine = script_engine
        case = cls(workflow)
        case.stage_names = deployment.stages
        case.history = history
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
        expand_tasks(tasks)
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
        reached = {task.task_spec.name for task in self.workflow.get_tasks() if not task.has_state(predicted)}
        return reached | set(self.history.completed)

    def bpmn_id(self, spec_name: str) -> str | None:
        """The diagram element of a task spec (None for SpiffWorkflow's own, such as a join it adds)."""
        for spec in [self.workflow.spec, *self.workflow.subprocess_specs.values()]:
            if spec_name in spec.task_specs:
                return getattr(spec.task_specs[spec_name], "bpmn_id", None)
        return None

    def completed_counts(self) -> dict[str, int]:
        """How many times each diagram element completed, the tasks the state dropped included."""
        by_name = dict(self.history.completed)
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            by_name[task.task_spec.name] = by_name.get(task.task_spec.name, 0) + 1
        counts: dict[str, int] = {}
        for name, count in by_name.items():
            bpmn_id = self.bpmn_id(name)
            if bpmn_id:
                counts[bpmn_id] = counts.get(bpmn_id, 0) + count
        return counts

    def dump(self) -> str:
        """The state to store: the finished history dropped first (`pruning`), so it stays bounded."""
        prune(self.workflow, self.history, self.anchor)
        state = SERIALIZER.serialize_json(self.workflow)  # a JSON object: the history joins it
        history = json.dumps(self.history.to_dict(), separators=(",", ":"))
        return f'{state[:-1]},"history":{history}}}'

    # --- engine steps -------------------------------------------------------------------
    def run_engine(self) -> None:
        """Run gateways, events and other engine tasks until only people, jobs or timers are left.

        SpiffWorkflow notices a due timer at the end of `do_engine_steps` but runs what it made
        ready only on the next call, hence the loop. The walk that finds nothing left to run also
        lists the open tasks for the rest of the step (`_open_tasks`)."""
        while True:
            self._open = None  # also when a gateway raises: the task that ran is no longer open
            self.workflow.do_engine_steps()
            if not self._walk():
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

    def _walk(self) -> bool:
        """One walk of the task tree: the ready user tasks and open jobs, kept until the workflow
        changes. True when an engine task is ready too."""
        ready, jobs, engine = [], [], False
        for task in _active_tasks(self.workflow):
            if task.state == TaskState.READY:
                if task.task_spec.manual:
                    ready.append(task)
                else:
                    engine = True
            elif isinstance(task.task_spec, ServiceTask) and ext(task).get("topic"):
                jobs.append(task)
        self._open = (ready, jobs)
        return engine

    def _open_tasks(self) -> tuple[list, list]:
        """The lists of the last walk; every screen-facing method reads them."""
        if self._open is None:
            self._walk()
        assert self._open is not None
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
        completed = [
            (task.last_state_change, ext(task)["stage"])
            for task in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if ext(task).get("stage")
        ]
        if self.history.stage is not None:
            completed.append(self.history.stage)
        if completed:
            stage = max(completed)[1]
            return stage, self.stage_names.get(stage)
        return None, None

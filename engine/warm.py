"""Workflows this process saved, kept so that its next step on the same case need not restore them.

Restoring a case's state (`Case.load`: JSON, then SpiffWorkflow's converters) is about a quarter
of a late-stage step. A process often takes a case's steps one after another: a worker runs the
jobs that follow each other, a person completes a task and then the next one. This process keeps
the workflow it saved, with the text it stored, and a later step uses it only while the row still
holds that very text: then restoring it would give an equal workflow (the state is written after
pruning, from this same object). Another writer (another process, a decree, an operator), a
rolled-back transaction or an older state leaves a different text, and the step restores it as
before. An entry is taken out by the step that uses it and put back only when that step commits:
a step that fails, which may have changed the workflow halfway, leaves nothing behind, and two
threads never share a workflow.

`KSDPL_WARM_CHECK=1` (the test suite sets it) also restores the text at every use and raises
`WarmMismatch` unless both serialise alike, value types included: every test that takes two
steps in one process checks that keeping a workflow changes nothing.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event

from .config import WARM_CASES
from .metrics import STEP_LOADS
from .runtime import SERIALIZER, Case, identical

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from sqlalchemy.orm import Session, sessionmaker

    from .parser import ParsedDeployment
    from .pruning import History

MISMATCHES: list[int] = []  # the cases a check found differing, in case a caller swallowed the error
_STAGED = "ksdpl_warm_staged"  # session.info: what the session's steps saved, until it commits


class WarmMismatch(AssertionError):
    """A kept workflow differs from its stored state restored (only with `KSDPL_WARM_CHECK`)."""


class _Entry(NamedTuple):
    state: str
    workflow: BpmnWorkflow
    history: History


class WarmCases:
    """At most `capacity` kept workflows, the least recently saved dropped first (0: none)."""

    def __init__(self, capacity: int = WARM_CASES) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Keep what a step of these sessions saved once its transaction commits (the sessions
        of a joined orchestrator, savepoints of a caller's transaction, keep nothing)."""
        event.listen(sessions, "after_commit", self._committed)
        event.listen(sessions, "after_soft_rollback", self._rolled_back)

    def load(self, instance_id: int, state: str, deployment: ParsedDeployment, script_engine) -> Case:
        """The case whose stored state is `state`: the kept workflow if it is that state's,
        else restored from it."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None or entry.state != state or entry.workflow.spec is not deployment.spec:
            STEP_LOADS.labels("restored").inc()
            return Case.load(state, deployment, script_engine)
        STEP_LOADS.labels("kept").inc()
        _wait_as_restored(entry.workflow)
        if os.environ.get("KSDPL_WARM_CHECK") == "1":  # read at each use: pytest sets it after imports
            _check(instance_id, entry, deployment, script_engine)
        return Case.resume(entry.workflow, entry.history, deployment, script_engine)

    def saved(self, session: Session, instance_id: int, state: str, case: Case) -> None:
        """`case` was just written as `state` in `session`'s transaction: keep it once that commits."""
        if self.capacity > 0:
            session.info.setdefault(_STAGED, {})[instance_id] = _Entry(state, case.workflow, case.history)

    def _committed(self, session: Session) -> None:
        staged = session.info.pop(_STAGED, None)
        if not staged:
            return
        with self._lock:
            for instance_id, entry in staged.items():
                self._entries.pop(instance_id, None)
                self._entries[instance_id] = entry
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def _rolled_back(self, session: Session, _previous_transaction) -> None:
        session.info.pop(_STAGED, None)


def _wait_as_restored(workflow: BpmnWorkflow) -> None:
    """The catching events waiting for an event or a time, listed as restoring lists them: the
    waiting ones only, the top workflow's first, then each sub-process's depth first, in the
    order of the tasks that run them. The state does not hold this list, so the check cannot
    compare it; SpiffWorkflow keeps it up to date as tasks change, and this makes sure."""
    waiting: dict = {}

    def add(wf) -> None:
        for task in wf.tasks.values():
            if isinstance(task.task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
                waiting[task.id] = task

    def below(wf) -> None:
        for task in wf.tasks.values():
            subprocess = workflow.subprocesses.get(task.id)
            if subprocess is not None and isinstance(task.task_spec, SubWorkflowTask):
                add(subprocess)
                below(subprocess)

    add(workflow)
    below(workflow)
    workflow.event_manager.tasks = waiting


def _check(instance_id: int, entry: _Entry, deployment: ParsedDeployment, script_engine) -> None:
    """The kept workflow serialises as the restored one does, in the same order and with the
    same value types (a tuple kept in memory would come back a list), and waits for the same."""
    restored = Case.load(entry.state, deployment, script_engine).workflow
    kept, again = SERIALIZER.to_dict(entry.workflow), SERIALIZER.to_dict(restored)
    alike = (
        identical(kept, again)
        and SERIALIZER.serialize_json(entry.workflow) == SERIALIZER.serialize_json(restored)
        and list(entry.workflow.event_manager.tasks) == list(restored.event_manager.tasks)
        and list(entry.workflow.subprocesses) == list(restored.subprocesses)
    )
    if not alike:
        MISMATCHES.append(instance_id)
        raise WarmMismatch(f"case {instance_id}: a kept workflow differs from its stored state restored")

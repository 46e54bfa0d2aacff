"""Bounded case state: the finished history SpiffWorkflow will never look at again, dropped.

SpiffWorkflow keeps every task a case ever ran, so a case's stored state grows with each loop
round and year. What those tasks carried is already in the projections and the audit log; only
counts (for the diagram and migration checks) and the stage last completed are kept here.

What SpiffWorkflow still reads of finished tasks, and so stays:
- the tasks of a parallel or inclusive gateway (an unstructured join) and their parents: the
  gateways count their inputs by their instances' parents (old rounds' and cancelled ones too)
  and merge the data of the other branches' parents. Only a completed parallel gateway task
  that every unfinished task descends from goes: a parallel gateway skips those. So a parallel
  join in a loop still keeps, per round, the branch end it cancelled (SpiffWorkflow reads it);
- a boundary event split and its children while any of them is unfinished (the boundary join
  finds its split among its ancestors and reads the split's children);
- the workflow's `last_task` (the variables screens show), and a task the caller marks as an
  anchor (`anchor`, e.g. a handler a decree runs again) when it is the nearest completed anchor
  above an unfinished task;
- every unfinished task (ready, waiting, predicted, failed), so loops, timers, events and
  multi-instance bodies carry on as before.

Dropped, with the sub-process workflows under them: a cancelled branch whose siblings have all
finished (a boundary event that did not fire, the paths of an event gateway not taken); a
completed task without children under a finished parent (the boundary join beside an
activity's own path, a workflow's end); a completed task whose only child is finished too (a
completed chain collapses onto its first and last links; the data stays right, as each task's
data is written as a difference to its parent's when serialised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


@dataclass
class History:
    """What the dropped tasks leave in the state: how often each task spec completed, and the
    stage property and time of the latest dropped completed task that had one."""

    completed: dict[str, int] = field(default_factory=dict)
    stage: tuple[float, int] | None = None

    @classmethod
    def from_dict(cls, dct: dict[str, Any] | None) -> History:
        if not dct:
            return cls()
        stage = dct.get("stage")
        return cls(dict(dct.get("completed") or {}), (stage[0], stage[1]) if stage else None)

    def to_dict(self) -> dict[str, Any]:
        return {"completed": self.completed, "stage": list(self.stage) if self.stage else None}

    def record(self, task) -> None:
        if task.state != TaskState.COMPLETED or getattr(task.task_spec, "bpmn_id", None) is None:
            return  # SpiffWorkflow's own tasks (a boundary split, the end join) are on no diagram
        name = task.task_spec.name
        self.completed[name] = self.completed.get(name, 0) + 1
        stage = (getattr(task.task_spec, "extensions", None) or {}).get("stage")
        if stage and (self.stage is None or task.last_state_change >= self.stage[0]):
            self.stage = (task.last_state_change, stage)


def prune(workflow, history: History, anchor: Callable[[Any], bool] | None = None) -> None:
    """Drop the finished history of a top-level workflow and its sub-processes, in place."""
    for wf in [workflow, *workflow.subprocesses.values()]:
        if wf is workflow or workflow.subprocesses.get(wf.parent_task_id) is wf:  # not dropped meanwhile
            _prune_one(workflow, wf, history, anchor)


def _kept(wf, anchor: Callable[[Any], bool] | None) -> set:
    """Finished tasks that must stay although the rules below would drop them: the last task,
    the nearest completed anchor above each unfinished task, and the join tasks SpiffWorkflow
    may still read with their parents (every instance of an unstructured join, except a
    completed parallel gateway that every unfinished task descends from: a parallel gateway
    skips its instances above the one it updates)."""
    tasks = wf.tasks
    kept = {wf.last_task.id} if wf.last_task is not None else set()
    unfinished = [task for task in tasks.values() if not task.state & FINISHED]
    if anchor is not None:
        nearest: dict = {}  # task id -> the nearest completed anchor at or above it, or None

        def find(node_id):
            path = []
            while node_id is not None and node_id not in nearest:
                node = tasks[node_id]
                if node.state == TaskState.COMPLETED and anchor(node):
                    nearest[node_id] = node_id
                    break
                path.append(node_id)
                node_id = node._parent
            found = nearest.get(node_id) if node_id is not None else None
            nearest.update(dict.fromkeys(path, found))
            return found

        kept.update(found for task in unfinished if (found := find(task._parent)) is not None)
    common = None  # walked only when a completed parallel gateway asks
    for task in tasks.values():
        spec = task.task_spec
        if not isinstance(spec, UnstructuredJoin):
            continue
        if isinstance(spec, ParallelGateway) and task.state == TaskState.COMPLETED:
            if common is None:
                common = _common_ancestors(tasks, unfinished)
            if task.id in common:
                continue
        kept.add(task.id)
        if task._parent is not None:
            kept.add(task._parent)
    return kept


def _common_ancestors(tasks, unfinished: list) -> dict:
    """The tasks every unfinished task descends from (ids, to their depth from the nearest)."""
    chain: list = []
    index: dict = {}
    for n, task in enumerate(unfinished):
        node_id = task._parent
        if n == 0:
            while node_id is not None:
                chain.append(node_id)
                node_id = tasks[node_id]._parent
            index = {node: i for i, node in enumerate(chain)}
            continue
        while node_id is not None and node_id not in index:
            node_id = tasks[node_id]._parent
        if node_id is None:
            return {}
        if index[node_id] > 0:
            chain = chain[index[node_id] :]
            index = {node: i for i, node in enumerate(chain)}
    return index


def _prune_one(top, wf, history: History, anchor: Callable[[Any], bool] | None) -> None:
    kept = _kept(wf, anchor)
    tasks = wf.tasks
    # Cancelled branches whose siblings have all finished.
    for task in list(tasks.values()):
        if task.id not in tasks or task.state != TaskState.CANCELLED or task.parent is None:
            continue
        parent = task.parent
        if not all(sibling.has_state(FINISHED) for sibling in parent.children):
            continue
        branch = list(_subtree(task))
        if any(not t.has_state(FINISHED) or t.id in kept for t in branch):
            continue
        parent._children.remove(task.id)
        for t in branch:
            _drop(top, wf, t, history)
    # Completed dead ends: a boundary join beside the activity's own path, the end of a workflow.
    for task in list(tasks.values()):
        if (
            task.state == TaskState.COMPLETED
            and not task._children
            and task.parent is not None
            and task.parent.has_state(FINISHED)
            and task.id not in kept
        ):
            task.parent._children.remove(task.id)
            _drop(top, wf, task, history)
    # Completed chains.
    for task in list(tasks.values()):
        if (
            task.id not in tasks
            or task.state != TaskState.COMPLETED
            or task.parent is None
            or len(task._children) != 1
            or task.id in kept
        ):
            continue
        child = tasks.get(task._children[0])
        if child is None or not child.has_state(FINISHED):
            continue
        parent = task.parent
        parent._children[parent._children.index(task.id)] = child.id
        child._parent = parent.id
        _drop(top, wf, task, history)


def _subtree(task):
    stack = [task]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _drop(top, wf, task, history: History) -> None:
    """Forget one finished task (and the sub-process it ran, whose tasks are finished too)."""
    history.record(task)
    if task.id in top.subprocesses:
        for inner in top.delete_subprocess(task):
            history.record(inner)
    del wf.tasks[task.id]

"""SpiffWorkflow's timer event definitions, deciding with `engine.timers` in the region's zone.

SpiffWorkflow's own definitions read a value without an offset in the server's zone, fire an
intermediate catch event's cycle once per repetition on the same path, and cannot read cron.
These decide as Camunda 7 does:

* `timeDate` and `timeDuration`: once, at that moment (a duration counted from when the event
  began waiting).
* `timeCycle` on an intermediate catch event or an interrupting boundary event: once, at the
  cycle's first firing (Camunda 7 fires such an event once; the rest of the cycle is ignored).
* `timeCycle` on a non-interrupting boundary event or event sub-process start: `R<n>` fires
  exactly n times, `R/...` and cron until the activity (or case) ends, each firing a new path;
  a spent boundary cycle waits, without a due time, until its activity ends, a spent event
  sub-process start finishes.
* `timeCycle`/`timeDate` on a process's own start event: not a waiting event at all; the parser
  records it (`start_timer`) and the worker starts a new case at each firing (engine/jobs.py).

Each keeps its next firing as an ISO date-time with offset in `internal_data['event_value']`,
so `details().value` is always that time (the projection's timer row) or None when done.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util import PendingBpmnEvent
from SpiffWorkflow.util.task import TaskState

from . import timers
from .clock import clock


def _zone(my_task) -> str:
    return getattr(my_task.workflow.script_engine, "timezone", "UTC")


def _evaluate(definition: TimerEventDefinition, my_task):
    """The timer's text through the script engine (`engine.expressions`), and the case's zone."""
    return my_task.workflow.script_engine.evaluate(my_task, definition.expression), _zone(my_task)


class _Once:
    """Fires once at `first_due` of its kind."""

    kind = "timeDate"

    def has_fired(self, my_task):
        due = my_task._get_internal_data("event_value")
        if due is None:
            value, zone_name = _evaluate(self, my_task)
            due = timers.first_due(self.kind, value, zone_name, clock.now()).isoformat()
            my_task._set_internal_data(event_value=due)
        # A state written before this module may hold a value without offset: the region's zone.
        if timers.parse_instant(due, _zone(my_task)) <= clock.now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

    def details(self, my_task):
        value = (
            None
            if my_task._get_internal_data("event_fired", False)
            else my_task._get_internal_data("event_value")
        )
        return PendingBpmnEvent(self.name, "TimerEventDefinition", value)


class DateTimer(_Once, TimeDateEventDefinition):
    kind = "timeDate"


class DurationTimer(_Once, DurationTimerEventDefinition):
    kind = "timeDuration"


class FirstOfCycleTimer(_Once, TimerEventDefinition):
    """A cycle on an event that fires once (intermediate catch, interrupting boundary)."""

    kind = "timeCycle"


class CycleTimer(CycleTimerEventDefinition):
    kind = "timeCycle"

    """A repeating non-interrupting timer: each due firing adds one path, `R<n>` exactly n times.

    `internal_data['event_value']` is `{'left': n or None, 'next': iso}`; a firing is counted the
    moment its path is added, so a late worker catches up one firing per step."""

    def _state(self, my_task) -> dict:
        state = my_task._get_internal_data("event_value")
        if isinstance(state, dict) and "cycles" in state:  # SpiffWorkflow's own, in an older state
            left = None if state["cycles"] < 0 else state["cycles"]
            state = {"left": left, "next": None if left == 0 else state.get("next")}
        if state is None:
            value, zone_name = _evaluate(self, my_task)
            cycle = timers.parse_cycle(value, zone_name)
            first = cycle.first(clock.now())
            state = {"left": cycle.repetitions, "next": first.isoformat() if first else None}
        return state

    def cycle_complete(self, my_task):
        state = self._state(my_task)
        ready = False
        due = timers.parse_instant(state["next"], _zone(my_task)) if state["next"] is not None else None
        if due is not None and due <= clock.now():
            value, zone_name = _evaluate(self, my_task)
            following = timers.parse_cycle(value, zone_name).next_after(due, clock.now())
            left = None if state["left"] is None else state["left"] - 1
            done = left == 0 or following is None
            state = {"left": left, "next": None if done else following.isoformat()}
            ready = True
        my_task._set_internal_data(event_value=state)
        return ready

    def has_fired(self, my_task):
        """A spent cycle on a boundary event waits until its activity ends; on an event
        sub-process start it finishes, so the case can end."""
        if hasattr(my_task.task_spec, "cancel_activity"):
            return False
        state = my_task._get_internal_data("event_value")
        return isinstance(state, dict) and state.get("left") == 0 and state.get("next") is None

    def update_task(self, my_task):
        if self.cycle_complete(my_task):
            for output in my_task.task_spec.outputs:
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)

    def details(self, my_task):
        state = my_task._get_internal_data("event_value") or {}
        return PendingBpmnEvent(self.name, "TimerEventDefinition", state.get("next"))

"""How a diagram's expressions run: the functions they may call and SpiffWorkflow's script engine.

SpiffWorkflow evaluates conditions, timers and DMN cells with Python `eval` and runs script
tasks with `exec`, some callers through `script_engine.evaluate`, others straight through
`script_engine.environment` (ad-hoc completion conditions, message correlation). Here both the
engine and its environment send every expression through `engine.expressions`, with the case
variables and the named functions below, bound to the case region's calendar and time zone;
anything that would execute a script raises. The deploy check refuses script tasks first.
"""

from __future__ import annotations

import calendar as _months
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .attributes import compile_attribute
from .calendar import WorkingCalendar, end_of_day, local_today, start_of_day
from .clock import clock
from .expressions import ExpressionError, compile_expression
from .timers import zone


def as_date(value: Any) -> date:
    """Dates arrive as `date`, `datetime` or ISO text (a form, a variable, a literal)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise ValueError(f"not a date: {value!r}")


def add_years(value: Any, years: int) -> date:
    """Same day and month `years` later; 29 February becomes 28 February in a common year."""
    day = as_date(value)
    year = day.year + int(years)
    last = _months.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def build_functions(
    calendar: WorkingCalendar, timezone: str, now: Callable[[], datetime] = clock.now
) -> dict[str, Callable[..., Any]]:
    """The functions a diagram may call, bound to one region's calendar and time zone; `now`
    is the engine clock, or the moment a deadline was first set when a decree re-evaluates it."""
    return {
        "add_working_days": lambda d, n: calendar.add_working_days(as_date(d), int(n)),
        "working_days_between": lambda a, b: calendar.working_days_between(as_date(a), as_date(b)),
        "add_days": lambda d, n: as_date(d) + timedelta(days=int(n)),
        "add_years": add_years,
        "start_of_day": lambda d: start_of_day(as_date(d), timezone),
        "end_of_day": lambda d: end_of_day(as_date(d), timezone),
        "now": lambda: now().astimezone(zone(timezone)),  # the region's local time
        "today": lambda: local_today(now(), timezone),
    }


FUNCTION_NAMES = frozenset(build_functions(WorkingCalendar(), "Asia/Jakarta"))


def attribute_kind(spec, expression: str) -> str:
    """Which attribute of its element SpiffWorkflow is evaluating, for `engine.attributes`."""
    definition = getattr(spec, "event_definition", None)
    if getattr(definition, "kind", None):
        return definition.kind
    if expression == getattr(spec, "cardinality", None):
        return "loopCardinality"
    return "condition"


NO_SCRIPTS = "scripts do not run here; use a service task with a handler, or an expression"


class ScriptRefused(ExpressionError):
    """Diagram text SpiffWorkflow would hand to Python `exec` (a script, a service call)."""


class ExpressionEnvironment(BasePythonScriptEngineEnvironment):
    """What SpiffWorkflow's callers of `script_engine.environment` get: `engine.expressions`
    for `evaluate`, a refusal for `execute` and `call_service`. Never Python `eval`/`exec`."""

    def __init__(self, engine: ExpressionScriptEngine) -> None:
        super().__init__({})
        self.engine = engine  # its `functions` may be swapped (decrees.py), so read them each time

    def evaluate(self, expression, context, external_context=None):
        variables = {**(external_context or {}), **(context or {})}
        return compile_expression(expression).evaluate(variables, self.engine.functions)

    def execute(self, script, context, external_context=None):
        raise ScriptRefused(NO_SCRIPTS, (script or "")[:60])

    def call_service(self, context, **kwargs):
        raise ScriptRefused(NO_SCRIPTS)


class ExpressionScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine with every expression evaluated by `engine.expressions`.

    Timer values are read by `engine.timers` (engine/timer_events.py). Script tasks and service
    calls raise `ScriptRefused`."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], timezone: str) -> None:
        self.functions = dict(functions)
        super().__init__(environment=ExpressionEnvironment(self))
        self.timezone = timezone

    @staticmethod
    def variables(task) -> dict[str, Any]:
        return task.data

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        element_id = getattr(task.task_spec, "bpmn_id", None)
        variables = {**task.data, **(external_context or {})}
        try:
            attribute = compile_attribute(attribute_kind(task.task_spec, expression), expression, element_id)
            if attribute is None:
                raise ExpressionError("empty expression", "", element_id)
            return attribute.evaluate(variables, self.functions)
        except ExpressionError as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err

    def execute(self, task, script, external_context=None):
        element_id = getattr(task.task_spec, "bpmn_id", None)
        err = ScriptRefused(NO_SCRIPTS, (script or "")[:60], element_id)
        raise WorkflowTaskException(str(err), task=task, exception=err)

    def call_service(self, task, **kwargs):
        element_id = getattr(task.task_spec, "bpmn_id", None)
        err = ScriptRefused(NO_SCRIPTS, "", element_id)
        raise WorkflowTaskException(str(err), task=task, exception=err)

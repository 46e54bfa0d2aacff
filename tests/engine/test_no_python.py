"""No diagram text reaches Python `eval`/`exec`.

Each hook through which SpiffWorkflow 3.2 would evaluate or execute diagram text gets a payload
that writes a file. For each: the deploy check refuses it naming the element; bypassing the
check, running the diagram with this engine's script engine never writes the file; and (where
SpiffWorkflow reaches the hook at all) its stock script engine does write it, so the payload
is real.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.message import CorrelationProperty, MessageEventDefinition

from engine.calendar import WorkingCalendar
from engine.checks import check_files
from engine.clock import clock
from engine.expressions import ExpressionError
from engine.parser import parse_files
from engine.runtime import Case
from engine.scripting import ExpressionScriptEngine, build_functions
from tests.engine.conftest import Calls, make_registry

REGISTRY = make_registry(Calls())
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="D" targetNamespace="http://bpmn.io/schema/bpmn" '
    'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.24.0">'
)


def payload(path: Path) -> str:
    return f"__import__('pathlib').Path('{path}').write_text('pwned')"


def straight(body: str, before: str = "") -> str:
    """start -> X -> end, with X given by `body`."""
    return (
        f'{HEAD}{before}<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        f"{body}"
        '<bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="X" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="X" targetRef="E" />'
        "</bpmn:process></bpmn:definitions>"
    )


def expr(tag: str, text: str) -> str:
    return f'<bpmn:{tag} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{tag}>'


def extension(inner: str) -> str:
    return f'<bpmn:task id="X"><bpmn:extensionElements>{inner}</bpmn:extensionElements></bpmn:task>'


@dataclass(frozen=True)
class Hook:
    name: str
    diagram: object  # (payload) -> xml
    element: str = "X"
    spiff_runs_it: bool = True  # the stock engine reaches this hook with this diagram


def _gateway(code: str) -> str:
    return (
        f'{HEAD}<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:exclusiveGateway id="X" default="f3"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="X" />'
        f'<bpmn:sequenceFlow id="f2" sourceRef="X" targetRef="E">{expr("conditionExpression", code)}'
        "</bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f3" sourceRef="X" targetRef="E" />'
        "</bpmn:process></bpmn:definitions>"
    )


def _timer(kind: str):
    return lambda code: straight(
        f'<bpmn:intermediateCatchEvent id="X"><bpmn:timerEventDefinition>{expr(kind, code)}'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


HOOKS = [
    Hook(
        "script task (script_engine.execute -> exec)",
        lambda code: straight(
            f'<bpmn:scriptTask id="X" scriptFormat="python"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'
        ),
    ),
    Hook(
        "ad-hoc completionCondition (environment.evaluate -> eval)",
        lambda code: straight(
            '<bpmn:adHocSubProcess id="X"><bpmn:task id="A1" />'
            f"{expr('completionCondition', code)}</bpmn:adHocSubProcess>"
        ),
    ),
    Hook("sequence-flow condition (script_engine.evaluate)", _gateway, element="f2"),
    Hook(
        "multi-instance loopCardinality",
        lambda code: straight(
            '<bpmn:task id="X"><bpmn:multiInstanceLoopCharacteristics>'
            f"{expr('loopCardinality', code)}</bpmn:multiInstanceLoopCharacteristics></bpmn:task>"
        ),
    ),
    Hook(
        "multi-instance completionCondition",
        lambda code: straight(
            '<bpmn:task id="X"><bpmn:multiInstanceLoopCharacteristics>'
            f"{expr('loopCardinality', '2')}{expr('completionCondition', code)}"
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:task>"
        ),
    ),
    Hook(
        "standard loop loopCondition",
        lambda code: straight(
            '<bpmn:task id="X"><bpmn:standardLoopCharacteristics testBefore="true">'
            f"{expr('loopCondition', code)}</bpmn:standardLoopCharacteristics></bpmn:task>"
        ),
    ),
    Hook("timer timeDate", _timer("timeDate")),
    Hook("timer timeDuration", _timer("timeDuration")),
    Hook("timer timeCycle", _timer("timeCycle")),
    Hook(
        "conditional event condition",
        lambda code: straight(
            '<bpmn:intermediateCatchEvent id="X"><bpmn:conditionalEventDefinition>'
            f"{expr('condition', code)}</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>"
        ),
    ),
    Hook(
        "Camunda message payload camunda:expression",
        lambda code: straight(
            '<bpmn:intermediateThrowEvent id="X">'
            f'<bpmn:messageEventDefinition messageRef="M" camunda:expression="{code}" />'
            "</bpmn:intermediateThrowEvent>",
            before='<bpmn:message id="M" name="m" />',
        ),
    ),
    Hook(
        "message correlation retrievalExpression (environment.evaluate -> eval)",
        lambda code: straight(
            '<bpmn:intermediateThrowEvent id="X"><bpmn:messageEventDefinition messageRef="M" />'
            "</bpmn:intermediateThrowEvent>",
            before=(
                '<bpmn:message id="M" name="m" /><bpmn:correlationProperty id="CP" name="cp">'
                '<bpmn:correlationPropertyRetrievalExpression messageRef="M">'
                f"{expr('messagePath', code)}</bpmn:correlationPropertyRetrievalExpression>"
                "</bpmn:correlationProperty>"
            ),
        ),
        element="CP",
        spiff_runs_it=False,  # needs a collaboration with correlation keys; run directly below
    ),
    Hook(
        "camunda:executionListener script",
        lambda code: straight(
            extension(
                '<camunda:executionListener event="start">'
                f'<camunda:script scriptFormat="python">{code}</camunda:script></camunda:executionListener>'
            )
        ),
        spiff_runs_it=False,
    ),
    Hook(
        "camunda:taskListener script",
        lambda code: straight(
            '<bpmn:userTask id="X" camunda:candidateGroups="pemda"><bpmn:extensionElements>'
            '<camunda:taskListener event="create">'
            f'<camunda:script scriptFormat="python">{code}</camunda:script></camunda:taskListener>'
            "</bpmn:extensionElements></bpmn:userTask>"
        ),
        spiff_runs_it=False,
    ),
    Hook(
        "camunda:inputOutput script parameter",
        lambda code: straight(
            extension(
                '<camunda:inputOutput><camunda:inputParameter name="x">'
                f'<camunda:script scriptFormat="python">{code}</camunda:script>'
                "</camunda:inputParameter></camunda:inputOutput>"
            )
        ),
        spiff_runs_it=False,
    ),
    Hook(
        "SpiffWorkflow preScript/postScript (only its own parser runs them)",
        lambda code: straight(extension(f"<spiffworkflow:preScript>{code}</spiffworkflow:preScript>")),
        spiff_runs_it=False,
    ),
]


def _run(xml: str, engine) -> None:
    """Parse (no deploy check) and drive the case as far as it goes, a day of timers included."""
    deployment = parse_files({"x.bpmn": xml})[0]
    case = Case.create(deployment, engine, {})
    clock.advance(timedelta(days=400))
    case.fire_due_timers()
    for _ in range(5):  # plain tasks wait like manual ones: do them
        for task in case.ready_user_tasks():
            case.complete_user_task(str(task.id), {})


def _our_engine() -> ExpressionScriptEngine:
    return ExpressionScriptEngine(build_functions(WorkingCalendar(), "Asia/Jayapura"), "Asia/Jayapura")


@pytest.mark.parametrize("hook", HOOKS, ids=[h.name for h in HOOKS])
def test_deploy_check_refuses_the_hook_naming_the_element(hook, tmp_path):
    found = check_files({"x.bpmn": hook.diagram(payload(tmp_path / "pwned"))}, REGISTRY)
    assert any(p.startswith(f"x.bpmn: {hook.element}: ") for p in found), found


@pytest.mark.parametrize("hook", HOOKS, ids=[h.name for h in HOOKS])
def test_the_payload_never_runs_even_past_the_check(hook, tmp_path):
    target = tmp_path / "pwned"
    clock.set(datetime(2027, 1, 4, tzinfo=UTC))
    with contextlib.suppress(Exception):  # refusing is fine; running the payload is not
        _run(hook.diagram(payload(target)), _our_engine())
    assert not target.exists()


@pytest.mark.parametrize("hook", [h for h in HOOKS if h.spiff_runs_it], ids=lambda h: h.name)
def test_the_stock_engine_would_run_the_payload(hook, tmp_path):
    """The control: each payload above really reaches Python under SpiffWorkflow's own engine."""
    target = tmp_path / "pwned"
    clock.set(datetime(2027, 1, 4, tzinfo=UTC))
    with contextlib.suppress(Exception):
        _run(hook.diagram(payload(target)), PythonScriptEngine())
    assert target.exists()


def test_correlation_expression_goes_to_the_expression_module(tmp_path):
    target = tmp_path / "pwned"
    prop = CorrelationProperty("cp", payload(target), ["key"])
    definition = MessageEventDefinition("m", correlation_properties=[prop])
    with pytest.raises(ExpressionError):
        definition.calculate_correlations(_our_engine(), [prop], {})
    assert not target.exists()
    definition.calculate_correlations(PythonScriptEngine(), [prop], {})
    assert target.exists()


def test_service_calls_and_scripts_are_refused_by_the_environment(tmp_path):
    target = tmp_path / "pwned"
    engine = _our_engine()
    with pytest.raises(ExpressionError):
        engine.environment.execute(payload(target), {})
    with pytest.raises(ExpressionError):
        engine.environment.evaluate(payload(target), {})
    with pytest.raises(ExpressionError):
        engine.environment.call_service({}, operation_name="x")
    assert not target.exists()

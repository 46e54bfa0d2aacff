"""Deploy-time checks: a broken diagram is refused whole, never half-run.

Each problem is reported as `file: element-id: message`. What is checked: well-formed XML,
the BPMN 2.0 schema, the Camunda 7 platform, every service task bound to a registered topic
(not to Java), script languages, user tasks someone can do, every expression parsing and
calling only known functions, timers with a definition, DMN tables as FEEL, references to
decisions and called processes, and no element this engine could accept but never finish.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from . import safexml
from .attributes import compile_attribute
from .expressions import ExpressionError, compile_feel, compile_unary_tests
from .parser import (
    CAMUNDA_NS,
    MODELER_NS,
    ZEEBE_NS,
    is_process_start,
    parse_files,
    read_extensions,
    read_stage_names,
)
from .registry import HandlerRegistry
from .runtime import parse_retry_cycle
from .scripting import FUNCTION_NAMES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FORM_TYPES = {"string", "long", "boolean", "date", "enum", "textarea", "file"}
CONSTRAINTS = {"required", "readonly", "minlength", "maxlength", "min", "max"}
THROWING = {f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}endEvent"}
NO_DELIVERY = "this engine has no API that delivers it, so the case would wait forever"

_schema: etree.XMLSchema | None = None


def _b(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def bpmn_schema() -> etree.XMLSchema:
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(XSD_PATH))
    return _schema


def _element_at_line(root: etree._Element, line: int) -> str:
    """The id of the BPMN element that holds the schema error on `line`."""
    at_line = next((e for e in root.iter() if isinstance(e.tag, str) and e.sourceline == line), None)
    for element in [at_line, *at_line.iterancestors()] if at_line is not None else []:
        if element.get("id") and etree.QName(element).namespace == BPMN_NS:
            return element.get("id")
    return "-"


class _Report:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, filename: str, element_id: str | None, message: str) -> None:
        self.problems.append(f"{filename}: {element_id or '-'}: {message}")


def _check_attribute(
    report: _Report, filename: str, element_id: str, kind: str, text: str | None, what: str | None = None
) -> bool:
    """Whether an attribute compiles as it will run (`engine.attributes`); unknown functions too."""
    try:
        attribute = compile_attribute(kind, text, element_id)
    except ExpressionError as err:
        report.add(
            filename,
            element_id,
            f"{what or kind} does not parse: {err.message.removeprefix(kind + ': ')} (in '{err.expression}')",
        )
        return False
    unknown = sorted(attribute.functions - FUNCTION_NAMES) if attribute else []
    if unknown:
        report.add(
            filename,
            element_id,
            f"{what or kind} calls unknown function(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(FUNCTION_NAMES))}",
        )
    return True


def _check_form(report: _Report, filename: str, element_id: str, fields: list[dict]) -> None:
    for f in fields:
        if f["type"] not in FORM_TYPES:
            report.add(
                filename,
                element_id,
                f"form field '{f['id']}' has type '{f['type']}'; use one of {', '.join(sorted(FORM_TYPES))}",
            )
        if f["type"] == "enum" and not f["options"]:
            report.add(filename, element_id, f"enum form field '{f['id']}' offers no values")
        for name, config in f["constraints"].items():
            if name not in CONSTRAINTS:
                report.add(
                    filename,
                    element_id,
                    f"form field '{f['id']}' has unknown constraint '{name}'; "
                    f"use one of {', '.join(sorted(CONSTRAINTS))}",
                )
            elif name in {"minlength", "maxlength", "min", "max"}:
                try:
                    float(config or "")
                except ValueError:
                    report.add(
                        filename, element_id, f"form field '{f['id']}': constraint {name} needs a number"
                    )


def _check_handler_properties(report: _Report, filename: str, node_id: str, handler, info: dict) -> None:
    """A handler that reads a property of its element must find it there, or the job would fail."""
    for name, label in handler.properties.items():
        if not (info["properties"].get(name) or "").strip():
            report.add(
                filename, node_id, f"handler '{handler.name}' needs the camunda:property '{name}' ({label})"
            )


def _check_bpmn(
    report: _Report,
    filename: str,
    root: etree._Element,
    registry: HandlerRegistry,
    decisions: set[str],
    processes: set[str],
) -> None:
    platform = root.get(f"{{{MODELER_NS}}}executionPlatform")
    if root.nsmap and ZEEBE_NS in root.nsmap.values() or platform == "Camunda Cloud":
        report.add(
            filename,
            root.get("id"),
            "this is a Camunda 8 diagram; set the execution platform to "
            "Camunda Platform 7 in Camunda Modeler",
        )
        return
    for node in root.iter(_b("serviceTask"), _b("sendTask"), _b("businessRuleTask")):
        info = read_extensions(node)
        node_id = node.get("id")
        if info["java"]:
            report.add(
                filename,
                node_id,
                f"bound to Java ({', '.join('camunda:' + j for j in info['java'])}); "
                'use camunda:type="external" with a camunda:topic that a Python handler serves',
            )
            continue
        if node.tag == _b("businessRuleTask"):
            ref = node.get(f"{{{CAMUNDA_NS}}}decisionRef")
            if not ref:
                report.add(filename, node_id, "business rule task needs camunda:decisionRef")
            elif ref not in decisions:
                report.add(
                    filename,
                    node_id,
                    f"decision '{ref}' is not in this deployment "
                    f"(found: {', '.join(sorted(decisions)) or 'none'})",
                )
            continue
        if info["camunda_type"] != "external" or not info["topic"]:
            report.add(filename, node_id, 'a service task needs camunda:type="external" and a camunda:topic')
        elif registry.service_handler(info["topic"]) is None:
            known = ", ".join(h.name for h in registry.services) or "none"
            report.add(
                filename, node_id, f"no handler registered for topic '{info['topic']}' (known: {known})"
            )
        else:
            _check_handler_properties(
                report, filename, node_id, registry.service_handler(info["topic"]), info
            )
        if info["retry_cycle"]:
            try:
                parse_retry_cycle(info["retry_cycle"])
            except ValueError as err:
                report.add(filename, node_id, str(err))
    _check_no_scripts(report, filename, root)
    for node in root.iter(_b("userTask")):
        info = read_extensions(node)
        node_id = node.get("id")
        if not (info["candidate_groups"] or info["candidate_users"] or info["assignee"]):
            report.add(
                filename, node_id, "a user task needs camunda:candidateGroups, candidateUsers or assignee"
            )
        if info["handler"] and registry.user_handler(info["handler"]) is None:
            known = ", ".join(h.name for h in registry.user_tasks) or "none"
            report.add(filename, node_id, f"no user-task handler named '{info['handler']}' (known: {known})")
        elif info["handler"]:
            _check_handler_properties(report, filename, node_id, registry.user_handler(info["handler"]), info)
        for kind in ("dueDate", "followUpDate", "assignee", "candidateGroups", "candidateUsers"):
            _check_attribute(
                report, filename, node_id, kind, node.get(f"{{{CAMUNDA_NS}}}{kind}"), f"camunda:{kind}"
            )
        _check_form(report, filename, node_id, info["form"])
    for node in root.iter(_b("startEvent")):
        _check_form(report, filename, node.get("id"), read_extensions(node)["form"])
    for node in root.iter(_b("manualTask"), _b("receiveTask")):
        report.add(
            filename,
            node.get("id"),
            f"{etree.QName(node).localname} is not supported ({NO_DELIVERY}); "
            "use a user task with camunda:candidateGroups",
        )
    thrown = {
        definition.get("signalRef") or definition.get("messageRef")
        for definition in root.iter(_b("signalEventDefinition"), _b("messageEventDefinition"))
        if definition.getparent().tag in THROWING
    }
    for tag in ("messageEventDefinition", "signalEventDefinition", "conditionalEventDefinition"):
        for definition in root.iter(_b(tag)):
            event = definition.getparent()
            if event.tag in THROWING:
                continue
            if (definition.get("signalRef") or definition.get("messageRef") or "-") in thrown:
                continue  # thrown by this process itself, so something does deliver it
            if event.tag == _b("startEvent") and event.getparent().tag == _b("process"):
                report.add(
                    filename,
                    event.get("id"),
                    f"a {tag[:-15]} start event cannot be started; use a none start event",
                )
            else:
                report.add(
                    filename, event.get("id"), f"a {tag[:-15]} catch event is not supported ({NO_DELIVERY})"
                )
    for definition in root.iter(_b("timerEventDefinition")):
        event_id = definition.getparent().get("id")
        values = [child for child in definition if isinstance(child.tag, str)]
        if not values or not any((child.text or "").strip() for child in values):
            report.add(filename, event_id, "a timer needs a timeDate, timeDuration or timeCycle")
        for child in values:
            _check_attribute(report, filename, event_id, etree.QName(child).localname, child.text)
        event = definition.getparent()
        if is_process_start(event):
            _check_start_timer(report, filename, event, registry)
    flows = {flow.get("id"): flow for flow in root.iter(_b("sequenceFlow"))}
    for flow in flows.values():
        condition = flow.find(_b("conditionExpression"))
        if condition is not None:
            _check_attribute(report, filename, flow.get("id"), "condition", condition.text)
    for gateway in root.iter(_b("exclusiveGateway"), _b("inclusiveGateway")):
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        for flow in outgoing:
            if flow.find(_b("conditionExpression")) is None and gateway.get("default") != flow.get("id"):
                report.add(
                    filename,
                    flow.get("id"),
                    f"flow out of gateway {gateway.get('id')} has no condition and is not the default flow",
                )
    for node in root.iter(_b("callActivity")):
        called = node.get("calledElement")
        if not called or called not in processes:
            report.add(filename, node.get("id"), f"called process '{called}' is not in this deployment")


NO_SCRIPT_ADVICE = "use a service task with a handler, or an expression"
CAMUNDA_SCRIPTING = {
    "executionListener": "an execution listener",
    "taskListener": "a task listener",
    "inputOutput": "camunda:inputOutput (input/output mapping)",
    "script": "a camunda:script",
}


def _check_no_scripts(report: _Report, filename: str, root: etree._Element) -> None:
    """No diagram text reaches Python: script tasks and Camunda's scripting extensions are refused;
    the other expressions SpiffWorkflow would `eval` must parse as `engine.expressions` text
    (the script engine's environment evaluates them there; see engine/scripting.py)."""
    for node in root.iter(_b("scriptTask")):
        report.add(filename, node.get("id"), f"script tasks do not run here; {NO_SCRIPT_ADVICE}")
    for local, what in CAMUNDA_SCRIPTING.items():
        for ext_node in root.iter(f"{{{CAMUNDA_NS}}}{local}"):
            owner = next((a for a in ext_node.iterancestors() if a.get("id")), None)
            if local == "script" and any(
                etree.QName(a).localname in CAMUNDA_SCRIPTING for a in ext_node.iterancestors()
            ):
                continue  # reported with its listener or mapping
            report.add(
                filename,
                owner.get("id") if owner is not None else None,
                f"{what} is not supported (listeners and mappings are Java or scripts); {NO_SCRIPT_ADVICE}",
            )
    for node in root.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}*"):
        owner = next((a for a in node.iterancestors() if a.get("id")), None)
        report.add(
            filename,
            owner.get("id") if owner is not None else None,
            f"SpiffWorkflow extension '{etree.QName(node).localname}' is not read here; {NO_SCRIPT_ADVICE}",
        )
    for node in root.iter(_b("adHocSubProcess")):
        report.add(
            filename, node.get("id"), "an ad-hoc sub-process is not supported by Camunda 7; use a sub-process"
        )
    for node in root.iter(_b("standardLoopCharacteristics")):
        report.add(
            filename,
            node.getparent().get("id"),
            "a standard loop is not supported by Camunda 7; use multi-instance or a gateway back",
        )
    for node in root.iter(_b("correlationProperty")):
        report.add(
            filename,
            node.get("id"),
            "message correlation properties are not supported (Camunda 7 correlates through its API)",
        )
    for loop in root.iter(_b("multiInstanceLoopCharacteristics")):
        owner = loop.getparent().get("id")
        _check_attribute(report, filename, owner, "loopCardinality", loop.findtext(_b("loopCardinality")))
        _check_attribute(
            report,
            filename,
            owner,
            "collection",
            loop.get(f"{{{CAMUNDA_NS}}}collection"),
            "camunda:collection",
        )
        if loop.get(f"{{{CAMUNDA_NS}}}collection") and not loop.get(f"{{{CAMUNDA_NS}}}elementVariable"):
            report.add(
                filename,
                owner,
                "camunda:collection needs camunda:elementVariable (the item each instance gets)",
            )
        _check_attribute(
            report,
            filename,
            owner,
            "condition",
            loop.findtext(_b("completionCondition")),
            "completionCondition",
        )
    for definition in root.iter(_b("messageEventDefinition")):
        _check_attribute(
            report,
            filename,
            definition.getparent().get("id"),
            "expression",
            definition.get(f"{{{CAMUNDA_NS}}}expression"),
            "camunda:expression",
        )


def _check_start_timer(report: _Report, filename: str, event: etree._Element, registry) -> None:
    """A timer start event starts a case at each firing with no one starting it: no region and
    no start form. A process that needs either cannot start that way."""
    process = event.getparent()
    starters = set(_split_groups(process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups")))
    regional = registry.access.regional_groups
    if starters and starters <= regional:
        report.add(
            filename,
            event.get("id"),
            "a timer start event starts cases without a region, but only "
            f"{', '.join(sorted(starters))} of a region may start this process; "
            "remove the timer or the candidate starter groups",
        )
    required = [f["id"] for f in read_extensions(event)["form"] if "required" in f["constraints"]]
    if required:
        report.add(
            filename,
            event.get("id"),
            f"a timer start event starts cases with no one to fill the start form "
            f"(required: {', '.join(required)}); move the fields to a user task",
        )


def _split_groups(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _check_stage_names(report: _Report, filename: str, root: etree._Element) -> None:
    """A process that names its stages (`stage.N` properties) names every stage its elements use."""
    for process in root.iter(_b("process")):
        names = read_stage_names(process)
        if not names:
            continue
        for node in process.iter():
            stage = read_extensions(node)["stage"] if isinstance(node.tag, str) and node.get("id") else None
            if stage is not None and stage not in names:
                report.add(
                    filename,
                    node.get("id"),
                    f"stage {stage} has no name: add the process property 'stage.{stage}' (the stage's name)",
                )


def _check_dmn(report: _Report, filename: str, root: etree._Element) -> set[str]:
    ns = etree.QName(root).namespace
    decisions = set()
    for decision in root.iter(f"{{{ns}}}decision"):
        decisions.add(decision.get("id"))
        for table in decision.iter(f"{{{ns}}}decisionTable"):
            inputs = table.findall(f"{{{ns}}}input")
            for item in inputs:
                text = item.findtext(f"{{{ns}}}inputExpression/{{{ns}}}text")
                try:
                    compile_feel(text or "", item.get("id"))
                except ExpressionError as err:
                    report.add(filename, item.get("id"), f"input expression: {err.message}")
            for rule in table.iter(f"{{{ns}}}rule"):
                for entry in rule.findall(f"{{{ns}}}inputEntry"):
                    try:
                        compile_unary_tests(entry.findtext(f"{{{ns}}}text"), entry.get("id"))
                    except ExpressionError as err:
                        report.add(filename, entry.get("id"), f"input entry: {err.message}")
                for entry in rule.findall(f"{{{ns}}}outputEntry"):
                    try:
                        compile_feel(entry.findtext(f"{{{ns}}}text") or "", entry.get("id"))
                    except ExpressionError as err:
                        report.add(filename, entry.get("id"), f"output entry: {err.message}")
    return decisions


def check_files(files: Mapping[str, str], registry: HandlerRegistry) -> list[str]:
    """Every problem in a deployment, as `file: element-id: message`; empty when it may deploy."""
    report = _Report()
    if not files:
        report.add("-", None, "nothing to deploy: give .bpmn (and .dmn) files")
        return report.problems
    roots: dict[str, etree._Element] = {}
    for name, text in files.items():
        try:
            roots[name] = safexml.parse(text)
        except safexml.XmlRefused as err:
            report.add(name, None, str(err))
    bpmn = {name: root for name, root in roots.items() if root.tag == _b("definitions")}
    dmn = {name: root for name, root in roots.items() if etree.QName(root).namespace in DMN_NAMESPACES}
    for name, root in roots.items():
        if name not in bpmn and name not in dmn:
            report.add(name, None, f"not a BPMN 2.0 or DMN file (root element {root.tag})")
    decisions: set[str] = set()
    for name, root in dmn.items():
        decisions |= _check_dmn(report, name, root)
    processes = {p.get("id") for root in bpmn.values() for p in root.iter(_b("process"))}
    for name, root in bpmn.items():
        schema = bpmn_schema()
        if not schema.validate(root):
            for error in schema.error_log:
                report.add(
                    name,
                    _element_at_line(root, error.line),
                    f"BPMN schema: {error.message.replace('{' + BPMN_NS + '}', 'bpmn:')} (line {error.line})",
                )
            continue
        _check_bpmn(report, name, root, registry, decisions, processes)
        _check_stage_names(report, name, root)
    if not bpmn and not report.problems:
        report.add("-", None, "no BPMN file in this deployment")
    if report.problems:
        return report.problems
    try:
        parse_files(files)
    except ValidationException as err:
        report.add(err.file_name or "-", err.id or None, err.message if hasattr(err, "message") else str(err))
    except Exception as err:  # the parser's other failures still name the problem
        report.add("-", None, f"{type(err).__name__}: {err}")
    return report.problems


UNSET = "no form field, start form, handler declaration, DMN output, element variable or initiator sets it"


def _set_variables(roots: Mapping[str, etree._Element], registry: HandlerRegistry) -> set[str]:
    """Every variable something in the deployment is known to set."""
    names: set[str] = set()
    for root in roots.values():
        ns = etree.QName(root).namespace
        if ns in DMN_NAMESPACES:
            names |= {o.get("name") for o in root.iter(f"{{{ns}}}output") if o.get("name")}
            continue
        for node in root.iter(_b("userTask"), _b("startEvent")):
            names |= {f["id"] for f in read_extensions(node)["form"] if f["id"]}
            names |= {node.get(f"{{{CAMUNDA_NS}}}initiator")} - {None}
        for loop in root.iter(_b("multiInstanceLoopCharacteristics")):
            names |= {loop.get(f"{{{CAMUNDA_NS}}}elementVariable")} - {None}
    for handler in (*registry.services, *registry.user_tasks):
        names |= set(handler.outputs) | set(handler.calendar_derived)
    return names


def warnings_for(files: Mapping[str, str], registry: HandlerRegistry) -> list[str]:
    """What may deploy but probably fails at run time, as `file: element-id: message`: a gateway
    condition reading a variable nothing in the deployment sets (Camunda would fail there too)."""
    roots = {}
    for name, text in files.items():
        try:
            roots[name] = safexml.parse(text)
        except safexml.XmlRefused:
            return []  # a problem, reported by check_files
    known = _set_variables(roots, registry)
    warnings = []
    for name, root in roots.items():
        if root.tag != _b("definitions"):
            continue
        gateways = {
            g.get("id")
            for g in root.iter(_b("exclusiveGateway"), _b("inclusiveGateway"), _b("eventBasedGateway"))
        }
        for flow in root.iter(_b("sequenceFlow")):
            condition = flow.find(_b("conditionExpression"))
            if condition is None or flow.get("sourceRef") not in gateways:
                continue
            try:
                attribute = compile_attribute("condition", condition.text, flow.get("id"))
            except ExpressionError:
                continue  # a problem, reported by check_files
            for variable in sorted((attribute.names if attribute else frozenset()) - known):
                warnings.append(
                    f"{name}: {flow.get('id')}: the condition out of gateway {flow.get('sourceRef')} reads "
                    f"'{variable}', but {UNSET}; declare it in the handler (outputs=...) or add a form field"
                )
    return warnings

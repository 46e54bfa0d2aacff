"""The Camunda 7 dialect: what Camunda Modeler writes, read on top of SpiffWorkflow's CamundaParser.

SpiffWorkflow's Camunda parser ignores candidate groups, assignees, due dates, external topics,
retry cycles and the properties on events and gateways. Every node parser here is the stock
one plus `CamundaExtensions.parse_extensions`, which puts all of that into
`task_spec.extensions` (a plain dict). Specs themselves are never serialised: a version's spec
is re-parsed from its stored files on a cache miss, so no spec classes of our own are needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator, full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser

from . import safexml
from .attributes import collection_variable, split_list
from .decisions import DecisionTask, FeelDecisionEngine
from .timer_events import CycleTimer, DateTimer, DurationTimer, FirstOfCycleTimer

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

JAVA_BINDINGS = ("class", "delegateExpression", "expression")


def _c(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


def _split(value: str | None) -> list[str]:
    return split_list(value or "")


def read_form_fields(node: etree._Element) -> list[dict[str, Any]]:
    """The `camunda:formData` fields of a user task or start event, as plain dicts."""
    fields = []
    for xml_field in node.findall(f"./{{*}}extensionElements/{_c('formData')}/{_c('formField')}"):
        constraints: dict[str, str | None] = {}
        for constraint in xml_field.findall(f"./{_c('validation')}/{_c('constraint')}"):
            constraints[constraint.get("name", "")] = constraint.get("config")
        fields.append(
            {
                "id": xml_field.get("id"),
                "label": xml_field.get("label") or xml_field.get("id"),
                "type": xml_field.get("type") or "string",
                "default": xml_field.get("defaultValue"),
                "constraints": constraints,
                "options": [
                    {"id": value.get("id"), "name": value.get("name") or value.get("id")}
                    for value in xml_field.findall(_c("value"))
                ],
                "properties": {
                    prop.get("id"): prop.get("value")
                    for prop in xml_field.findall(f"./{_c('properties')}/{_c('property')}")
                },
            }
        )
    return fields


def read_extensions(node: etree._Element) -> dict[str, Any]:
    """Everything the Camunda 7 engine would read from one flow node."""
    properties = {
        prop.get("name"): prop.get("value")
        for prop in node.findall(f"./{{*}}extensionElements/{_c('properties')}/{_c('property')}")
    }
    stage = properties.get("stage")
    retry = node.find(f"./{{*}}extensionElements/{_c('failedJobRetryTimeCycle')}")
    connector = node.find(f"./{{*}}extensionElements/{_c('connector')}")
    java = [name for name in JAVA_BINDINGS if node.get(_c(name))]
    if connector is not None:
        java.append("connector")
    return {
        "properties": properties,
        "stage": int(stage) if stage and stage.strip().isdigit() else None,
        "handler": properties.get("handler"),
        "candidate_groups": _split(node.get(_c("candidateGroups"))),
        "candidate_users": _split(node.get(_c("candidateUsers"))),
        "assignee": node.get(_c("assignee")),
        "due_date": node.get(_c("dueDate")),
        "follow_up_date": node.get(_c("followUpDate")),
        "priority": node.get(_c("priority")),
        "camunda_type": node.get(_c("type")),
        "topic": node.get(_c("topic")),
        "async_before": node.get(_c("asyncBefore")) == "true",
        "retry_cycle": retry.text.strip() if retry is not None and retry.text else None,
        "java": java,
        "script_format": node.get("scriptFormat"),
        "form": read_form_fields(node),
    }


def read_timer(node: etree._Element) -> tuple[str, str] | None:
    """A timer event's kind (`timeDate`, `timeDuration`, `timeCycle`) and text."""
    definition = node.find(f"./{full_tag('timerEventDefinition')}")
    if definition is None:
        return None
    for child in definition:
        if isinstance(child.tag, str) and (child.text or "").strip():
            return etree.QName(child).localname, child.text.strip()
    return None


def is_process_start(node: etree._Element) -> bool:
    return node.tag == full_tag("startEvent") and node.getparent().tag == full_tag("process")


def is_non_interrupting(node: etree._Element) -> bool:
    """A non-interrupting boundary event, or the non-interrupting start of an event sub-process:
    the events whose cycle repeats (each firing a new path)."""
    if node.tag == full_tag("boundaryEvent"):
        return node.get("cancelActivity") == "false"
    return node.tag == full_tag("startEvent") and node.get("isInterrupting") == "false"


class CamundaExtensions:
    """Mixed into every node parser: read the Camunda 7 attributes into `extensions`; timers
    decide with `engine.timers` (see engine/timer_events.py)."""

    def parse_extensions(self, node=None):  # noqa: D102 (SpiffWorkflow's hook)
        return read_extensions(node if node is not None else self.node)

    def _add_multiinstance_task(self, loop_characteristics):
        """Camunda's `camunda:collection="${list}"` names the list variable SpiffWorkflow reads."""
        collection = loop_characteristics.get(_c("collection"))
        if collection is not None:
            name = collection_variable(collection)
            if name is None:
                self.raise_validation_exception(
                    "camunda:collection: give ${list} or the name of a list variable"
                )
            loop_characteristics.set(_c("collection"), name)
        return super()._add_multiinstance_task(loop_characteristics)

    def parse_timer_event(self, event):  # noqa: D102 (SpiffWorkflow's hook)
        kind, text = read_timer(self.node) or (None, None)
        name = self.node.get("name", self.node.get("id"))
        description = self.get_event_description(event)
        if kind is None:
            self.raise_validation_exception("a timer needs a timeDate, timeDuration or timeCycle")
        if is_process_start(self.node):
            # The worker starts a case at each firing (`ParsedDeployment.start_timer`); a case
            # started so, or by hand, begins at once.
            return NoneEventDefinition(description="Default")
        if kind == "timeDate":
            return DateTimer(name, text, description=description)
        if kind == "timeDuration":
            return DurationTimer(name, text, description=description)
        if is_non_interrupting(self.node):
            return CycleTimer(name, text, description=description)
        return FirstOfCycleTimer(name, text, description=description)


class DecisionTaskParser(BusinessRuleTaskParser):
    """The stock parser always builds SpiffWorkflow's own spec; this one builds `spec_class`."""

    def create_task(self):
        engine = self.process_parser.parser.get_engine(self.get_decision_ref(self.node), self.node)
        return self.spec_class(self.spec, self.bpmn_id, dmnEngine=engine, **self.bpmn_attributes)


def _with_extensions(table: Mapping[str, tuple[type, type]]) -> dict[str, tuple[type, type]]:
    return {
        tag: (type(f"Camunda7{parser.__name__}", (CamundaExtensions, parser), {}), spec)
        for tag, (parser, spec) in table.items()
    }


class Camunda7Parser(CamundaParser):
    """SpiffWorkflow's CamundaParser with every node's Camunda 7 attributes and FEEL decisions.

    Extension tables: `OVERRIDE_PARSER_CLASSES` (every tag gets `CamundaExtensions`),
    `get_engine` (DMN tables are evaluated by `FeelDecisionEngine`).
    """

    OVERRIDE_PARSER_CLASSES = _with_extensions(
        {
            **BpmnParser.PARSER_CLASSES,
            **CamundaParser.OVERRIDE_PARSER_CLASSES,
            full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
        }
    )

    def __init__(self, validate_schema: bool = True) -> None:
        super().__init__(namespaces=NSMAP, validator=BpmnValidator() if validate_schema else None)

    def get_engine(self, decision_ref, node):
        engine = super().get_engine(decision_ref, node)
        return FeelDecisionEngine(engine.decision_table)


@dataclass
class ParsedDeployment:
    """The specs of one deployment, ready to run, with what the Modeler recorded."""

    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    execution_platform: str | None = None
    execution_platform_version: str | None = None
    start_form: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[int, str] = field(default_factory=dict)  # number -> name, see `read_stage_names`
    starter_groups: list[str] = field(default_factory=list)  # camunda:candidateStarterGroups
    starter_users: list[str] = field(default_factory=list)  # camunda:candidateStarterUsers
    start_timer: tuple[str, str] | None = None  # (kind, text) of a timer start event: see jobs.py
    start_event_id: str | None = None
    initiator: str | None = None  # camunda:initiator: the variable that holds who started the case


STAGE_NAME = re.compile(r"stage\.([1-9][0-9]*)")


def read_stage_names(process: etree._Element) -> dict[int, str]:
    """The stages a process names: its own `camunda:properties` `stage.1`, `stage.2`, ... with the
    stage's name as the value (the Modeler's Process > Extension properties). Elements carry the
    number in their `stage` property; screens and `show` use these names."""
    names = {}
    for prop in process.findall(f"./{{*}}extensionElements/{_c('properties')}/{_c('property')}"):
        match = STAGE_NAME.fullmatch((prop.get("name") or "").strip())
        if match and (prop.get("value") or "").strip():
            names[int(match[1])] = prop.get("value").strip()
    return dict(sorted(names.items()))


def executable_process_ids(xml: etree._Element) -> list[str]:
    return [
        process.get("id")
        for process in xml.iter(full_tag("process"))
        if process.get("isExecutable", "true") == "true"
    ]


# SpiffWorkflow names its own task specs `Start`, `End` and `Root`; elements with those ids are
# parsed under another name and get their id back afterwards (screens and rows show `Start`).
RESERVED_IDS = frozenset({"Start", "End", "Root"})
RENAMED = "{}__element"
_ID_REFERENCES = ("sourceRef", "targetRef", "attachedToRef", "default")
_ID_TEXTS = {full_tag("incoming"), full_tag("outgoing"), full_tag("flowNodeRef")}


def _rename_reserved(root: etree._Element) -> set[str]:
    """Rename the elements SpiffWorkflow would confuse with its own specs, with every reference."""
    renamed = {
        node.get("id")
        for node in root.iter()
        if isinstance(node.tag, str)
        and node.get("id") in RESERVED_IDS
        and node.tag.startswith(f"{{{BPMN_NS}}}")
    }
    if not renamed:
        return renamed
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute in ("id", *_ID_REFERENCES):
            if node.get(attribute) in renamed:
                node.set(attribute, RENAMED.format(node.get(attribute)))
        if node.tag in _ID_TEXTS and (node.text or "").strip() in renamed:
            node.text = RENAMED.format(node.text.strip())
    return renamed


def _original_id(element_id: str) -> str:
    suffix = RENAMED.format("")
    stem = element_id[: -len(suffix)] if element_id.endswith(suffix) else None
    return stem if stem in RESERVED_IDS else element_id


def _restore_ids(spec: BpmnProcessSpec, renamed: set[str]) -> None:
    for task_spec in spec.task_specs.values():
        if getattr(task_spec, "bpmn_id", None):
            task_spec.bpmn_id = _original_id(task_spec.bpmn_id)


def parse_files(files: Mapping[str, str]) -> list[ParsedDeployment]:
    """Parse a deployment's .bpmn and .dmn files into runnable specs, one per executable process."""
    parser = Camunda7Parser()
    renamed: set[str] = set()
    roots: dict[str, etree._Element] = {}
    for name, text in sorted(files.items()):
        root = safexml.parse(text)
        if name.endswith(".dmn"):
            parser.add_dmn_xml(root, filename=name)
        else:
            roots[name] = root
            renamed |= _rename_reserved(root)
            parser.add_bpmn_xml(root, filename=name)
    parsed = []
    for root in roots.values():
        for key in executable_process_ids(root):
            process = root.find(f".//{full_tag('process')}[@id='{key}']")
            start = process.find(full_tag("startEvent")) if process is not None else None
            parsed.append(
                ParsedDeployment(
                    key=key,
                    name=(process.get("name") if process is not None else None) or key,
                    spec=parser.get_spec(key),
                    subprocess_specs=parser.get_subprocess_specs(key),
                    execution_platform=root.get(f"{{{MODELER_NS}}}executionPlatform"),
                    execution_platform_version=root.get(f"{{{MODELER_NS}}}executionPlatformVersion"),
                    start_form=read_form_fields(start) if start is not None else [],
                    stages=read_stage_names(process) if process is not None else {},
                    starter_groups=_split(
                        process.get(_c("candidateStarterGroups")) if process is not None else None
                    ),
                    starter_users=_split(
                        process.get(_c("candidateStarterUsers")) if process is not None else None
                    ),
                    start_timer=read_timer(start) if start is not None else None,
                    start_event_id=_original_id(start.get("id")) if start is not None else None,
                    initiator=(start.get(_c("initiator")) or "").strip() or None
                    if start is not None
                    else None,
                )
            )
    for deployment in parsed:
        for spec in (deployment.spec, *deployment.subprocess_specs.values()):
            _restore_ids(spec, renamed)
    return parsed

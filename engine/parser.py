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
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser

from . import safexml
from .decisions import DecisionTask, FeelDecisionEngine

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

JAVA_BINDINGS = ("class", "delegateExpression", "expression")


def _c(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


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


class CamundaExtensions:
    """Mixed into every node parser: read the Camunda 7 attributes into `extensions`."""

    def parse_extensions(self, node=None):  # noqa: D102 (SpiffWorkflow's hook)
        return read_extensions(node if node is not None else self.node)


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


def parse_files(files: Mapping[str, str]) -> list[ParsedDeployment]:
    """Parse a deployment's .bpmn and .dmn files into runnable specs, one per executable process."""
    parser = Camunda7Parser()
    roots: dict[str, etree._Element] = {}
    for name, text in sorted(files.items()):
        root = safexml.parse(text)
        if name.endswith(".dmn"):
            parser.add_dmn_xml(root, filename=name)
        else:
            roots[name] = root
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
                )
            )
    return parsed

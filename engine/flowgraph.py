"""A process as a graph of its flow nodes, for questions about where a case can go.

Read from the deployed BPMN, as Camunda Modeler wrote it: sequence flows (with their conditions),
boundary events (an edge from the activity they sit on), embedded sub-processes (in through their
start events, out through their end events). An import asks it which user tasks lie on the way to
a target task, which enum fields decide a gateway right after a task, and which option of such a
decision leads on to the target.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from . import safexml
from .expressions import ExpressionError, compile_expression
from .parser import read_form_fields

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "scriptTask",
        "businessRuleTask",
        "manualTask",
        "callActivity",
        "subProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
DECIDING_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
# A route through a boundary event (a deadline passed, an error) is the exception, not the way:
# the shortest route prefers the normal flow.
EXCEPTIONAL = 1000


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    id: str | None = None  # None: an edge of the graph that is no sequence flow (boundary, sub-process)
    condition: str | None = None
    cost: int = 1


@dataclass
class Node:
    id: str
    kind: str  # the BPMN element's local name: userTask, exclusiveGateway, ...
    name: str
    form: list[dict[str, Any]] = field(default_factory=list)
    default_flow: str | None = None

    @property
    def is_user_task(self) -> bool:
        return self.kind == "userTask"


class FlowGraph:
    """The flow nodes of one process and the edges between them."""

    def __init__(self, nodes: Mapping[str, Node], flows: Iterable[Flow]) -> None:
        self.nodes = dict(nodes)
        self.outgoing: dict[str, list[Flow]] = {node_id: [] for node_id in self.nodes}
        for flow in flows:
            self.outgoing.setdefault(flow.source, []).append(flow)

    @classmethod
    def from_files(cls, files: Mapping[str, str], process_key: str) -> FlowGraph:
        """The graph of `process_key` from a deployment's files (`{name: xml}`)."""
        for name, text in files.items():
            if name.endswith(".dmn"):
                continue
            root = safexml.parse(text)
            process = root.find(f".//{{{BPMN_NS}}}process[@id='{process_key}']")
            if process is not None:
                return cls.from_process(process)
        raise KeyError(f"process '{process_key}' is not in the deployment")

    @classmethod
    def from_process(cls, process: etree._Element) -> FlowGraph:
        nodes: dict[str, Node] = {}
        flows: list[Flow] = []
        inside: dict[str, str] = {}  # node id -> the sub-process it sits in
        for element in process.iter():
            kind = _local(element)
            if kind not in FLOW_NODES or not element.get("id"):
                continue
            node_id = element.get("id")
            nodes[node_id] = Node(
                node_id,
                kind,
                element.get("name") or node_id,
                read_form_fields(element) if kind in ("userTask", "startEvent") else [],
                element.get("default"),
            )
            parent = element.getparent()
            if parent is not None and _local(parent) == "subProcess":
                inside[node_id] = parent.get("id")
            if kind == "boundaryEvent" and element.get("attachedToRef"):
                flows.append(Flow(element.get("attachedToRef"), node_id, cost=EXCEPTIONAL))
        for element in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
            flows.append(
                Flow(
                    element.get("sourceRef"),
                    element.get("targetRef"),
                    element.get("id"),
                    condition.text if condition is not None and (condition.text or "").strip() else None,
                )
            )
        after = {f.source: [] for f in flows}
        for flow in flows:
            after[flow.source].append(flow.target)
        for node_id, sub in inside.items():
            kind = nodes[node_id].kind
            if kind == "startEvent":
                flows.append(Flow(sub, node_id, cost=0))
            elif kind == "endEvent":
                flows.extend(Flow(node_id, target) for target in after.get(sub, []))
        return cls(nodes, flows)

    # --- where a case can go ----------------------------------------------------------------------
    def start_event(self) -> Node:
        targets = {flow.target for flows in self.outgoing.values() for flow in flows}
        starts = [n for n in self.nodes.values() if n.kind == "startEvent" and n.id not in targets]
        if not starts:
            raise KeyError("the process has no start event")
        return starts[0]

    def user_task(self, node_id: str) -> Node | None:
        node = self.nodes.get(node_id)
        return node if node is not None and node.is_user_task else None

    def reaches(self, source: str, target: str, avoid: Iterable[str] = ()) -> bool:
        """Whether `target` can follow `source` without passing through a node of `avoid`."""
        blocked = set(avoid)
        seen, todo = set(), [source]
        while todo:
            node = todo.pop()
            if node == target:
                return True
            if node in seen or node in blocked:
                continue
            seen.add(node)
            todo.extend(flow.target for flow in self.outgoing.get(node, []))
        return False

    def route(self, source: str, target: str) -> list[str] | None:
        """The node ids after `source` up to and including `target` on the shortest route (normal
        flow before boundary events); None when there is none. `source == target` asks for the
        shortest way round a loop back to it."""
        queue: list[tuple[int, int, str, tuple[str, ...]]] = []
        counter = 0
        for flow in self.outgoing.get(source, []):
            counter += 1
            heapq.heappush(queue, (flow.cost, counter, flow.target, (flow.target,)))
        done: set[str] = set()
        while queue:
            cost, _, node, path = heapq.heappop(queue)
            if node == target:
                return list(path)
            if node in done:
                continue
            done.add(node)
            for flow in self.outgoing.get(node, []):
                if flow.target not in done:
                    counter += 1
                    heapq.heappush(queue, (cost + flow.cost, counter, flow.target, (*path, flow.target)))
        return None

    # --- decisions ------------------------------------------------------------------------------
    def _gateways_after(self, task_id: str) -> Iterator[Node]:
        """Deciding gateways a case reaches from `task_id` before any other person acts."""
        seen, todo = {task_id}, [f.target for f in self.outgoing.get(task_id, [])]
        while todo:
            node_id = todo.pop()
            node = self.nodes.get(node_id)
            if node is None or node_id in seen or node.is_user_task:
                continue
            seen.add(node_id)
            if node.kind in DECIDING_GATEWAYS:
                yield node
            todo.extend(f.target for f in self.outgoing.get(node_id, []) if f.cost < EXCEPTIONAL)

    def decisions(self, task_id: str) -> dict[str, str]:
        """The task's enum fields that a gateway right after it decides on: field id -> gateway id."""
        node = self.nodes[task_id]
        enums = {f["id"] for f in node.form if f.get("type") == "enum"}
        found: dict[str, str] = {}
        for gateway in self._gateways_after(task_id):
            for flow in self.outgoing.get(gateway.id, []):
                if flow.condition is None:
                    continue
                try:
                    names = compile_expression(flow.condition, flow.id).names
                except ExpressionError:
                    continue
                for name in sorted(names & enums):
                    found.setdefault(name, gateway.id)
        return found

    def branch(self, gateway_id: str, field_id: str, value: Any) -> list[Flow] | None:
        """The flows the gateway takes when `field_id` is `value`; None when its conditions read
        more than that field, so the choice alone does not say."""
        taken = []
        for flow in self.outgoing.get(gateway_id, []):
            if flow.condition is None:
                continue
            try:
                result = compile_expression(flow.condition, flow.id).evaluate({field_id: value})
            except ExpressionError:
                return None
            if result:
                taken.append(flow)
        default = self.nodes[gateway_id].default_flow
        if not taken and default:
            taken = [f for f in self.outgoing.get(gateway_id, []) if f.id == default]
        return taken

    def options_toward(self, task_id: str, field_id: str, target: str) -> list[str]:
        """The options of a decision field after which the case can reach `target` without
        coming back to `task_id` first (a loop back is another round, not the way forward)."""
        gateway = self.decisions(task_id).get(field_id)
        if gateway is None:
            return []
        form_field = next(f for f in self.nodes[task_id].form if f["id"] == field_id)
        reaching = []
        for option in form_field.get("options") or []:
            flows = self.branch(gateway, field_id, option["id"])
            if flows and any(self.reaches(f.target, target, avoid={task_id}) for f in flows):
                reaching.append(option["id"])
        return reaching

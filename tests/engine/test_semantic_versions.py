"""Deploy compares what a diagram says, not its bytes: a no-op Modeler save is `unchanged`."""

from __future__ import annotations

import random
import re

from lxml import etree

from tests.engine.conftest import REVIEW

DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def resaved(text: str, seed: int = 7) -> str:
    """What a Modeler save that changes nothing looks like: shapes and flow elements in another
    order, other indentation, another exporter version."""
    root = etree.fromstring(text.encode())
    rng = random.Random(seed)
    for parent in [*root.iter(f"{DI}BPMNPlane"), *root.iter(f"{BPMN}process")]:
        children = list(parent)
        head = [c for c in children if etree.QName(c).localname == "extensionElements"]
        rest = [c for c in children if c not in head]
        rng.shuffle(rest)
        for child in children:
            parent.remove(child)
        parent.extend(head + rest)
    for element in root.iter():
        element.tail = None if element.tail is None else "\n" + " " * rng.randint(0, 6)
    out = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return re.sub(r'exporterVersion="[^"]*"', 'exporterVersion="5.40.0"', out)


def test_a_modeler_save_that_changes_nothing_is_unchanged(orch):
    [first] = orch.deploy({"review.bpmn": REVIEW})
    assert resaved(REVIEW) != REVIEW
    [again] = orch.deploy({"review.bpmn": resaved(REVIEW)})
    assert (again.changed, again.version) == (False, first.version)


def test_a_moved_shape_is_a_new_version(orch):
    orch.deploy({"review.bpmn": REVIEW})
    moved = re.sub(
        r'(<bpmndi:BPMNShape id="Review_di"[^>]*>\s*<dc:Bounds x=")(\d+)',
        lambda m: m[1] + str(int(m[2]) + 40),
        REVIEW,
    )
    assert moved != REVIEW
    [result] = orch.deploy({"review.bpmn": resaved(moved)})
    assert (result.changed, result.version) == (True, 2)


def test_a_changed_process_is_a_new_version(orch):
    orch.deploy({"review.bpmn": REVIEW})
    [result] = orch.deploy({"review.bpmn": REVIEW.replace('name="Tinjau"', 'name="Tinjau lagi"')})
    assert (result.changed, result.version) == (True, 2)

"""Camunda Modeler element templates: the committed file is what the registry generates now, and
each template binds what the engine reads (topic, handler, stage, declared properties)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lxml import etree

from engine import element_templates
from engine.parser import CAMUNDA_NS, read_extensions
from engine.registry import HandlerRegistry
from handlers import registry
from tests.conftest import ROOT

COMMITTED = ROOT / element_templates.DEFAULT_DIRECTORY / element_templates.filename(registry)
DIAGRAM = ROOT / "processes" / "ksdpl.bpmn"


def committed() -> list[dict[str, Any]]:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def by_id() -> dict[str, dict[str, Any]]:
    return {template["id"]: template for template in committed()}


def bindings(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The template's properties keyed by (binding type, name)."""
    return {(p["binding"]["type"], p["binding"]["name"]): p for p in template["properties"]}


def test_committed_file_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == element_templates.render(registry), (
        f"{COMMITTED.relative_to(ROOT)} is out of date with the handler registry: "
        "run `ksdpl element-templates` and commit the result"
    )


def test_one_template_per_topic_and_per_user_task_handler() -> None:
    ids = [template["id"] for template in committed()]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(
        [f"ksdpl.topic.{h.name}" for h in registry.services]
        + [f"ksdpl.user.{h.name}" for h in registry.user_tasks]
    )
    for template in committed():
        assert (
            template["$schema"]
            == "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json"
        )
        assert template["version"] == 1
        assert template["name"] and template["description"]


def test_service_templates_bind_an_external_topic() -> None:
    templates = by_id()
    for info in registry.services:
        template = templates[f"ksdpl.topic.{info.name}"]
        assert template["appliesTo"] == ["bpmn:ServiceTask"]
        assert template["name"] == info.label
        props = bindings(template)
        assert props["property", "camunda:type"] == {
            "type": "Hidden",
            "value": "external",
            "binding": {"type": "property", "name": "camunda:type"},
        }
        assert props["property", "camunda:topic"]["type"] == "Hidden"
        assert props["property", "camunda:topic"]["value"] == info.name
        assert props["property", "name"]["type"] == "String"
        assert props["property", "name"]["value"] == info.label
        assert props["camunda:property", "stage"]["type"] == "String"
        assert "value" not in props["camunda:property", "stage"]  # every element has its own stage


def test_user_task_templates_bind_the_handler_property() -> None:
    templates = by_id()
    for info in registry.user_tasks:
        template = templates[f"ksdpl.user.{info.name}"]
        assert template["appliesTo"] == ["bpmn:UserTask"]
        assert template["name"] == info.label
        props = bindings(template)
        assert props["camunda:property", "handler"] == {
            "type": "Hidden",
            "value": info.name,
            "binding": {"type": "camunda:property", "name": "handler"},
        }
        assert props["camunda:property", "stage"]["type"] == "String"
        assert ("property", "name") not in props  # the task keeps the name the analyst gave it


def test_dprd_working_days_are_an_editable_field() -> None:
    props = bindings(by_id()["ksdpl.topic.ksdpl.hitung-batas-dprd"])
    working_days = props["camunda:property", "hari_kerja"]
    assert working_days["type"] == "String"
    assert working_days.get("editable", True) is True
    assert "45" in working_days["label"] and working_days["constraints"] == {"notEmpty": True}


def test_every_templated_element_of_the_diagram_carries_the_template_properties() -> None:
    """An element bound to a topic or handler has a template, and the properties it declares."""
    templates = by_id()
    root = etree.parse(str(DIAGRAM)).getroot()
    seen = set()
    for node in root.iter(f"{{{root.nsmap['bpmn']}}}serviceTask", f"{{{root.nsmap['bpmn']}}}userTask"):
        info = read_extensions(node)
        if node.get(f"{{{CAMUNDA_NS}}}topic"):
            template_id = f"ksdpl.topic.{info['topic']}"
        elif info["handler"]:
            template_id = f"ksdpl.user.{info['handler']}"
        else:
            continue
        assert template_id in templates, f"{node.get('id')}: no template {template_id}"
        seen.add(template_id)
        for (kind, name), prop in bindings(templates[template_id]).items():
            if kind == "camunda:property" and prop["type"] != "Hidden":
                assert info["properties"].get(name), f"{node.get('id')} lacks camunda:property {name}"
    assert seen == set(templates), f"templates no element uses: {sorted(set(templates) - seen)}"


def test_declared_properties_of_any_registry_become_fields() -> None:
    custom = HandlerRegistry("uji")  # the templates are named after the registry, not the engine

    @custom.user_task("tinjau", label="Tinjau", properties={"batas_hari": "Batas hari peninjauan"})
    def tinjau(ctx):  # pragma: no cover - never called
        return {}

    [template] = element_templates.element_templates(custom)
    assert template["id"] == "uji.user.tinjau" and template["description"] == "Tinjau"
    assert element_templates.filename(custom) == "uji.json"
    assert bindings(template)["camunda:property", "batas_hari"]["label"] == "Batas hari peninjauan"


def test_cli_writes_the_descriptor(tmp_path: Path) -> None:
    output = tmp_path / "et"
    command = [sys.executable, "-m", "engine.cli", "element-templates", "--output", str(output), "--json"]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "KSDPL_HANDLERS": "handlers"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    written = output / "ksdpl.json"
    assert json.loads(proc.stdout) == {"path": str(written), "templates": len(committed())}
    assert written.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")

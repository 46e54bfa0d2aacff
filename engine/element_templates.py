"""Camunda Modeler element templates (Camunda 7) generated from the handler registry.

An analyst opens a diagram in Camunda Modeler, selects a service or user task and picks a handler
by its Indonesian label instead of typing a topic or a `handler` property by hand. The Modeler
finds the templates in `.camunda/element-templates/` next to the diagram (or in a parent folder).

One template per service topic (`camunda:type="external"`, `camunda:topic`) and one per user-task
handler (`camunda:properties` → `handler`); both let the analyst set the element's `stage`
property, and any further properties the handler declares (`properties={name: label}` when it is
registered, e.g. a number of working days) become fields of their own. The file and the template
ids are named after the registry (`<name>.json`, `<name>.topic.<topic>`, `<name>.user.<handler>`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .registry import HandlerInfo, HandlerRegistry

SCHEMA = "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json"
DEFAULT_DIRECTORY = Path("processes") / ".camunda" / "element-templates"
VERSION = 1

STAGE = {
    "label": "Tahap (stage)",
    "description": "Nomor tahap proses tempat elemen ini berada; menentukan tahap kasus yang ditampilkan.",
    "type": "String",
    "binding": {"type": "camunda:property", "name": "stage"},
    "constraints": {
        "notEmpty": True,
        "pattern": {"value": "^[1-9][0-9]*$", "message": "Isi dengan nomor tahap, misalnya 5"},
    },
}


def _declared_properties(info: HandlerInfo) -> list[dict[str, Any]]:
    """The extra `camunda:properties` the handler reads, each an editable field."""
    return [
        {
            "label": label,
            "type": "String",
            "binding": {"type": "camunda:property", "name": name},
            "constraints": {"notEmpty": True},
        }
        for name, label in info.properties.items()
    ]


def _template(
    template_id: str, info: HandlerInfo, applies_to: str, properties: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "name": info.label,
        "id": template_id,
        "description": info.description or info.label,
        "version": VERSION,
        "appliesTo": [applies_to],
        "properties": properties,
    }


def service_template(info: HandlerInfo, prefix: str) -> dict[str, Any]:
    """An external service task bound to the handler's topic, named after the handler (editable)."""
    return _template(
        f"{prefix}.topic.{info.name}",
        info,
        "bpmn:ServiceTask",
        [
            {
                "label": "Nama",
                "type": "String",
                "value": info.label,
                "binding": {"type": "property", "name": "name"},
            },
            {"type": "Hidden", "value": "external", "binding": {"type": "property", "name": "camunda:type"}},
            {"type": "Hidden", "value": info.name, "binding": {"type": "property", "name": "camunda:topic"}},
            STAGE,
            *_declared_properties(info),
        ],
    )


def user_task_template(info: HandlerInfo, prefix: str) -> dict[str, Any]:
    """A user task whose submitted form the named handler checks. Its name is left alone: the
    Modeler keeps the General group (name, id) visible on a templated element."""
    return _template(
        f"{prefix}.user.{info.name}",
        info,
        "bpmn:UserTask",
        [
            {
                "type": "Hidden",
                "value": info.name,
                "binding": {"type": "camunda:property", "name": "handler"},
            },
            STAGE,
            *_declared_properties(info),
        ],
    )


def element_templates(registry: HandlerRegistry) -> list[dict[str, Any]]:
    """Every template, service topics first, each group sorted by name (a stable file)."""
    return [service_template(info, registry.name) for info in registry.services] + [
        user_task_template(info, registry.name) for info in registry.user_tasks
    ]


def render(registry: HandlerRegistry) -> str:
    """The descriptor file's text: a JSON array, as committed."""
    return json.dumps(element_templates(registry), ensure_ascii=False, indent=2) + "\n"


def filename(registry: HandlerRegistry) -> str:
    return f"{registry.name}.json"


def write(registry: HandlerRegistry, directory: Path = DEFAULT_DIRECTORY) -> Path:
    """Write `<registry name>.json` into `directory` (created if missing); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename(registry)
    path.write_text(render(registry), encoding="utf-8")
    return path

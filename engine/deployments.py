"""Deployments: checked, versioned, parsed once per version.

Mixed into `Orchestrator`; uses its unit of work, registry and spec cache (`_parsed`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from . import safexml
from .access import Actor
from .checks import check_files, warnings_for
from .clock import clock
from .errors import DeploymentRejected, Forbidden, NotFound
from .models import AuditEvent, ProcessDefinition
from .parser import ParsedDeployment, parse_files
from .runtime import SPIFF_VERSION, dumps

MAX_KEY = 100


@dataclass(frozen=True)
class DeployResult:
    key: str
    version: int
    changed: bool
    definition_id: int


def _files_text(files: Mapping[str, str | bytes]) -> dict[str, str]:
    texts = {}
    for name, content in files.items():
        texts[name.rsplit("/", 1)[-1]] = content.decode("utf-8") if isinstance(content, bytes) else content
    return texts


def _sha256(files: Mapping[str, str]) -> str:
    """The files' bytes (how versions deployed before semantic versions were compared)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
# Elements whose children's order means nothing: flow elements in a process or sub-process,
# the definitions' root elements, the shapes and edges of a diagram plane.
UNORDERED = {
    f"{{{BPMN_NS}}}definitions",
    f"{{{BPMN_NS}}}process",
    f"{{{BPMN_NS}}}subProcess",
    f"{{{BPMN_NS}}}laneSet",
    f"{{{BPMNDI_NS}}}BPMNPlane",
}
IGNORED_ATTRIBUTES = {"exporter", "exporterVersion"}  # which Modeler saved it, not what it says


def _canonical(element: etree._Element) -> etree._Element:
    """A copy without formatting and with unordered children sorted by their own canonical text."""
    for attribute in IGNORED_ATTRIBUTES & set(element.attrib):
        del element.attrib[attribute]
    element.text = (element.text or "").strip() or None
    element.tail = None
    children = [child for child in element if isinstance(child.tag, str)]
    for child in list(element):
        element.remove(child)
    canonical = [_canonical(child) for child in children]
    if element.tag in UNORDERED:
        canonical.sort(key=lambda child: etree.tostring(child, method="c14n"))
    element.extend(canonical)
    return element


def content_digest(files: Mapping[str, str]) -> str:
    """What a deployment says, not how it is written: formatting, the order of flow elements
    and of diagram shapes, and the Modeler's version do not change it; a moved shape, a renamed
    task or a changed condition does. Comments and processing instructions are ignored."""
    digest = hashlib.sha256()
    for name in sorted(files):
        root = _canonical(safexml.parse(files[name]))
        digest.update(name.encode() + b"\0" + etree.tostring(root, method="c14n") + b"\0")
    return digest.hexdigest()


# The newest version of a process (`key`), built once: starts and screens ask for it.
_LATEST = (
    select(ProcessDefinition.id, ProcessDefinition.version)
    .where(ProcessDefinition.key == bindparam("key"))
    .order_by(ProcessDefinition.version.desc())
    .limit(1)
)
# The same id as a column of a caller's own statement (a page reads it with its account).
LATEST_ID = _LATEST.with_only_columns(ProcessDefinition.id).scalar_subquery()


class Deployments:
    """Deploying files creates a new version of each process whose files changed, nothing otherwise."""

    _stage_names: dict[int, dict[int, str]]

    def check(self, files: Mapping[str, str | bytes]) -> list[str]:
        """The deploy-time checks alone: `file: element-id: message` for each problem."""
        return check_files(_files_text(files), self.registry)

    def warnings(self, files: Mapping[str, str | bytes]) -> list[str]:
        """What deploys but probably fails at run time (`checks.warnings_for`)."""
        return warnings_for(_files_text(files), self.registry)

    def deploy(
        self, files: Mapping[str, str | bytes], user: str | None = None, actor: Actor | None = None
    ) -> list[DeployResult]:
        """A new version for each process whose files changed; nothing otherwise. Operators only,
        when an actor asks (the CLI runs as the machine's operator)."""
        if actor is not None:
            if not actor.is_operator:
                raise Forbidden("Hanya operator yang dapat men-deploy proses")
            user = actor.username
        texts = _files_text(files)
        problems = check_files(texts, self.registry)
        if problems:
            raise DeploymentRejected(problems)
        parsed = parse_files(texts)
        too_long = [
            f"{p.key[:40]}...: id proses paling banyak {MAX_KEY} karakter"
            for p in parsed
            if len(p.key) > MAX_KEY
        ]
        if too_long:  # the column's length: PostgreSQL would refuse it, SQLite would keep it
            raise DeploymentRejected(too_long)
        digest, byte_digest = content_digest(texts), _sha256(texts)
        now = clock.now()
        results = []
        with self.uow() as uow:
            s = uow.session
            for deployment in parsed:
                latest = s.scalars(
                    select(ProcessDefinition)
                    .where(ProcessDefinition.key == deployment.key)
                    .order_by(ProcessDefinition.version.desc())
                    .limit(1)
                ).first()
                if latest is not None and latest.sha256 in (digest, byte_digest):
                    results.append(DeployResult(deployment.key, latest.version, False, latest.id))
                    continue
                definition = ProcessDefinition(
                    key=deployment.key,
                    version=(latest.version + 1) if latest else 1,
                    name=deployment.name,
                    files=json.dumps(texts, ensure_ascii=False),
                    sha256=digest,
                    spiff_version=SPIFF_VERSION,
                    deployed_at=now,
                    deployed_by=user,
                )
                s.add(definition)
                s.flush()
                self._parsed[definition.id] = {p.key: p for p in parsed}
                self._schedule_start_timer(s, definition.id, deployment, now)
                s.add(
                    AuditEvent(
                        at=now,
                        actor=user,
                        action="deploy",
                        detail=dumps({"key": definition.key, "version": definition.version}),
                    )
                )
                results.append(DeployResult(definition.key, definition.version, True, definition.id))
            uow.commit()
        return results

    def parsed_version(self, s: Session, definition_id: int, key: str) -> ParsedDeployment:
        """What a version declares, for a caller that read its id itself (`LATEST_ID`)."""
        return self._deployment(s, definition_id, key)

    def _deployment(self, s: Session, definition_id: int, key: str) -> ParsedDeployment:
        """The parsed spec of a version: parsed once per process, then cached."""
        parsed = self._parsed.get(definition_id)
        if parsed is None:
            parsed = {p.key: p for p in parse_files(self._files(s, definition_id))}
            self._parsed[definition_id] = parsed
        return parsed[key]

    def _files(self, s: Session, definition_id: int) -> dict[str, str]:
        """A version's stored files (filename -> text)."""
        stored = s.scalar(select(ProcessDefinition.files).where(ProcessDefinition.id == definition_id))
        return json.loads(stored)

    def _latest(self, s: Session, key: str) -> Row[tuple[int, int]]:
        """The newest version's id and number: only these two columns, not its files (the whole
        BPMN, which can be 100 KB and more), as pages ask for it on every request."""
        definition = s.execute(_LATEST, {"key": key}).first()
        if definition is None:
            raise NotFound(f"Proses '{key}' belum di-deploy")
        return definition

    def stage_names(self, definition_id: int) -> dict[int, str]:
        """The stages a deployed version names (number -> name), for screens. A version never
        changes, so its names are kept once read. A version deployed before its process named
        its stages shows the newest version's names."""
        names = self._stage_names.get(definition_id)
        if names is not None:
            return names
        with self.session() as s:
            key = s.scalar(select(ProcessDefinition.key).where(ProcessDefinition.id == definition_id))
            if key is None:
                raise NotFound(f"Versi proses {definition_id} tidak ditemukan")
            names = self._deployment(s, definition_id, key).stages
            if not names:
                latest = self._latest(s, key)
                return self._deployment(s, latest.id, key).stages
            self._stage_names[definition_id] = names
            return names

    def latest(self, key: str, session: Session | None = None) -> tuple[int, ParsedDeployment]:
        """The newest version of a process: its definition id and what it declares. `session`:
        a read session already open (a web request's), else one of its own."""
        if session is not None:
            definition = self._latest(session, key)
            return definition.id, self._deployment(session, definition.id, key)
        with self.session() as s:
            return self.latest(key, s)

    def may_start(self, actor: Actor, key: str, region_code: str | None) -> bool:
        """Whether `start` would let the actor start a case of the process in this region."""
        _, deployment = self.latest(key)
        return self.registry.access.may_start(
            actor, deployment.starter_groups, deployment.starter_users, region_code
        )

    def start_form(self, key: str) -> list[dict[str, Any]]:
        """The fields of the newest version's start event (`camunda:formData`)."""
        return self.latest(key)[1].start_form

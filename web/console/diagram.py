"""A case's diagram and its live status, for anyone who may see the case (staff included): the
deployed version's BPMN, the marks per element, and a tiny status the pages poll while the case
waits on a system step. The include `console/_diagram.html` draws it with bpmn-js."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from engine.errors import NotFound
from engine.models import Instance, Job

from .. import views
from ..db import db, orchestrator

bp = Blueprint("diagram", __name__)


def _case(instance_id: int) -> Instance:
    instance = views.case_for(db(), g.actor, instance_id)
    if instance is None:
        abort(404)
    return instance


def process_xml(files: dict[str, str], key: str) -> str | None:
    """The file of a deployment that holds the process `key` (a deployment may hold several)."""
    for name, text in files.items():
        if name.endswith(".bpmn") and f'id="{key}"' in text:
            return text
    return next((text for name, text in files.items() if name.endswith(".bpmn")), None)


@bp.get("/kasus/<int:instance_id>/diagram.bpmn")
def xml(instance_id: int) -> ResponseReturnValue:
    instance = _case(instance_id)
    _definition, files = orchestrator().definition_files(instance.definition_id)
    text = process_xml(files, instance.process_key)
    if text is None:
        abort(404)
    return Response(text, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/kasus/<int:instance_id>/penanda.json")
def marks(instance_id: int) -> ResponseReturnValue:
    instance = _case(instance_id)
    try:
        elements = orchestrator().element_states(instance.id)
    except NotFound:
        abort(404)
    response = jsonify({"elements": elements, "status": instance.status})
    response.headers["Cache-Control"] = "private, no-store"
    return response


def waiting_on_system(instance: Instance) -> bool:
    """The case has a job the worker has not run yet (not a failed one: that waits for an operator)."""
    if instance.status != "running" or instance.suspended_at is not None:
        return False
    ready = db().scalar(select(func.count()).where(Job.instance_id == instance.id, Job.status == "ready"))
    return bool(ready)


@bp.get("/kasus/<int:instance_id>/status.json")
def status(instance_id: int) -> ResponseReturnValue:
    """What the live pages poll: the case's version (it rises with every step) and whether a
    system step is still to come."""
    instance = _case(instance_id)
    response = jsonify(
        {"version": instance.lock_version, "system": waiting_on_system(instance), "status": instance.status}
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response

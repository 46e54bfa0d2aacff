"""Drafts of task forms: what a person typed, kept on the server until the task is completed.

Mixed into `Orchestrator`. A draft belongs to one task and one person, holds the text of the
form's own fields as typed (no files: a browser cannot give them back) and the comment, and is
deleted with the task's completion in the same transaction (projections.DELETE_DRAFTS). Only a
person who may do the ready task may keep one, checked here like every other command.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from . import forms
from .access import Actor, candidate_of, visible_instances
from .clock import clock
from .errors import MSG_OPERATOR_WORK, Conflict, Forbidden, NotFound, ValidationFailed
from .models import Instance, Task, TaskDraft

MAX_VALUE_CHARS = 20_000  # longer than any field's maxlength; the form checks the real limit later
MAX_COMMENT_CHARS = 4000


@dataclass(frozen=True)
class Draft:
    values: dict[str, str]
    comment: str
    saved_at: datetime


class Drafts:
    """Save, read and discard a person's draft of a task form."""

    def _draft_task(self, s: Session, task_id: str, actor: Actor) -> tuple[int, list[dict[str, Any]]]:
        """The task's case and form fields, if the task is ready and the actor may do it."""
        row = s.execute(
            select(
                Task.form, Task.instance_id, Task.status, Task.assignee, candidate_of(actor).label("allowed")
            )
            .join(Instance, Instance.id == Task.instance_id)
            .where(and_(Task.id == task_id, visible_instances(actor)))
        ).first()
        if row is None:
            raise NotFound("Tugas tidak ditemukan")
        if row.status != "ready":
            raise Conflict("Tugas ini sudah tidak berlaku")
        if not row.allowed and not actor.is_operator:
            raise Forbidden("Anda tidak berhak mengerjakan tugas ini")
        if row.assignee and row.assignee != actor.username:
            raise Conflict("Tugas ini sedang diambil oleh pengguna lain")
        fields = json.loads(row.form or "[]")
        return row.instance_id, [f for f in fields if isinstance(f, dict) and f.get("id")]

    def save_draft(self, task_id: str, values: Mapping[str, Any], comment: str, actor: Actor) -> Draft:
        """Keep what the form holds, replacing the person's earlier draft of this task."""
        if actor.is_operator:
            raise Forbidden(MSG_OPERATOR_WORK)
        kept: dict[str, str] = {}
        comment = str(comment or "")
        if len(comment) > MAX_COMMENT_CHARS:
            raise ValidationFailed({"komentar": f"Komentar paling banyak {MAX_COMMENT_CHARS} karakter"})
        with self.uow() as uow:
            s = uow.session
            instance_id, fields = self._draft_task(s, task_id, actor)
            for f in fields:
                if f.get("type") == "file" or forms.is_readonly(f) or f["id"] not in values:
                    continue
                text = str(values[f["id"]] or "")
                if len(text) > MAX_VALUE_CHARS:
                    raise ValidationFailed({f["id"]: f"Paling banyak {MAX_VALUE_CHARS} karakter"})
                kept[f["id"]] = text
            now = clock.now()
            draft = s.get(TaskDraft, (task_id, actor.username))
            if draft is None:
                draft = TaskDraft(task_id=task_id, username=actor.username, instance_id=instance_id)
                s.add(draft)
            draft.values = json.dumps(kept, ensure_ascii=False)
            draft.comment = comment
            draft.saved_at = now
            uow.commit()
            return Draft(kept, comment, now)

    def draft(self, task_id: str, actor: Actor) -> Draft | None:
        """The person's own draft of the task, if any (nobody reads another's)."""
        with self.session() as s:
            row = s.get(TaskDraft, (task_id, actor.username))
            if row is None:
                return None
            values = json.loads(row.values or "{}")
            return Draft({str(k): str(v) for k, v in values.items()}, row.comment or "", row.saved_at)

    def discard_draft(self, task_id: str, actor: Actor) -> None:
        with self.uow() as uow:
            uow.session.execute(
                delete(TaskDraft).where(TaskDraft.task_id == task_id, TaskDraft.username == actor.username)
            )
            uow.commit()

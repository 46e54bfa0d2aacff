"""Who may see and do what: group and region rules as SQL clauses, so every query carries them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, true

from .models import Instance, Task

NATIONAL_GROUPS = frozenset({"kemendagri", "kemenlu", "operator", "admin"})
REGIONAL_GROUPS = frozenset({"pemda", "kepala_daerah", "dprd"})
ALL_GROUPS = NATIONAL_GROUPS | REGIONAL_GROUPS


@dataclass(frozen=True)
class Actor:
    """The person behind a request: their username, groups and (for regional groups) region."""

    username: str
    groups: frozenset[str]
    region_code: str | None = None

    @property
    def national(self) -> bool:
        return bool(self.groups & NATIONAL_GROUPS)

    @property
    def is_operator(self) -> bool:
        return bool(self.groups & {"operator", "admin"})


def visible_instances(actor: Actor) -> ColumnElement[bool]:
    """National offices see every case; regional staff only their region's."""
    if actor.national:
        return true()
    if actor.region_code is None:
        return false()
    return Instance.region_code == actor.region_code


def _listed(column, value: str) -> ColumnElement[bool]:
    """`value` is one of the comma-separated entries of `column`."""
    if not value:
        return false()
    padded = literal(",") + func.replace(column, " ", "") + literal(",")
    return padded.contains(f",{value},", autoescape=True)


def offered_to_group(group: str) -> ColumnElement[bool]:
    return _listed(Task.candidate_groups, group)


def candidate_of(actor: Actor) -> ColumnElement[bool]:
    """The task is offered to one of the actor's groups, or to the actor by name."""
    clauses = [offered_to_group(group) for group in sorted(actor.groups)]
    clauses.append(_listed(Task.candidate_users, actor.username))
    clauses.append(Task.assignee == actor.username)
    return or_(*clauses)


def actionable_tasks(actor: Actor) -> ColumnElement[bool]:
    """Ready tasks the actor may do. Use with a join of Task to Instance."""
    return and_(Task.status == "ready", visible_instances(actor), candidate_of(actor))

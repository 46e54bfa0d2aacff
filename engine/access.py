"""Who may see and do what: group and region rules as SQL clauses, so every query carries them.

The engine knows no group by name. The handler package declares an `AccessPolicy` (which groups
see every case, which belong to one region, who operates, who may start which process) and
registers it as `registry.access`; actors are built from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, false, func, insert, literal, or_, select, true

from .models import Instance, Task, TaskCandidate, User


@dataclass(frozen=True)
class Actor:
    """The person behind a request: their username, groups and (for regional groups) region.

    Build it with `AccessPolicy.actor`: an Actor made by hand sees only its region and operates
    nothing, whatever its groups are called."""

    username: str
    groups: frozenset[str]
    region_code: str | None = None
    national: bool = False  # sees every region's cases
    is_operator: bool = False  # acts on any case: cancel, retry, reassign, decrees


@dataclass(frozen=True)
class AccessPolicy:
    """The groups of one deployment and what each may do; declared by the handler package.

    - `national_groups`: offices that see every case (they have no region);
    - `regional_groups`: staff of one region, who see its cases only (they must have a region);
    - `operator_groups`: see every case and act on any (they have no region);
    - `admin_groups`: operators who also manage accounts and regions;
    - `labels`: group -> its name on screens; `region_levels`: level -> its name on screens.

    Who may start a process is the diagram's: `camunda:candidateStarterGroups` and
    `camunda:candidateStarterUsers` on the process, as in Camunda 7 (see `may_start`).
    """

    national_groups: frozenset[str] = frozenset()
    regional_groups: frozenset[str] = frozenset()
    operator_groups: frozenset[str] = frozenset()
    admin_groups: frozenset[str] = frozenset()  # operators who also manage accounts and regions
    labels: Mapping[str, str] = field(default_factory=dict)
    region_levels: Mapping[str, str] = field(default_factory=dict)

    @property
    def groups(self) -> frozenset[str]:
        return self.national_groups | self.regional_groups | self.operator_groups

    def is_admin(self, actor: Actor) -> bool:
        return bool(actor.groups & self.admin_groups & self.operator_groups)

    def actor(self, username: str, groups: Iterable[str], region_code: str | None = None) -> Actor:
        groups = frozenset(groups)
        return Actor(
            username,
            groups,
            region_code,
            national=bool(groups & (self.national_groups | self.operator_groups)),
            is_operator=bool(groups & self.operator_groups),
        )

    def may_start(
        self,
        actor: Actor,
        starter_groups: Iterable[str],
        starter_users: Iterable[str],
        region_code: str | None,
    ) -> bool:
        """Operators start any case. A process that names candidate starters may be started by
        them, a regional group only in its own region; one that names none, by anyone who could
        see the case (regional staff in their region, national offices anywhere)."""
        if actor.is_operator or actor.username in set(starter_users):
            return True
        named = frozenset(starter_groups)
        groups = actor.groups & named if (named or set(starter_users)) else actor.groups
        if groups - self.regional_groups:
            return True
        return bool(groups) and actor.region_code is not None and actor.region_code == region_code

    def workers_of_cases_in(self, region_codes: Iterable[str | None]) -> ColumnElement[bool]:
        """The accounts (rows of `users`) that may work a task of a case in one of `region_codes`,
        as the service decides it (`visible_instances` and no operator, `Orchestrator._ready_task`;
        `ConsoleService.reassign` refuses the others): active, no operator group, and national
        or of such a region. What a reassignment offers to choose from; `national_account` tells
        which of them serve every region, for a page that offers them for several."""
        operator = or_(false(), *(_listed(User.groups, g) for g in sorted(self.operator_groups)))
        codes = sorted({code for code in region_codes if code is not None})
        here = User.region_code.in_(codes) if codes else false()
        return and_(User.active, ~operator, or_(self.national_account(), here))

    def national_account(self) -> ColumnElement[bool]:
        """An account (a row of `users`) in a national group."""
        return or_(false(), *(_listed(User.groups, g) for g in sorted(self.national_groups)))

    def starters_text(self, starter_groups: Iterable[str]) -> str:
        """Who may start a process, for a refusal: "<labels of the groups> wilayah ini"."""
        groups = sorted(starter_groups)
        names = ", ".join(self.label(g) for g in groups) or "pengguna yang berwenang"
        regional = any(g in self.regional_groups for g in groups)
        return f"{names} wilayah ini" if regional else names

    def label(self, group: str) -> str:
        return self.labels.get(group, group)

    def account_problem(self, groups: Iterable[str], region_code: str | None) -> str | None:
        """Why an account with these groups and region cannot exist, or None."""
        groups = set(groups)
        if not groups:
            return "Paling sedikit satu grup"
        unknown = sorted(groups - self.groups)
        if unknown:
            return f"Grup tidak dikenal: {', '.join(unknown)} (pilihan: {', '.join(sorted(self.groups))})"
        regional = groups & self.regional_groups
        if regional and not region_code:
            return f"Grup {', '.join(sorted(regional))} harus punya wilayah (--region)"
        if regional and groups - self.regional_groups:
            return "Satu akun tidak boleh sekaligus grup daerah dan grup nasional"
        return None


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
    """The task is offered to one of the actor's groups, or to the actor by name: the rule for one
    task's row, in any status (lists of ready tasks use `offered_to`, which an index serves)."""
    clauses = [offered_to_group(group) for group in sorted(actor.groups)]
    clauses.append(_listed(Task.candidate_users, actor.username))
    clauses.append(Task.assignee == actor.username)
    return or_(*clauses)


def split_names(value: str | None) -> list[str]:
    """'b, a' -> ['a', 'b']: the entries of a comma-separated column."""
    return sorted({name.strip() for name in (value or "").split(",") if name.strip()})


CANDIDATE_COPIES = ("stage", "due_at", "created_at")  # the task's columns its candidate rows copy


def candidate_rows(task: Mapping[str, Any], region_code: str | None) -> list[dict[str, Any]]:
    """The `task_candidates` rows of a ready task (a `tasks` row as a mapping): the index
    `offered_to` reads, with the task's stage and dates the inbox sorts and counts on."""
    rows = [{"kind": "group", "name": name} for name in split_names(task["candidate_groups"])]
    rows += [{"kind": "user", "name": name} for name in split_names(task["candidate_users"])]
    if task["assignee"]:
        rows.append({"kind": "assignee", "name": task["assignee"]})
    copies = {column: task[column] for column in CANDIDATE_COPIES}
    return [{"task_id": task["id"], "region_code": region_code, **copies, **row} for row in rows]


def add_candidate(task_id: str, kind: str, name: str) -> Insert:
    """One `task_candidates` row for a task already written (a claim, a reassignment): its region
    from the case, the rest copied from the task's row."""
    return insert(TaskCandidate).from_select(
        ["task_id", "kind", "name", "region_code", *CANDIDATE_COPIES],
        select(
            Task.id,
            literal(kind, TaskCandidate.kind.type),
            literal(name, TaskCandidate.name.type),
            Instance.region_code,
            *(getattr(Task, column) for column in CANDIDATE_COPIES),
        )
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.id == task_id),
    )


def offers_to(actor: Actor) -> ColumnElement[bool]:
    """The `task_candidates` rows that offer a ready task to the actor (group, name or assignee) in
    the cases they may see: ranges of that table's indexes."""
    who = or_(
        and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(sorted(actor.groups))),
        and_(TaskCandidate.kind.in_(("user", "assignee")), TaskCandidate.name == actor.username),
    )
    if actor.national:
        return who
    if actor.region_code is None:
        return false()
    return and_(who, TaskCandidate.region_code == actor.region_code)


def offered_to(actor: Actor) -> ColumnElement[bool]:
    """Ready tasks offered to the actor, served by the `task_candidates` index: the list form of
    `actionable_tasks`, which matches one row's comma-separated columns."""
    return Task.id.in_(select(TaskCandidate.task_id).where(offers_to(actor)))

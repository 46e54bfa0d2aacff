"""Ready tasks no active account can do, found from the offers nobody serves.

Asking every ready task whether some active account holds one of its groups read all of them
(600 ms a request at 100 000 cases). Accounts are few and change rarely, so this module starts
from them: it lists the offers (rows of `task_candidates`: a group in a region, a named user, an
assignee) that no active account serves, and reads only the tasks offered that way, through the
candidate index, plus the tasks offered to no one (a partial index). What a request reads follows
the accounts and the tasks nobody can take, not the number of cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, text, union
from sqlalchemy.orm import Session, aliased

from engine.access import AccessPolicy, split_names
from engine.models import OFFERED_TO_NO_ONE, Region, Task, TaskCandidate, User


@dataclass(frozen=True)
class Unserved:
    """The offers (kind, name) no active account serves: `everywhere` (a group nobody active holds
    or no policy knows, a user with no active account or an operator's), and `in_regions`, offers
    served in some regions only (a regional group, a regional account named), with the regions
    they are not (None: a case without a region)."""

    everywhere: frozenset[tuple[str, str]]
    in_regions: dict[tuple[str, str], frozenset[str | None]]

    def ranges(self, row: type[TaskCandidate], kinds: tuple[str, ...]) -> list[ColumnElement[bool]]:
        """The offers of `kinds` nobody serves, as conditions on `row` (an alias of
        `task_candidates`) that are each a few ranges of the candidate index (kind, name,
        region): the databases seek each on its own, where one OR of them all was a scan."""
        terms = []
        for kind in kinds:
            names = sorted(name for k, name in self.everywhere if k == kind)
            if names:
                terms.append(and_(row.kind == kind, row.name.in_(names)))
            regional = sorted((name, regions) for (k, name), regions in self.in_regions.items() if k == kind)
            for name, regions in regional:
                codes = sorted(code for code in regions if code is not None)
                if codes:
                    terms.append(and_(row.kind == kind, row.name == name, row.region_code.in_(codes)))
            without_region = [name for name, regions in regional if None in regions]
            if without_region:
                terms.append(and_(row.kind == kind, row.name.in_(without_region), row.region_code.is_(None)))
        return terms


def _offered_names(session: Session, kind: str) -> set[str]:
    """The distinct names of one kind of offer, one index seek each (a loose index scan as a
    recursive query), where DISTINCT would read every row."""
    first = select(TaskCandidate.name).where(TaskCandidate.kind == kind).order_by(TaskCandidate.name).limit(1)
    names = select(first.scalar_subquery().label("name")).cte("offered_names", recursive=True)
    following = (
        select(TaskCandidate.name)
        .where(TaskCandidate.kind == kind, TaskCandidate.name > names.c.name)
        .order_by(TaskCandidate.name)
        .limit(1)
        .scalar_subquery()
    )
    names = names.union_all(select(following).where(names.c.name.is_not(None)))
    return set(session.scalars(select(names.c.name).where(names.c.name.is_not(None))))


def unserved(session: Session, policy: AccessPolicy) -> Unserved:
    """Who is offered tasks and has no active account to take them, read from the accounts and
    the candidate index (not from the tasks)."""
    regions: frozenset[str | None] = frozenset({None, *session.scalars(select(Region.code))})
    serves: dict[tuple[str, str], set[str | None]] = {}  # (kind, name) -> the regions it is served in
    for username, groups, region in session.execute(
        select(User.username, User.groups, User.region_code).where(User.active)
    ):
        # what the service lets the account work (`Orchestrator._ready_task`): an operator no
        # task, a national account every case, a regional one its region's cases
        them = policy.actor(username, split_names(groups), region)
        if them.is_operator:
            continue
        reach = set(regions) if them.national else {region} - {None}
        serves[("user", username)] = serves[("assignee", username)] = reach
        for group in them.groups & policy.groups:
            serves.setdefault(("group", group), set()).update(reach)
    everywhere, in_regions = set(), {}
    for kind in ("group", "user", "assignee"):
        for name in _offered_names(session, kind):
            missing = regions - serves.get((kind, name), set())
            if missing == regions:
                everywhere.add((kind, name))
            elif missing:
                in_regions[(kind, name)] = frozenset(missing)
    return Unserved(frozenset(everywhere), in_regions)


def stuck_tasks(session: Session, policy: AccessPolicy) -> Select:
    """The ids of the ready tasks nobody can take: assigned to someone with no active account;
    unassigned with every offer unserved; or offered to no one at all."""
    nobody = unserved(session, policy)
    offer, other = aliased(TaskCandidate), aliased(TaskCandidate)
    offers = ("group", "user")
    assigned = [select(offer.task_id).where(term) for term in nobody.ranges(offer, ("assignee",))]
    unserved_other = or_(false(), *nobody.ranges(other, offers))
    unassigned = [
        select(offer.task_id)
        .join(Task, Task.id == offer.task_id)
        .where(
            term,
            Task.assignee.is_(None),
            # no offer of the task anyone serves; a count, which PostgreSQL asks per task through
            # the primary key, where NOT EXISTS became a hash of every candidate row
            select(func.count())
            .where(other.task_id == offer.task_id, other.kind.in_(offers), ~unserved_other)
            .scalar_subquery()
            == 0,
        )
        for term in nobody.ranges(offer, offers)
    ]
    # the partial index's own WHERE, word for word, so both databases read that index
    offered_to_no_one = select(Task.id).where(
        Task.status == "ready", text(OFFERED_TO_NO_ONE), Task.assignee.is_(None)
    )
    return union(*assigned, *unassigned, offered_to_no_one)

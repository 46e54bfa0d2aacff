"""Cases that have a task of some kind (overdue, offered to the person, due soon at a DPRD), as a
case list's filter that reads neither every case nor every such task (the staff list, the
console and the API).

The tasks are counted first, to `counting.COUNT_CAP` + 1 from their own index. Few: their cases
are listed from them (`IN`), and the page sorts at most that many. More: most of the cases in
reach have one, so each case read in the page's order is asked about its tasks (`EXISTS`), and
LIMIT stops the reading soon. Each way alone grew with the cases: the list of 50,000 overdue
tasks sorted their cases for one page, and asking each of 100,000 cases found the three that
wait for a person only after reading them all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists
from sqlalchemy.orm import Session

from engine.models import Instance, Task

from . import counting


def with_a_task(session: Session, tasks: Select, each: ColumnElement[bool]) -> ColumnElement[bool]:
    """The cases with a task that `tasks` selects (their `Task.instance_id`, read through an index);
    `each` is the same test written on one `Task` row, asked of a case's tasks."""
    if counting.capped_count(session, tasks) <= counting.COUNT_CAP:
        return Instance.id.in_(tasks)
    return exists().where(Task.instance_id == Instance.id, each)

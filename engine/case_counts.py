"""The cases per (status, stage, region, process version, suspended), kept by triggers as rows
of +1 and -1 (`models.CaseCount`, migration 0017), and their folding into one row per group.

Adding up is as cheap as the rows are few: the worker folds them every minute (`compact`), so a
dashboard reads one row per group plus the last minute's changes, whatever the number of cases.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from .models import CaseCount

_GROUP = (
    CaseCount.status,
    CaseCount.stage,
    CaseCount.region_code,
    CaseCount.definition_id,
    CaseCount.suspended,
)


def compact(engine: Engine) -> int:
    """Replace the rows by their sums, one row per group (none where the sum is 0); returns the
    rows folded. One DELETE ... RETURNING takes exactly the rows it sums: on PostgreSQL the rows
    of steps not yet committed are not seen, so not taken, and stay for the next time, and a
    second worker folding at once waits on the first's deleted rows and then skips them (its
    snapshot does not see the sums the first wrote); SQLite has one writer at a time."""
    with engine.begin() as conn:
        taken = conn.execute(delete(CaseCount).returning(*_GROUP, CaseCount.n)).all()
        sums: Counter[tuple] = Counter()
        for *group, n in taken:
            sums[tuple(group)] += n
        rows = [
            dict(zip((column.key for column in _GROUP), group, strict=True), n=n)
            for group, n in sums.items()
            if n
        ]
        if rows:
            conn.execute(insert(CaseCount), rows)
    return len(taken)

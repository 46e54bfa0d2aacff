"""Finding cases by text: one meaning for the inbox, the case list, the console and the API.

A text finds the cases whose title, business key, partner or country contains it (in any case,
its `%` and `_` as themselves), or whose number it is (`12` or `#12`). All of these are the
case's projected columns (`engine.projections.list_values`), never its variables' JSON.

A text of three characters or more is looked up in a trigram index (migration 0015), so a search
reads the cases that match rather than every case the person may see: on PostgreSQL each
searched `lower(column)` has one, which `LIKE` uses; SQLite's is the FTS5 table
`instances_search`, asked with `MATCH` for the text as a phrase (a phrase of trigrams is the text
as a substring, in any case). A shorter text has no trigram to look up: it is compared with
`LIKE` on both databases, reading every case in reach.

On SQLite the FTS5 table is asked first how many cases the text finds (`reading`), since SQLite
plans a virtual table's MATCH without knowing how many rows it returns:
- a text found in few cases is asked as the list of those cases (a JSON array read with
  `json_each`), which the planner reads by primary key; in the statement, the MATCH was a test
  of each case in reach, and reading the cases from it instead took seconds in the inbox for a
  word in every title;
- a text found in very many is compared with `LIKE`, as a short one is: the lists stop at their
  page and their capped counts, which such a text fills within their first rows, where the FTS5
  table listed every case it found (an ASCII text only: SQLite's `lower()` folds no other letter);
- in between, the MATCH stays in the statement, a test of each case read.
PostgreSQL plans each search with its text (`inbox_query._plan_mode`) and needs none of this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, bindparam, func, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Select, literal_column
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from engine.ids import parse_id
from engine.models import Instance

ESCAPE = "/"
SEARCHED = (Instance.title, Instance.business_key, Instance.partner, Instance.country)
INDEXED_LENGTH = 3  # the shortest text a trigram index can find
_FTS = table("instances_search")  # SQLite: the FTS5 trigram table over SEARCHED (migration 0015)
# SQLite: a text the FTS5 table finds in at most FEW cases is asked as the list of them, one
# found in more than MANY with LIKE (`reading`). At 100,000 cases (bench/inbox.py's data), asked
# by the list an inbox search took 4.5-6 ms for one case, 5.5 ms for 111 and 46-56 ms for 1,111,
# with the MATCH in the statement 61-147 ms whatever it found; but once the person's tasks among
# them pass the inbox's tally (`inbox_query.TALLY_CAP`), every count reads each case of the list
# (1.5-2.9 s for 11,111). With LIKE a text in every case took 37-44 ms (330-346 ms with the
# MATCH) and one in 11,111 cases 129-192 ms (184-252), but one in 1,111 took 80-125 ms (73-94).
# The console's list gained from LIKE at all three.
FEW = 500
MANY = 5000


@dataclass(frozen=True)
class Reading:
    """How a search is asked (`reading`): through the trigram indexes or with LIKE, and on SQLite
    whether as the cases the FTS5 table found (their JSON array, for `matching`'s `found`)."""

    use_index: bool
    found: str | None = None


def search_values(text: str) -> dict[str, Any]:
    """The values `matching` compares with: `pattern` (LIKE, lower case), `phrase` (FTS5: the
    text as one quoted string) and `case_id` (0, which no case has, when the text is not a case
    number)."""
    text = text.strip()
    return {
        "pattern": contains_pattern(text),
        "phrase": '"' + text.replace('"', '""') + '"',
        "case_id": parse_id(text.removeprefix("#")) or 0,
    }


def contains_pattern(text: str) -> str:
    """`LIKE` (with `ESCAPE`) for a lower-cased column containing `text`, its `%` and `_` as
    themselves."""
    escaped = text.lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def _fts_rowids(phrase: Any) -> Select:
    return (
        select(literal_column("rowid", Integer))
        .select_from(_FTS)
        .where(literal_column("instances_search", String).op("MATCH")(phrase))
    )


def reading(session: Session, text: str) -> Reading:
    """How to ask for `text`: a text shorter than the trigrams with LIKE; on PostgreSQL through
    its indexes; on SQLite as decided by how many cases the FTS5 table finds (`FEW`, `MANY`),
    reading at most `FEW` + 1 of them and counting at most `MANY` + 1."""
    if len(text.strip()) < INDEXED_LENGTH:
        return Reading(use_index=False)
    if session.get_bind().dialect.name != "sqlite":
        return Reading(use_index=True)
    rowids = _fts_rowids(bindparam("phrase", search_values(text)["phrase"], String))
    found = list(session.scalars(rowids.limit(FEW + 1)))
    if len(found) <= FEW:
        return Reading(use_index=True, found=json.dumps(found))
    if not text.isascii():  # SQLite's lower() folds ASCII only; the FTS5 table folds every letter
        return Reading(use_index=True)
    counted = session.scalar(select(func.count()).select_from(rowids.limit(MANY + 1).subquery()))
    return Reading(use_index=counted <= MANY)


def _contains(pattern: Any) -> ColumnElement[bool]:
    return or_(*(func.lower(column).like(pattern, escape=ESCAPE) for column in SEARCHED))


class _Trigrams(ColumnElement[bool]):
    """The searched columns contain the text, found through the database's trigram index."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, pattern: Any, phrase: Any) -> None:
        self.pattern = pattern
        self.phrase = phrase

    _traverse_internals = [
        ("pattern", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]


@compiles(_Trigrams, "postgresql")
def _trigrams_postgresql(element: _Trigrams, compiler, **kw) -> str:
    return compiler.process(_contains(element.pattern).self_group(), **kw)


@compiles(_Trigrams)
def _trigrams_sqlite(element: _Trigrams, compiler, **kw) -> str:
    return compiler.process(Instance.id.in_(_fts_rowids(element.phrase)), **kw)


def matching(
    pattern: Any, phrase: Any, case_id: Any, use_index: bool, found: Any = None
) -> ColumnElement[bool]:
    """Cases the text matches, from `search_values` (plain values, or bound parameters where a
    statement is built once for every text, as the inbox's are) and a `Reading` (`found` its
    JSON array, or a bound parameter holding one)."""
    if found is not None:
        listed = func.json_each(_bound(found)).table_valued("value")
        return or_(Instance.id.in_(select(listed.c.value)), Instance.id == case_id)
    contained = _Trigrams(_bound(pattern), _bound(phrase)) if use_index else _contains(pattern)
    return or_(contained, Instance.id == case_id)


def _bound(value: Any) -> Any:
    return value if isinstance(value, ColumnElement) else bindparam(None, value, String)


def case_search(session: Session, text: str) -> ColumnElement[bool]:
    """Cases `text` matches, asked as `reading` decides, its values bound into the clause."""
    how = reading(session, text)
    return matching(**search_values(text), use_index=how.use_index, found=how.found)

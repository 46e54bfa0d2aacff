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

On SQLite a text the FTS5 table finds in few cases (`found_cases`) is then asked as the list of
their numbers (a JSON array read with `json_each`), which the planner reads by primary key. Asked
as a subquery it is a test of each case in reach: SQLite plans a virtual table's MATCH without
knowing how many rows it returns, and reading the cases from the subquery instead took seconds in
the inbox for a word in every title.
PostgreSQL plans each search with its text (`inbox_query._plan_mode`) and needs neither.
"""

from __future__ import annotations

import json
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
# SQLite: a text found in at most this many cases is asked by their numbers (`found_cases`). At
# 100,000 cases (bench/inbox.py's data) an inbox search asked so took 3-4 ms for one case, 16 ms
# for 111 and 114-122 ms for 1,111; asked through the FTS5 table in the statement, 61-147 ms
# whatever it found (and the console's list 2 ms against 25-37 ms).
FEW = 500


def search_values(text: str) -> dict[str, Any]:
    """The values `matching` compares with: `pattern` (LIKE, lower case), `phrase` (FTS5: the
    text as one quoted string) and `case_id` (0, which no case has, when the text is not a case
    number)."""
    text = text.strip()
    escaped = text.lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return {
        "pattern": f"%{escaped}%",
        "phrase": '"' + text.replace('"', '""') + '"',
        "case_id": parse_id(text.removeprefix("#")) or 0,
    }


def indexed(text: str) -> bool:
    """Whether `matching` for this text may use the trigram indexes."""
    return len(text.strip()) >= INDEXED_LENGTH


def _fts_rowids(phrase: Any) -> Select:
    return (
        select(literal_column("rowid", Integer))
        .select_from(_FTS)
        .where(literal_column("instances_search", String).op("MATCH")(phrase))
    )


def found_cases(session: Session, text: str) -> str | None:
    """SQLite: the cases the FTS5 table finds for `text` when they are at most `FEW` (reading at
    most one more), as a JSON array for `matching`'s `found`: one parameter however many, where a
    list of parameters, repeated in each of the inbox's ranges and counts, passed SQLite's limit
    of 32,766. None on PostgreSQL, for a text too short for the index, or when the text finds more."""
    if session.get_bind().dialect.name != "sqlite" or not indexed(text):
        return None
    phrase = search_values(text)["phrase"]
    rowids = list(session.scalars(_fts_rowids(bindparam("phrase", phrase, String)).limit(FEW + 1)))
    return json.dumps(rowids) if len(rowids) <= FEW else None


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
    statement is built once for every text, as the inbox's are), `indexed` and `found_cases`
    (its JSON array, or a bound parameter holding one)."""
    if found is not None:
        listed = func.json_each(_bound(found)).table_valued("value")
        return or_(Instance.id.in_(select(listed.c.value)), Instance.id == case_id)
    contained = _Trigrams(_bound(pattern), _bound(phrase)) if use_index else _contains(pattern)
    return or_(contained, Instance.id == case_id)


def _bound(value: Any) -> Any:
    return value if isinstance(value, ColumnElement) else bindparam(None, value, String)


def case_search(session: Session, text: str) -> ColumnElement[bool]:
    """Cases `text` matches, its values (and on SQLite the cases it finds, `found_cases`) bound
    into the clause."""
    return matching(**search_values(text), use_index=indexed(text), found=found_cases(session, text))

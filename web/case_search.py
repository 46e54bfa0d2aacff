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
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, String, bindparam, func, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import literal_column
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from engine.ids import parse_id
from engine.models import Instance

ESCAPE = "/"
SEARCHED = (Instance.title, Instance.business_key, Instance.partner, Instance.country)
INDEXED_LENGTH = 3  # the shortest text a trigram index can find
_FTS = table("instances_search")  # SQLite: the FTS5 trigram table over SEARCHED (migration 0015)


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
    rowids = (
        select(literal_column("rowid", Integer))
        .select_from(_FTS)
        .where(literal_column("instances_search", String).op("MATCH")(element.phrase))
    )
    return compiler.process(Instance.id.in_(rowids), **kw)


def matching(pattern: Any, phrase: Any, case_id: Any, use_index: bool) -> ColumnElement[bool]:
    """Cases the text matches, from `search_values` (plain values, or bound parameters where a
    statement is built once for every text, as the inbox's are) and `indexed`."""
    found = _Trigrams(_bound(pattern), _bound(phrase)) if use_index else _contains(pattern)
    return or_(found, Instance.id == case_id)


def _bound(value: Any) -> Any:
    return value if isinstance(value, ColumnElement) else bindparam(None, value, String)


def case_search(text: str) -> ColumnElement[bool]:
    """Cases `text` matches, its values bound into the clause."""
    return matching(**search_values(text), use_index=indexed(text))

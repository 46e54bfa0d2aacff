"""Finding cases by text: one meaning for the inbox, the case list, the console and the API.

A text finds the cases whose title, business key, partner or country contains it (in any case,
its `%` and `_` as themselves), or whose number it is (`12` or `#12`). All of
these are the case's projected columns (`engine.projections.list_values`), never its variables'
JSON. On PostgreSQL each searched `lower(column)` has a trigram index (migration 0015), so a
search reads the cases that match rather than every case the person may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_

from engine.ids import parse_id
from engine.models import Instance

ESCAPE = "/"
# each as indexed on PostgreSQL: lower(column)
SEARCHED = (Instance.title, Instance.business_key, Instance.partner, Instance.country)


def search_values(text: str) -> dict[str, Any]:
    """The values `matching` compares with: `pattern` (LIKE, lower case) and `case_id` (0, which
    no case has, when the text is not a case number)."""
    text = text.strip()
    escaped = text.lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return {"pattern": f"%{escaped}%", "case_id": parse_id(text.removeprefix("#")) or 0}


def matching(pattern: Any, case_id: Any) -> ColumnElement[bool]:
    """Cases the text matches, from `search_values` (plain values, or bound parameters where a
    statement is built once for every text, as the inbox's are)."""
    return or_(
        *(func.lower(column).like(pattern, escape=ESCAPE) for column in SEARCHED),
        Instance.id == case_id,
    )


def case_search(text: str) -> ColumnElement[bool]:
    """Cases `text` matches, its values bound into the clause."""
    return matching(**search_values(text))

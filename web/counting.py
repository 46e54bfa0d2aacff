"""The counts and pagers of list pages, read no further than a cap.

A list's count says how many match; past `COUNT_CAP` it says "lebih dari 1.000", and counting reads
at most `COUNT_CAP` + 1 rows, so what a page reads stays the same whatever the number of cases.
The pager then shows the page number without a last page, and the next link comes from asking
the page query for one row more than it shows. The inbox, the staff case list and the console's
case list count this way; the JSON API's lists count exactly, as their `total` promises. All of
them read their pages in the order of an index (`index_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, UnaryExpression, func, literal, select
from sqlalchemy.orm import Session

from engine.models import Instance

T = TypeVar("T")

COUNT_CAP = 1000
# The furthest page a pager goes to past the cap: a larger number in a link is this page (its
# offset must still fit the databases' 64-bit integers).
MAX_PAGE = 1_000_000


def asked_page(value: str | None) -> int:
    """The page a query string asks for: ASCII digits, else the first. `str.isdigit` also takes
    "²", which `int` refuses (a 500); a very large number is `Pager`'s to cap."""
    value = (value or "").strip()
    number = int(value) if value.isascii() and value.isdigit() else 0
    return max(number, 1)


def capped_count(session: Session, query: Select) -> int:
    """How many rows `query` gives, counting no further than `COUNT_CAP` + 1 (its columns and
    order are dropped: only its FROM and WHERE count)."""
    rows = query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None)
    return session.scalar(select(func.count()).select_from(rows.limit(COUNT_CAP + 1).subquery())) or 0


def index_order(columns: tuple[Any, ...], descending: bool) -> list[UnaryExpression]:
    """A list's ORDER BY: its columns, then the case number as the tie-break, all the same way,
    which is the order of one index (migration 0016), so LIMIT stops the reading; a tie-break
    the other way made the databases sort every case that matched."""
    return [column.desc() if descending else column.asc() for column in (*columns, Instance.id)]


def shown_count(value: int, cap: int | None = None) -> str:
    """A count as a page shows it: Indonesian digit grouping, "lebih dari" past the cap
    (`COUNT_CAP` unless another is given)."""
    cap = COUNT_CAP if cap is None else cap
    if value > cap:
        return f"lebih dari {cap:,}".replace(",", ".")
    return f"{value:,}".replace(",", ".")


@dataclass(frozen=True)
class Pager:
    """Which page to show of a list counted by `capped_count`: `pages` is None past the cap,
    where how many there are is not known."""

    page: int
    pages: int | None
    page_size: int

    @classmethod
    def of(cls, counted: int, asked: int, page_size: int) -> Pager:
        pages = max(1, -(-counted // page_size)) if counted <= COUNT_CAP else None
        return cls(min(max(asked, 1), pages or MAX_PAGE), pages, page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        """The rows to ask for: one more than the page shows, which tells whether a next page is."""
        return self.page_size + 1


@dataclass
class Page(Generic[T]):
    """One page of a list, as the templates' `pager` macro shows it."""

    rows: list[T]
    total: int  # past `COUNT_CAP`: that + 1 ("lebih dari 1.000")
    page: int
    pages: int | None  # None past the cap
    has_next: bool

    @classmethod
    def of(cls, rows: Sequence[Any], total: int, pager: Pager) -> Page:
        """The page from the rows `pager.limit` asked for: one more than it shows means a next."""
        return cls(list(rows[: pager.page_size]), total, pager.page, pager.pages, len(rows) > pager.page_size)

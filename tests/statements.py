"""The SQL a test's code sends, for tests that check how many statements a page or step takes,
or that a statement is (not) sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statements_sent(target: Any = Engine) -> Iterator[list[str]]:
    """Every statement `target` (an engine, or every engine) sends while the block runs, in order."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", record)

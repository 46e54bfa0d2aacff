"""The SQL a test's code sends, for tests that check how many statements a page or step takes,
or that a statement is (not) sent, and the plans SQLite makes for it as if the database were
large."""

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


@contextmanager
def reads_sent(target: Any = Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT (or WITH) `target` sends while the block runs, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    event.listen(target, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", record)


def sqlite_plan(engine: Engine, statement: str, parameters: Any) -> str:
    """SQLite's plan for a statement sent, one step per " | "."""
    with engine.connect() as conn:
        return " | ".join(
            str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )


def as_if_large(engine, factor: int = 10_000) -> None:
    """Planner statistics as the worker's ANALYZE leaves them on a large database: every table
    `factor` times longer with as many distinct values per column (a column that is unique stays
    so), except that a case keeps its tasks and a task its candidates: an index led by
    `instance_id` or `task_id` keeps its rows per key. A plan checked on a few rows without
    statistics is not the plan of 100 000 cases."""
    from engine.store import refresh_statistics

    refresh_statistics(engine)
    with engine.begin() as conn:
        for table, index, stat in conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all():
            numbers = [int(word) for word in stat.split() if word.isdigit()]  # then any "unordered"
            rows, *per_key = numbers
            leading = conn.exec_driver_sql(f'PRAGMA index_info("{index}")').first() if index else None
            if leading is not None and leading[2] in ("instance_id", "task_id"):
                scaled = [rows * factor, *per_key]
            else:
                scaled = [rows * factor, *(n if n == 1 else n * factor for n in per_key)]
            conn.exec_driver_sql(
                "UPDATE sqlite_stat1 SET stat = ? WHERE tbl = ? AND idx IS ?",
                (" ".join([*map(str, scaled), *stat.split()[len(numbers) :]]), table, index),
            )
    engine.dispose()  # connections read the statistics when they open

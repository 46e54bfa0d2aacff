"""The writes a step makes after saving its state, sent together.

A step's audit event and projection rows (tasks closed and added, candidate, outbox, job and
timer rows) need nothing back from the database, so on PostgreSQL they go as one statement of
data-modifying CTEs: one round trip instead of one per statement (about 0.3-0.4 ms each here).
On SQLite, where a statement is a function call, each runs as it comes.

The statements are the engine's own, built once; each is compiled once per set of parameter
names into a CTE template, so a step only joins strings (building and compiling SQLAlchemy
constructs per step cost more CPU than the round trips saved). The state's own update stays a
statement before these: its row count decides a lost race, and it locks the case's row before
any other row of the step is touched, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_EXPANDING = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)")


@dataclass(frozen=True)
class _Template:
    sql: str  # placeholders `%(@name)s`: "@" becomes the row's prefix
    own: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # caller's parameters, processor
    fixed: dict[str, Any]  # the statement's own literals
    values: str | None  # an insert's `(...)` after VALUES, repeated for more rows; else None

    def render(self, prefixes: list[str]) -> str:
        if self.values is None:
            return self.sql.replace("%(@", f"%({prefixes[0]}")
        rows = ", ".join(self.values.replace("%(@", f"%({prefix}") for prefix in prefixes)
        return f"{self.sql[: -len(self.values)]}{rows}"


class Writes:
    """Collects `execute(statement, params)` calls whose results nobody reads; `flush` sends
    what PostgreSQL got together. `params` may be a list of rows, as for an executemany. The
    rows of one insert statement become one multi-row VALUES, in the order given (the ids of
    a step's audit events follow the order they happened in): the statements of a CTE list run
    in no set order (PostgreSQL ran the last first), so nothing here may depend on another."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self._together = conn.dialect.name == "postgresql"
        self._parts: list[tuple[_Template, list[str]]] = []  # a template and its rows' prefixes
        self._inserts: dict[int, int] = {}  # an insert statement's id -> its part
        self._params: dict[str, Any] = {}
        self._main: str | None = None

    def execute(
        self, statement: Executable, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> None:
        if not self._together:
            self.conn.execute(statement, params)
            return
        for row in params if isinstance(params, list) else [params or {}]:
            template = _template(self.dialect, statement, row)
            part = self._inserts.get(id(statement)) if template.values is not None else None
            if part is not None and self._parts[part][0] is not template:
                self.flush()  # other columns than its earlier rows': those go first, to keep the order
                part = None
            prefix = f"w{len(self._params)}_"  # unique: each row adds parameters
            self._params.update({prefix + name: value for name, value in template.fixed.items()})
            for name, process in template.own:
                self._params[prefix + name] = process(row[name]) if process else row[name]
            if template.sql.startswith("SELECT"):  # pg_notify: the statement the CTEs hang on
                self._main = template.render([prefix])
            elif part is not None:
                self._parts[part][1].append(prefix)
            else:
                if template.values is not None:
                    self._inserts[id(statement)] = len(self._parts)
                self._parts.append((template, [prefix]))

    def flush(self) -> None:
        """Send what was collected (PostgreSQL); a no-op with nothing collected."""
        parts, params, main = self._parts, self._params, self._main
        self._parts, self._inserts, self._params, self._main = [], {}, {}, None
        if not parts and main is None:
            return
        ctes = ", ".join(f"w{n} AS ({template.render(rows)})" for n, (template, rows) in enumerate(parts))
        self.conn.exec_driver_sql(f"WITH {ctes} {main or 'SELECT 1'}" if parts else main, params)


# Statements built once (module constants): their id stays theirs; the statement is kept to be sure.
_TEMPLATES: dict[tuple[int, frozenset[str]], tuple[Executable, _Template]] = {}


def _template(dialect, statement: Executable, params: dict[str, Any]) -> _Template:
    key = (id(statement), frozenset(params))
    entry = _TEMPLATES.get(key)
    if entry is None or entry[0] is not statement:
        entry = _TEMPLATES[key] = (statement, _compile(dialect, statement, params))
    return entry[1]


def _compile(dialect, statement: Executable, params: dict[str, Any]) -> _Template:
    """`statement` for these parameter names, its placeholders marked for renaming; an expanding
    `IN` becomes `= ANY(array)`. Refuses what it cannot send as it is (a Python-side default)."""
    # as for an executemany: an insert without the RETURNING of its new id
    compiled = statement.compile(dialect=dialect, column_keys=sorted(params), for_executemany=True)
    processors = compiled._bind_processors
    sql = _EXPANDING.sub(r"= ANY(%(\1)s)", compiled.string)
    names = set(_PLACEHOLDER.findall(sql))
    defaults = compiled.construct_params(params)  # the statement's literals
    for column in compiled.insert_prefetch:  # an insert's Python-side defaults, if constants
        if column.default is None or not column.default.is_scalar:
            raise ValueError(f"cannot send together: {compiled.string}")
        defaults[column.key] = column.default.arg
    if (
        compiled.update_prefetch
        or compiled.escaped_bind_names
        or " RETURNING " in sql
        or not names <= defaults.keys()
    ):
        raise ValueError(f"cannot send together: {compiled.string}")
    fixed = {name: defaults[name] for name in names - params.keys()}
    fixed = {name: processors[name](value) if name in processors else value for name, value in fixed.items()}
    own = tuple((name, processors.get(name)) for name in sorted(names & params.keys()))
    sql = _PLACEHOLDER.sub(r"%(@\1)s", sql)
    values = sql.split(" VALUES ", 1)[1] if compiled.isinsert else None
    return _Template(sql, own, fixed, values)

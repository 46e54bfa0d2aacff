"""Each kind of Camunda attribute that holds an expression has one compile function here, used by
the deploy check and at run time alike, so what `check` accepts is what runs.

Kinds: `condition` (sequence flows, `completionCondition`), `timeDate`, `timeDuration`,
`timeCycle`, `dueDate`, `followUpDate` (a `P...` duration from now, a date or `${...}`),
`assignee`, `candidateUsers`, `candidateGroups` (comma-separated, each part text or `${...}`),
`collection` (`${list}` or a variable name), `loopCardinality` (`${n}` or a whole number).
`#{...}` is the same language as `${...}` (Camunda's deferred form). An error, at deploy or at
run time, names the element and the attribute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import timers
from .expressions import Compiled, ExpressionError, Functions, compile_expression

TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
DATE_KINDS = ("dueDate", "followUpDate")
LIST_KINDS = ("candidateUsers", "candidateGroups")
KINDS = frozenset(
    {
        "condition",
        "expression",
        "assignee",
        "collection",
        "loopCardinality",
        *TIMER_KINDS,
        *DATE_KINDS,
        *LIST_KINDS,
    }
)


_COLLECTION = re.compile(r"\$\{\s*([^\W\d]\w*)\s*\}|([^\W\d]\w*)")


def collection_variable(text: str | None) -> str | None:
    """The list variable a multi-instance `camunda:collection` names (`${list}` or `list`), or
    None for anything else (an expression computing a list is refused at deploy)."""
    match = _COLLECTION.fullmatch((text or "").strip())
    return (match[1] or match[2]) if match else None


def _has_expression(text: str) -> bool:
    return "${" in text or "#{" in text


def split_list(text: str) -> list[str]:
    """`a, ${b(1, 2)}, c`: commas inside `${...}` do not split."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


@dataclass(frozen=True)
class Attribute:
    """One compiled attribute value: expressions to evaluate, or literal text."""

    kind: str
    source: str
    element_id: str | None
    parts: tuple[Compiled | str, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(p.names for p in self.parts if isinstance(p, Compiled)))

    @property
    def functions(self) -> frozenset[str]:
        return frozenset().union(*(p.functions for p in self.parts if isinstance(p, Compiled)))

    def evaluate(self, variables: Mapping[str, Any], functions: Functions | None = None) -> Any:
        """The value; a list for candidate lists. Errors name the element and the attribute."""
        try:
            values = [
                part.evaluate(variables, functions, self.element_id) if isinstance(part, Compiled) else part
                for part in self.parts
            ]
        except ExpressionError as err:
            raise ExpressionError(f"{self.kind}: {err.message}", self.source, self.element_id) from err
        if self.kind in LIST_KINDS:
            result: list[str] = []
            for value in values:
                result.extend(str(v) for v in value) if isinstance(value, list | tuple) else result.append(
                    str(value)
                )
            return result
        value = values[0] if values else None
        if self.kind == "loopCardinality" and isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value


def _compile_part(kind: str, text: str, element_id: str | None) -> Compiled | str:
    if kind == "collection":
        name = collection_variable(text)
        if name is None:
            raise ExpressionError("give ${list} or the name of a list variable", text, element_id)
        return compile_expression("${" + name + "}", element_id)
    if _has_expression(text):
        return compile_expression(text, element_id)
    if kind in ("condition", "expression"):
        raise ExpressionError("a condition is a ${...} expression", text, element_id)
    if kind in TIMER_KINDS or kind in DATE_KINDS:
        problem = timers.check(kind, text)
        if problem:
            raise ExpressionError(problem, text, element_id)
        return text
    if kind == "loopCardinality" and not text.isdigit():
        raise ExpressionError("give ${n} or a whole number", text, element_id)
    return text


@lru_cache(maxsize=4096)
def _compile(kind: str, source: str, element_id: str | None) -> Attribute:
    texts = split_list(source) if kind in LIST_KINDS else [source]
    parts = []
    for text in texts:
        try:
            parts.append(_compile_part(kind, text, element_id))
        except ExpressionError as err:
            raise ExpressionError(f"{kind}: {err.message}", source, element_id) from None
    return Attribute(kind, source, element_id, tuple(parts))


def compile_attribute(kind: str, text: str | None, element_id: str | None = None) -> Attribute | None:
    """The one way to read an attribute of `kind`; None when it is empty."""
    if kind not in KINDS:
        raise ValueError(f"unknown attribute kind {kind!r}")
    source = text.strip() if isinstance(text, str) else ""
    if not source:
        return None
    return _compile(kind, source, element_id)

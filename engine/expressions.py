"""Every expression a Camunda 7 diagram contains, evaluated without ever running Python.

Diagrams are uploaded by users, so their expressions are untrusted text. SpiffWorkflow would
hand them to Python `eval`; here each one is parsed by a lark LALR grammar and walked by a
small interpreter that only knows literals, variables, dict/list lookups, operators and the
functions the caller registers. Three dialects:

* `compile_expression` - what Camunda Modeler writes in conditions, timers and due dates:
  JUEL `${...}` (or text with `${...}` parts), or a bare ISO 8601 date, duration or cycle.
* `compile_feel` - FEEL simple expressions (DMN input expressions and output entries).
* `compile_unary_tests` - FEEL unary tests (DMN input entry cells).
"""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache, partial
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark import __version__ as lark_version
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Interpreter

from . import timers

Functions = Mapping[str, Callable[..., Any]]
_NO_FUNCTIONS: Functions = {}


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; says which element and which text."""

    def __init__(self, message: str, expression: str = "", element_id: str | None = None) -> None:
        super().__init__(message, expression, element_id)
        self.message = message
        self.expression = expression
        self.element_id = element_id

    def __str__(self) -> str:
        text = f"{self.message} (in '{self.expression}')"
        return f"{self.element_id}: {text}" if self.element_id else text


@contextmanager
def _located(source: str, element_id: str | None) -> Iterator[None]:
    """Inner code raises bare messages; the public entry points add the text and element id."""
    try:
        yield
    except ExpressionError as err:
        raise ExpressionError(err.message, source, element_id) from err.__cause__
    except RecursionError:
        raise ExpressionError("expression is nested too deeply", source, element_id) from None


# --- Grammars ------------------------------------------------------------------------------

# Splits `Surat ${nomor}` into text and expression bodies; a body ends at the first `}` that is
# not inside a quoted string.
_TEMPLATE_GRAMMAR = r"""
start: (TEXT | expression)*
expression: ("${" | "#{") BODY "}"
TEXT: /(?:[^$#]|[$#](?!\{))+/s
BODY: /(?:[^}'"]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')+/s
"""

# JUEL (EL 2.2) without method calls, lambdas or collection literals. One rule per
# precedence level, lowest first.
_JUEL_GRAMMAR = r"""
?start: expr

?expr: or_expr "?" expr ":" expr -> ternary
     | or_expr
?or_expr: or_expr ("||" | "or") and_expr -> or_
        | and_expr
?and_expr: and_expr ("&&" | "and") eq_expr -> and_
         | eq_expr
?eq_expr: eq_expr ("==" | "eq") rel_expr -> eq
        | eq_expr ("!=" | "ne") rel_expr -> ne
        | rel_expr
?rel_expr: rel_expr ("<" | "lt") add_expr -> lt
         | rel_expr ("<=" | "le") add_expr -> le
         | rel_expr (">" | "gt") add_expr -> gt
         | rel_expr (">=" | "ge") add_expr -> ge
         | add_expr
?add_expr: add_expr "+" mul_expr -> add
         | add_expr "-" mul_expr -> sub
         | mul_expr
?mul_expr: mul_expr "*" unary -> mul
         | mul_expr ("/" | "div") unary -> div
         | mul_expr ("%" | "mod") unary -> mod
         | unary
?unary: "-" unary -> neg
      | ("!" | "not") unary -> not_
      | "empty" unary -> empty
      | postfix
?postfix: postfix "." NAME -> attr
        | postfix "[" expr "]" -> index
        | NAME "(" [args] ")" -> call
        | NAME -> var
        | STRING -> string
        | NUMBER -> number
        | "true" -> true
        | "false" -> false
        | "null" -> null
        | "(" expr ")"
args: expr ("," expr)*

NAME: /[^\W\d]\w*/
STRING: /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/s
NUMBER: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/
%ignore /\s+/
"""

# The part of FEEL both DMN grammars share: arithmetic, paths, calls and literals.
# `date and time(...)` is one name with spaces, so it is a terminal that wins over NAME.
_FEEL_COMMON = r"""
?sum: sum "+" product -> add
    | sum "-" product -> sub
    | product
?product: product "*" unary -> mul
        | product "/" unary -> div
        | unary
?unary: "-" unary -> neg
      | postfix
?postfix: postfix "." NAME -> attr
        | (NAME | DATE_AND_TIME) "(" [args] ")" -> call
        | NAME -> var
        | STRING -> string
        | NUMBER -> number
        | "true" -> true
        | "false" -> false
        | "null" -> null
        | "(" expr ")"
        %EXTRA%
args: expr ("," expr)*

DATE_AND_TIME.2: /date\s+and\s+time(?=\s*\()/
NAME: /[^\W\d]\w*/
STRING: /"(?:[^"\\]|\\.)*"/s
NUMBER: /\d+(?:\.\d+)?/
%ignore /\s+/
"""

_FEEL_SIMPLE_GRAMMAR = r"""
?start: expr
?expr: expr "or" conjunction -> or_
     | conjunction
?conjunction: conjunction "and" comparison -> and_
            | comparison
?comparison: sum "=" sum -> eq
           | sum "!=" sum -> ne
           | sum "<" sum -> lt
           | sum "<=" sum -> le
           | sum ">" sum -> gt
           | sum ">=" sum -> ge
           | sum
""" + _FEEL_COMMON.replace("%EXTRA%", '| "not" "(" expr ")" -> not_')

# Intervals spell out all four bracket pairs: a separate bracket rule would make `(` ambiguous
# (open interval or parenthesised expression) for an LALR(1) parser.
_FEEL_UNARY_GRAMMAR = r"""
?start: "-" -> any
      | tests
      | "not" "(" tests ")" -> negated
tests: test ("," test)*
?test: "<" sum -> lt
     | "<=" sum -> le
     | ">" sum -> gt
     | ">=" sum -> ge
     | "[" sum ".." sum "]" -> closed_closed
     | "[" sum ".." sum ("[" | ")") -> closed_open
     | ("]" | "(") sum ".." sum "]" -> open_closed
     | ("]" | "(") sum ".." sum ("[" | ")") -> open_open
     | sum -> equal
?expr: sum
""" + _FEEL_COMMON.replace("%EXTRA%", "")

_GRAMMARS = {
    "template": _TEMPLATE_GRAMMAR,
    "juel": _JUEL_GRAMMAR,
    "feel-simple": _FEEL_SIMPLE_GRAMMAR,
    "feel-unary": _FEEL_UNARY_GRAMMAR,
}


def _cache_file(name: str) -> str | bool:
    """Where lark keeps a grammar's analysis between processes: a directory of this user's only
    (the cache is a pickle, so never a shared temporary directory); no cache when there is none."""
    base = os.environ.get("KSDPL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "engine-expressions"
    )
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        if os.stat(base).st_uid != os.getuid() or not os.access(base, os.W_OK):
            return False
    except OSError:
        return False
    return os.path.join(base, f"lark-{lark_version}-{name}.cache")


@cache
def _parser(name: str) -> Lark:
    """A grammar's LALR parser, built once per process when first needed and cached on disk by
    lark (keyed on the grammar and lark's version), so a process starts without the analysis."""
    return Lark(_GRAMMARS[name], parser="lalr", cache=_cache_file(name))


# --- Values: the only operations the interpreters perform on them ---------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "date-time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _describe(value: Any) -> str:
    """A value for an error message, e.g. `string 'abc'`, `number 3`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{_type_name(value)} {text}"


def _to_text(value: Any) -> str:
    """How a `${...}` part reads inside surrounding text (JUEL string coercion)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _property(base: Any, name: str) -> Any:
    """`a.b`: a key of a dict, never an attribute of an object."""
    if base is None:
        return None
    if isinstance(base, Mapping):
        return base.get(name)
    raise ExpressionError(f"cannot read '.{name}' of {_describe(base)}: only objects have properties")


def _item(base: Any, key: Any) -> Any:
    """`a[k]`: a dict key or a list position; missing keys and positions give null."""
    if base is None:
        return None
    if isinstance(base, Mapping):
        try:
            return base.get(key)
        except TypeError:
            raise ExpressionError(f"{_describe(key)} cannot be a key") from None
    if isinstance(base, list | tuple):
        if isinstance(key, bool) or not isinstance(key, int):
            raise ExpressionError(f"a list position must be a whole number, not {_describe(key)}")
        return base[key] if 0 <= key < len(base) else None
    raise ExpressionError(f"cannot look up [{_describe(key)}] in {_describe(base)}: only objects and lists")


def _call(name: str, args: list[Any], functions: Functions) -> Any:
    if name not in functions:
        raise ExpressionError(f"unknown function '{name}'")
    function = functions[name]
    if not callable(function):
        raise ExpressionError(f"'{name}' is not a function")
    try:
        return function(*args)
    except ExpressionError as err:
        raise ExpressionError(f"function '{name}' failed: {err.message}") from err
    except Exception as exc:
        raise ExpressionError(f"function '{name}' failed: {exc or type(exc).__name__}") from exc


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _as_date_like(text: str, other: date) -> Any:
    """ISO text read as the kind of `other` (date or date-time); unreadable text is left as is."""
    try:
        if not isinstance(other, datetime):
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if parsed.tzinfo is None and _DATE_ONLY.fullmatch(text):
        return parsed.replace(tzinfo=other.tzinfo)
    return parsed


def _coerce_dates(left: Any, right: Any) -> tuple[Any, Any]:
    """Lets `${deadline < "2027-05-14"}` compare a date variable with ISO text."""
    if isinstance(left, date) and isinstance(right, str):
        return left, _as_date_like(right, left)
    if isinstance(right, date) and isinstance(left, str):
        return _as_date_like(left, right), right
    return left, right


def _equal(left: Any, right: Any) -> bool:
    left, right = _coerce_dates(left, right)
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


_ORDER_SYMBOLS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_ORDER = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


def _same_kind(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return True
    if isinstance(left, str) and isinstance(right, str):
        return True
    both_dates = isinstance(left, date) and isinstance(right, date)
    return both_dates and isinstance(left, datetime) == isinstance(right, datetime)


def _order(op: str, left: Any, right: Any) -> bool:
    """`<` and friends on numbers, strings, dates or date-times; anything else is an error."""
    left, right = _coerce_dates(left, right)
    problem = f"cannot compare {_describe(left)} and {_describe(right)} with '{_ORDER_SYMBOLS[op]}'"
    if not _same_kind(left, right):
        raise ExpressionError(problem)
    try:
        return bool(_ORDER[op](left, right))
    except TypeError:  # a naive date-time against an aware one
        raise ExpressionError(problem) from None


_ARITH_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}


def _compute(op: str, left: Any, right: Any) -> Any:
    """Numbers only. `/` always divides exactly and `%` keeps the dividend's sign, as in Java."""
    if op in ("div", "mod") and right == 0:
        raise ZeroDivisionError
    if op == "add":
        return left + right
    if op == "sub":
        return left - right
    if op == "mul":
        return left * right
    if op == "div":
        return left / right
    if isinstance(left, int) and isinstance(right, int):
        remainder = abs(left) % abs(right)
        return -remainder if left < 0 else remainder
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return left % right
    return math.fmod(left, right)


def _arith(op: str, left: Any, right: Any) -> Any:
    symbol = _ARITH_SYMBOLS[op]
    if not (_is_number(left) and _is_number(right)):
        raise ExpressionError(f"'{symbol}' needs two numbers, got {_describe(left)} and {_describe(right)}")
    try:
        return _compute(op, left, right)
    except ZeroDivisionError:
        raise ExpressionError(f"division by zero in '{symbol}'") from None
    except (ArithmeticError, TypeError) as err:
        problem = f"cannot compute {_describe(left)} {symbol} {_describe(right)}: {err}"
        raise ExpressionError(problem) from None


def _truth(value: Any) -> bool:
    """JUEL's boolean coercion, minus the silent `false` for arbitrary text."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.lower() in ("true", "false", ""):
        return value.lower() == "true"
    raise ExpressionError(f"expected true or false, got {_describe(value)}")


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | set | frozenset | Mapping):
        return len(value) == 0
    return False


# FEEL's versions: a type mismatch or null gives null instead of an error.


def _feel_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _feel_order(op: str, left: Any, right: Any) -> bool | None:
    try:
        return _order(op, left, right)
    except ExpressionError:
        return None


def _feel_arith(op: str, left: Any, right: Any) -> Any:
    if op == "add" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if not (_is_number(left) and _is_number(right)):
        return None
    try:
        return _compute(op, left, right)
    except (ArithmeticError, TypeError):
        return None


def _feel_date(*args: Any) -> date:
    """FEEL `date("2027-01-01")`, `date(2027, 1, 1)` or `date(<date-time>)`."""
    try:
        if len(args) == 1 and isinstance(args[0], str):
            return date.fromisoformat(args[0])
        if len(args) == 1 and isinstance(args[0], date):
            return args[0].date() if isinstance(args[0], datetime) else args[0]
        if len(args) == 3 and all(isinstance(arg, int) and not isinstance(arg, bool) for arg in args):
            return date(*args)
    except ValueError:
        pass
    shown = ", ".join(_describe(arg) for arg in args)
    raise ExpressionError(f'date() needs an ISO date like "2027-01-01", got {shown or "nothing"}')


def _feel_date_and_time(*args: Any) -> datetime:
    """FEEL `date and time("2027-01-01T00:00:00+07:00")`."""
    if len(args) == 1 and isinstance(args[0], datetime):
        return args[0]
    if len(args) == 1 and isinstance(args[0], str):
        try:
            return datetime.fromisoformat(args[0])
        except ValueError:
            pass
    shown = ", ".join(_describe(arg) for arg in args)
    raise ExpressionError(
        f'date and time() needs an ISO date-time like "2027-01-01T00:00:00+07:00", got {shown or "nothing"}'
    )


_FEEL_BUILTINS: Functions = {"date": _feel_date, "date and time": _feel_date_and_time}


# --- From parse tree to checked tree ---------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _literal(value: Any) -> Tree:
    return Tree("literal", [value])


def _is_literal(node: Any) -> bool:
    return isinstance(node, Tree) and node.data == "literal"


def _checked_name(name: str) -> str:
    if name.startswith("_"):
        raise ExpressionError(f"names beginning with '_' are not allowed: '{name}'")
    return str(name)


class _Prepare(Transformer):
    """Turns tokens into Python literals, refuses `_names` and records what the tree uses.

    FEEL built-ins called with literal arguments (`date("2027-01-01")`) are computed here, so a
    bad date literal is caught when the diagram is deployed."""

    def __init__(self, builtins: Functions) -> None:
        super().__init__()
        self.builtins = builtins
        self.names: set[str] = set()
        self.functions: set[str] = set()

    def string(self, children: list[Token]) -> Tree:
        return _literal(_ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), children[0][1:-1]))

    def number(self, children: list[Token]) -> Tree:
        text = children[0]
        return _literal(int(text) if text.isdigit() else float(text))

    def true(self, _: list[Any]) -> Tree:
        return _literal(True)

    def false(self, _: list[Any]) -> Tree:
        return _literal(False)

    def null(self, _: list[Any]) -> Tree:
        return _literal(None)

    def var(self, children: list[Token]) -> Tree:
        name = _checked_name(children[0])
        self.names.add(name)
        return Tree("var", [name])

    def attr(self, children: list[Any]) -> Tree:
        base, name = children
        return Tree("attr", [base, _checked_name(name)])

    def call(self, children: list[Any]) -> Tree:
        token, args = children
        name = " ".join(token.split())  # `date  and time` is `date and time`
        arguments = args.children if args is not None else []
        if name in self.builtins:
            if all(_is_literal(arg) for arg in arguments):
                return _literal(self.builtins[name](*(arg.children[0] for arg in arguments)))
        else:
            self.functions.add(_checked_name(name))
        return Tree("call", [name, *arguments])

    def _interval(self, children: list[Any], low_closed: bool, high_closed: bool) -> Tree:
        low, high = children
        return Tree("interval", [low, high, low_closed, high_closed])

    def closed_closed(self, children: list[Any]) -> Tree:
        return self._interval(children, True, True)

    def closed_open(self, children: list[Any]) -> Tree:
        return self._interval(children, True, False)

    def open_closed(self, children: list[Any]) -> Tree:
        return self._interval(children, False, True)

    def open_open(self, children: list[Any]) -> Tree:
        return self._interval(children, False, False)


@dataclass(frozen=True)
class _Parsed:
    tree: Tree
    names: frozenset[str]
    functions: frozenset[str]


def _syntax_error(err: UnexpectedInput, text: str, offset: int) -> ExpressionError:
    if isinstance(err, UnexpectedCharacters):
        return ExpressionError(
            f"syntax error: unexpected character {text[err.pos_in_stream]!r} at position "
            f"{offset + err.pos_in_stream + 1}"
        )
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return ExpressionError("syntax error: the expression ends too early")
    if isinstance(err, UnexpectedToken):
        return ExpressionError(
            f"syntax error: unexpected {str(err.token)!r} at position {offset + err.token.start_pos + 1}"
        )
    return ExpressionError("syntax error")


def _parse(parser: Lark, text: str, builtins: Functions = _NO_FUNCTIONS, offset: int = 0) -> _Parsed:
    try:
        tree = parser.parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, offset) from None
    prepare = _Prepare(builtins)
    try:
        tree = prepare.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ExpressionError | RecursionError):
            raise err.orig_exc from None
        raise
    return _Parsed(tree, frozenset(prepare.names), frozenset(prepare.functions))


# --- Interpreters ----------------------------------------------------------------------------


class _Common(Interpreter):
    """Nodes both dialects share. Each node is a rule of our own grammar, never user data."""

    binary: Mapping[str, Callable[[Any, Any], Any]] = {}

    def __init__(self, variables: Mapping[str, Any], functions: Functions, builtins: Functions) -> None:
        self.variables = variables
        self.functions = functions
        self.builtins = builtins

    def __default__(self, tree: Tree) -> Any:
        left, right = tree.children
        return self.binary[tree.data](self.visit(left), self.visit(right))

    def literal(self, tree: Tree) -> Any:
        return tree.children[0]

    def var(self, tree: Tree) -> Any:
        name = tree.children[0]
        if name not in self.variables:
            raise ExpressionError(f"unknown variable '{name}'")
        return self.variables[name]

    def attr(self, tree: Tree) -> Any:
        base, name = tree.children
        return _property(self.visit(base), name)

    def call(self, tree: Tree) -> Any:
        name, *arguments = tree.children
        values = [self.visit(argument) for argument in arguments]
        if name in self.builtins:
            return self.builtins[name](*values)
        return _call(name, values, self.functions)


class _Juel(_Common):
    binary = {
        "eq": _equal,
        "ne": lambda a, b: not _equal(a, b),
        **{op: partial(_order, op) for op in _ORDER},
        **{op: partial(_arith, op) for op in _ARITH_SYMBOLS},
    }

    def ternary(self, tree: Tree) -> Any:
        condition, when_true, when_false = tree.children
        return self.visit(when_true if _truth(self.visit(condition)) else when_false)

    def or_(self, tree: Tree) -> bool:
        left, right = tree.children
        return _truth(self.visit(left)) or _truth(self.visit(right))

    def and_(self, tree: Tree) -> bool:
        left, right = tree.children
        return _truth(self.visit(left)) and _truth(self.visit(right))

    def not_(self, tree: Tree) -> bool:
        return not _truth(self.visit(tree.children[0]))

    def empty(self, tree: Tree) -> bool:
        return _is_empty(self.visit(tree.children[0]))

    def neg(self, tree: Tree) -> Any:
        value = self.visit(tree.children[0])
        if not _is_number(value):
            raise ExpressionError(f"'-' needs a number, got {_describe(value)}")
        return -value

    def index(self, tree: Tree) -> Any:
        base, key = tree.children
        return _item(self.visit(base), self.visit(key))


class _Feel(_Common):
    binary = {
        "eq": _equal,
        "ne": lambda a, b: not _equal(a, b),
        **{op: partial(_feel_order, op) for op in _ORDER},
        **{op: partial(_feel_arith, op) for op in ("add", "sub", "mul", "div")},
    }

    def __init__(self, variables: Mapping[str, Any], functions: Functions) -> None:
        super().__init__(variables, functions, _FEEL_BUILTINS)

    def or_(self, tree: Tree) -> bool | None:
        """Three-valued: true wins, then null, then false."""
        left = _feel_bool(self.visit(tree.children[0]))
        if left is True:
            return True
        right = _feel_bool(self.visit(tree.children[1]))
        if right is True:
            return True
        return False if left is False and right is False else None

    def and_(self, tree: Tree) -> bool | None:
        """Three-valued: false wins, then null, then true."""
        left = _feel_bool(self.visit(tree.children[0]))
        if left is False:
            return False
        right = _feel_bool(self.visit(tree.children[1]))
        if right is False:
            return False
        return True if left and right else None

    def not_(self, tree: Tree) -> bool | None:
        value = _feel_bool(self.visit(tree.children[0]))
        return None if value is None else not value

    def neg(self, tree: Tree) -> Any:
        value = self.visit(tree.children[0])
        return -value if _is_number(value) else None


# --- compile_expression ----------------------------------------------------------------------


def is_iso_literal(text: str) -> bool:
    """True for what Camunda Modeler writes unquoted in timer and due-date fields: ISO 8601
    dates, date-times, durations and repeating intervals (`2027-05-14`, `PT48H`, `R3/PT10M`,
    `R/2027-01-01T00:00:00Z/P1Y`) and Quartz cron cycles; `engine.timers` reads them."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    return timers.is_instant(text) or timers.is_duration(text) or timers.is_cycle(text)


@dataclass(frozen=True, eq=False)
class Compiled:
    """A checked expression, safe to cache and share; `names` and `functions` let a deploy-time
    check find unknown variables or functions without evaluating anything."""

    source: str
    names: frozenset[str]
    functions: frozenset[str]
    parts: tuple[str | Tree, ...] = field(repr=False)
    single: bool = field(default=True, repr=False)  # the value of one part, else joined text
    feel: bool = field(default=False, repr=False)

    def evaluate(
        self,
        variables: Mapping[str, Any],
        functions: Functions | None = None,
        element_id: str | None = None,
    ) -> Any:
        with _located(self.source, element_id):
            interpreter = (
                _Feel(variables, functions or _NO_FUNCTIONS)
                if self.feel
                else _Juel(variables, functions or _NO_FUNCTIONS, _NO_FUNCTIONS)
            )
            values = [interpreter.visit(part) if isinstance(part, Tree) else part for part in self.parts]
            if self.single:
                return values[0] if values else None
            return "".join(_to_text(value) for value in values)


def _compile_template(source: str) -> Compiled:
    try:
        template = _parser("template").parse(source)
    except UnexpectedInput:
        raise ExpressionError("a ${...} part is empty or not closed with '}'") from None
    parts: list[str | Tree] = []
    names: set[str] = set()
    functions: set[str] = set()
    for child in template.children:
        if isinstance(child, Token):
            parts.append(str(child))
            continue
        body = child.children[0]
        parsed = _parse(_parser("juel"), str(body), offset=body.start_pos)
        parts.append(parsed.tree)
        names |= parsed.names
        functions |= parsed.functions
    single = len(parts) == 1
    return Compiled(source, frozenset(names), frozenset(functions), tuple(parts), single)


@lru_cache(maxsize=2048)
def _compile_expression(source: str) -> Compiled:
    if not source:
        raise ExpressionError("empty expression")
    if "${" in source or "#{" in source:
        return _compile_template(source)
    if is_iso_literal(source):
        return Compiled(source, frozenset(), frozenset(), (source,))
    raise ExpressionError("not a ${...} expression or an ISO 8601 date, duration or cycle")


def compile_expression(text: str, element_id: str | None = None) -> Compiled:
    """A condition, timer or due-date value as Camunda Modeler writes it (see module docstring)."""
    source = text.strip() if isinstance(text, str) else ""
    with _located(source, element_id):
        return _compile_expression(source)


def evaluate(
    text: str,
    variables: Mapping[str, Any],
    functions: Functions | None = None,
    element_id: str | None = None,
) -> Any:
    return compile_expression(text, element_id).evaluate(variables, functions, element_id)


# --- FEEL ------------------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def _compile_feel(source: str) -> Compiled:
    if not source:
        return Compiled(source, frozenset(), frozenset(), (), feel=True)
    parsed = _parse(_parser("feel-simple"), source, _FEEL_BUILTINS)
    return Compiled(source, parsed.names, parsed.functions, (parsed.tree,), feel=True)


def compile_feel(text: str | None, element_id: str | None = None) -> Compiled:
    """A FEEL simple expression: a DMN input expression or output entry. Empty text gives null."""
    source = text.strip() if isinstance(text, str) else ""
    with _located(source, element_id):
        return _compile_feel(source)


def _test_matches(test: Tree, value: Any, feel: _Feel) -> bool:
    if test.data == "equal":
        return _equal(value, feel.visit(test.children[0]))
    if test.data == "interval":
        low, high, low_closed, high_closed = test.children
        above = _feel_order("ge" if low_closed else "gt", value, feel.visit(low))
        return bool(above) and bool(_feel_order("le" if high_closed else "lt", value, feel.visit(high)))
    return bool(_feel_order(test.data, value, feel.visit(test.children[0])))


@dataclass(frozen=True, eq=False)
class UnaryTests:
    """The tests of one DMN input cell; `tree` None means the cell matches anything."""

    source: str
    names: frozenset[str]
    functions: frozenset[str]
    tree: Tree | None = field(default=None, repr=False)

    def matches(
        self,
        value: Any,
        variables: Mapping[str, Any],
        functions: Functions | None = None,
        element_id: str | None = None,
    ) -> bool:
        """Whether `value` passes; a value of the wrong type simply does not match."""
        if self.tree is None or self.tree.data == "any":
            return True
        with _located(self.source, element_id):
            feel = _Feel(variables, functions or _NO_FUNCTIONS)
            negated = self.tree.data == "negated"
            tests = self.tree.children[0] if negated else self.tree
            matched = any(_test_matches(test, value, feel) for test in tests.children)
            return matched != negated


@lru_cache(maxsize=2048)
def _compile_unary_tests(source: str) -> UnaryTests:
    if not source:
        return UnaryTests(source, frozenset(), frozenset())
    parsed = _parse(_parser("feel-unary"), source, _FEEL_BUILTINS)
    return UnaryTests(source, parsed.names, parsed.functions, parsed.tree)


def compile_unary_tests(text: str | None, element_id: str | None = None) -> UnaryTests:
    """A DMN input cell as Camunda Modeler writes it: `-`, `"a","b"`, `not("a")`, `< 3`,
    `[1..50]`, `>= date("2027-01-01")`, or a name or expression the value must equal."""
    source = text.strip() if isinstance(text, str) else ""
    with _located(source, element_id):
        return _compile_unary_tests(source)

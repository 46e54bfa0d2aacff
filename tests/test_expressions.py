"""engine.expressions: JUEL, ISO timer literals, FEEL expressions and FEEL unary tests."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import expressions
from engine.expressions import (
    Compiled,
    ExpressionError,
    UnaryTests,
    compile_expression,
    compile_feel,
    compile_unary_tests,
    evaluate,
    is_iso_literal,
)

WIB = timezone(timedelta(hours=7))


def juel(body: str, variables: dict | None = None, functions: dict | None = None):
    return evaluate("${" + body + "}", variables or {}, functions)


def error_of(text: str, variables: dict | None = None, functions: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, variables or {}, functions, element_id="Gateway_1")
    return caught.value


# --- ExpressionError -------------------------------------------------------------------------


def test_error_text_with_and_without_element_id():
    err = ExpressionError("boom", "${x}", "Flow_1")
    assert str(err) == "Flow_1: boom (in '${x}')"
    assert (err.message, err.expression, err.element_id) == ("boom", "${x}", "Flow_1")
    assert str(ExpressionError("boom", "${x}")) == "boom (in '${x}')"
    assert isinstance(err, ValueError)


# --- JUEL literals and operators -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak'", "line\nbreak"),
        ("'}'", "}"),
        ("42", 42),
        ("3.5", 3.5),
        ("1e3", 1000.0),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_literals(body, expected):
    value = juel(body)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("7 + 2", 9),
        ("7 - 2", 5),
        ("7 * 2", 14),
        ("7 / 2", 3.5),
        ("8 / 2", 4.0),
        ("7 div 2", 3.5),
        ("7 % 3", 1),
        ("7 mod 3", 1),
        ("-7 % 3", -1),  # Java keeps the dividend's sign
        ("7.5 % 2", 1.5),
        ("-n", -4),
        ("- -3", 3),
        ("1.5 + 1", 2.5),
    ],
)
def test_arithmetic(body, expected):
    assert juel(body, {"n": 4}) == expected


def test_division_always_gives_a_float():
    assert type(juel("8 / 2")) is float


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1 == 1", True),
        ("1 eq 2", False),
        ("1 != 2", True),
        ("1 ne 1", False),
        ("1 == 1.0", True),
        ("'a' == 'a'", True),
        ("x == null", True),
        ("null == null", True),
        ("1 < 2", True),
        ("2 lt 1", False),
        ("2 <= 2", True),
        ("3 le 2", False),
        ("3 > 2", True),
        ("2 gt 3", False),
        ("2 >= 2", True),
        ("1 ge 2", False),
        ("'abc' < 'abd'", True),
        ("2.5 > 2", True),
        ("true == 1", False),
    ],
)
def test_comparisons(body, expected):
    assert juel(body, {"x": None}) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("true && false", False),
        ("true and true", True),
        ("false || true", True),
        ("false or false", False),
        ("!true", False),
        ("not false", True),
        ("!x", True),  # null reads as false
        ("flag == 'true' && flag", True),  # JUEL reads "true" as true
        ("empty x", True),
        ("empty ''", True),
        ("empty items", True),
        ("empty d", True),
        ("empty 'a'", False),
        ("empty full", False),
        ("empty 0", False),
        ("!empty full", True),
    ],
)
def test_logic_and_empty(body, expected):
    variables = {"x": None, "items": [], "d": {}, "full": [1], "flag": "true"}
    assert juel(body, variables) is expected


def test_and_or_short_circuit():
    assert juel("false && missing") is False
    assert juel("true || missing") is True


def test_ternary():
    assert juel("n > 3 ? 'besar' : 'kecil'", {"n": 5}) == "besar"
    assert juel("n > 3 ? 'besar' : 'kecil'", {"n": 1}) == "kecil"
    assert juel("a ? 1 : b ? 2 : 3", {"a": False, "b": True}) == 2  # right-associative
    assert juel("false ? missing : 'ok'") == "ok"  # the branch not taken is not evaluated


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("2 * 3 % 4", 2),
        ("-2 * 3", -6),
        ("1 + 2 > 2", True),
        ("1 < 2 == true", True),  # relational binds tighter than equality
        ("true || false && false", True),  # && binds tighter than ||
        ("!false && false", False),  # ! binds tighter than &&
        ("1 == 1 && 2 == 2", True),
        ("empty a.b", True),  # property access binds tighter than empty
        ("true ? 1 + 1 : 0", 2),
        ("false || true ? 'y' : 'n'", "y"),  # ternary is lowest
    ],
)
def test_precedence(body, expected):
    assert juel(body, {"a": {}}) == expected


def test_keywords_are_only_keywords_where_an_operator_fits():
    assert juel("a.empty", {"a": {"empty": 3}}) == 3
    assert juel("equal", {"equal": 1}) == 1  # a name beginning with `eq`


def test_whitespace_and_hash_form():
    assert evaluate("  ${ a  +  1 }  ", {"a": 1}) == 2
    assert evaluate("#{a}", {"a": "x"}) == "x"


# --- Templates -------------------------------------------------------------------------------


def test_single_expression_keeps_its_type():
    value = evaluate("${items}", {"items": [1, 2]})
    assert value == [1, 2]
    assert evaluate("${due}", {"due": date(2027, 5, 14)}) == date(2027, 5, 14)


def test_mixed_text_concatenates():
    variables = {"nomor": 12, "nama": "Bandung", "kosong": None, "ok": True, "tgl": date(2027, 5, 14)}
    assert evaluate("Surat ${nomor}", variables) == "Surat 12"
    assert evaluate("${nama}-${nomor}", variables) == "Bandung-12"
    assert evaluate("Kota ${nama}, #{nomor}: ${kosong}.", variables) == "Kota Bandung, 12: ."
    assert evaluate("${ok} pada ${tgl}", variables) == "true pada 2027-05-14"
    assert evaluate("Biaya $5 #1 ${nomor}", variables) == "Biaya $5 #1 12"
    assert evaluate('label ${"a}b"}', variables) == "label a}b"


@pytest.mark.parametrize("text", ["${abc", "${}", "Surat ${nomor", "${'unterminated}"])
def test_broken_templates(text):
    err = error_of(text, {"abc": 1, "nomor": 1})
    assert err.element_id == "Gateway_1"
    assert str(err).startswith("Gateway_1: ")


# --- Variables, properties, functions --------------------------------------------------------


def test_unknown_variable_names_the_element():
    err = error_of("${jumlah > 3}")
    assert err.message == "unknown variable 'jumlah'"
    assert str(err) == "Gateway_1: unknown variable 'jumlah' (in '${jumlah > 3}')"


def test_property_access_on_dicts_and_lists():
    variables = {
        "p": {"alamat": {"kota": "Bogor"}, "tags": ["a", "b"], "0": "zero"},
        "xs": [10, 20],
        "t": (1, 2),
    }
    assert juel("p.alamat.kota", variables) == "Bogor"
    assert juel("p['alamat']['kota']", variables) == "Bogor"
    assert juel('p["tags"][1]', variables) == "b"
    assert juel("xs[0] + t[1]", variables) == 12
    assert juel("p.tidak_ada", variables) is None  # a missing key is null
    assert juel("p.tidak_ada.lagi", variables) is None  # and so is anything under it
    assert juel("p['0']", variables) == "zero"
    assert juel("xs[5]", variables) is None
    assert juel("xs[-1]", variables) is None  # no Python negative indexing


def test_dict_cannot_reach_its_methods():
    assert juel("d.keys", {"d": {}}) is None
    assert juel("d.items", {"d": {"a": 1}}) is None
    assert juel("d['get']", {"d": {}}) is None
    assert error_of("${d.keys()}", {"d": {}}).message.startswith("syntax error")


class Secret:
    password = "hunter2"

    def __init__(self):
        self.name = "x"


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("${s.name}", {"s": Secret()}),
        ("${s.password}", {"s": Secret()}),
        ("${s['name']}", {"s": Secret()}),
        ("${text.upper}", {"text": "abc"}),
        ("${text[0]}", {"text": "abc"}),
        ("${n.real}", {"n": 3}),
        ("${xs.length}", {"xs": [1]}),
        ("${xs['a']}", {"xs": [1]}),
        ("${xs[true]}", {"xs": [1]}),
        ("${d[xs]}", {"d": {}, "xs": [1]}),
    ],
)
def test_property_access_on_anything_else_is_refused(text, variables):
    err = error_of(text, variables)
    assert err.element_id == "Gateway_1"
    assert "hunter2" not in str(err)


def test_registered_functions():
    functions = {
        "add_days": lambda d, n: d + timedelta(days=n),
        "now": lambda: datetime(2027, 1, 1, tzinfo=UTC),
    }
    variables = {"mulai": date(2027, 1, 30)}
    assert evaluate("${add_days(mulai, 3)}", variables, functions) == date(2027, 2, 2)
    assert evaluate("${now()}", {}, functions) == datetime(2027, 1, 1, tzinfo=UTC)
    assert evaluate("${add_days(add_days(mulai, 1), 1)}", variables, functions) == date(2027, 2, 1)


def test_unknown_function_is_found_before_and_during_evaluation():
    compiled = compile_expression("${add_work_days(tgl, 3) > today()}", "Timer_1")
    assert compiled.functions == frozenset({"add_work_days", "today"})
    assert compiled.names == frozenset({"tgl"})
    with pytest.raises(ExpressionError) as caught:
        compiled.evaluate({"tgl": date(2027, 1, 1)}, {"today": date.today}, "Timer_1")
    assert (
        str(caught.value)
        == "Timer_1: unknown function 'add_work_days' (in '${add_work_days(tgl, 3) > today()}')"
    )


def test_names_exclude_property_names():
    compiled = compile_expression("${a.b + c['d'] + e[f]}")
    assert compiled.names == frozenset({"a", "c", "e", "f"})
    assert compiled.functions == frozenset()


def test_errors_inside_functions_are_wrapped():
    def broken(value):
        raise ValueError(f"not a date: {value!r}")

    err = error_of("${broken('x')}", functions={"broken": broken})
    assert err.message == "function 'broken' failed: not a date: 'x'"
    assert isinstance(err.__cause__, ValueError)
    err = error_of("${f()}", functions={"f": lambda: 1 / 0})
    assert "function 'f' failed" in err.message
    assert error_of("${f()}", functions={"f": 3}).message == "'f' is not a function"


# --- Dates -----------------------------------------------------------------------------------


def test_dates_compare_with_iso_text():
    variables = {"d": date(2027, 5, 14), "t": datetime(2027, 5, 14, 9, 0, tzinfo=WIB)}
    assert juel("d < '2027-06-01'", variables) is True
    assert juel("'2027-06-01' > d", variables) is True
    assert juel("d == '2027-05-14'", variables) is True
    assert juel("d != '2027-05-15'", variables) is True
    assert juel("t > '2027-05-14T01:00:00Z'", variables) is True  # 09:00+07 is 02:00Z
    assert juel("t < '2027-05-14T03:00:00Z'", variables) is True
    assert juel("t >= '2027-05-14'", variables) is True  # a bare date is midnight in t's zone
    assert juel("t == '2027-05-14T09:00:00+07:00'", variables) is True
    assert juel("d == 'belum'", variables) is False


@pytest.mark.parametrize(
    "body",
    [
        "d < 'belum ada'",
        "d < '2027-05-14T00:00:00Z'",  # a date against a date-time
        "t < '2027-05-14T09:00:00'",  # aware against naive
        "d < t",
        "d < 3",
    ],
)
def test_date_comparisons_that_make_no_sense(body):
    variables = {"d": date(2027, 5, 14), "t": datetime(2027, 5, 14, 9, 0, tzinfo=WIB)}
    err = error_of("${" + body + "}", variables)
    assert err.message.startswith("cannot compare")


# --- Type errors are plain ExpressionErrors --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x < 3", "cannot compare null and number 3 with '<'"),
        ("3 >= x", "cannot compare number 3 and null with '>='"),
        ("'a' < 1", "cannot compare string 'a' and number 1 with '<'"),
        ("true > false", "cannot compare boolean true and boolean false with '>'"),
        ("'a' + 'b'", "'+' needs two numbers, got string 'a' and string 'b'"),
        ("x + 1", "'+' needs two numbers, got null and number 1"),
        ("1 / 0", "division by zero in '/'"),
        ("1 % 0", "division by zero in '%'"),
        ("-'a'", "'-' needs a number, got string 'a'"),
        ("'ya' ? 1 : 2", "expected true or false, got string 'ya'"),
        ("!3", "expected true or false, got number 3"),
        ("'a' * 100000000", "'*' needs two numbers, got string 'a' and number 100000000"),
    ],
)
def test_type_errors(body, message):
    err = error_of("${" + body + "}", {"x": None})
    assert err.message == message
    assert not isinstance(err.__cause__, TypeError)


# --- Malicious or unsupported input ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        '${__import__("os").system("x")}',
        "${__import__('os')}",
        "${().__class__.__base__.__subclasses__()}",
        "${x.__class__}",
        "${x['__class__'].__init__}",
        "${_private}",
        "${(lambda: 1)()}",
        "${lambda: 1}",
        '${[c for c in "ab"]}',
        "${a; b}",
        "${import os}",
        "${a = 1}",
        "${a += 1}",
        "${x.y()}",
        "${'a'.upper()}",
        "${a if b else c}",
        "${2 ** 10}",
        "${{'a': 1}}",
        "${`id`}",
        "${a.b.c(}",
        "Surat ${__import__('os')}",
        "import os",
        "open('/etc/passwd')",
    ],
)
def test_malicious_or_foreign_input_is_refused_at_compile_time(text):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, "Task_X")
    assert caught.value.element_id == "Task_X"
    assert str(caught.value).startswith("Task_X: ")
    assert caught.value.expression == text.strip()


def test_messages_for_malicious_input_are_clear():
    assert (
        str(error_of("${x.__class__}", {"x": 1}))
        == "Gateway_1: names beginning with '_' are not allowed: '__class__' (in '${x.__class__}')"
    )
    assert (
        str(error_of("${a; b}"))
        == "Gateway_1: syntax error: unexpected character ';' at position 4 (in '${a; b}')"
    )
    assert error_of("${(lambda: 1)()}").message == "syntax error: unexpected ':' at position 10"
    assert error_of('${[c for c in "ab"]}').message == "syntax error: unexpected '[' at position 3"
    assert (
        error_of("__import__('os')").message
        == "not a ${...} expression or an ISO 8601 date, duration or cycle"
    )
    assert error_of("${1 +}").message == "syntax error: the expression ends too early"


def test_unregistered_builtins_are_unknown_functions():
    for text in ['${open("/etc/passwd")}', "${eval('1')}", "${exec('x')}", "${getattr(x, 'y')}"]:
        compiled = compile_expression(text)
        err = error_of(text, {"x": 1})
        assert err.message == f"unknown function '{next(iter(compiled.functions))}'"
        assert err.element_id == "Gateway_1"


def test_deep_nesting_is_an_expression_error():
    assert evaluate("${" + "(" * 5000 + "1" + ")" * 5000 + "}", {}) == 1  # brackets leave no node
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("${" + "!" * 5000 + "true}", {})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("${1" + " + 1" * 5000 + "}", {})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_feel("1" + " + 1" * 5000).evaluate({})


def test_the_module_never_calls_eval_exec_or_getattr():
    tree = ast.parse(inspect.getsource(expressions))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "getattr", "__import__", "setattr", "vars"}


# --- ISO literals ----------------------------------------------------------------------------

ISO_LITERALS = [
    "2027-05-14",
    "2027-05-14T00:00:00+07:00",
    "2027-05-14T00:00:00Z",
    "2027-05-14T08:30",
    "2027-05-14T08:30:00.250Z",
    "P45D",
    "PT48H",
    "P1Y2M",
    "P2W",
    "PT1.5S",
    "P1DT12H30M",
    "PT15M",
    "R3/PT10M",
    "R/P1D",
    "R/2027-01-01T00:00:00Z/P1Y",
    "R5/2027-01-01T00:00:00+07:00/PT1H",
    "R2/P1D/2027-01-01T00:00:00Z",
]


@pytest.mark.parametrize("text", ISO_LITERALS)
def test_iso_literals_are_returned_unchanged(text):
    assert is_iso_literal(text)
    assert is_iso_literal(f"  {text}\n")
    compiled = compile_expression(f"\n  {text}  ")
    assert compiled.evaluate({}) == text
    assert compiled.names == compiled.functions == frozenset()


@pytest.mark.parametrize("text", ISO_LITERALS)
def test_spiffworkflow_can_read_every_accepted_literal(text):
    if text.startswith("R"):
        TimerEventDefinition.parse_iso_recurring_interval(text)
    elif text.startswith("P"):
        TimerEventDefinition.parse_iso_duration(text)
    else:
        TimerEventDefinition.get_datetime(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "P",
        "PT",
        "P1DT",
        "P1.5D2H",
        "P1.5DT2H",  # only the last part may have a fraction
        "P1W2D",  # weeks do not mix with days
        "P45",
        "45D",
        "p45d",
        "2027-13-01",
        "2027-02-30",
        "2027-5-14",
        "2027-05-14T25:00:00Z",
        "2027-05-14 00:00:00",
        "R3",
        "R3/",
        "Rx/PT10M",
        "R3/PT10M/PT5M",
        "R/2027-01-01T00:00:00Z",
        "R/2027-01-01T00:00:00Z/2027-02-01T00:00:00Z",
        "R3/PT10M/",
        "true",
        "jumlah > 3",
        "Surat nomor 5",
    ],
)
def test_junk_is_not_an_iso_literal(text):
    assert not is_iso_literal(text)
    err = error_of(text)
    assert err.element_id == "Gateway_1"


def test_is_iso_literal_takes_only_text():
    assert is_iso_literal(None) is False  # type: ignore[arg-type]
    assert is_iso_literal(45) is False  # type: ignore[arg-type]


# --- Compiled objects ------------------------------------------------------------------------


def test_compiled_is_cached_and_immutable():
    first = compile_expression("${a + 1}", "Flow_1")
    assert compile_expression("${a + 1}", "Flow_2") is first
    assert isinstance(first, Compiled)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.source = "${b}"  # type: ignore[misc]
    assert first.evaluate({"a": 1}) == 2
    assert first.evaluate({"a": 2}) == 3


def test_evaluation_errors_carry_the_element_given_at_evaluation():
    compiled = compile_expression("${a < 1}")
    with pytest.raises(ExpressionError) as caught:
        compiled.evaluate({"a": None}, element_id="Flow_9")
    assert str(caught.value) == "Flow_9: cannot compare null and number 1 with '<' (in '${a < 1}')"


def test_compile_errors_name_each_callers_element():
    for element in ("Flow_1", "Flow_2"):  # the failure is not cached with the first element id
        with pytest.raises(ExpressionError) as caught:
            compile_expression("${a <}", element)
        assert caught.value.element_id == element


# --- FEEL simple expressions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Tidak ada hubungan diplomatik"', "Tidak ada hubungan diplomatik"),
        (r'"kata \"kutip\""', 'kata "kutip"'),
        ("true", True),
        ("false", False),
        ("12", 12),
        ("-1.5", -1.5),
        ("null", None),
        ("", None),
        ("   ", None),
        ("hubungan_diplomatik", "ada"),
        ("status.level", 3),
        ("status.tidak_ada", None),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 - 2 - 1", 4),
        ("7 / 2", 3.5),
        ("1 / 0", None),
        ('"a" + "b"', "ab"),
        ('"a" + 1', None),
        ("null + 1", None),
        ("status.level = 3", True),
        ("status.level != 3", False),
        ("status.level < 4", True),
        ("status.level <= 2", False),
        ("status.level > 2", True),
        ("status.level >= 4", False),
        ("null < 3", None),
        ("true and false", False),
        ("true and true", True),
        ("false or true", True),
        ("false or false", False),
        ("null and false", False),
        ("null or true", True),
        ("null and true", None),
        ("not(true)", False),
        ("not(status.level > 5)", True),
        ("not(null)", None),
        ('status.level > 1 and hubungan_diplomatik = "ada"', True),
        ('date("2027-01-01")', date(2027, 1, 1)),
        ('date and time("2027-01-01T00:00:00+07:00")', datetime(2027, 1, 1, tzinfo=WIB)),
        ('date("2027-01-01") < date("2027-02-01")', True),
        ("date(2027, 2, 28)", date(2027, 2, 28)),
        ("date(mulai)", date(2027, 5, 14)),
        ('mulai > date("2027-01-01")', True),
    ],
)
def test_feel_expressions(text, expected):
    variables = {
        "hubungan_diplomatik": "ada",
        "status": {"level": 3},
        "mulai": datetime(2027, 5, 14, 8, 0, tzinfo=WIB),
    }
    if text.startswith("mulai"):
        variables["mulai"] = date(2027, 5, 14)
    assert compile_feel(text, "Decision_1").evaluate(variables) == expected


def test_feel_none_text_is_null():
    assert compile_feel(None).evaluate({}) is None  # type: ignore[arg-type]


def test_feel_functions_and_names():
    with pytest.raises(ExpressionError):  # a date has no properties: only dicts do
        compile_feel('date("2027-01-01").year').evaluate({})
    compiled = compile_feel("hitung(a.b, 2) + c", "Decision_1")
    assert compiled.functions == frozenset({"hitung"})
    assert compiled.names == frozenset({"a", "c"})
    assert compiled.evaluate({"a": {"b": 3}, "c": 1}, {"hitung": lambda x, y: x * y}) == 7
    built_in = compile_feel('date and time(x) > date and time("2027-01-01T00:00:00Z")')
    assert built_in.functions == frozenset()  # built-ins are not for the caller to provide


def test_feel_errors_name_the_element():
    with pytest.raises(ExpressionError) as caught:
        compile_feel("umur", "Decision_1").evaluate({}, element_id="Decision_1")
    assert str(caught.value) == "Decision_1: unknown variable 'umur' (in 'umur')"
    with pytest.raises(ExpressionError) as caught:
        compile_feel("hitung(1)", "Decision_1").evaluate({}, {}, "Decision_1")
    assert caught.value.message == "unknown function 'hitung'"
    with pytest.raises(ExpressionError) as caught:
        compile_feel('date("2027-13-01")', "Decision_1")
    assert caught.value.element_id == "Decision_1"
    assert "date() needs an ISO date" in caught.value.message
    with pytest.raises(ExpressionError, match="date and time"):
        compile_feel('date and time("kemarin")')


@pytest.mark.parametrize(
    "text",
    [
        "a ==",
        "'single quoted'",
        "a && b",
        "x.__class__",
        "__import__('os')",
        "a; b",
        "(lambda: 1)()",
        "a ? b : c",
    ],
)
def test_feel_refuses_what_it_does_not_know(text):
    with pytest.raises(ExpressionError) as caught:
        compile_feel(text, "Decision_1")
    assert caught.value.element_id == "Decision_1"


# --- FEEL unary tests ------------------------------------------------------------------------

VARIABLES = {"batas_atas": 50, "negara": {"kode": "JP"}, "mulai": date(2027, 1, 1)}


def matches(cell: str | None, value) -> bool:
    return compile_unary_tests(cell, "Rule_1").matches(value, VARIABLES, {"dua": lambda: 2}, "Rule_1")


@pytest.mark.parametrize("cell", [None, "", "   ", "-", " - "])
@pytest.mark.parametrize("value", ["x", 3, None, date(2027, 1, 1)])
def test_empty_cells_match_anything(cell, value):
    assert matches(cell, value)


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ('"a"', "a", True),
        ('"a"', "b", False),
        ('"a"', None, False),
        ('"a","b"', "b", True),
        ('"a", "b"', "c", False),
        ('not("a")', "b", True),
        ('not("a")', "a", False),
        ('not("a","b")', "c", True),
        ('not("a", "b")', "b", False),
        ("not(null)", None, False),
        ("not(null)", "x", True),
        ("true", True, True),
        ("true", False, False),
        ("true", 1, False),
        ("false", False, True),
        ("false", None, False),
        ("3", 3, True),
        ("3", 3.0, True),
        ("3", "3", False),
        ("-1.5", -1.5, True),
        ("-1.5", 1.5, False),
        ("null", None, True),
        ("null", "", False),
        ("< 3", 2, True),
        ("< 3", 3, False),
        ("<= 3", 3, True),
        ("<= 3", 4, False),
        ("> 3", 4, True),
        ("> 3", 3, False),
        (">= 3", 3, True),
        (">= 3", 2.5, False),
        ("< -1", -2, True),
        ('>= date("2027-01-01")', date(2027, 1, 1), True),
        ('>= date("2027-01-01")', date(2026, 12, 31), False),
        ('>= date("2027-01-01")', "2027-03-01", True),  # ISO text is read as a date
        ('< date and time("2027-01-01T00:00:00+07:00")', datetime(2026, 12, 31, 16, 0, tzinfo=UTC), True),
        ('< date and time("2027-01-01T00:00:00+07:00")', datetime(2026, 12, 31, 18, 0, tzinfo=UTC), False),
        ("[1..50]", 1, True),
        ("[1..50]", 50, True),
        ("[1..50]", 51, False),
        ("[1..50]", 0.5, False),
        ("]1..50[", 1, False),
        ("]1..50[", 2, True),
        ("]1..50[", 50, False),
        ("[1..50[", 1, True),
        ("[1..50[", 50, False),
        ("]1..50]", 1, False),
        ("]1..50]", 50, True),
        ("(1..50)", 1, False),
        ("(1..50)", 25, True),
        ("(1..50)", 50, False),
        ("[1..50)", 49.9, True),
        ("(1..50]", 50, True),
        ("[1..batas_atas]", 50, True),
        ("[1..batas_atas - 1]", 50, False),
        ('[date("2027-01-01")..date("2027-12-31")]', date(2027, 6, 1), True),
        ('[date("2027-01-01")..date("2027-12-31")]', date(2028, 1, 1), False),
        ("batas_atas", 50, True),
        ("batas_atas", 49, False),
        ("negara.kode", "JP", True),
        ("mulai", date(2027, 1, 1), True),
        ("dua()", 2, True),
        ("(1 + 2)", 3, True),
        ("batas_atas * 2", 100, True),
        ('"a", < 3, [10..20]', 15, True),
        ('"a", < 3, [10..20]', "a", True),
        ('"a", < 3, [10..20]', 5, False),
        ('not("a", < 3, [10..20])', 5, True),
        ('not("a", < 3, [10..20])', 15, False),
    ],
)
def test_unary_tests(cell, value, expected):
    assert matches(cell, value) is expected


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("[1..50]", "25"),
        ("[1..50]", None),
        ("< 3", "2"),
        ("< 3", None),
        ('>= date("2027-01-01")', 20270101),
        ('>= date("2027-01-01")', "belum"),
        ('>= date("2027-01-01")', datetime(2027, 1, 2, tzinfo=UTC)),  # a date-time is not a date
        ('["a".."c"]', 2),
        ("true", "true"),
    ],
)
def test_wrong_types_do_not_match(cell, value):
    assert matches(cell, value) is False


def test_string_ranges():
    assert matches('["a".."c"]', "b")
    assert not matches('["a".."c"]', "d")


def test_unary_tests_collect_names_and_functions():
    tests = compile_unary_tests('[1..batas_atas], hitung(x), >= date("2027-01-01")')
    assert isinstance(tests, UnaryTests)
    assert tests.names == frozenset({"batas_atas", "x"})
    assert tests.functions == frozenset({"hitung"})
    assert compile_unary_tests("batas_atas") is compile_unary_tests("batas_atas")


def test_unary_test_with_unknown_variable_names_the_element():
    with pytest.raises(ExpressionError) as caught:
        compile_unary_tests("batas_bawah", "Rule_7").matches(3, {}, element_id="Rule_7")
    assert str(caught.value) == "Rule_7: unknown variable 'batas_bawah' (in 'batas_bawah')"


@pytest.mark.parametrize(
    "cell",
    [
        "[1..50",
        "1..50",
        "[1,50]",
        "not(",
        'not "a"',
        "--",
        "- 3 -",
        '"a",',
        "'a'",
        "a == 1",
        "< ",
        "x.__class__",
        "__import__('os')",
        'date("2027-02-30")',
        "a; b",
        "?",
    ],
)
def test_unparseable_cells_name_the_element(cell):
    with pytest.raises(ExpressionError) as caught:
        compile_unary_tests(cell, "Rule_3")
    assert caught.value.element_id == "Rule_3"
    assert str(caught.value).startswith("Rule_3: ")

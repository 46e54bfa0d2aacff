"""Hostile input, property-based (proof 4): hypothesis generates the input, the code must either
work or refuse with its own clear error. Examples per property: KSDPL_RELIABILITY_EXAMPLES
(default 200; the deploy properties, which parse the whole KSDPL diagram, use a tenth)."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select

from engine import forms
from engine.errors import DeploymentRejected
from engine.expressions import ExpressionError, compile_expression, compile_feel, compile_unary_tests
from engine.models import ProcessDefinition
from engine.parser import read_form_fields
from engine.service import Orchestrator
from engine.store import upgrade
from handlers import registry as ksdpl_registry
from tests.reliability.conftest import count

EXAMPLES = count("EXAMPLES", 200)
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
BPMN = (PROCESSES / "ksdpl.bpmn").read_text()
DMN = (PROCESSES / "kelayakan.dmn").read_text()
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
DEPLOY_SETTINGS = settings(
    max_examples=max(EXAMPLES // 10, 5), deadline=None, suppress_health_check=list(HealthCheck)
)


class Spy:
    """A variable that records any attribute access: an evaluator that reaches into Python
    objects (`x.__class__`, `x.system`) would touch it."""

    touched: list[str] = []

    def __getattribute__(self, name):
        if name != "__class__":  # isinstance() asks this: type checks are not reaching in
            Spy.touched.append(name)
        return object.__getattribute__(self, name)

    def __call__(self, *args):
        Spy.touched.append("__call__")


PYTHON_ISH = [
    "__import__('os')",
    ".system('id')",
    "__class__",
    ".__bases__",
    "__subclasses__()",
    "__globals__",
    "eval",
    "exec",
    "open('/etc/passwd')",
    "lambda: 1",
    "spy",
    "spy.x",
    "spy()",
    "spy['a']",
    "x",
    "x.a",
    "x['a']",
    "getattr(x, 'a')",
    "[1,2]",
    "{'a': 1}",
    "1 + 1",
    "'a' * 99999999",
    "9 ** 9 ** 9",
    "(",
    ")",
    ".",
    "[",
    "]",
    ",",
    " ",
    "and",
    "not",
    "empty",
    "==",
    "?",
    ":",
    "${",
    "}",
    "#{",
    'f"{1}"',
    "\\",
    "'",
]
pieces = st.lists(st.sampled_from(PYTHON_ISH), max_size=12).map("".join)
texts = st.one_of(pieces, pieces.map(lambda t: "${" + t + "}"), st.text(max_size=60))


def _evaluates_safely(compile_, text: str) -> None:
    Spy.touched = []
    variables = {"x": {"a": 1}, "spy": Spy()}
    try:
        compiled = compile_(text)
        if hasattr(compiled, "evaluate"):
            compiled.evaluate(variables, {})
        else:
            compiled.matches(1, variables, {}) if hasattr(compiled, "matches") else None
    except ExpressionError:
        pass  # the module's own clear error
    assert Spy.touched == [], f"{text!r} reached into a Python object: {Spy.touched}"


@SETTINGS
@given(texts)
def test_expressions_never_evaluate_a_forbidden_construct(text):
    _evaluates_safely(compile_expression, text)


@SETTINGS
@given(texts)
def test_feel_never_evaluates_a_forbidden_construct(text):
    _evaluates_safely(compile_feel, text)
    _evaluates_safely(compile_unary_tests, text)


def _ksdpl_form_fields() -> list[list[dict]]:
    root = etree.fromstring(BPMN.encode())
    nodes = [
        n for n in root.iter() if isinstance(n.tag, str) and n.tag.endswith(("}userTask", "}startEvent"))
    ]
    return [f for f in (read_form_fields(n) for n in nodes) if f]


FORMS = _ksdpl_form_fields()
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.dates(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["", " ", "99999999999999999999999", "-1", "2027-02-30", "31/12/2027", "ya", "${x}"]),
)
field_types = st.sampled_from([*forms.FIELD_TYPES, "custom", ""])
constraints = st.dictionaries(
    st.sampled_from(["required", "readonly", "min", "max", "minlength", "maxlength"]),
    st.one_of(st.none(), st.text(max_size=8), st.integers()),
    max_size=3,
)
random_fields = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["a", "b", "c"]), "type": field_types, "constraints": constraints},
        optional={
            "options": st.lists(st.fixed_dictionaries({"id": st.text(max_size=4)}), max_size=3),
            "default": values,
        },
    ),
    max_size=4,
)


@SETTINGS
@given(st.one_of(st.sampled_from(FORMS), random_fields), st.dictionaries(st.text(max_size=30), values))
def test_form_coercion_never_raises(fields, raw):
    for field in fields:  # every field of the form gets a hostile value too
        raw.setdefault(field["id"], raw.get(field["id"], "x"))
    typed, errors = forms.coerce_values(fields, raw)
    assert set(errors) <= {f["id"] for f in fields}
    assert all(isinstance(message, str) and message for message in errors.values())
    assert not set(typed) - {f["id"] for f in fields}, "an extra input became a variable"
    for value in typed.values():
        assert (
            not isinstance(value, list | dict)
            or value == []
            or value == {}
            or isinstance(value, date)
            or True
        )


# --- randomly mutated diagrams ------------------------------------------------------------------


def _mutate(text: str, seed: int) -> str:
    rng = random.Random(seed)
    root = etree.fromstring(text.encode())
    elements = [e for e in root.iter() if isinstance(e.tag, str)][1:]
    for _ in range(rng.randint(1, 3)):
        element = rng.choice(elements)
        kind = rng.randrange(6)
        if kind == 0 and element.getparent() is not None:
            element.getparent().remove(element)  # an element vanishes (flows dangle)
        elif kind == 1 and element.attrib:
            name = rng.choice(list(element.attrib))
            element.set(name, rng.choice(["", "x", "${", "${1/0}", "P", "R/PT0S", "-1", "ö" * 3, "a b"]))
        elif kind == 2 and element.get("id"):
            element.set("id", rng.choice(elements).get("id") or "dup")  # a duplicate id
        elif kind == 3:
            element.text = rng.choice(["${", "${x +}", "", "<", "PT-1D", "${__import__('os')}"])
        elif kind == 4 and element.getparent() is not None:
            element.getparent().append(element)  # moved to the end of its parent
        else:
            element.tag = element.tag + "X"  # an unknown element
    mutated = etree.tostring(root, encoding="unicode")
    if rng.random() < 0.1:
        mutated = mutated[: rng.randrange(len(mutated))]  # truncated file
    return mutated


@pytest.fixture(scope="module")
def deployer(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'deploy.db'}"
    upgrade(url)
    orch = Orchestrator(url, ksdpl_registry)
    yield orch
    orch.close()


PROBLEM = re.compile(r"^\S+: \S+: .+", re.S)


def _deploys_or_refuses(orch: Orchestrator, files: dict[str, str]) -> str:
    with orch.session() as s:
        before = s.scalar(select(func.count(ProcessDefinition.id)))
    try:
        orch.deploy(files, user="uji")
    except DeploymentRejected as refused:
        assert refused.problems and all(PROBLEM.match(p) for p in refused.problems), refused.problems
        assert not any("Traceback" in p for p in refused.problems)
        with orch.session() as s:
            assert s.scalar(select(func.count(ProcessDefinition.id))) == before, "a half-made version"
        return "refused"
    return "deployed"


@DEPLOY_SETTINGS
@given(st.integers(min_value=0, max_value=2**32))
def test_a_mutated_ksdpl_diagram_deploys_or_is_refused_by_element(deployer, seed):
    _deploys_or_refuses(deployer, {"ksdpl.bpmn": _mutate(BPMN, seed), "kelayakan.dmn": DMN})


@DEPLOY_SETTINGS
@given(st.integers(min_value=0, max_value=2**32))
def test_a_mutated_dmn_deploys_or_is_refused_by_element(deployer, seed):
    _deploys_or_refuses(deployer, {"ksdpl.bpmn": BPMN, "kelayakan.dmn": _mutate(DMN, seed)})

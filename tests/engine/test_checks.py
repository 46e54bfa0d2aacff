"""Deploy-time checks: every broken diagram is refused whole, naming file, element and problem."""

from __future__ import annotations

import pytest

from engine.checks import check_files
from tests.engine.conftest import REVIEW, Calls, make_registry

REGISTRY = make_registry(Calls())


def problems(text: str, name: str = "review.bpmn", extra: dict | None = None) -> list[str]:
    return check_files({name: text, **(extra or {})}, REGISTRY)


def test_the_fixture_is_clean():
    assert problems(REVIEW) == []


def test_malformed_xml():
    [problem] = problems(REVIEW[:500])
    assert problem.startswith("review.bpmn: -: not well-formed XML")


def test_not_bpmn():
    [problem] = problems("<html><body>hello</body></html>", name="page.bpmn")
    assert problem.startswith("page.bpmn: -: not a BPMN 2.0 or DMN file")


def test_schema_violation_names_the_element():
    broken = REVIEW.replace("<bpmn:incoming>Flow_3</bpmn:incoming>", "<bpmn:bogus>Flow_3</bpmn:bogus>")
    found = problems(broken)
    assert found and all("BPMN schema" in p for p in found)
    assert any(p.startswith("review.bpmn: Review:") for p in found)


def test_unknown_topic():
    found = problems(REVIEW.replace('camunda:topic="test.score"', 'camunda:topic="test.nope"'))
    assert found == ["review.bpmn: Score: no handler registered for topic 'test.nope' (known: test.score)"]


@pytest.mark.parametrize(
    "binding",
    [
        'camunda:class="org.example.Score"',
        'camunda:delegateExpression="${score}"',
        'camunda:expression="${score.run()}"',
    ],
)
def test_java_bindings_are_refused_with_what_to_use(binding):
    text = REVIEW.replace('camunda:type="external" camunda:topic="test.score"', binding)
    [problem] = problems(text)
    assert problem.startswith("review.bpmn: Score: bound to Java")
    assert 'camunda:type="external"' in problem


@pytest.mark.parametrize("language", ["javascript", "python"])
def test_script_tasks_are_refused_whatever_the_language(language):
    text = REVIEW.replace(
        '<bpmn:endEvent id="Approved" name="Disetujui">',
        '<bpmn:scriptTask id="Js" name="JS" scriptFormat="LANG"><bpmn:script>1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="Approved" name="Disetujui">'.replace("LANG", language),
    )
    assert (
        "review.bpmn: Js: script tasks do not run here; "
        "use a service task with a handler, or an expression" in problems(text)
    )


def test_user_task_nobody_can_do():
    text = REVIEW.replace(' camunda:candidateGroups="pemda"', "")
    assert problems(text) == [
        "review.bpmn: Draft: a user task needs camunda:candidateGroups, candidateUsers or assignee"
    ]


def test_expression_that_does_not_parse():
    text = REVIEW.replace('${keputusan == "revisi"}', "${keputusan == }")
    [problem] = problems(text)
    assert problem.startswith("review.bpmn: Flow_revise: condition does not parse")


@pytest.mark.parametrize(
    "evil",
    [
        '${__import__("os").system("id")}',
        "${().__class__.__base__}",
        '${open("/etc/passwd")}',
        "${(lambda: 1)()}",
    ],
)
def test_malicious_expression_is_refused(evil):
    text = REVIEW.replace('${keputusan == "revisi"}', evil.replace('"', "&quot;"))
    [problem] = problems(text)
    assert problem.startswith("review.bpmn: Flow_revise: condition")


def test_unknown_function():
    text = REVIEW.replace("add_working_days(today(), 3)", "add_workdays(today(), 3)")
    [problem] = problems(text)
    assert problem.startswith("review.bpmn: ReviewTimeout: timeDate calls unknown function(s) add_workdays")


def test_timer_without_definition():
    text = REVIEW.replace(
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${end_of_day(add_working_days(today(), 3))}</bpmn:timeDate>',
        "",
    )
    assert problems(text) == [
        "review.bpmn: ReviewTimeout: a timer needs a timeDate, timeDuration or timeCycle"
    ]


def test_missing_decision():
    text = REVIEW.replace(
        '<bpmn:serviceTask id="Score" name="Hitung skor" camunda:type="external" camunda:topic="test.score" '
        'camunda:asyncBefore="true">',
        '<bpmn:businessRuleTask id="Score" name="Hitung skor" camunda:decisionRef="skor">',
    ).replace("</bpmn:serviceTask>", "</bpmn:businessRuleTask>")
    found = problems(text)
    assert "review.bpmn: Score: decision 'skor' is not in this deployment (found: none)" in found


def test_missing_called_process():
    text = REVIEW.replace(
        '<bpmn:serviceTask id="Score" name="Hitung skor" camunda:type="external" camunda:topic="test.score" '
        'camunda:asyncBefore="true">',
        '<bpmn:callActivity id="Score" name="Hitung skor" calledElement="scoring">',
    ).replace("</bpmn:serviceTask>", "</bpmn:callActivity>")
    assert "review.bpmn: Score: called process 'scoring' is not in this deployment" in problems(text)


def test_gateway_flow_without_condition_would_stall():
    text = REVIEW.replace(' default="Flow_approve"', "")
    assert problems(text) == [
        "review.bpmn: Flow_approve: flow out of gateway Decision has no condition and is not the default flow"
    ]


def test_message_catch_would_wait_forever():
    text = REVIEW.replace(
        '<bpmn:timerEventDefinition id="TimerDef_1">',
        '<bpmn:messageEventDefinition id="Msg_1" /><bpmn:timerEventDefinition id="TimerDef_1">',
    )
    assert any("message catch event is not supported" in p for p in problems(text))


def test_camunda_8_file_is_refused():
    text = REVIEW.replace(
        'modeler:executionPlatform="Camunda Platform"', 'modeler:executionPlatform="Camunda Cloud"'
    )
    [problem] = problems(text)
    assert "Camunda 8" in problem


def test_bad_form_definition():
    text = REVIEW.replace('type="textarea"', 'type="richtext"').replace(
        'name="max" config="50"', 'name="max" config="x"'
    )
    found = problems(text)
    assert (
        "review.bpmn: Draft: form field 'isi' has type 'richtext'; use one of boolean, date, enum, file, long, string, textarea"
        in found
    )
    assert "review.bpmn: Draft: form field 'jumlah': constraint max needs a number" in found


def test_every_problem_is_listed_at_once():
    text = REVIEW.replace('camunda:topic="test.score"', 'camunda:topic="x"').replace(
        ' camunda:candidateGroups="pemda"', ""
    )
    assert len(problems(text)) == 2


def test_handler_property_missing_on_its_element():
    registry = make_registry(Calls())

    @registry.service("test.deadline", properties={"hari_kerja": "Jumlah hari kerja"})
    def deadline(ctx):
        return {}

    text = REVIEW.replace('camunda:topic="test.score"', 'camunda:topic="test.deadline"')
    assert check_files({"review.bpmn": text}, registry) == [
        "review.bpmn: Score: handler 'test.deadline' needs the camunda:property 'hari_kerja' (Jumlah hari kerja)"
    ]
    with_property = text.replace(
        '<camunda:property name="stage" value="2" />\n        </camunda:properties>\n'
        "      </bpmn:extensionElements>\n      <bpmn:incoming>Flow_2</bpmn:incoming>",
        '<camunda:property name="stage" value="2" />\n<camunda:property name="hari_kerja" '
        'value="45" />\n        </camunda:properties>\n      </bpmn:extensionElements>\n'
        "      <bpmn:incoming>Flow_2</bpmn:incoming>",
    )
    assert check_files({"review.bpmn": with_property}, registry) == []


def test_a_stage_the_process_does_not_name_is_refused():
    text = REVIEW.replace('<camunda:property name="stage.4" value="Keputusan" />\n', "")
    assert problems(text) == [
        f"review.bpmn: {element}: stage 4 has no name: add the process property 'stage.4' (the stage's name)"
        for element in ("Approved", "DeemedApproved")
    ]

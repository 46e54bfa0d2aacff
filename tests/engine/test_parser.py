"""The Camunda 7 dialect: what Camunda Modeler 5 writes is read and runs."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.calendar import WorkingCalendar
from engine.parser import parse_files
from engine.runtime import Case, ext
from engine.scripting import ExpressionScriptEngine, build_functions
from tests.engine.conftest import REVIEW


def _parsed():
    return parse_files({"review.bpmn": REVIEW})[0]


def test_reads_modeler_platform_and_start_form():
    parsed = _parsed()
    assert parsed.key == "review"
    assert parsed.execution_platform == "Camunda Platform"
    assert parsed.execution_platform_version == "7.24.0"
    assert [f["id"] for f in parsed.start_form] == ["judul"]
    assert parsed.start_form[0]["constraints"] == {"required": None, "maxlength": "100"}


def test_reads_camunda_attributes_spiff_ignores():
    specs = _parsed().spec.task_specs
    review = specs["Review"].extensions
    assert review["candidate_groups"] == ["kemendagri", "kemenlu"]
    assert review["candidate_users"] == ["auditor"]
    assert review["priority"] == "60"
    assert review["follow_up_date"].startswith("${end_of_day(")
    assert review["handler"] == "test.review"
    assert review["stage"] == 3
    assert [f["id"] for f in review["form"]] == ["keputusan"]
    assert review["form"][0]["options"] == [
        {"id": "setuju", "name": "Setuju"},
        {"id": "revisi", "name": "Revisi"},
    ]
    draft = specs["Draft"].extensions
    assert draft["due_date"] == "${end_of_day(add_working_days(today(), 5))}"
    assert draft["form"][1]["constraints"] == {"min": "1", "max": "50"}
    score = specs["Score"].extensions
    assert (score["camunda_type"], score["topic"], score["async_before"]) == ("external", "test.score", True)
    assert score["retry_cycle"] == "R2/PT1M"
    # properties are read on events and gateways too, which SpiffWorkflow's parser skips
    assert specs["Decision"].extensions["stage"] == 3
    assert specs["ReviewTimeout"].extensions["stage"] == 3


def _engine():
    return ExpressionScriptEngine(build_functions(WorkingCalendar(), "Asia/Jakarta"), "Asia/Jakarta")


def test_runs_with_juel_conditions_and_external_tasks():
    case = Case.create(_parsed(), _engine(), {"judul": "Uji"})
    [draft] = case.ready_user_tasks()
    assert draft.task_spec.bpmn_id == "Draft"
    case.complete_user_task(str(draft.id), {"isi": "abc", "jumlah": 2})
    [job] = case.open_jobs()
    assert ext(job)["topic"] == "test.score"
    case.complete_job(str(job.id), {"skor": 3})
    [review] = case.ready_user_tasks()
    assert [t.bpmn_id for t in case.waiting_timers()] == ["ReviewTimeout"]
    case.complete_user_task(str(review.id), {"keputusan": "revisi"})  # ${keputusan == "revisi"} loops back
    assert [t.task_spec.bpmn_id for t in case.ready_user_tasks()] == ["Draft"]


def test_state_round_trips_without_the_spec():
    parsed = _parsed()
    case = Case.create(parsed, _engine(), {"judul": "Uji"})
    text = case.dump()
    assert '"spec"' not in text[:200] and "task_specs" not in text
    again = Case.load(text, parsed, _engine())
    assert isinstance(again.workflow, BpmnWorkflow)
    assert [t.task_spec.bpmn_id for t in again.workflow.get_tasks(state=TaskState.READY)] == ["Draft"]
    assert again.dump() == text

"""The orchestrator on a real database (SQLite, and PostgreSQL when configured): steps,
projections, versions, jobs, timers, conflicts and refusals that change nothing."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.errors import Conflict, DeploymentRejected, Forbidden, NotFound, ValidationFailed
from engine.models import AuditEvent, Incident, Instance, Job, OutboxMessage, ProcessDefinition, Task, Timer
from engine.service import Orchestrator
from tests.conftest import FIXTURES
from tests.engine.conftest import REVIEW, actor
from tests.statements import statements_sent

MONDAY = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)  # 09:00 WIB, an ordinary working week


def ready(orch: Orchestrator, instance_id: int) -> list[Task]:
    with orch.session() as s:
        return list(s.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "ready")))


def snapshot(orch: Orchestrator, instance_id: int) -> dict:
    """Everything a refused command must leave as it was."""
    with orch.session() as s:
        instance = s.get(Instance, instance_id)
        return {
            "lock": instance.lock_version,
            "state": instance.state,
            "tasks": sorted(
                (t.id, t.status, t.assignee)
                for t in s.scalars(select(Task).where(Task.instance_id == instance_id))
            ),
            "jobs": s.scalar(select(func.count()).select_from(Job)),
            "audit": s.scalar(select(func.count()).select_from(AuditEvent)),
        }


def start(orch: Orchestrator, region: str = "3171") -> int:
    return orch.start("review", region, {"judul": "Kerja sama uji"}, user="budi")


def through_draft(orch: Orchestrator, instance_id: int, isi: str = "isi draf") -> None:
    [draft] = ready(orch, instance_id)
    orch.complete_task(draft.id, {"isi": isi, "jumlah": "2"}, user="budi")
    orch.run_due()


def test_start_projects_the_first_task_with_due_date(deployed):
    clock.set(MONDAY)
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    assert (draft.name, draft.stage, draft.candidate_groups) == ("Susun draf", 2, "pemda")
    # five working days after Monday 5 April 2027 is Monday 12 April; due at its end, 00:00 WIB
    assert draft.due_at == datetime(2027, 4, 12, 17, 0, tzinfo=UTC)
    assert json.loads(draft.form)[0]["id"] == "isi"
    with deployed.session() as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.stage, instance.title, instance.process_version) == (
            "running",
            2,
            "Kerja sama uji",
            1,
        )
        assert instance.spiff_version.startswith("3.2.0/")


def test_full_path_with_job_timer_handler_and_outbox(deployed):
    clock.set(MONDAY)
    instance_id = start(deployed)
    through_draft(deployed, instance_id, isi="abcd")
    [review] = ready(deployed, instance_id)
    assert review.candidate_groups == "kemendagri,kemenlu" and review.priority == 60
    with deployed.session() as s:
        [timer] = s.scalars(select(Timer).where(Timer.instance_id == instance_id))
        assert timer.interrupting and timer.due_at == datetime(2027, 4, 8, 17, 0, tzinfo=UTC)
    result = deployed.complete_task(review.id, {"keputusan": "setuju"}, user="sari")
    assert (result.status, result.stage) == ("completed", 4)
    with deployed.session() as s:
        instance = s.get(Instance, instance_id)
        assert json.loads(instance.variables)["ditinjau_oleh"] == "sari"
        assert s.scalar(select(func.count()).select_from(Timer)) == 0
        [message] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pesan"))
        assert (message.recipient_group, message.region_code, message.subject) == (
            "pemda",
            "3171",
            "Draf ditinjau: setuju",
        )
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
            )
        )
        assert actions == ["start", "complete", "job", "complete", "completed"]


def test_boundary_timer_fires_even_when_missed_while_worker_was_down(deployed):
    clock.set(MONDAY)
    instance_id = start(deployed)
    through_draft(deployed, instance_id)
    [review] = ready(deployed, instance_id)
    clock.set(MONDAY + timedelta(days=3))  # Thursday 09:00: not yet due
    assert deployed.run_due().timers_fired == 0
    clock.set(MONDAY + timedelta(days=40))  # the worker was down for weeks
    assert deployed.run_due().timers_fired == 1
    with deployed.session() as s:
        instance = s.get(Instance, instance_id)
        # the stage the process names, not the element the case ended on ("Dianggap disetujui")
        assert (instance.status, instance.stage, instance.stage_name) == ("completed", 4, "Keputusan")
        assert s.get(Task, review.id).status == "cancelled"


def test_handler_refusal_keeps_the_task_ready_and_changes_nothing(deployed):
    instance_id = start(deployed)
    through_draft(deployed, instance_id, isi="ab")  # skor 2
    [review] = ready(deployed, instance_id)
    before = snapshot(deployed, instance_id)
    with pytest.raises(ValidationFailed) as err:
        deployed.complete_task(review.id, {"keputusan": "setuju"})
    assert err.value.errors == {"keputusan": "Skor terlalu rendah untuk disetujui"}
    assert snapshot(deployed, instance_id) == before


@pytest.mark.parametrize(
    "values, errors",
    [
        ({"jumlah": "2"}, {"isi": "Wajib diisi"}),
        ({"isi": "x", "jumlah": "99"}, {"jumlah": "Paling besar 50"}),
        ({"isi": "x", "jumlah": "dua"}, {"jumlah": "Harus berupa bilangan bulat"}),
    ],
)
def test_form_constraints_refuse_bad_values(deployed, values, errors):
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    before = snapshot(deployed, instance_id)
    with pytest.raises(ValidationFailed) as err:
        deployed.complete_task(draft.id, values)
    assert err.value.errors == errors
    assert snapshot(deployed, instance_id) == before


def test_unknown_task_and_double_completion(deployed):
    instance_id = start(deployed)
    with pytest.raises(NotFound):
        deployed.complete_task("00000000-0000-0000-0000-000000000000", {})
    [draft] = ready(deployed, instance_id)
    deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"})
    before = snapshot(deployed, instance_id)
    with pytest.raises(Conflict, match="sudah diselesaikan"):
        deployed.complete_task(draft.id, {"isi": "y", "jumlah": "1"})
    assert snapshot(deployed, instance_id) == before


def test_bad_start_changes_nothing(deployed):
    with pytest.raises(ValidationFailed) as err:
        deployed.start("review", "3171", {"judul": "x" * 101})
    assert err.value.errors == {"judul": "Paling banyak 100 karakter"}
    with pytest.raises(NotFound):
        deployed.start("review", "0000", {"judul": "x"})
    with pytest.raises(NotFound):
        deployed.start("nope", "3171", {"judul": "x"})
    with deployed.session() as s:
        assert s.scalar(select(func.count()).select_from(Instance)) == 0


def test_authorisation_by_region_and_group(deployed):
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    before = snapshot(deployed, instance_id)
    other_region = actor("dprd_b", "pemda", "9171")
    with pytest.raises(NotFound):
        deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=other_region)
    wrong_group = actor("dprd_a", "dprd", "3171")
    with pytest.raises(Forbidden):
        deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=wrong_group)
    with pytest.raises(Forbidden):
        deployed.start("review", "3171", {"judul": "x"}, actor=actor("k", "kemenlu"))
    assert snapshot(deployed, instance_id) == before
    deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=actor("budi", "pemda", "3171"))


def test_who_may_start_comes_from_the_diagram_and_the_policy(deployed):
    # review.bpmn: camunda:candidateStarterGroups="pemda"; pemda is a regional group
    deployed.start("review", "3171", {"judul": "x"}, actor=actor("budi", "pemda", "3171"))
    deployed.start("review", "9171", {"judul": "x"}, actor=actor("op", "operator"))
    for outsider in (actor("budi", "pemda", "3171"), actor("d", "dprd", "9171"), actor("k", "kemenlu")):
        with pytest.raises(Forbidden, match="Hanya Pemerintah Daerah wilayah ini yang dapat memulai"):
            deployed.start("review", "9171", {"judul": "x"}, actor=outsider)
    # a process naming no starters: anyone who would see the case (Camunda 7 without starters)
    deployed.deploy({"wait.bpmn": (FIXTURES / "wait.bpmn").read_text()})
    deployed.start("wait", "9171", {}, actor=actor("d", "dprd", "9171"))
    deployed.start("wait", "9171", {}, actor=actor("k", "kemenlu"))
    with pytest.raises(Forbidden):
        deployed.start("wait", "9171", {}, actor=actor("d", "dprd", "3171"))
    assert deployed.may_start(actor("budi", "pemda", "3171"), "review", "3171")
    assert not deployed.may_start(actor("budi", "pemda", "3171"), "review", "9171")


def test_claimed_task_is_taken(deployed):
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    budi, ani = actor("budi", "pemda", "3171"), actor("ani", "pemda", "3171")
    deployed.claim(draft.id, budi)
    with pytest.raises(Conflict, match="sudah diambil oleh budi"):
        deployed.claim(draft.id, ani)
    with pytest.raises(Conflict, match="sedang dikerjakan oleh budi"):
        deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=ani)
    deployed.unclaim(draft.id, budi)
    deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=ani)


def test_claims_read_the_task_alone_not_the_cases_stored_state(deployed):
    """Claiming, asking for a release, releasing and reassigning change the task's row: none of
    them reads the case's stored state (up to 15 KB), which only a step needs."""
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    budi, ani = actor("budi", "pemda", "3171"), actor("ani", "pemda", "3171")
    with statements_sent(deployed.db) as sent:
        deployed.claim(draft.id, budi)
        deployed.request_release(draft.id, ani, "cuti")
        deployed.unclaim(draft.id, budi)
        deployed.assign(draft.id, None, user="operator")
    assert any("FROM tasks" in line for line in sent)
    assert not [line for line in sent if "instances.state" in line]
    with statements_sent(deployed.db) as sent:
        deployed.complete_task(draft.id, {"isi": "x", "jumlah": "1"}, actor=ani)
    assert any("instances.state" in line for line in sent)  # a step loads the case


def test_failing_job_retries_with_backoff_then_incident_then_retry(deployed, calls):
    clock.set(MONDAY)
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    deployed.complete_task(draft.id, {"isi": "abcd", "jumlah": "1"})
    calls.fail_times = 5
    assert deployed.run_due().jobs_failed == 1  # try 1 of 2 (R2/PT1M)
    assert deployed.run_due().total == 0  # backoff: not due again yet
    clock.advance(timedelta(minutes=1))
    report = deployed.run_due()
    assert (report.jobs_failed, report.incidents) == (1, 1)
    with deployed.session() as s:
        [incident] = s.scalars(select(Incident))
        assert "layanan skor tidak menjawab" in incident.message and "RuntimeError" in incident.traceback
        assert s.get(Job, incident.job_id).status == "failed"
    clock.advance(timedelta(hours=1))
    assert deployed.run_due().total == 0  # the path stays stopped until an operator retries
    calls.fail_times = 0
    deployed.retry(incident.id, user="operator")
    with pytest.raises(Conflict):
        deployed.retry(incident.id, user="operator")
    assert deployed.run_due().jobs_run == 1
    assert [t.name for t in ready(deployed, instance_id)] == ["Tinjau"]
    assert len(calls.score) == 3


def test_cancel(deployed):
    clock.set(MONDAY)
    instance_id = start(deployed)
    deployed.cancel(instance_id, user="operator")
    with deployed.session() as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.ended_at) == ("cancelled", MONDAY)
        assert [t.status for t in s.scalars(select(Task))] == ["cancelled"]
        # a cancelled case is not also a completed one (finding 7a)
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == instance_id)).all()
        assert actions == ["start", "cancel"]
    with pytest.raises(Conflict):
        deployed.cancel(instance_id, user="operator")


def test_versions_and_running_cases_stay_on_theirs(deployed):
    old_case = start(deployed)
    assert deployed.deploy({"review.bpmn": REVIEW})[0].changed is False
    changed = REVIEW.replace('name="Susun draf"', 'name="Susun rancangan"')
    [result] = deployed.deploy({"review.bpmn": changed})
    assert (result.version, result.changed) == (2, True)
    new_case = start(deployed)
    assert ready(deployed, old_case)[0].name == "Susun draf"
    assert ready(deployed, new_case)[0].name == "Susun rancangan"
    with deployed.session() as s:
        assert [i.process_version for i in s.scalars(select(Instance).order_by(Instance.id))] == [1, 2]
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 2
    # the old version still runs after a restart (fresh cache)
    fresh = Orchestrator(deployed.database_url, deployed.registry)
    through_draft(fresh, old_case)
    assert ready(fresh, old_case)[0].name == "Tinjau"
    fresh.close()


def test_broken_deployment_is_refused_whole(deployed):
    with pytest.raises(DeploymentRejected) as err:
        deployed.deploy({"review.bpmn": REVIEW.replace("test.score", "test.unknown")})
    assert err.value.problems == [
        "review.bpmn: Score: no handler registered for topic 'test.unknown' (known: test.score)"
    ]
    with deployed.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 1


def test_documents_belong_to_their_case(deployed):
    a, b = start(deployed), start(deployed)
    doc = deployed.add_document(a, "kajian.pdf", "application/pdf", b"%PDF-1.4 x", user="budi")
    with deployed.session() as s:
        from engine.models import Document

        assert len(s.get(Document, doc).sha256) == 64
    with pytest.raises(NotFound):
        deployed.add_document(b, "x.pdf", "application/pdf", b"x", actor=actor("z", "pemda", "9171"))


def test_a_file_for_a_task_is_checked_against_its_case_the_task_and_the_actor(deployed):
    from engine.models import Document

    a, b = start(deployed), start(deployed)
    [draft] = ready(deployed, a)
    pemda = actor("budi", "pemda", "3171")
    doc = deployed.add_document(a, "draf.pdf", "application/pdf", b"%PDF-1.4 x", pemda, draft.id, "lampiran")
    with deployed.session() as s:
        stored = s.get(Document, doc)
        assert (stored.instance_id, stored.task_id, stored.field, stored.uploaded_by) == (
            a,
            draft.id,
            "lampiran",
            "budi",
        )
        assert stored.stage == draft.stage == s.get(Instance, a).stage
    upload = ("x.pdf", "application/pdf", b"%PDF-1.4 x")
    with pytest.raises(NotFound, match="Tugas tidak ditemukan"):  # another case's task
        deployed.add_document(b, *upload, pemda, draft.id)
    with pytest.raises(NotFound, match="Kasus tidak ditemukan"):  # no such case: named first
        deployed.add_document(b + 1000, *upload, pemda, draft.id)
    with pytest.raises(NotFound, match="Kasus tidak ditemukan"):  # another region's case
        deployed.add_document(a, *upload, actor("z", "pemda", "9171"), draft.id)
    with pytest.raises(Forbidden):  # not a group the task is offered to
        deployed.add_document(a, *upload, actor("k", "kemendagri"), draft.id)
    deployed.complete_task(draft.id, {"isi": "isi", "jumlah": "2"}, user="budi")
    with pytest.raises(Conflict, match="sudah diselesaikan"):
        deployed.add_document(a, *upload, pemda, draft.id)
    with deployed.session() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1


def test_two_writers_on_one_case_exactly_one_wins(deployed):
    instance_id = start(deployed)
    [draft] = ready(deployed, instance_id)
    before = snapshot(deployed, instance_id)
    barrier = threading.Barrier(2, timeout=20)
    deployed.after_load = lambda _id: barrier.wait()
    outcomes: list[object] = []

    def complete(isi: str) -> None:
        try:
            outcomes.append(deployed.complete_task(draft.id, {"isi": isi, "jumlah": "1"}))
        except Exception as err:  # noqa: BLE001 - the loser's error is the point
            outcomes.append(err)

    threads = [threading.Thread(target=complete, args=(isi,)) for isi in ("pertama", "kedua")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    deployed.after_load = None
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(errors) == 1
    assert isinstance(errors[0], Conflict), errors[0]
    after = snapshot(deployed, instance_id)
    assert after["lock"] == before["lock"] + 1  # one step, not two
    with deployed.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "complete")) == 1
        )


def test_calendar_override_moves_deadlines_of_its_region_only(deployed):
    from datetime import date

    clock.set(MONDAY)
    deployed.set_calendar_override(date(2027, 4, 7), True, None, "Libur nasional tambahan", user="operator")
    deployed.set_calendar_override(date(2027, 4, 8), True, "9171", "Libur daerah Kota B", user="operator")
    a, b = start(deployed, "3171"), start(deployed, "9171")
    # Kota A: Tue 6, Thu 8, Fri 9, Mon 12, Tue 13 -> end of Tue 13 April (WIB)
    assert ready(deployed, a)[0].due_at == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)
    # Kota B also loses Thursday 8: Tue 6, Fri 9, Mon 12, Tue 13, Wed 14 -> end of Wed 14 April (WIT)
    assert ready(deployed, b)[0].due_at == datetime(2027, 4, 14, 15, 0, tzinfo=UTC)
    with pytest.raises(NotFound):
        deployed.set_calendar_override(date(2027, 4, 9), True, "0000")


def test_failure_after_a_timer_becomes_an_incident_not_a_crash(orch):
    # the timeout path now meets a gateway whose condition needs a variable nobody set yet
    broken = REVIEW.replace(
        '<bpmn:sequenceFlow id="Flow_timeout" name="Lewat batas" sourceRef="ReviewTimeout" targetRef="DeemedApproved" />',
        '<bpmn:sequenceFlow id="Flow_timeout" name="Lewat batas" sourceRef="ReviewTimeout" targetRef="Decision" />',
    ).replace("<bpmn:incoming>Flow_timeout</bpmn:incoming>", "")
    orch.deploy({"review.bpmn": broken})
    clock.set(MONDAY)
    instance_id = start(orch)
    through_draft(orch, instance_id)
    before = snapshot(orch, instance_id)
    clock.advance(timedelta(days=30))
    report = orch.run_due()
    assert (report.timers_fired, report.incidents) == (0, 1)
    with orch.session() as s:
        [incident] = s.scalars(select(Incident))
        assert "keputusan" in incident.message
    assert snapshot(orch, instance_id)["state"] == before["state"]
    assert orch.run_due().total == 0  # the timer waits for an operator, it does not fail every tick
    orch.retry(incident.id, user="operator")
    assert orch.run_due().incidents == 1  # still broken: a new incident, the case still unchanged


def test_declared_lists_are_seeded_once_and_operator_edits_stay(orch):
    from engine.models import LookupValue

    orch.registry.lookup_list("negara_uji", {"IL": "Israel", "XK": "Kosovo"})
    assert orch.seed_lookups() == {"negara_uji": 2}
    with orch.uow() as uow:
        uow.session.delete(uow.session.get(LookupValue, ("negara_uji", "XK")))
        uow.commit()
    assert orch.seed_lookups() == {}
    with orch.session() as s:
        assert list(s.scalars(select(LookupValue.code).where(LookupValue.list_name == "negara_uji"))) == [
            "IL"
        ]


def test_a_decree_moves_waiting_working_day_deadlines(deployed):
    from datetime import date

    clock.set(MONDAY)
    a, b = start(deployed, "3171"), start(deployed, "9171")
    through_draft(deployed, a)  # Kota A waits in review: boundary timer at the end of Thu 8 April
    with deployed.session() as s:
        assert s.scalars(select(Timer.due_at).where(Timer.instance_id == a)).one() == datetime(
            2027, 4, 8, 17, 0, tzinfo=UTC
        )
    assert ready(deployed, b)[0].due_at == datetime(2027, 4, 12, 15, 0, tzinfo=UTC)  # Kota B's draft, WIT
    before_b = snapshot(deployed, b)
    queued = deployed.set_calendar_override(date(2027, 4, 7), True, "3171", "Libur daerah", user="operator")
    assert queued.cases == 1  # Kota A's running cases only
    assert deployed.run_due().cases_reevaluated == 1
    with deployed.session() as s:
        # Wed 7 April is now a day off in Kota A: the timer moves to the end of Fri 9 April
        assert s.scalars(select(Timer.due_at).where(Timer.instance_id == a)).one() == datetime(
            2027, 4, 9, 17, 0, tzinfo=UTC
        )
        assert (
            s.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == a)).all()[-1] == "recompute"
        )
    after_b = snapshot(deployed, b)
    assert (after_b["lock"], after_b["state"], after_b["tasks"]) == (
        before_b["lock"],
        before_b["state"],
        before_b["tasks"],
    )
    assert (
        deployed.set_calendar_override(date(2027, 4, 6), True, None, "Cuti bersama", user="operator").cases
        == 2
    )
    assert deployed.run_due().cases_reevaluated == 2
    assert ready(deployed, b)[0].due_at == datetime(2027, 4, 13, 15, 0, tzinfo=UTC)  # draft due one day later


def test_stage_names_come_from_the_cases_version(deployed):
    def version_and_stage(instance_id: int) -> tuple[int, str]:
        with deployed.session() as s:
            instance = s.get(Instance, instance_id)
            return instance.definition_id, instance.stage_name

    old, old_name = version_and_stage(start(deployed))
    renamed = REVIEW.replace('value="Penyusunan"', 'value="Penyusunan draf"')
    deployed.deploy({"review.bpmn": renamed})
    new, new_name = version_and_stage(start(deployed))
    assert (old_name, new_name) == ("Penyusunan", "Penyusunan draf")
    assert deployed.stage_names(old)[2] == "Penyusunan" and deployed.stage_names(new)[2] == "Penyusunan draf"

    # a version deployed before its process named its stages shows the newest version's names
    names = REVIEW.index(
        '    <bpmn:extensionElements>\n      <camunda:properties>\n        <camunda:property name="stage.1"'
    )
    unnamed = REVIEW[:names] + REVIEW[REVIEW.index("    <bpmn:startEvent") :]
    deployed.deploy({"review.bpmn": unnamed})
    unnamed_version, unnamed_name = version_and_stage(start(deployed))
    assert unnamed_name is None and deployed.stage_names(unnamed_version) == {}
    deployed.deploy({"review.bpmn": renamed})
    assert deployed.stage_names(unnamed_version)[2] == "Penyusunan draf"

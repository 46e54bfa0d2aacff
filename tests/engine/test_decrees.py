"""Calendar decrees are durable work (finding 5): `calendar set` queues every running case of its
region in the same transaction as the override; the worker re-evaluates each in a step of its
own, retrying conflicts and skipping ended cases, and moves due dates, date timers and the
variables a handler derived from the calendar. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.errors import Conflict, NotFound
from engine.models import AuditEvent, DecreeJob, Instance, Task, TaskCandidate, Timer
from engine.projections import CALENDAR_VERSION
from engine.registry import HandlerRegistry
from engine.service import Orchestrator
from engine.views import CalendarCache
from tests.engine.conftest import REVIEW, add_regions

MONDAY = datetime(2027, 4, 5, 2, 0, tzinfo=UTC)  # Mon 5 April 2027, 09:00 WIB
WEDNESDAY = date(2027, 4, 7)  # the day the decree takes off
# The review's deadline is a variable the score handler derives from the calendar.
DERIVED = REVIEW.replace("${end_of_day(add_working_days(today(), 3))}", "${end_of_day(batas_tinjau)}")
CASES = 200


def derived_registry() -> HandlerRegistry:
    registry = HandlerRegistry()

    def batas(ctx):
        return {"batas_tinjau": ctx.calendar.add_working_days(ctx.today, 3)}

    @registry.service("test.score", calendar_derived={"batas_tinjau": "Batas tinjauan"}, recompute=batas)
    def score(ctx):
        return {"skor": len(ctx.variables["isi"]), **batas(ctx)}

    @registry.user_task("test.review")
    def review(ctx):
        return {}

    return registry


@pytest.fixture
def orchestrators(db_url):
    """Three processes' orchestrators on one database: staff, the worker, an operator."""
    made = [Orchestrator(db_url, derived_registry()) for _ in range(3)]
    add_regions(made[0])
    made[0].deploy({"review.bpmn": DERIVED})
    yield made
    for orch in made:
        orch.close()


def draft_of(orch: Orchestrator, instance_id: int) -> str | None:
    with orch.session() as s:
        return s.scalar(
            select(Task.id).where(
                Task.instance_id == instance_id, Task.bpmn_id == "Draft", Task.status == "ready"
            )
        )


def test_a_decree_reaches_200_cases_while_staff_complete_tasks_on_them(orchestrators) -> None:
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    cases = [staff.start("review", "3171", {"judul": f"Kasus {n}"}, user="budi") for n in range(CASES)]
    completing = cases[::2]  # half move on to the review while the decree is applied
    progress = threading.Semaphore(0)
    done = threading.Event()
    errors: list[BaseException] = []
    conflicts = 0

    def complete_drafts() -> None:
        nonlocal conflicts
        try:
            for instance_id in completing:
                while True:
                    try:
                        staff.complete_task(draft_of(staff, instance_id), {"isi": "isi", "jumlah": "2"})
                        break
                    except Conflict:
                        conflicts += 1  # the decree's step came first: the staff member tries again
                progress.release()
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)

    def work() -> None:
        try:
            while not done.is_set():
                worker.run_due()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=complete_drafts), threading.Thread(target=work)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        assert progress.acquire(timeout=120)  # the decree lands while completions are under way
    queued = operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama", user="operator")
    assert queued.cases == CASES
    threads[0].join(timeout=600)
    done.set()
    threads[1].join(timeout=600)
    assert not errors, errors
    while worker.run_due().total:
        pass

    [status] = operator.calendar_status()
    assert (status["cases"], status["done"], status["skipped"], status["pending"], status["failed"]) == (
        CASES,
        CASES,
        0,
        0,
        0,
    )
    with operator.session() as s:
        ready = {t.instance_id: t for t in s.scalars(select(Task).where(Task.status == "ready"))}
        timers = {t.instance_id: t for t in s.scalars(select(Timer))}
        variables = {i.id: i.variables for i in s.scalars(select(Instance))}
        copied = {(c.task_id, c.due_at) for c in s.scalars(select(TaskCandidate))}
    # the inbox's copy of each deadline moved with it
    assert copied and copied <= {(task.id, task.due_at) for task in ready.values()}
    for instance_id in cases:
        task = ready[instance_id]
        if instance_id in completing:
            # Tue 6, Thu 8, Fri 9: the review's derived deadline and its timer, end of Fri 9 April WIB
            assert task.bpmn_id == "Review"
            assert timers[instance_id].due_at == datetime(2027, 4, 9, 17, 0, tzinfo=UTC), instance_id
            assert '"batas_tinjau": "2027-04-09"' in variables[instance_id]
            assert task.follow_up_at == datetime(2027, 4, 6, 17, 0, tzinfo=UTC)
        else:
            # Tue 6, Thu 8, Fri 9, Mon 12, Tue 13: the draft is due at the end of Tue 13 April WIB
            assert task.bpmn_id == "Draft"
            assert task.due_at == datetime(2027, 4, 13, 17, 0, tzinfo=UTC), instance_id


def test_ended_cases_are_skipped_and_other_regions_untouched(orchestrators) -> None:
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    running, cancelled = (staff.start("review", "3171", {"judul": "x"}) for _ in range(2))
    elsewhere = staff.start("review", "9171", {"judul": "x"})
    queued = operator.set_calendar_override(WEDNESDAY, True, "3171", "Libur daerah", user="operator")
    assert queued.cases == 2
    staff.cancel(cancelled, user="operator")  # ends before the worker gets to it
    report = worker.run_due()
    assert report.cases_reevaluated == 2
    with worker.session() as s:
        jobs = {j.instance_id: j.status for j in s.scalars(select(DecreeJob))}
        assert jobs == {running: "done", cancelled: "skipped"}
        history = s.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == running)).all()
        assert history[-1] == "recompute"
    assert draft_due(worker, running) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)
    assert draft_due(worker, elsewhere) == datetime(2027, 4, 12, 15, 0, tzinfo=UTC)  # Kota B, WIT
    with pytest.raises(NotFound):
        operator.set_calendar_override(WEDNESDAY, True, "0000")


def draft_due(orch: Orchestrator, instance_id: int) -> datetime:
    with orch.session() as s:
        return s.get(Task, draft_of(orch, instance_id)).due_at


def test_a_deadline_is_reevaluated_as_of_the_day_it_was_set(orchestrators) -> None:
    """ "5 working days from today" stays counted from the day the task arrived, not the decree's."""
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    instance_id = staff.start("review", "3171", {"judul": "x"})
    clock.set(datetime(2027, 4, 8, 2, 0, tzinfo=UTC))  # Thursday: the decree comes later
    operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama", user="operator")
    worker.run_due()
    assert draft_due(worker, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)


def test_a_failing_reevaluation_is_retried_then_reported_and_can_be_retried(
    orchestrators, monkeypatch
) -> None:
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    instance_id = staff.start("review", "3171", {"judul": "x"})

    def broken(*args, **kwargs):
        raise RuntimeError("kalender rusak")

    monkeypatch.setattr(worker, "_redate", broken)
    decree = operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama").decree_id
    for _ in range(3):
        assert worker.run_due().reevaluations_failed == 1
        assert worker.run_due().total == 0  # it backs off rather than failing on every tick
        clock.advance(timedelta(hours=1))
    [status] = operator.calendar_status()
    assert (status["failed"], status["pending"]) == (1, 0)
    assert status["failures"] == [{"instance": instance_id, "error": "RuntimeError: kalender rusak"}]
    monkeypatch.undo()
    assert operator.retry_decree(decree) == 1
    assert worker.run_due().cases_reevaluated == 1
    assert draft_due(worker, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)


def at_review(staff: Orchestrator, worker: Orchestrator) -> tuple[int, str]:
    instance_id = staff.start("review", "3171", {"judul": "x"})
    staff.complete_task(draft_of(staff, instance_id), {"isi": "isi", "jumlah": "2"})
    worker.run_due()  # the score job
    with staff.session() as s:
        review = s.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.bpmn_id == "Review"))
    return instance_id, review


def test_a_step_that_loaded_its_case_before_the_decree_loses_to_the_reevaluation(orchestrators) -> None:
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    instance_id, review = at_review(staff, worker)

    def decree_meanwhile(_id: int) -> None:
        staff.after_load = None
        operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama")
        assert worker.run_due().cases_reevaluated == 1

    staff.after_load = decree_meanwhile  # staff loaded the case on the old calendar
    with pytest.raises(Conflict):
        staff.complete_task(review, {"keputusan": "revisi"})
    staff.complete_task(review, {"keputusan": "revisi"})  # again, on the new calendar
    assert draft_due(staff, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)


def test_a_step_that_loaded_before_the_decree_and_committed_first_is_reevaluated(orchestrators) -> None:
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    instance_id, review = at_review(staff, worker)

    def decree_meanwhile(_id: int) -> None:
        staff.after_load = None
        operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama")

    staff.after_load = decree_meanwhile
    staff.complete_task(review, {"keputusan": "revisi"})  # commits a draft due on the old calendar
    assert draft_due(staff, instance_id) == datetime(2027, 4, 12, 17, 0, tzinfo=UTC)
    assert worker.run_due().cases_reevaluated == 1
    assert draft_due(staff, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)


def test_a_step_after_the_decree_uses_the_new_calendar_in_every_process_at_once(orchestrators) -> None:
    """The staff's process had the old calendar cached; the decree came from another process and
    the worker has not reached this case yet."""
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    instance_id, review = at_review(staff, worker)
    operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama")
    staff.complete_task(review, {"keputusan": "revisi"})
    assert draft_due(staff, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)


def test_a_conflict_on_one_case_is_retried_and_the_rest_go_on(orchestrators) -> None:
    """Before: the decree's loop stopped at the first conflict and 198 of 199 drafts kept the old
    deadline. Now the losing case is tried again on the next pass and every case moves."""
    staff, worker, operator = orchestrators
    clock.set(MONDAY)
    cases = [staff.start("review", "3171", {"judul": "x"}) for _ in range(5)]

    def staff_meanwhile(instance_id: int) -> None:
        if instance_id == cases[1]:
            worker.after_load = None
            staff.complete_task(draft_of(staff, instance_id), {"isi": "isi", "jumlah": "2"})

    worker.after_load = staff_meanwhile
    operator.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama")
    first = worker.run_due()
    assert (first.cases_reevaluated, first.conflicts) == (4, 1)
    assert worker.run_due().cases_reevaluated == 1  # the next pass
    [status] = operator.calendar_status()
    assert (status["done"], status["pending"]) == (5, 0)
    for instance_id in cases[:1] + cases[2:]:
        assert draft_due(worker, instance_id) == datetime(2027, 4, 13, 17, 0, tzinfo=UTC)
    with worker.session() as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == cases[1])).one()
    assert timer.due_at == datetime(2027, 4, 9, 17, 0, tzinfo=UTC)  # its review, on the new calendar


def test_a_calendar_asked_for_at_a_version_is_never_an_older_one(orchestrators) -> None:
    """Two threads of one process share its calendars: one read the calendar version before a
    decree, the other after it. When the older one writes its calendar into the cache right after
    the newer one wrote its own, the newer one still computes on the decree's calendar."""
    orch = orchestrators[0]
    cache = CalendarCache()
    with orch.session() as s:
        before = cache.get(s, None, s.scalar(select(CALENDAR_VERSION)))
    assert before.is_working_day(WEDNESDAY)
    orch.set_calendar_override(WEDNESDAY, True, None, "Cuti bersama", user="operator")

    class OlderThreadWritesNext(dict):
        def __setitem__(self, code, entry) -> None:
            super().__setitem__(code, entry)
            super().__setitem__(code, (0, before))

    cache._entries = OlderThreadWritesNext()
    with orch.session() as s:
        version = s.scalar(select(CALENDAR_VERSION))
        assert version > 0
        assert not cache.get(s, None, version).is_working_day(WEDNESDAY)
        assert not cache.many(s, ["3171"], version)["3171"].is_working_day(WEDNESDAY)

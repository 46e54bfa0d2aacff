"""Reminders before a deadline and a notice when it passed, written to the outbox by the worker.

Mixed into `Orchestrator`. A ready task's deadline is its due date, or else the due time of a
timer attached to it. Reminders fall on working days of the case region's calendar, N working
days before the deadline's last day, at 07:00 local time; each is sent once (its key names the
task and N). They are computed on every run from the deadline as it stands, so a deadline a
calendar decree moved is followed: a reminder not yet sent comes on the new day.

Only the most urgent reminder due is sent: a task created (or a worker back) inside the
5-day window gets the 5-day reminder, not a late 10-day one. A task past its due date gets one
"terlambat" notice, unless a timer sits on it: then the diagram says what the deadline does
(deemed approval, an overdue report), and its handlers tell people.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import notices
from .calendar import deadline_day, local_today, start_of_day
from .clock import clock
from .forms import format_day
from .models import Instance, OutboxMessage, Region, Task, Timer
from .projections import CALENDAR_VERSION

if TYPE_CHECKING:
    from .parser import ParsedDeployment

REMINDER_WORKING_DAYS = (10, 5, 1)
REMINDER_HOUR = timedelta(hours=7)  # after local midnight: the start of office hours in the region


def _timer_on(deployment: ParsedDeployment, bpmn_id: str) -> bool:
    """Whether a timer boundary event sits on the activity (SpiffWorkflow wraps it in a split)."""
    for spec in (deployment.spec, *deployment.subprocess_specs.values()):
        split = spec.task_specs.get(f"{bpmn_id}.BoundaryEventSplit")
        if split is not None and any(
            isinstance(getattr(output, "event_definition", None), TimerEventDefinition)
            for output in split.outputs
        ):
            return True
    return False


def _columns(deadline):
    return (
        Task.id,
        Task.name,
        Task.instance_id,
        Task.bpmn_id,
        Task.candidate_groups,
        Task.candidate_users,
        Task.assignee,
        Task.created_at,
        Task.due_at,
        deadline.label("deadline"),
        Instance.region_code,
        Instance.definition_id,
        Instance.process_key,
        Region.timezone,
    )


class Reminders:
    def send_reminders(self, days: tuple[int, ...] = REMINDER_WORKING_DAYS) -> int:
        """Write the reminders and overdue notices due now; returns how many."""
        now = clock.now()
        days = tuple(sorted({d for d in days if d > 0}))
        horizon = now + timedelta(days=2 * max(days, default=0) + 30)  # working days ahead, with holidays
        with self.uow() as uow:
            s = uow.session
            running = Instance.status == "running"
            by_due = (
                select(*_columns(Task.due_at))
                .join(Instance, Instance.id == Task.instance_id)
                .outerjoin(Region, Region.code == Instance.region_code)
                .where(Task.status == "ready", Task.due_at.is_not(None), Task.due_at <= horizon, running)
            )
            by_timer = (  # from the timers side: the timers table is indexed on due_at
                select(*_columns(Timer.due_at))
                .select_from(Timer)
                .join(Task, (Task.instance_id == Timer.instance_id) & (Task.bpmn_id == Timer.attached_to))
                .join(Instance, Instance.id == Task.instance_id)
                .outerjoin(Region, Region.code == Instance.region_code)
                .where(Timer.due_at <= horizon, Task.status == "ready", Task.due_at.is_(None), running)
                .order_by(Timer.due_at.desc())  # the earliest timer of a task comes last and wins
            )
            rows = {row.id: row for row in s.execute(by_timer)}
            rows.update({row.id: row for row in s.execute(by_due)})
            version = s.scalar(select(CALENDAR_VERSION))
            wanted: dict[str, dict] = {}
            for row in rows.values():
                note = self._reminder_for(s, row, now, days, version)
                if note is not None:
                    wanted[note["key"]] = note
            if not wanted:
                return 0
            known = set(s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(wanted))))
            written = 0
            for key, note in wanted.items():
                if key in known:
                    continue
                try:
                    with s.begin_nested():  # another worker may have written it meanwhile
                        s.connection().execute(notices.OUTBOX, note)
                    written += 1
                except IntegrityError:
                    continue
            uow.commit()
            return written

    def _reminder_for(self, s, row, now: datetime, days: tuple[int, ...], version: int) -> dict | None:
        timezone = row.timezone or self.default_timezone
        calendar = self._calendars.get(s, row.region_code, version)
        last_day = deadline_day(row.deadline, timezone)
        today = local_today(now, timezone)
        recipients = notices.task_recipients(row.candidate_groups, row.candidate_users, row.assignee)
        common = {"instance_id": row.instance_id, "task_id": row.id, "now": now, **recipients}
        day_text = format_day(last_day)
        if now >= row.deadline:
            if row.due_at is None or _timer_on(
                self._deployment(s, row.definition_id, row.process_key), row.bpmn_id
            ):
                return None
            late = calendar.working_days_between(last_day, today)
            return notices.message(
                f"terlambat:{row.id}",
                "terlambat",
                f"Terlambat: {row.name}",
                body=f"Batas waktu tugas ini {day_text} sudah lewat"
                + (f" ({late} hari kerja)" if late > 0 else "")
                + " dan tugas belum diselesaikan.",
                **common,
            )
        # "N working days left" as the screens count them: up to the last working day of the deadline
        anchor = last_day if calendar.is_working_day(last_day) else calendar.add_working_days(last_day, -1)
        for n in days:  # the most urgent reminder whose moment has come, if the task was there then
            moment = start_of_day(calendar.add_working_days(anchor, -n), timezone) + REMINDER_HOUR
            if now < moment:
                continue
            if row.created_at >= moment:
                return None
            left = calendar.working_days_between(today, last_day)
            return notices.message(
                f"pengingat:{row.id}:{n}",
                "pengingat",
                f"Pengingat: {row.name}, batas {left} hari kerja lagi",
                body=f"Batas waktu tugas ini {day_text}: tinggal {left} hari kerja lagi.",
                **common,
            )
        return None

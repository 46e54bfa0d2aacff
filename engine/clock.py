"""The one clock. Code asks `clock.now()`; tests move time with `clock.set(...)`.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` themselves, so the timer
module's `datetime` name is pointed at a subclass that asks this clock. That keeps "is this
timer due?" consistent with the worker's idea of now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock:
    """Real time unless frozen; frozen time can be advanced."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def set(self, moment: datetime | None) -> None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("clock.set needs a timezone-aware datetime")
        self._frozen = moment.astimezone(UTC) if moment else None

    def advance(self, delta: timedelta) -> None:
        self._frozen = self.now() + delta


clock = Clock()

_TIMER_RESOLUTION = timedelta(microseconds=1)


class _ClockedDatetime(datetime):
    """SpiffWorkflow fires a timer only when its date is strictly before now; Camunda, and the
    worker's `due_at <= now`, fire it at that very moment. Timer values are microsecond-precise,
    so one microsecond ahead turns `due < now` into `due <= clock.now()`: a timer due at 00:00
    fires at 00:00, not on the worker's next tick."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        moment = clock.now() + _TIMER_RESOLUTION
        return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime

"""The one clock. Code asks `clock.now()`; tests move time with `clock.set(...)`.

`clock.local()` moves time for the current thread (or asyncio task) only: an import replays a
case's history step by step at the dates it really happened while the same process serves
other requests on the real clock.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` themselves, so the timer
module's `datetime` name is pointed at a subclass that asks this clock. That keeps "is this
timer due?" consistent with the worker's idea of now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock:
    """Real time unless frozen; frozen time can be advanced. A context's local time wins."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._local: ContextVar[datetime | None] = ContextVar("ksdpl_local_time", default=None)

    def now(self) -> datetime:
        local = self._local.get()
        if local is not None:
            return local
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    @contextmanager
    def local(self) -> Iterator[Callable[[datetime], None]]:
        """Time of this context only, set with the function yielded; the previous time comes back
        at the end. Other threads and tasks never see it."""
        token = self._local.set(self._local.get())

        def move(moment: datetime) -> None:
            if moment.tzinfo is None:
                raise ValueError("clock.local needs timezone-aware datetimes")
            self._local.set(moment.astimezone(UTC))

        try:
            yield move
        finally:
            self._local.reset(token)

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

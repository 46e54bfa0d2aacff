"""Timer values: one parser for dates, durations, cycles and zones, for `check` and for run time.

The one rule: a value without an offset is in the case region's zone. `2030-01-01` is midnight
there and `2030-01-01T09:00` nine o'clock there, whether the deploy check reads it, the
projection writes the timer row or SpiffWorkflow decides the timer is due (engine/timer_events.py
gives SpiffWorkflow these functions instead of its own, which read such values in the server's
zone).

Cycles as Camunda 7 writes them: ISO 8601 repeating intervals (`R3/PT10M`, `R/P1D`,
`R2/2030-01-01T09:00/PT1H`) and Quartz cron (`0 0 9 ? * MON-FRI`: seconds, minutes, hours,
day of month, month, day of week, optional year), the arithmetic done by APScheduler's
`CronTrigger`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from dateutil.relativedelta import relativedelta

from .calendar import TIMEZONES


class TimerValueError(ValueError):
    """A timer, due-date or cycle text this engine cannot read; says what it expected."""


_NUM = r"\d+(?:[.,]\d+)?"
_DURATION_RE = re.compile(
    rf"P(?:(?P<Y>{_NUM})Y)?(?:(?P<M>{_NUM})M)?(?:(?P<W>{_NUM})W)?(?:(?P<D>{_NUM})D)?"
    rf"(?:T(?=\d)(?:(?P<h>{_NUM})H)?(?:(?P<m>{_NUM})M)?(?:(?P<s>{_NUM})S)?)?"
)
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?")
_CYCLE_RE = re.compile(r"R(\d*)/([^/]+)(?:/([^/]+))?")


def zone(name: str) -> ZoneInfo:
    """An IANA name or a WIB/WITA/WIT label."""
    return ZoneInfo(TIMEZONES.get(name, name))


@dataclass(frozen=True)
class Duration:
    """`P1Y2M3DT4H`: calendar months (years as 12) plus an exact time span."""

    months: int
    span: timedelta

    def after(self, moment: datetime) -> datetime:
        """`moment` plus this duration, months on the calendar of the moment's own zone."""
        return moment + relativedelta(months=self.months) + self.span

    def before(self, moment: datetime) -> datetime:
        return moment - relativedelta(months=self.months) - self.span


def parse_duration(text: str) -> Duration:
    """ISO 8601 durations: `P45D`, `PT48H`, `P1Y2M`, `P2W`, `PT1.5S`; only the last part may have
    a fraction, and years and months take none."""
    match = _DURATION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    parts = [part for part in match.groups() if part] if match else []
    if not parts or any(re.search("[.,]", part) for part in parts[:-1]):
        raise TimerValueError(f"not an ISO 8601 duration like P2D or PT48H: {text!r}")
    if match["W"] and (match["Y"] or match["M"] or match["D"]):
        raise TimerValueError(f"weeks do not mix with years, months or days: {text!r}")

    def number(key: str) -> float:
        return float((match[key] or "0").replace(",", "."))

    if number("Y") % 1 or number("M") % 1:
        raise TimerValueError(f"years and months must be whole: {text!r}")
    span = timedelta(
        weeks=number("W"), days=number("D"), hours=number("h"), minutes=number("m"), seconds=number("s")
    )
    return Duration(int(number("Y")) * 12 + int(number("M")), span)


def is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except TimerValueError:
        return False
    return True


def parse_instant(value: str | date | datetime, zone_name: str) -> datetime:
    """A date or date-time as an aware instant; without an offset it is in `zone_name`, and a
    bare date is the start of that day there (as Camunda reads `2027-05-14` in a timer)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if DATE_ONLY.fullmatch(text):
                value = date.fromisoformat(text)
            elif _DATETIME_RE.fullmatch(text):
                value = datetime.fromisoformat(text)
            else:
                raise ValueError
        except ValueError:
            raise TimerValueError(f"not an ISO 8601 date or date-time: {value!r}") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone(zone_name))
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone(zone_name))
    raise TimerValueError(f"not a date or date-time: {value!r}")


def is_instant(text: str) -> bool:
    try:
        parse_instant(text, "UTC")
    except TimerValueError:
        return False
    return True


# --- Quartz cron -------------------------------------------------------------------------------

_QUARTZ_DAYS = {str(n): name for n, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"), 1)}


def _quartz_weekdays(field: str) -> str:
    """Quartz numbers days 1 (SUN) to 7 (SAT); APScheduler takes names. `#` and `L` are refused."""
    if "#" in field or "L" in field.upper():
        raise TimerValueError(f"cron day of week '{field}': nth and last weekdays are not supported")
    return re.sub(r"\d", lambda m: _QUARTZ_DAYS.get(m[0], m[0]), field).lower()


def is_cron(text: str) -> bool:
    return isinstance(text, str) and len(text.split()) in (6, 7) and not text.strip().startswith("R")


def parse_cron(text: str, zone_name: str) -> CronTrigger:
    """A Quartz cron expression as Camunda 7 accepts it, in the region's zone."""
    fields = text.split()
    if len(fields) not in (6, 7):
        raise TimerValueError(f"a cron expression has 6 or 7 fields (seconds first): {text!r}")
    second, minute, hour, day, month, weekday = fields[:6]
    year = fields[6] if len(fields) == 7 else None
    if day != "?" and weekday != "?" and "*" not in (day, weekday):
        raise TimerValueError(f"cron {text!r}: give a day of month or a day of week, the other '?'")
    if day.upper() == "L":
        day = "last"
    elif "W" in day.upper() or "L" in day.upper():
        raise TimerValueError(f"cron day of month '{day}': W and L offsets are not supported")
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=None if day == "?" else day,
            month=month,
            day_of_week=None if weekday == "?" else _quartz_weekdays(weekday),
            year=year,
            timezone=zone(zone_name),
        )
    except ValueError as err:
        raise TimerValueError(f"cron {text!r}: {err}") from None


# --- cycles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cycle:
    """A `timeCycle`: how many firings (None: no end), and when each one is."""

    repetitions: int | None
    start: datetime | None = None  # the first firing, when the cycle names it
    period: Duration | None = None
    cron: CronTrigger | None = None

    def first(self, now: datetime) -> datetime | None:
        """The first firing of a cycle that begins `now`."""
        if self.cron is not None:
            return self.cron.get_next_fire_time(None, now)
        if self.start is not None:
            return self.start
        return self.period.after(now)

    def following(self, previous: datetime) -> datetime | None:
        """The firing after `previous` (the count is kept by the caller)."""
        if self.cron is not None:
            return self.cron.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        return self.period.after(previous)

    def next_after(self, previous: datetime, now: datetime) -> datetime | None:
        """The firing after `previous`. A bounded cycle (`R<n>`) catches up every missed firing,
        at most n; an unbounded one (`R/...`, cron) that fell behind skips to its first firing
        after `now`, so a worker that was down for a month does not fire a month of them."""
        following = self.following(previous)
        if self.repetitions is not None or following is None or following > now:
            return following
        if self.cron is not None:
            return self.cron.get_next_fire_time(None, now + timedelta(microseconds=1))
        while following <= now:
            following = self.period.after(following)
        return following


def parse_cycle(text: str, zone_name: str, *, runnable: bool = True) -> Cycle:
    """A `timeCycle`; `runnable=False` only asks whether it is written as one (R0 included)."""
    text = text.strip() if isinstance(text, str) else ""
    if is_cron(text):
        return Cycle(None, cron=parse_cron(text, zone_name) if runnable else None)
    match = _CYCLE_RE.fullmatch(text)
    if not match:
        raise TimerValueError(
            f"not a cycle: give R<n>/<duration>, R<n>/<start>/<duration> or a cron expression: {text!r}"
        )
    count, first, second = match.groups()
    repetitions = int(count) if count else None
    period_text = second if second is not None and is_duration(second) else first
    if runnable and is_duration(period_text) and parse_duration(period_text) == Duration(0, timedelta(0)):
        raise TimerValueError(f"a cycle's period must be longer than zero: {text!r}")
    if repetitions == 0 and runnable:
        raise TimerValueError(f"a cycle of R0 never fires: {text!r}")
    if second is None:
        return Cycle(repetitions, period=parse_duration(first))
    if is_duration(second):
        return Cycle(repetitions, start=parse_instant(first, zone_name), period=parse_duration(second))
    period = parse_duration(first)  # R<n>/<duration>/<end>: the last firing is at the end
    end = parse_instant(second, zone_name)
    start = end
    for _ in range((repetitions or 1) - 1):
        start = period.before(start)
    return Cycle(repetitions, start=start, period=period)


def is_cycle(text: str) -> bool:
    try:
        parse_cycle(text, "UTC", runnable=False)
    except TimerValueError:
        return False
    return True


def first_due(kind: str, value: str | date | datetime, zone_name: str, now: datetime) -> datetime:
    """When a `timeDate`, `timeDuration` or `timeCycle` first fires, counted from `now`."""
    if kind == "timeDate":
        return parse_instant(value, zone_name)
    if not isinstance(value, str):
        raise TimerValueError(f"{kind} needs text, got {value!r}")
    if kind == "timeDuration":
        return parse_duration(value).after(now)
    if kind == "timeCycle":
        due = parse_cycle(value, zone_name).first(now)
        if due is None:
            raise TimerValueError(f"the cycle {value!r} never fires")
        return due
    raise TimerValueError(f"unknown timer kind {kind}")


def due_date(value: str | date | datetime | None, zone_name: str, now: datetime) -> datetime | None:
    """`camunda:dueDate` / `camunda:followUpDate`: text starting with `P` is a duration from now
    (Camunda's `DueDateBusinessCalendar`); a bare date means the end of that day."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().upper().startswith("P"):
        return parse_duration(value).after(now)
    if isinstance(value, str) and DATE_ONLY.fullmatch(value.strip()):
        value = parse_instant(value, zone_name).date()
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value + timedelta(days=1), time(0), tzinfo=zone(zone_name))
    return parse_instant(value, zone_name)


def check(kind: str, text: str) -> str | None:
    """Why a literal timer or due-date text cannot run, or None (the deploy check's question)."""
    try:
        if kind == "timeDate":
            parse_instant(text, "UTC")
        elif kind == "timeDuration":
            parse_duration(text)
        elif kind == "timeCycle":
            parse_cycle(text, "UTC")
        else:
            due_date(text, "UTC", datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")))
    except TimerValueError as err:
        return str(err)
    return None

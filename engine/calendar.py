"""Working-day calendar for statutory deadlines (e.g. "45 working days after receipt").

A working day is Monday-Friday that is neither an Indonesian public holiday nor government
collective leave (cuti bersama). Both come from the `holidays` package; operators can override
single days when a decree adds or removes a day off. The package only knows cuti bersama up to
the year the joint decree (SKB) was published, so deadlines reaching into later years are
flagged provisional.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

TIMEZONES: dict[str, str] = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
_LABELS = {zone: label for label, zone in TIMEZONES.items()}

_ONE_DAY = timedelta(days=1)
_DEFAULT_OVERRIDE_NAME = "Hari libur (ketetapan)"


def zone_label(tz_name: str) -> str:
    """Short Indonesian label (WIB/WITA/WIT) for display; unknown zones show their own name."""
    return _LABELS.get(tz_name, tz_name)


def _zone(tz_name: str) -> ZoneInfo:
    """Accept either an IANA name or a WIB/WITA/WIT label, so callers need not translate."""
    return ZoneInfo(TIMEZONES.get(tz_name, tz_name))


@cache
def _days_off(year: int) -> Mapping[date, str]:
    """Public holidays plus cuti bersama of one year, with Indonesian names.

    Cached per year at module level: building `holidays` objects is the expensive part, and
    every calendar instance (one per step) shares the result. The package is imported here, by
    the first calendar that needs a year, not by every command that imports this module.
    """
    import holidays

    table = holidays.country_holidays("ID", years=year, categories=("public", "government"), language="id")
    return MappingProxyType(dict(table.items()))


@cache
def _has_cuti_bersama(year: int) -> bool:
    """Whether the package carries the year's joint decree (cuti bersama lives in `government`)."""
    import holidays

    return len(holidays.country_holidays("ID", years=year, categories=("government",))) > 0


def _working(day: date, override: bool | None) -> bool:
    """Monday-Friday and not a day off, unless an operator's override says otherwise."""
    if override is not None:
        return not override
    return day.weekday() < 5 and day not in _days_off(day.year)


@lru_cache(maxsize=512)
def _year_prefix(year: int, overrides: frozenset[tuple[date, bool]]) -> list[int]:
    off = dict(overrides)
    prefix, count, day = [0], 0, date(year, 1, 1)
    while day.year == year:
        count += _working(day, off.get(day))
        prefix.append(count)
        day += _ONE_DAY
    return prefix


class WorkingCalendar:
    """Working days with operator overrides; cheap to build, the holiday tables are shared."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        override_names: Mapping[date, str] | None = None,
    ) -> None:
        # date -> True: day off, False: working day. Overrides beat weekends and holidays.
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._override_names: dict[date, str] = dict(override_names or {})
        self._override_years = {day.year for day in self._overrides}
        by_year: dict[int, list[tuple[date, bool]]] = {}
        for day, off in self._overrides.items():
            by_year.setdefault(day.year, []).append((day, off))
        self._year_overrides = {year: frozenset(days) for year, days in by_year.items()}

    def _prefix(self, year: int) -> list[int]:
        """prefix[i]: working days among the first i days of `year` (prefix[-1]: the year's total).

        Built once per year and set of that year's overrides, shared by every calendar (one per
        region and request), so counting and adding working days costs a lookup and a bisection
        instead of a walk day by day (an inbox shows a countdown on every row)."""
        return _year_prefix(year, self._year_overrides.get(year, frozenset()))

    def _through(self, day: date) -> int:
        """Working days from 1 January of `day`'s year up to `day`, inclusive."""
        return self._prefix(day.year)[day.timetuple().tm_yday]

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is a holiday (Indonesian), or None; a weekend alone has no name."""
        override = self._overrides.get(day)
        if override is False:
            return None
        name = self._override_names.get(day) or _days_off(day.year).get(day)
        if override is True:
            return name or _DEFAULT_OVERRIDE_NAME
        return name

    def is_working_day(self, day: date) -> bool:
        return _working(day, self._overrides.get(day))

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (before it when n < 0); `start` itself never counts.

        Matches "counted from the first working day after the date received".
        """
        if n == 0:
            return start
        year = start.year
        if n > 0:
            target = self._through(start) + n  # the target-th working day of `year`, counted from 1 Jan
            while target > self._prefix(year)[-1]:
                target -= self._prefix(year)[-1]
                year += 1
        else:
            # working days strictly before `start` in its year: k; the |n|-th before it is the
            # (k + n + 1)-th of the year (of an earlier year when that is below 1)
            target = self._through(start) - self.is_working_day(start) + n + 1
            while target < 1:
                year -= 1
                target += self._prefix(year)[-1]
        # the first day of `year` whose count reaches target
        return date(year, 1, 1) + timedelta(days=bisect_left(self._prefix(year), target) - 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; negative mirror when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = self._through(end) - self._through(start)
        for year in range(start.year, end.year):
            count += self._prefix(year)[-1]
        return count

    def is_provisional(self, start: date, end: date) -> bool:
        """True when a year in the window has no known cuti bersama and no operator override.

        Such a deadline may still move once the joint decree for that year is published.
        """
        first, last = sorted((start, end))
        return any(
            not _has_cuti_bersama(year) and year not in self._override_years
            for year in range(first.year, last.year + 1)
        )

    def holidays_between(self, start: date, end: date) -> list[tuple[date, str]]:
        """Weekday days off in [start, end], inclusive, for showing why a deadline lands where it does."""
        result: list[tuple[date, str]] = []
        day = start
        while day <= end:
            if day.weekday() < 5 and not self.is_working_day(day):
                result.append((day, self.holiday_name(day) or _DEFAULT_OVERRIDE_NAME))
            day += _ONE_DAY
        return result


def local_today(now: datetime, tz_name: str) -> date:
    """The calendar date in `tz_name` of an aware instant (a region's day, not the server's)."""
    if now.tzinfo is None:
        raise ValueError("local_today needs a timezone-aware datetime")
    return now.astimezone(_zone(tz_name)).date()


def start_of_day(day: date, tz_name: str) -> datetime:
    """00:00 local time of `day`, aware."""
    return datetime.combine(day, time(0), tzinfo=_zone(tz_name))


def end_of_day(day: date, tz_name: str) -> datetime:
    """00:00 local time of the next day: deemed approval takes effect right after the last working day."""
    return start_of_day(day + _ONE_DAY, tz_name)


def deadline_day(due_at: datetime, tz_name: str) -> date:
    """The last day to act. A deadline at 00:00 local means "by the end of the day before"."""
    local = due_at.astimezone(_zone(tz_name))
    if local.time() == time(0):
        return local.date() - _ONE_DAY
    return local.date()

"""Working-day calendar: holidays, cuti bersama, overrides, counting, time zones."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from engine import calendar
from engine.calendar import (
    TIMEZONES,
    WorkingCalendar,
    end_of_day,
    local_today,
    start_of_day,
    zone_label,
)

CAL = WorkingCalendar()


def test_weekdays_work_and_weekends_do_not() -> None:
    assert CAL.is_working_day(date(2026, 7, 8))  # Wed
    assert not CAL.is_working_day(date(2026, 7, 11))  # Sat
    assert not CAL.is_working_day(date(2026, 7, 12))  # Sun
    assert CAL.holiday_name(date(2026, 7, 11)) is None


def test_public_holiday_has_indonesian_name() -> None:
    independence = date(2026, 8, 17)  # Monday
    assert not CAL.is_working_day(independence)
    assert CAL.holiday_name(independence) == "Hari Kemerdekaan Republik Indonesia"


def test_cuti_bersama_is_a_day_off() -> None:
    # Monday 23 March 2026: cuti bersama after Idul Fitri (government category in `holidays`).
    day = date(2026, 3, 23)
    assert not CAL.is_working_day(day)
    assert CAL.holiday_name(day) == "Cuti Bersama Hari Raya Idul Fitri"
    # Thursday 24 December 2026: cuti bersama before Christmas.
    assert CAL.holiday_name(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"


def test_override_makes_saturday_a_working_day() -> None:
    saturday = date(2026, 3, 28)
    cal = WorkingCalendar({saturday: False})
    assert cal.is_working_day(saturday)
    assert cal.holiday_name(saturday) is None
    # Friday 27 March + 1 now lands on the Saturday.
    assert cal.add_working_days(date(2026, 3, 27), 1) == saturday


def test_override_makes_wednesday_a_holiday_with_its_name() -> None:
    wednesday = date(2026, 7, 15)
    cal = WorkingCalendar({wednesday: True}, {wednesday: "Libur Pilkada"})
    assert not cal.is_working_day(wednesday)
    assert cal.holiday_name(wednesday) == "Libur Pilkada"
    assert cal.holidays_between(date(2026, 7, 13), date(2026, 7, 19)) == [(wednesday, "Libur Pilkada")]
    assert WorkingCalendar({wednesday: True}).holiday_name(wednesday)  # unnamed still explains itself


def test_override_can_cancel_a_holiday() -> None:
    day = date(2026, 3, 23)
    cal = WorkingCalendar({day: False})
    assert cal.is_working_day(day)
    assert cal.holiday_name(day) is None


def test_add_zero_returns_start_even_on_a_holiday() -> None:
    assert CAL.add_working_days(date(2026, 8, 17), 0) == date(2026, 8, 17)


def test_add_one_starts_after_the_start_day() -> None:
    # Mon 2027-01-04 + 1 would be Tue 5 Jan, but that is Isra Mikraj, so Wed 6 Jan.
    assert CAL.add_working_days(date(2027, 1, 4), 1) == date(2027, 1, 6)
    assert CAL.add_working_days(date(2026, 7, 6), 1) == date(2026, 7, 7)
    # From a Friday the next working day is Monday.
    assert CAL.add_working_days(date(2026, 7, 10), 1) == date(2026, 7, 13)


def test_add_negative_counts_backwards() -> None:
    assert CAL.add_working_days(date(2026, 7, 13), -1) == date(2026, 7, 10)
    # Back from Wed 25 Mar 2026 skips Tue 24, Mon 23 (cuti), the weekend, Fri 20 (cuti),
    # Thu 19 (Nyepi), Wed 18 (cuti Nyepi): 2 working days back is Mon 16 Mar.
    assert CAL.add_working_days(date(2026, 3, 25), -2) == date(2026, 3, 16)


def test_add_across_year_end() -> None:
    # After Wed 23 Dec 2026: Thu 24 cuti, Fri 25 Natal, Mon 28..Thu 31 = 4, Fri 1 Jan off,
    # Mon 4 Jan = 5th, Tue 5 Jan Isra Mikraj, Wed 6 Jan = 6th.
    assert CAL.add_working_days(date(2026, 12, 23), 5) == date(2027, 1, 4)
    assert CAL.add_working_days(date(2026, 12, 23), 6) == date(2027, 1, 6)
    assert CAL.add_working_days(date(2027, 1, 6), -6) == date(2026, 12, 23)


def test_working_days_between_both_directions() -> None:
    start, end = date(2026, 12, 23), date(2027, 1, 6)
    assert CAL.working_days_between(start, end) == 6
    assert CAL.working_days_between(end, start) == -6
    assert CAL.working_days_between(start, start) == 0
    # start is excluded, end included: Fri -> Mon is one working day.
    assert CAL.working_days_between(date(2026, 7, 10), date(2026, 7, 13)) == 1


def test_holidays_between_lists_weekday_days_off_only() -> None:
    got = CAL.holidays_between(date(2027, 12, 20), date(2028, 1, 2))
    # Sat 25 Dec (Natal), Sun 26 Dec and Sat 1 Jan fall on weekends and are not listed.
    assert got == [(date(2027, 12, 24), "Cuti Bersama Hari Raya Natal")]


def test_is_provisional() -> None:
    assert CAL.is_provisional(date(2028, 11, 1), date(2029, 1, 15))
    assert CAL.is_provisional(date(2029, 1, 15), date(2028, 11, 1))
    assert not CAL.is_provisional(date(2026, 3, 1), date(2026, 5, 15))
    assert not CAL.is_provisional(date(2026, 11, 1), date(2027, 2, 15))
    # An operator entering the year's decree settles it.
    decreed = WorkingCalendar({date(2028, 12, 26): True})
    assert not decreed.is_provisional(date(2028, 11, 1), date(2028, 12, 31))


def test_zone_labels() -> None:
    assert zone_label("Asia/Jakarta") == "WIB"
    assert zone_label("Asia/Makassar") == "WITA"
    assert zone_label("Asia/Jayapura") == "WIT"
    assert zone_label("Europe/Paris") == "Europe/Paris"
    assert {zone_label(zone) for zone in TIMEZONES.values()} == set(TIMEZONES)


@pytest.mark.parametrize(
    ("utc", "tz_name", "expected"),
    [
        # 16:30Z is 23:30 WIB (UTC+7), 00:30 WITA (UTC+8), 01:30 WIT (UTC+9).
        (datetime(2027, 3, 1, 16, 30, tzinfo=UTC), "Asia/Jakarta", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 16, 30, tzinfo=UTC), "Asia/Makassar", date(2027, 3, 2)),
        (datetime(2027, 3, 1, 16, 30, tzinfo=UTC), "Asia/Jayapura", date(2027, 3, 2)),
        # 15:30Z is 22:30 WIB, 23:30 WITA, 00:30 WIT.
        (datetime(2027, 3, 1, 15, 30, tzinfo=UTC), "Asia/Jakarta", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 15, 30, tzinfo=UTC), "Asia/Makassar", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 15, 30, tzinfo=UTC), "Asia/Jayapura", date(2027, 3, 2)),
    ],
)
def test_local_today_near_midnight(utc: datetime, tz_name: str, expected: date) -> None:
    assert local_today(utc, tz_name) == expected


def test_local_today_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        local_today(datetime(2027, 3, 1, 16, 30), "Asia/Jakarta")


def test_start_and_end_of_day_are_local_midnights() -> None:
    day = date(2027, 2, 12)
    assert start_of_day(day, "Asia/Jakarta") == datetime(2027, 2, 11, 17, 0, tzinfo=UTC)
    assert end_of_day(day, "Asia/Jakarta") == datetime(2027, 2, 12, 17, 0, tzinfo=UTC)
    assert end_of_day(day, "Asia/Makassar") == datetime(2027, 2, 12, 16, 0, tzinfo=UTC)
    assert end_of_day(day, "Asia/Jayapura") == datetime(2027, 2, 12, 15, 0, tzinfo=UTC)
    assert end_of_day(day, "WIT") == end_of_day(day, "Asia/Jayapura")


def _naive_add(cal: WorkingCalendar, start: date, n: int) -> date:
    step = timedelta(days=1 if n > 0 else -1)
    day, remaining = start, abs(n)
    while remaining:
        day += step
        remaining -= cal.is_working_day(day)
    return day


def _naive_between(cal: WorkingCalendar, start: date, end: date) -> int:
    if end < start:
        return -_naive_between(cal, end, start)
    return sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def test_counting_by_year_agrees_with_walking_day_by_day():
    """The per-year tables give what the definition gives, across years, backwards and with overrides."""
    rnd = random.Random(8)
    cal = WorkingCalendar({date(2027, 5, 8): False, date(2027, 5, 10): True, date(2026, 12, 31): True})
    for _ in range(1500):
        start = date(2025, 1, 1) + timedelta(days=rnd.randrange(1200))
        n = rnd.randrange(-400, 400)
        assert cal.add_working_days(start, n) == _naive_add(cal, start, n), (start, n)
        end = start + timedelta(days=rnd.randrange(-500, 500))
        assert cal.working_days_between(start, end) == _naive_between(cal, start, end), (start, end)


def test_a_countdown_does_not_walk_the_days_again(monkeypatch):
    """An inbox row's countdown is a lookup once the year's table is built, not a walk per row;
    the table is shared by every calendar with the same overrides (one per region and request)."""
    overrides = {date(2027, 3, 1): True}
    WorkingCalendar(overrides).working_days_between(date(2027, 1, 1), date(2027, 12, 31))
    calls = []
    original = calendar._working
    monkeypatch.setattr(
        calendar, "_working", lambda day, override: calls.append(day) or original(day, override)
    )
    cal = WorkingCalendar(dict(overrides))  # the next request's calendar
    assert cal.working_days_between(date(2027, 2, 1), date(2027, 11, 30)) > 150
    assert cal.add_working_days(date(2027, 2, 1), 150) > date(2027, 8, 1)
    assert len(calls) <= 2
    WorkingCalendar({date(2027, 3, 2): True}).working_days_between(date(2027, 2, 1), date(2027, 3, 31))
    assert len(calls) > 300  # other overrides: that year's own table

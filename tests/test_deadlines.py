"""The DPRD's 45 working days, hand-counted over windows full of holidays and cuti bersama.

Rule: 45 working days counted from the first working day after the date received; deemed
approval takes effect at 00:00 local time after the 45th working day.

The days off below were listed once from holidays 0.109 (country "ID", categories public +
government) and the counting in the comments was done by hand, week by week. Each case also
records what a buggy count would give, so a reviewer can see the assertion would catch it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.calendar import WorkingCalendar, end_of_day

CAL = WorkingCalendar()


# (a) Idul Fitri 2026. Received Mon 2 Mar 2026. Weekday days off in the window:
#     Wed 18 Mar cuti Nyepi, Thu 19 Mar Nyepi, Fri 20 Mar cuti Idul Fitri,
#     (Sat 21 / Sun 22 Mar Idul Fitri fall on the weekend), Mon 23 + Tue 24 Mar cuti Idul Fitri,
#     Fri 3 Apr Wafat Yesus Kristus, Fri 1 May Hari Buruh. (Thu 14 May Ascension comes after.)
#   week of  2 Mar: Tue 3 - Fri 6                      4  -> 4
#   week of  9 Mar: full                               5  -> 9
#   week of 16 Mar: Mon 16, Tue 17                     2  -> 11
#   week of 23 Mar: Wed 25 - Fri 27                    3  -> 14
#   week of 30 Mar: Mon 30 - Thu 2 Apr                 4  -> 18
#   weeks of 6, 13, 20 Apr: full                      15  -> 33
#   week of 27 Apr: Mon 27 - Thu 30                    4  -> 37
#   week of  4 May: full                               5  -> 42
#   week of 11 May: Mon 11 (43), Tue 12 (44), Wed 13 (45)
#   => Wed 13 May 2026. Counting Mon 2 Mar itself gives Tue 12 May; ignoring the four weekday
#      cuti bersama days gives Thu 7 May.
IDUL_FITRI_2026 = (
    date(2026, 3, 2),
    date(2026, 5, 13),
    [
        date(2026, 3, 18),
        date(2026, 3, 19),
        date(2026, 3, 20),
        date(2026, 3, 23),
        date(2026, 3, 24),
        date(2026, 4, 3),
        date(2026, 5, 1),
    ],
)

# (b) Year end 2026/27. Received Fri 4 Dec 2026 (the first working day after it is Mon 7 Dec).
#     Weekday days off: Thu 24 Dec cuti Natal, Fri 25 Dec Natal, Fri 1 Jan Tahun Baru,
#     Tue 5 Jan Isra Mikraj, Fri 5 Feb cuti Imlek (Sat 6 Feb Imlek is a weekend).
#   weeks of 7, 14 Dec: full                          10  -> 10
#   week of 21 Dec: Mon 21 - Wed 23                    3  -> 13
#   week of 28 Dec: Mon 28 - Thu 31                    4  -> 17
#   week of  4 Jan: Mon 4, Wed 6 - Fri 8               4  -> 21
#   weeks of 11, 18, 25 Jan: full                     15  -> 36
#   week of  1 Feb: Mon 1 - Thu 4                      4  -> 40
#   week of  8 Feb: Mon 8 (41) ... Fri 12 (45)
#   => Fri 12 Feb 2027. Counting Fri 4 Dec itself gives Thu 11 Feb; ignoring cuti bersama
#      (24 Dec, 5 Feb) gives Wed 10 Feb.
YEAR_END_2026 = (
    date(2026, 12, 4),
    date(2027, 2, 12),
    [date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 5), date(2027, 2, 5)],
)

# (c) Idul Adha and Waisak 2027. Received Wed 14 Apr 2027. Weekday days off:
#     Thu 6 May Kenaikan Yesus Kristus, Mon 17 May Idul Adha (estimated), Tue 18 May cuti
#     Idul Adha, Wed 19 May cuti Waisak, Thu 20 May Waisak, Tue 1 Jun Hari Lahir Pancasila.
#     (Sat 1 May Hari Buruh and Sun 6 Jun Tahun Baru Islam fall on weekends.)
#   week of 12 Apr: Thu 15, Fri 16                     2  -> 2
#   weeks of 19, 26 Apr: full                         10  -> 12
#   week of  3 May: Mon 3 - Wed 5, Fri 7               4  -> 16
#   week of 10 May: full                               5  -> 21
#   week of 17 May: Fri 21 only                        1  -> 22
#   week of 24 May: full                               5  -> 27
#   week of 31 May: Mon 31, Wed 2 - Fri 4 Jun          4  -> 31
#   weeks of 7, 14 Jun: full                          10  -> 41
#   week of 21 Jun: Mon 21 (42), Tue 22 (43), Wed 23 (44), Thu 24 (45)
#   => Thu 24 Jun 2027. Counting Wed 14 Apr itself gives Wed 23 Jun; ignoring the two
#      cuti bersama days gives Mon 21 Jun.
IDUL_ADHA_2027 = (
    date(2027, 4, 14),
    date(2027, 6, 24),
    [
        date(2027, 5, 6),
        date(2027, 5, 17),
        date(2027, 5, 18),
        date(2027, 5, 19),
        date(2027, 5, 20),
        date(2027, 6, 1),
    ],
)

WINDOWS = pytest.mark.parametrize(
    ("received", "deadline", "days_off"),
    [IDUL_FITRI_2026, YEAR_END_2026, IDUL_ADHA_2027],
    ids=["idul-fitri-2026", "year-end-2026", "idul-adha-2027"],
)


@WINDOWS
def test_45th_working_day(received: date, deadline: date, days_off: list[date]) -> None:
    assert CAL.add_working_days(received, 45) == deadline
    assert CAL.working_days_between(received, deadline) == 45
    assert not CAL.is_provisional(received, deadline)


@WINDOWS
def test_days_off_in_window_match_the_hand_list(received: date, deadline: date, days_off: list[date]) -> None:
    assert [day for day, _ in CAL.holidays_between(received, deadline)] == days_off


def test_deemed_approval_instants() -> None:
    # 00:00 the next local day: 17:00Z (WIB, UTC+7) or 15:00Z (WIT, UTC+9) on the deadline's date.
    assert end_of_day(date(2026, 5, 13), "Asia/Jakarta") == datetime(2026, 5, 13, 17, tzinfo=UTC)
    assert end_of_day(date(2026, 5, 13), "Asia/Jayapura") == datetime(2026, 5, 13, 15, tzinfo=UTC)
    assert end_of_day(date(2027, 2, 12), "Asia/Jakarta") == datetime(2027, 2, 12, 17, tzinfo=UTC)
    assert end_of_day(date(2027, 2, 12), "Asia/Jayapura") == datetime(2027, 2, 12, 15, tzinfo=UTC)
    assert end_of_day(date(2027, 6, 24), "Asia/Jakarta") == datetime(2027, 6, 24, 17, tzinfo=UTC)
    assert end_of_day(date(2027, 6, 24), "Asia/Jayapura") == datetime(2027, 6, 24, 15, tzinfo=UTC)


def test_decree_override_moves_the_deadline() -> None:
    # A decree adds Wed 6 May 2026 as a day off: window (a) needs one more working day after
    # Wed 13 May, and Thu 14 (Kenaikan) and Fri 15 May (cuti) push it to Mon 18 May.
    cal = WorkingCalendar({date(2026, 5, 6): True})
    assert cal.add_working_days(date(2026, 3, 2), 45) == date(2026, 5, 18)

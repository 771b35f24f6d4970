"""Adding and counting working days on a calendar.

Conventions (see docs/adr/0004-working-days.md):

* ``add_workdays(d, n)`` is the n-th working day strictly after ``d`` ("within 5 working days of
  signing" = on or before ``add_workdays(signing, 5)``). ``n = 0`` returns ``d`` itself, working
  day or not, so that ``workdays_between(d, add_workdays(d, n)) == n`` holds for every n ≥ 0.
* ``workdays_between(a, b)`` counts the working days in ``(a, b]``; for ``b < a`` it is the
  negative of ``workdays_between(b, a)`` (handy for "overdue by").
* An answer is provisional when any day of the interval it looked at — ``(d, result]`` or
  ``(a, b]`` — lies in a year the calendar has no confirmed data for. Such a year is answered
  Monday–Friday; it never raises.

Each (calendar, year) is turned into a sorted tuple of day ordinals once and cached, so adding 250
working days is two bisections, not 250 calls into chinese-calendar.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import MAXYEAR, date
from functools import lru_cache

from govkit.workdays.model import WorkdayCalendar, WorkdayCount, WorkdayResult, YearCalendar, monday_to_friday
from govkit.workdays.registry import DEFAULT_CALENDAR, get_calendar

_YEAR_CACHE_SIZE = 4096  # (calendar, year) pairs: a few calendars times a few decades, with room


@lru_cache(maxsize=_YEAR_CACHE_SIZE)
def _year(calendar: WorkdayCalendar, year: int) -> YearCalendar:
    answer = calendar.year(year)
    return answer if answer is not None else monday_to_friday(year)


def _resolve(calendar: WorkdayCalendar | str | None) -> WorkdayCalendar:
    if calendar is None:
        return get_calendar(DEFAULT_CALENDAR)
    if isinstance(calendar, str):
        return get_calendar(calendar)
    return calendar


def _last_ordinal(year: int) -> int:
    return date(year, 12, 31).toordinal()


def year_of(calendar: WorkdayCalendar | str | None, year: int) -> YearCalendar:
    """The (cached) working days of ``year``, falling back to provisional Monday–Friday."""
    return _year(_resolve(calendar), year)


def is_workday(day: date, calendar: WorkdayCalendar | str | None = None) -> bool:
    """Whether ``day`` is a working day (Monday–Friday where the calendar has no data)."""
    ordinals = _year(_resolve(calendar), day.year).ordinals
    index = bisect_right(ordinals, day.toordinal())
    return index > 0 and ordinals[index - 1] == day.toordinal()


def add_workdays(start: date, n: int, calendar: WorkdayCalendar | str | None = None) -> WorkdayResult:
    """The n-th working day strictly after ``start`` (``start`` itself for n = 0).

    ``calendar`` is a calendar object or a name (default ``official``). Raises ValueError for a
    negative n, or when the answer would fall after year 9999.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be a non-negative number of working days, got {n}")
    if n == 0:
        return WorkdayResult(start, provisional=False)
    cal = _resolve(calendar)
    after = start.toordinal()
    remaining = n
    provisional = False
    year = start.year
    while True:
        data = _year(cal, year)
        # Any day of this year inside (start, answer] makes the answer depend on this year's data.
        if after < _last_ordinal(year):
            provisional = provisional or data.provisional
        position = bisect_right(data.ordinals, after)
        available = len(data.ordinals) - position
        if remaining <= available:
            return WorkdayResult(date.fromordinal(data.ordinals[position + remaining - 1]), provisional)
        remaining -= available
        year += 1
        if year > MAXYEAR:
            raise ValueError(f"{n} working days after {start} is beyond the year {MAXYEAR}")


def workdays_between(start: date, end: date, calendar: WorkdayCalendar | str | None = None) -> WorkdayCount:
    """The number of working days in ``(start, end]``; negative when ``end`` is before ``start``."""
    if end < start:
        reverse = workdays_between(end, start, calendar)
        return WorkdayCount(-reverse.days, reverse.provisional)
    if end == start:
        return WorkdayCount(0, provisional=False)  # an empty interval depends on no calendar data
    cal = _resolve(calendar)
    low, high = start.toordinal(), end.toordinal()
    days = 0
    provisional = False
    for year in range(start.year, end.year + 1):
        if year == start.year and low >= _last_ordinal(year):
            continue  # (start, end] holds no day of this year: start is its 31 December
        data = _year(cal, year)
        provisional = provisional or data.provisional
        days += bisect_right(data.ordinals, high) - bisect_right(data.ordinals, low)
    return WorkdayCount(days, provisional)

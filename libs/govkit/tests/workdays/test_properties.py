"""Property tests: add and count agree, add is monotone, pauses push the due date."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit.workdays import (
    SlaClock,
    WorkdayCalendar,
    add_workdays,
    get_calendar,
    is_workday,
    workdays_between,
)


def naive_add(start: date, n: int) -> date:
    """Oracle: walk day by day with chinese-calendar's own is_workday (2004–2026 only)."""
    day = start
    while n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


# Spans years with data (2004–2026) and without (2003, 2027–2028), and both calendars.
dates = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 12, 31))
data_dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2025, 12, 31))
counts = st.integers(min_value=0, max_value=600)
calendars = st.sampled_from(["official", "tibet"])
SETTINGS = settings(max_examples=200, deadline=None)


def cal(name: str) -> WorkdayCalendar:
    return get_calendar(name)


@SETTINGS
@given(start=dates, n=counts, name=calendars)
def test_add_then_count_gives_n(start: date, n: int, name: str) -> None:
    due = add_workdays(start, n, cal(name))
    assert workdays_between(start, due.date, cal(name)).days == n
    if n:
        assert is_workday(due.date, cal(name))


@SETTINGS
@given(start=dates, n=counts, name=calendars)
def test_monotone_in_n(start: date, n: int, name: str) -> None:
    assert add_workdays(start, n, cal(name)).date < add_workdays(start, n + 1, cal(name)).date


@SETTINGS
@given(start=dates, n=st.integers(min_value=1, max_value=600), m=counts, name=calendars)
def test_add_composes(start: date, n: int, m: int, name: str) -> None:
    first = add_workdays(start, n, cal(name)).date
    assert add_workdays(first, m, cal(name)).date == add_workdays(start, n + m, cal(name)).date


@settings(max_examples=100, deadline=None)  # the oracle walks day by day: keep it small
@given(start=data_dates, n=st.integers(min_value=0, max_value=120))
def test_matches_chinese_calendar_day_by_day(start: date, n: int) -> None:
    result = add_workdays(start, n, cal("official"))
    if result.date.year <= 2026:  # the oracle only knows 2004–2026
        assert result.date == naive_add(start, n)
        assert not result.provisional


@SETTINGS
@given(a=dates, b=dates, name=calendars)
def test_between_is_antisymmetric(a: date, b: date, name: str) -> None:
    assert workdays_between(a, b, cal(name)).days == -workdays_between(b, a, cal(name)).days


@SETTINGS
@given(
    start=dates,
    n=st.integers(min_value=1, max_value=60),
    pause_offset=st.integers(min_value=0, max_value=120),
    pause_length=st.integers(min_value=0, max_value=60),
    name=calendars,
)
def test_pause_of_k_workdays_moves_due_date_by_k(
    start: date, n: int, pause_offset: int, pause_length: int, name: str
) -> None:
    clock = SlaClock.start(start, n, name)
    due = clock.due_date()
    assert due is not None
    paused_on = start + timedelta(days=pause_offset)
    if paused_on >= due.date:
        paused_on = start + timedelta(days=pause_offset % max((due.date - start).days, 1))
    resumed_on = paused_on + timedelta(days=pause_length)
    k = workdays_between(paused_on, resumed_on, cal(name)).days

    paused = clock.pause(paused_on)
    assert paused.due_date() is None  # the clock is stopped before reaching its due date
    resumed = paused.resume(resumed_on)
    new_due = resumed.due_date()
    assert new_due is not None
    assert new_due.date == add_workdays(due.date, k, cal(name)).date
    assert workdays_between(due.date, new_due.date, cal(name)).days == k
    # The clock reaches zero exactly on the new due date.
    assert resumed.remaining_workdays(new_due.date) == 0
    assert not resumed.overdue(new_due.date)
    assert resumed.overdue(new_due.date + timedelta(days=1))
    assert SlaClock.from_dict(resumed.to_dict()) == resumed

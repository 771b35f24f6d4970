"""The official calendar on the 2025 and 2026 holiday weeks, the contract example, and 2027."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from govkit.workdays import (
    WorkdayCalendar,
    WorkdayResult,
    add_workdays,
    is_workday,
    workdays_between,
)

D = date


def test_contract_example() -> None:
    # POLICY-CONTRACT.md: `govproj workdays add 2025-09-30 5` → 2025-10-14, not provisional.
    assert add_workdays(D(2025, 9, 30), 5) == WorkdayResult(D(2025, 10, 14), provisional=False)
    assert add_workdays(D(2025, 9, 30), 5).to_json() == {"date": "2025-10-14", "provisional": False}


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # National Day + Mid-Autumn 2025: 10-01..10-08 off, Sunday 09-28 and Saturday 10-11 worked.
        (D(2025, 9, 28), True),
        (D(2025, 9, 30), True),
        *[(D(2025, 10, d), False) for d in range(1, 9)],
        (D(2025, 10, 9), True),
        (D(2025, 10, 11), True),
        (D(2025, 10, 12), False),
        # Spring Festival 2025: 01-28..02-04 off, Sunday 01-26 and Saturday 02-08 worked.
        (D(2025, 1, 26), True),
        (D(2025, 1, 27), True),
        *[(D(2025, 1, 28) + timedelta(days=i), False) for i in range(8)],
        (D(2025, 2, 5), True),
        (D(2025, 2, 8), True),
        (D(2025, 2, 9), False),
        # Spring Festival 2026 (chinese-calendar 1.11 data): 02-15..02-23 off, Saturdays 02-14 and
        # 02-28 worked.
        (D(2026, 2, 13), True),
        (D(2026, 2, 14), True),
        *[(D(2026, 2, 15) + timedelta(days=i), False) for i in range(9)],
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),
        (D(2026, 3, 1), False),
        # National Day 2026: 10-01..10-07 off, Saturday 10-10 worked; Mid-Autumn 09-25..27 with
        # Sunday 09-20 worked.
        (D(2026, 9, 20), True),
        (D(2026, 9, 25), False),
        *[(D(2026, 10, d), False) for d in range(1, 8)],
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),
    ],
)
def test_holiday_weeks(official: WorkdayCalendar, day: date, working: bool) -> None:
    assert is_workday(day, official) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2025, 9, 26), 1, D(2025, 9, 28)),  # Friday → the make-up Sunday
        (D(2025, 9, 28), 1, D(2025, 9, 29)),
        (D(2025, 9, 30), 1, D(2025, 10, 9)),  # over the whole Golden Week
        (D(2025, 9, 30), 3, D(2025, 10, 11)),  # make-up Saturday counts
        (D(2025, 10, 1), 1, D(2025, 10, 9)),  # start inside the holiday
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 27), 1, D(2025, 2, 5)),
        (D(2025, 2, 7), 1, D(2025, 2, 8)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        (D(2026, 2, 27), 1, D(2026, 2, 28)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2025, 12, 31), 1, D(2026, 1, 4)),  # New Year 2026: 01-01..03 off, Sunday 01-04 worked
        (D(2025, 12, 31), 0, D(2025, 12, 31)),
        (D(2025, 10, 4), 0, D(2025, 10, 4)),  # n = 0 is the date itself, even a holiday
    ],
)
def test_add_workdays_over_holidays(official: WorkdayCalendar, start: date, n: int, expected: date) -> None:
    result = add_workdays(start, n, official)
    assert result == WorkdayResult(expected, provisional=False)
    assert workdays_between(start, expected, official).days == n


def test_new_years_2026_make_up_sunday(official: WorkdayCalendar) -> None:
    # 2026-01-04 is a Sunday worked in exchange for 01-02: it is the first working day of 2026.
    assert is_workday(D(2026, 1, 4), official)
    assert add_workdays(D(2026, 1, 3), 1, official).date == D(2026, 1, 4)


def test_between_counts_half_open_interval(official: WorkdayCalendar) -> None:
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 14), official).days == 5
    assert workdays_between(D(2025, 9, 29), D(2025, 9, 30), official).days == 1
    assert workdays_between(D(2025, 9, 30), D(2025, 9, 30), official).days == 0
    assert workdays_between(D(2025, 10, 14), D(2025, 9, 30), official).days == -5
    # 2025: 248 working days after 01-01 (two more public holidays from 2025 on).
    assert workdays_between(D(2025, 1, 1), D(2025, 12, 31), official).days == 248


def test_names_resolve() -> None:
    assert add_workdays(D(2025, 9, 30), 5, "official").date == D(2025, 10, 14)
    with pytest.raises(LookupError, match="unknown calendar 'mars'"):
        add_workdays(D(2025, 9, 30), 5, "mars")


def test_negative_n_is_value_error() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        add_workdays(D(2025, 9, 30), -1)
    with pytest.raises(TypeError):
        add_workdays(D(2025, 9, 30), 1.5)  # type: ignore[arg-type]


def test_beyond_year_9999_is_value_error() -> None:
    with pytest.raises(ValueError, match="beyond"):
        add_workdays(D(9999, 12, 30), 5)


class TestYearWithoutData:
    """2027 is not in chinese-calendar 1.11 and the official calendar ships no 2027 file."""

    def test_2027_is_monday_to_friday_and_provisional(self, official: WorkdayCalendar) -> None:
        assert official.year(2027) is None
        # 2027-01-01 is a Friday: with no data it is a working day (the real one will be a holiday).
        assert add_workdays(D(2026, 12, 31), 1, official) == WorkdayResult(D(2027, 1, 1), provisional=True)
        assert add_workdays(D(2027, 3, 5), 1, official) == WorkdayResult(D(2027, 3, 8), provisional=True)
        assert add_workdays(D(2027, 3, 1), 5, official) == WorkdayResult(D(2027, 3, 8), provisional=True)
        for offset in range(14):
            day = D(2027, 10, 1) + timedelta(days=offset)
            assert is_workday(day, official) is (day.weekday() < 5)

    def test_provisional_only_when_the_interval_touches_the_year(self, official: WorkdayCalendar) -> None:
        assert not add_workdays(D(2026, 12, 30), 1, official).provisional  # 12-31 is a Thursday
        assert add_workdays(D(2026, 12, 31), 1, official).provisional
        assert not workdays_between(D(2026, 1, 1), D(2026, 12, 31), official).provisional
        assert workdays_between(D(2026, 1, 1), D(2027, 1, 1), official).provisional
        assert not workdays_between(D(2027, 5, 5), D(2027, 5, 5), official).provisional
        assert not add_workdays(D(2027, 5, 5), 0, official).provisional

    def test_far_future_and_past_never_crash(self, official: WorkdayCalendar) -> None:
        assert add_workdays(D(2099, 6, 5), 1, official) == WorkdayResult(D(2099, 6, 8), provisional=True)
        assert add_workdays(D(1999, 12, 31), 1, official).provisional
        assert workdays_between(D(2003, 1, 1), D(2030, 1, 1), official).provisional


def test_250_working_days_is_fast(official: WorkdayCalendar) -> None:
    import time

    add_workdays(D(2025, 1, 3), 250, official)  # warm the per-year cache
    began = time.perf_counter()
    for _ in range(1000):
        add_workdays(D(2025, 1, 3), 250, official)
    per_call = (time.perf_counter() - began) / 1000
    assert per_call < 1e-3, f"{per_call * 1e6:.0f} µs per call"

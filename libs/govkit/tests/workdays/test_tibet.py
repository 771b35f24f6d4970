"""The tibet overlay: regional holidays on top of the official calendar."""

from __future__ import annotations

from datetime import date

from govkit.workdays import FileCalendar, WorkdayCalendar, WorkdayResult, add_workdays, is_workday

D = date


def test_tibet_extends_official(tibet: WorkdayCalendar, official: WorkdayCalendar) -> None:
    assert isinstance(tibet, FileCalendar)
    assert tibet.base is official
    assert tibet.file_years() == (2025, 2026)


def test_losar_2025_changes_the_answer(tibet: WorkdayCalendar, official: WorkdayCalendar) -> None:
    # 2025-02-27..03-04 are 藏历新年 holidays in Tibet and ordinary working days elsewhere.
    assert is_workday(D(2025, 3, 3), official)
    assert not is_workday(D(2025, 3, 3), tibet)
    assert add_workdays(D(2025, 2, 26), 1, official) == WorkdayResult(D(2025, 2, 27), provisional=False)
    # The overlay file is not confirmed by an administrator yet: answers using it are provisional.
    assert add_workdays(D(2025, 2, 26), 1, tibet) == WorkdayResult(D(2025, 3, 5), provisional=True)


def test_losar_2026_extends_the_spring_festival(tibet: WorkdayCalendar, official: WorkdayCalendar) -> None:
    # Official: 02-15..02-23 off; Lhasa: 02-15..02-26 off; both work on Saturday 02-28.
    assert add_workdays(D(2026, 2, 14), 1, official).date == D(2026, 2, 24)
    assert add_workdays(D(2026, 2, 14), 1, tibet).date == D(2026, 2, 27)
    assert add_workdays(D(2026, 2, 14), 2, tibet).date == D(2026, 2, 28)
    assert is_workday(D(2026, 2, 14), tibet)  # the national make-up Saturday still applies


def test_shoton_is_a_holiday(tibet: WorkdayCalendar, official: WorkdayCalendar) -> None:
    assert is_workday(D(2025, 8, 25), official)
    assert not is_workday(D(2025, 8, 25), tibet)


def test_national_holidays_still_apply(tibet: WorkdayCalendar) -> None:
    assert add_workdays(D(2025, 9, 30), 5, tibet).date == D(2025, 10, 14)


def test_years_without_overlay_follow_the_base(tibet: WorkdayCalendar) -> None:
    assert add_workdays(D(2024, 9, 30), 1, tibet) == WorkdayResult(D(2024, 10, 8), provisional=False)
    assert add_workdays(D(2027, 3, 5), 1, tibet) == WorkdayResult(D(2027, 3, 8), provisional=True)

"""Shared helpers for the working-day tests."""

from __future__ import annotations

import pytest

from govkit.workdays import WorkdayCalendar, get_calendar


@pytest.fixture(scope="session")
def official() -> WorkdayCalendar:
    return get_calendar("official")


@pytest.fixture(scope="session")
def tibet() -> WorkdayCalendar:
    return get_calendar("tibet")

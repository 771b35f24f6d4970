"""The official State Council calendar, from the PyPI package ``chinese-calendar``.

The package covers 2004–2026 (the range grows with its releases; we ask it rather than hard-code
it) and raises NotImplementedError outside that range, which we turn into "no data".
``get_workdays`` is called with its default ``include_weekends=True`` on purpose: the weekend
make-up working days (调休) ARE working days for deadlines.
"""

from __future__ import annotations

import threading
from datetime import date

import chinese_calendar

from govkit.workdays.model import YearCalendar

OFFICIAL = "official"


class ChineseCalendarSource:
    """The `chinese-calendar` package as a :class:`~govkit.workdays.model.WorkdayCalendar`."""

    def __init__(self, name: str = OFFICIAL) -> None:
        self._name = name
        # One chinese-calendar walk per year, then served from memory.
        self._years: dict[int, YearCalendar | None] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The calendar's name."""
        return self._name

    def year(self, year: int) -> YearCalendar | None:
        """The official working days of ``year``, or None outside the package's data."""
        with self._lock:
            if year not in self._years:
                self._years[year] = self._load(year)
            return self._years[year]

    @staticmethod
    def _load(year: int) -> YearCalendar | None:
        try:
            days = chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31))
        except NotImplementedError:
            return None
        return YearCalendar.from_days(year, frozenset(days), provisional=False)

    def __repr__(self) -> str:
        return f"ChineseCalendarSource({self._name!r})"

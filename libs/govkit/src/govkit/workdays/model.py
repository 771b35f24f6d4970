"""The calendar port and the value types shared by the working-day functions.

A calendar answers one question per year: which days of that year are working days? Everything
else (adding working days, counting them, the SLA clock) is arithmetic on those per-year answers,
done once per (calendar, year) and cached, so that no call walks day by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

SATURDAY = 5  # date.weekday(): Monday is 0, so Saturday and Sunday are 5 and 6


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """The working days of one year on one calendar.

    ``ordinals`` are the working days as ``date.toordinal()`` values, sorted ascending, so that
    adding and counting working days is a bisection, not a walk. ``provisional`` is true when the
    answer does not rest on confirmed data (a Monday–Friday fallback, or a calendar file an
    administrator has not confirmed yet).
    """

    year: int
    ordinals: tuple[int, ...]
    provisional: bool

    @classmethod
    def from_days(cls, year: int, days: frozenset[date] | set[date], *, provisional: bool) -> YearCalendar:
        """Build a year from a set of working days (days outside ``year`` are a bug, refused)."""
        if any(day.year != year for day in days):
            raise ValueError(f"working days of {year} contain a day of another year")
        return cls(year, tuple(sorted(day.toordinal() for day in days)), provisional)

    def days(self) -> frozenset[date]:
        """The working days as dates (for overlays and tests; the arithmetic uses ``ordinals``)."""
        return frozenset(date.fromordinal(o) for o in self.ordinals)


@runtime_checkable
class WorkdayCalendar(Protocol):
    """The calendar port: a named source of per-year working days.

    Implementations must be immutable and keep the default identity hash: answers are cached per
    (calendar object, year) for the life of the process.
    """

    @property
    def name(self) -> str:
        """The calendar's name as tenants and the command line select it (e.g. ``official``)."""
        ...

    def year(self, year: int) -> YearCalendar | None:
        """The working days of ``year``, or None when this calendar has no data for that year."""
        ...

    def __hash__(self) -> int:
        """Identity hash (the default): the per-year cache is keyed by the calendar object."""
        ...


@dataclass(frozen=True, slots=True)
class WorkdayResult:
    """A date computed in working days, and whether it rests on provisional calendar data."""

    date: date
    provisional: bool

    def to_json(self) -> dict[str, object]:
        """The contract's JSON shape: ``{"date": "YYYY-MM-DD", "provisional": bool}``."""
        return {"date": self.date.isoformat(), "provisional": self.provisional}


@dataclass(frozen=True, slots=True)
class WorkdayCount:
    """A number of working days, and whether it rests on provisional calendar data."""

    days: int
    provisional: bool


def weekdays_of(year: int) -> frozenset[date]:
    """Monday to Friday of ``year``: the fallback for a year without calendar data."""
    first = date(year, 1, 1)
    last = date(year, 12, 31)
    return frozenset(
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if (first + timedelta(days=i)).weekday() < SATURDAY
    )


def monday_to_friday(year: int) -> YearCalendar:
    """The provisional Monday–Friday year used where a calendar has no data."""
    return YearCalendar.from_days(year, weekdays_of(year), provisional=True)

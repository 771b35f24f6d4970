"""Working days: the official Chinese calendar with 调休, regional overlays, and the SLA clock.

Services call::

    from govkit.workdays import add_workdays, workdays_between, get_calendar, SlaClock

    cal = get_calendar(tenant.calendar_name)          # "official" (default), "tibet", ...
    due = add_workdays(signed_on, 5, cal)              # WorkdayResult(date, provisional)
    n = workdays_between(submitted_on, today, cal)     # WorkdayCount(days, provisional)
    clock = SlaClock.start(submitted_on, 15, "official").pause(p).resume(r)
    row.sla = clock.to_dict()                          # JSON column; SlaClock.from_dict(row.sla)

Conventions are in :mod:`govkit.workdays.arithmetic` and :mod:`govkit.workdays.sla`, and the
reasons in docs/adr/0004-working-days.md.
"""

from govkit.workdays.arithmetic import add_workdays, is_workday, workdays_between, year_of
from govkit.workdays.files import CalendarFile, CalendarFileError, load_calendar_file, parse_calendar_file
from govkit.workdays.model import WorkdayCalendar, WorkdayCount, WorkdayResult, YearCalendar
from govkit.workdays.official import OFFICIAL, ChineseCalendarSource
from govkit.workdays.registry import (
    CALENDAR_DIR_ENV,
    DEFAULT_CALENDAR,
    CalendarRegistry,
    FileCalendar,
    UnknownCalendarError,
    available_calendars,
    default_registry,
    get_calendar,
)
from govkit.workdays.sla import SlaClock, SlaClockError, SlaPause

__all__ = [
    "CALENDAR_DIR_ENV",
    "DEFAULT_CALENDAR",
    "OFFICIAL",
    "CalendarFile",
    "CalendarFileError",
    "CalendarRegistry",
    "ChineseCalendarSource",
    "FileCalendar",
    "SlaClock",
    "SlaClockError",
    "SlaPause",
    "UnknownCalendarError",
    "WorkdayCalendar",
    "WorkdayCount",
    "WorkdayResult",
    "YearCalendar",
    "add_workdays",
    "available_calendars",
    "default_registry",
    "get_calendar",
    "is_workday",
    "load_calendar_file",
    "parse_calendar_file",
    "workdays_between",
    "year_of",
]

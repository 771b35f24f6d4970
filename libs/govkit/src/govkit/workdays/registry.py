"""Calendars by name: the official one, plus those built from calendar files.

Tenants choose a calendar by name (stored with the tenant), and call :func:`get_calendar`.
The default registry holds ``official`` (chinese-calendar, plus any full-year ``official`` files)
and every calendar the packaged files define (``tibet``), plus files an administrator puts in
the directories named by the ``GOVPROJ_CALENDAR_DIR`` environment variable (``os.pathsep``
separated). Files are read once per process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from govkit.workdays.files import CalendarFile, CalendarFileError, load_calendar_file
from govkit.workdays.model import WorkdayCalendar, YearCalendar, monday_to_friday, weekdays_of
from govkit.workdays.official import OFFICIAL, ChineseCalendarSource

CALENDAR_DIR_ENV = "GOVPROJ_CALENDAR_DIR"
DEFAULT_CALENDAR = OFFICIAL


class UnknownCalendarError(LookupError):
    """No calendar of that name is loaded."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(f"unknown calendar {name!r} (known: {', '.join(self.known)})")

    def __str__(self) -> str:
        return str(self.args[0])


class FileCalendar:
    """A calendar made of a base calendar (or none) and per-year calendar files.

    For a year with a file: without a base, the file defines the year (Monday–Friday minus its
    holidays plus its make-up days); with a base, the file overlays the base's year (or the
    Monday–Friday fallback where the base has no data, which keeps the answer provisional).
    For a year without a file, the base answers (or nobody does: None).
    """

    def __init__(
        self, name: str, base: WorkdayCalendar | None, files: Mapping[int, CalendarFile], *, overlay: bool
    ) -> None:
        self._name = name
        self._base = base
        self._files = dict(files)
        self._overlay = overlay

    @property
    def name(self) -> str:
        """The calendar's name."""
        return self._name

    @property
    def base(self) -> WorkdayCalendar | None:
        """The calendar this one builds on, if any."""
        return self._base

    def file_years(self) -> tuple[int, ...]:
        """The years for which this calendar has a file of its own."""
        return tuple(sorted(self._files))

    def year(self, year: int) -> YearCalendar | None:
        """The working days of ``year``, or None where neither the files nor the base know it."""
        base_year = self._base.year(year) if self._base is not None else None
        file = self._files.get(year)
        if file is None:
            return base_year
        if self._overlay:
            start = base_year if base_year is not None else monday_to_friday(year)
            days = (start.days() - file.holiday_dates()) | file.makeup_dates()
            return YearCalendar.from_days(year, days, provisional=start.provisional or file.provisional)
        days = (weekdays_of(year) - file.holiday_dates()) | file.makeup_dates()
        return YearCalendar.from_days(year, days, provisional=file.provisional)

    def __repr__(self) -> str:
        return f"FileCalendar({self._name!r}, years={self.file_years()})"


def packaged_calendar_dir() -> Path:
    """The directory of the calendar files shipped with govkit."""
    return Path(str(resources.files("govkit.workdays") / "calendars"))


def _read_dirs(directories: Sequence[Path]) -> list[tuple[str, CalendarFile]]:
    files: list[tuple[str, CalendarFile]] = []
    for directory in directories:
        if not directory.is_dir():
            raise CalendarFileError(f"{directory}: calendar directory does not exist")
        for path in sorted(directory.glob("*.yaml")):
            files.append((str(path), load_calendar_file(path)))
    return files


class CalendarRegistry:
    """The calendars known by name; built once from calendar files and validated as a whole."""

    def __init__(self, calendars: Mapping[str, WorkdayCalendar]) -> None:
        self._calendars = dict(calendars)

    @classmethod
    def from_files(
        cls, files: Sequence[tuple[str, CalendarFile]], *, official: WorkdayCalendar | None = None
    ) -> CalendarRegistry:
        """Build the registry from validated files (``(origin, file)`` pairs).

        Errors (two files for one calendar and year, files of one calendar disagreeing on what
        they extend, an unknown or circular ``extends``, an ``official`` file for a year the
        official package already covers) raise :class:`CalendarFileError` naming the file.
        """
        official_source = official if official is not None else ChineseCalendarSource()
        by_name: dict[str, dict[int, tuple[str, CalendarFile]]] = {}
        extends: dict[str, tuple[str | None, str]] = {}
        for origin, file in files:
            years = by_name.setdefault(file.calendar, {})
            if file.year in years:
                raise CalendarFileError(
                    f"{origin}: calendar {file.calendar!r} year {file.year} is already defined by "
                    f"{years[file.year][0]}"
                )
            if file.calendar in extends and extends[file.calendar][0] != file.extends:
                other = extends[file.calendar]
                raise CalendarFileError(
                    f"{origin}: extends {file.extends!r} but {other[1]} (same calendar) extends {other[0]!r}"
                )
            if file.calendar == OFFICIAL and file.extends is not None:
                raise CalendarFileError(f"{origin}: the official calendar cannot extend another calendar")
            if file.calendar == OFFICIAL and official_source.year(file.year) is not None:
                raise CalendarFileError(
                    f"{origin}: official year {file.year} is already covered by the chinese-calendar package"
                )
            years[file.year] = (origin, file)
            extends[file.calendar] = (file.extends, origin)

        built: dict[str, WorkdayCalendar] = {}

        def build(name: str, chain: tuple[str, ...]) -> WorkdayCalendar:
            if name in built:
                return built[name]
            if name in chain:
                raise CalendarFileError(
                    f"{extends[name][1]}: circular extends: {' -> '.join((*chain, name))}"
                )
            files_of = {year: file for year, (_, file) in by_name.get(name, {}).items()}
            calendar: WorkdayCalendar
            if name == OFFICIAL:
                calendar = (
                    FileCalendar(OFFICIAL, official_source, files_of, overlay=False)
                    if files_of
                    else (official_source)
                )
            else:
                parent = extends[name][0]
                if parent is not None and parent not in by_name and parent != OFFICIAL:
                    raise CalendarFileError(f"{extends[name][1]}: extends unknown calendar {parent!r}")
                base = build(parent, (*chain, name)) if parent is not None else None
                calendar = FileCalendar(name, base, files_of, overlay=parent is not None)
            built[name] = calendar
            return calendar

        for name in (OFFICIAL, *sorted(by_name)):
            build(name, ())
        return cls(built)

    @classmethod
    def from_directories(
        cls, directories: Sequence[Path], *, official: WorkdayCalendar | None = None
    ) -> CalendarRegistry:
        """Load every ``*.yaml`` calendar file of the directories (in order) and build the registry."""
        return cls.from_files(_read_dirs(directories), official=official)

    def names(self) -> tuple[str, ...]:
        """The calendar names, sorted."""
        return tuple(sorted(self._calendars))

    def get(self, name: str) -> WorkdayCalendar:
        """The calendar called ``name``; :class:`UnknownCalendarError` if there is none."""
        try:
            return self._calendars[name]
        except KeyError:
            raise UnknownCalendarError(name, self._calendars) from None


def _configured_dirs() -> list[Path]:
    extra = os.environ.get(CALENDAR_DIR_ENV, "")
    return [packaged_calendar_dir(), *(Path(p) for p in extra.split(os.pathsep) if p)]


@lru_cache(maxsize=1)
def default_registry() -> CalendarRegistry:
    """The process-wide registry: packaged files plus ``$GOVPROJ_CALENDAR_DIR`` (read once)."""
    return CalendarRegistry.from_directories(_configured_dirs())


def get_calendar(name: str = DEFAULT_CALENDAR) -> WorkdayCalendar:
    """The calendar a tenant uses, by name (``official``, ``tibet``, ...)."""
    return default_registry().get(name)


def available_calendars() -> tuple[str, ...]:
    """The names :func:`get_calendar` accepts."""
    return default_registry().names()

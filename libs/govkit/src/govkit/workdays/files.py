"""Calendar files: one YAML file per (calendar, year), validated on load.

A file either defines a whole year of a calendar (``extends`` absent: Monday–Friday minus the
holidays plus the make-up working days, e.g. an administrator loading the State Council's 2027
schedule before `chinese-calendar` ships it) or overlays another calendar (``extends: official``:
that calendar's working days minus the regional holidays plus the regional make-up days, e.g.
Tibet's 藏历新年 and 雪顿节).

```yaml
calendar: tibet
extends: official
year: 2025
source: "拉萨市人民政府办公室 2025-02-11 notice, as reported by China News Service"
provisional: true        # answers using this file say provisional until an administrator confirms
holidays:
  - {date: 2025-02-27, name: 藏历新年}
makeup_workdays: []
```
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from govkit.workdays.model import SATURDAY

CALENDAR_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
MIN_YEAR = 1900  # nothing older is a plausible deadline; catches typos such as 225
MAX_YEAR = 9998  # keeps "the next year" representable by datetime.date


class CalendarFileError(ValueError):
    """A calendar file that cannot be used; the message names the file."""


class CalendarDay(BaseModel):
    """One dated entry of a calendar file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    name: Annotated[str, Field(min_length=1)]


class CalendarFile(BaseModel):
    """The validated content of one calendar file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: Annotated[str, Field(pattern=CALENDAR_NAME_PATTERN)]
    extends: Annotated[str, Field(pattern=CALENDAR_NAME_PATTERN)] | None = None
    year: Annotated[StrictInt, Field(ge=MIN_YEAR, le=MAX_YEAR)]
    source: Annotated[str, Field(min_length=1)]
    provisional: StrictBool = False
    holidays: tuple[CalendarDay, ...] = ()
    makeup_workdays: tuple[CalendarDay, ...] = ()

    @model_validator(mode="after")
    def _check_days(self) -> CalendarFile:
        if self.extends == self.calendar:
            raise ValueError(f"calendar {self.calendar!r} cannot extend itself")
        for field_name, days in (("holidays", self.holidays), ("makeup_workdays", self.makeup_workdays)):
            seen: set[date] = set()
            for day in days:
                if day.date.year != self.year:
                    raise ValueError(f"{field_name}: {day.date} is not in year {self.year}")
                if day.date in seen:
                    raise ValueError(f"{field_name}: {day.date} is listed twice")
                seen.add(day.date)
        both = {d.date for d in self.holidays} & {d.date for d in self.makeup_workdays}
        if both:
            listed = ", ".join(str(d) for d in sorted(both))
            raise ValueError(f"{listed} is both a holiday and a make-up working day")
        weekday_makeups = [d.date for d in self.makeup_workdays if d.date.weekday() < SATURDAY]
        if weekday_makeups:
            # A make-up working day (调休) on a Monday–Friday changes nothing: almost surely a typo.
            listed = ", ".join(str(d) for d in weekday_makeups)
            raise ValueError(f"makeup_workdays: {listed} is a Monday–Friday, not a weekend day")
        return self

    def holiday_dates(self) -> frozenset[date]:
        """The days off this file declares."""
        return frozenset(d.date for d in self.holidays)

    def makeup_dates(self) -> frozenset[date]:
        """The weekend days this file declares working days."""
        return frozenset(d.date for d in self.makeup_workdays)


class _StringDateLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so pydantic validates them with a field path.

    PyYAML's own timestamp resolver raises a bare ValueError (no line, no field) on 2027-02-30.
    """


_StringDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_calendar_file(data: Any, origin: str) -> CalendarFile:
    """Validate already-parsed YAML content; ``origin`` names the file in errors."""
    if not isinstance(data, dict):
        raise CalendarFileError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return CalendarFile.model_validate(data)
    except ValidationError as exc:
        raise CalendarFileError(f"{origin}: {_describe(exc)}") from exc


def load_calendar_file(path: Path) -> CalendarFile:
    """Read and validate one calendar file; any problem is a :class:`CalendarFileError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_StringDateLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CalendarFileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    return parse_calendar_file(data, str(path))

"""``govproj workdays``: working-day arithmetic on the command line (POLICY-CONTRACT.md).

``govproj workdays add 2025-09-30 5`` prints ``{"date": "2025-10-14", "provisional": false}``.
Bad input raises :class:`govkit.cli.CliError` (one line on stderr, exit 2). ``n`` is read as a
string and unknown options are passed through as arguments, so that ``add 2025-01-01 -3`` reaches
our own "negative n" message instead of click's "no such option: -3".
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated

import typer

from govkit.cli import CliError
from govkit.workdays.arithmetic import add_workdays, workdays_between
from govkit.workdays.files import CalendarFileError
from govkit.workdays.model import WorkdayCalendar
from govkit.workdays.registry import DEFAULT_CALENDAR, UnknownCalendarError, available_calendars, get_calendar

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"[+-]?\d+")
_PASS_NEGATIVES = {"ignore_unknown_options": True}

app = typer.Typer(
    name="workdays",
    help="Working days on the official Chinese calendar (调休 included) or a regional one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CalendarOption = Annotated[
    str, typer.Option("--calendar", "-c", help="Calendar name (official, tibet, ...).")
]


def _emit(payload: dict[str, object]) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False))


def _parse_date(text: str) -> date:
    if not _ISO_DATE.fullmatch(text):
        raise CliError(f"bad date {text!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"bad date {text!r}: {exc}") from None


def _parse_n(text: str) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        raise CliError(f"bad n {text!r}: expected a non-negative integer")
    n = int(text)
    if n < 0:
        raise CliError(f"negative n {n}: expected a non-negative number of working days")
    return n


def _calendar(name: str) -> WorkdayCalendar:
    try:
        return get_calendar(name)
    except UnknownCalendarError as exc:
        raise CliError(str(exc)) from None
    except CalendarFileError as exc:
        raise CliError(f"calendar files are invalid: {exc}") from None


@app.command(context_settings=_PASS_NEGATIVES)
def add(
    start: Annotated[str, typer.Argument(help="Start date, YYYY-MM-DD (does not count).")],
    n: Annotated[str, typer.Argument(help="Number of working days, >= 0.")],
    calendar: CalendarOption = DEFAULT_CALENDAR,
) -> None:
    """Print the n-th working day strictly after the date, as JSON {date, provisional}."""
    day = _parse_date(start)
    count = _parse_n(n)
    try:
        result = add_workdays(day, count, _calendar(calendar))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    _emit(result.to_json())


@app.command(context_settings=_PASS_NEGATIVES)
def between(
    start: Annotated[str, typer.Argument(help="Start date, YYYY-MM-DD (does not count).")],
    end: Annotated[str, typer.Argument(help="End date, YYYY-MM-DD (counts).")],
    calendar: CalendarOption = DEFAULT_CALENDAR,
) -> None:
    """Print the number of working days in (start, end] as JSON {workdays, provisional}."""
    first, last = _parse_date(start), _parse_date(end)
    count = workdays_between(first, last, _calendar(calendar))
    _emit(
        {
            "start": first.isoformat(),
            "end": last.isoformat(),
            "workdays": count.days,
            "provisional": count.provisional,
        }
    )


@app.command("calendars")
def calendars() -> None:
    """Print the calendar names accepted by --calendar, as a JSON array."""
    try:
        names = available_calendars()
    except CalendarFileError as exc:
        raise CliError(f"calendar files are invalid: {exc}") from None
    _emit({"calendars": list(names)})

"""``govproj workdays``: working-day arithmetic on the command line (POLICY-CONTRACT.md).

``govproj workdays add 2025-09-30 5`` prints ``{"date": "2025-10-14", "provisional": false}``.
Bad input raises :class:`govkit.cli.CliError` (one line on stderr, exit 2). ``n`` is read as a
string and unknown options are passed through as arguments, so that ``add 2025-01-01 -3`` reaches
our own "negative n" message instead of click's "no such option: -3".

Usage errors (missing argument, extra argument, option without value) are turned into
:class:`CliError` here, by the group class below: typer 0.29 vendors its own copy of click, so
its UsageError is not the ``click.UsageError`` that ``govkit.cli.main`` catches, and would
otherwise escape as a traceback with exit code 1 instead of one line and exit code 2.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from govkit.cli import CliError
from govkit.workdays.arithmetic import add_workdays, workdays_between
from govkit.workdays.files import CalendarFileError
from govkit.workdays.model import WorkdayCalendar
from govkit.workdays.registry import DEFAULT_CALENDAR, UnknownCalendarError, available_calendars, get_calendar

try:  # typer >= 0.29 raises the exceptions of its vendored click
    from typer._click.exceptions import UsageError as _VendoredUsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    _VendoredUsageError = click.UsageError  # type: ignore[assignment, misc]

_USAGE_ERRORS = (click.UsageError, _VendoredUsageError)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"[+-]?\d+")
_PASS_NEGATIVES = {"ignore_unknown_options": True}


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _OneLineErrorGroup(TyperGroup):
    """The ``workdays`` group: every usage error becomes a one-line :class:`CliError`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        """Parse the group's own arguments; ``govproj workdays`` alone is a usage error."""
        try:
            return super().parse_args(ctx, args)
        except _USAGE_ERRORS as exc:
            commands = ", ".join(sorted(self.commands))
            raise CliError(
                f"workdays: {_one_line(exc.format_message()) or 'missing command'} "
                f"(commands: {commands}; see govproj workdays --help)"
            ) from None

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        """Run the sub-command; its usage errors become one-line CliErrors."""
        try:
            return super().invoke(ctx)
        except _USAGE_ERRORS as exc:
            name = ctx.invoked_subcommand or ""
            raise CliError(f"workdays {name}: {_one_line(exc.format_message())}".replace(" :", ":")) from None


app = typer.Typer(
    name="workdays",
    cls=_OneLineErrorGroup,
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

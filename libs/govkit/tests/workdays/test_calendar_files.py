"""Calendar file validation and the registry built from files."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from govkit.workdays import (
    CalendarFileError,
    CalendarRegistry,
    UnknownCalendarError,
    WorkdayResult,
    add_workdays,
    available_calendars,
    is_workday,
    load_calendar_file,
    workdays_between,
)
from govkit.workdays.registry import packaged_calendar_dir

GOOD = """\
calendar: official
year: 2027
source: "example only: an administrator would copy the State Council's 2027 notice here"
provisional: true
holidays:
  - {date: 2027-01-01, name: 元旦}
makeup_workdays:
  - {date: 2027-01-09, name: 元旦调休}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_packaged_files_are_valid() -> None:
    paths = sorted(packaged_calendar_dir().glob("*.yaml"))
    assert [p.name for p in paths] == ["tibet-2025.yaml", "tibet-2026.yaml"]
    for path in paths:
        file = load_calendar_file(path)
        assert file.calendar == "tibet" and file.extends == "official" and file.provisional
    assert set(available_calendars()) >= {"official", "tibet"}


def test_good_file_loads(tmp_path: Path) -> None:
    file = load_calendar_file(write(tmp_path, "official-2027.yaml", GOOD))
    assert file.year == 2027
    assert file.holiday_dates() == {date(2027, 1, 1)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "colour: red\n", "colour: Extra inputs are not permitted"),
        (GOOD.replace("year: 2027", "year: '2027'"), "year: Input should be a valid integer"),
        (GOOD.replace("year: 2027", "year: 227"), "year: Input should be greater than or equal to 1900"),
        (GOOD.replace("2027-01-01, name", "2026-01-01, name"), "holidays: 2026-01-01 is not in year 2027"),
        (GOOD.replace("2027-01-09", "2027-01-08"), "2027-01-08 is a Monday–Friday"),
        (GOOD.replace("2027-01-09", "2027-01-02").replace("2027-01-01", "2027-01-02"), "both a holiday"),
        (GOOD.replace("2027-01-01, name", "2027-02-30, name"), "holidays.0.date"),
        (GOOD.replace("calendar: official", "calendar: Tibet West"), "calendar: String should match"),
        (GOOD.replace('source: "example only', 'sauce: "x'), "source: Field required"),
        (
            GOOD.replace("{date: 2027-01-01, name: 元旦}", "{date: 2027-01-01}"),
            "holidays.0.name: Field required",
        ),
        (GOOD + "  - {date: 2027-01-09, name: again}\n", "makeup_workdays: 2027-01-09 is listed twice"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("calendar: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(CalendarFileError) as info:
        load_calendar_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match=r"missing\.yaml: cannot read"):
        load_calendar_file(tmp_path / "missing.yaml")


def test_administrator_loaded_2027_file(tmp_path: Path) -> None:
    write(tmp_path, "official-2027.yaml", GOOD)
    registry = CalendarRegistry.from_directories([packaged_calendar_dir(), tmp_path])
    official = registry.get("official")
    assert not is_workday(date(2027, 1, 1), official)
    assert is_workday(date(2027, 1, 9), official)  # make-up Saturday
    # The example file says provisional: true, so answers stay provisional until confirmed.
    assert add_workdays(date(2026, 12, 31), 1, official) == WorkdayResult(date(2027, 1, 4), provisional=True)
    # tibet extends official, so it sees the 2027 file too.
    assert not is_workday(date(2027, 1, 1), registry.get("tibet"))
    # Confirmed data is not provisional.
    confirmed = tmp_path / "confirmed"
    confirmed.mkdir()
    write(confirmed, "official-2027.yaml", GOOD.replace("provisional: true", "provisional: false"))
    official = CalendarRegistry.from_directories([confirmed]).get("official")
    assert workdays_between(date(2026, 12, 31), date(2027, 1, 9), official).provisional is False


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": GOOD, "b.yaml": GOOD}, "calendar 'official' year 2027 is already defined by"),
        (
            {"a.yaml": GOOD.replace("2027", "2025").replace("2025-01-09", "2025-01-11")},
            "already covered by the chinese-calendar package",
        ),
        (
            {"a.yaml": GOOD.replace("calendar: official", "calendar: official\nextends: tibet")},
            "the official calendar cannot extend",
        ),
        (
            {"x.yaml": GOOD.replace("calendar: official", "calendar: xizang\nextends: nowhere")},
            "extends unknown calendar 'nowhere'",
        ),
        (
            {
                "x.yaml": GOOD.replace("calendar: official", "calendar: xa\nextends: xb"),
                "y.yaml": GOOD.replace("calendar: official", "calendar: xb\nextends: xa"),
            },
            "circular extends",
        ),
        (
            {
                "x.yaml": GOOD.replace("calendar: official", "calendar: xa\nextends: official"),
                "y.yaml": GOOD.replace("calendar: official", "calendar: xa").replace("2027", "2028"),
            },
            "(same calendar) extends 'official'",
        ),
        ({"x.yaml": GOOD.replace("calendar: official", "calendar: xa\nextends: xa")}, "cannot extend itself"),
    ],
)
def test_inconsistent_file_sets(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(CalendarFileError, match=r"\.yaml: ") as info:
        CalendarRegistry.from_directories([tmp_path])
    assert message in str(info.value)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="does not exist"):
        CalendarRegistry.from_directories([tmp_path / "nope"])


def test_standalone_calendar_without_base(tmp_path: Path) -> None:
    write(tmp_path, "x.yaml", GOOD.replace("calendar: official", "calendar: plain").replace("true", "false"))
    plain = CalendarRegistry.from_directories([tmp_path]).get("plain")
    assert add_workdays(date(2026, 12, 31), 1, plain) == WorkdayResult(date(2027, 1, 4), provisional=False)
    assert add_workdays(date(2026, 12, 30), 2, plain) == WorkdayResult(date(2027, 1, 4), provisional=True)
    assert add_workdays(date(2027, 1, 1), 1, plain) == WorkdayResult(date(2027, 1, 4), provisional=False)
    assert add_workdays(date(2025, 9, 30), 1, plain).provisional  # no data for 2025 in this calendar


def test_unknown_calendar_lists_the_known_ones() -> None:
    registry = CalendarRegistry.from_directories([packaged_calendar_dir()])
    with pytest.raises(UnknownCalendarError, match=r"unknown calendar 'mars' \(known: official, tibet\)"):
        registry.get("mars")

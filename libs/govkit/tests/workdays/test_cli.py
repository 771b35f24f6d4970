"""``govproj workdays``: in process with CliRunner, and as the installed console script."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govkit.cli import CliError
from govkit.workdays.cli import app

GOVPROJ = Path(__file__).resolve().parents[4] / ".venv" / "bin" / "govproj"
runner = CliRunner()


def test_add_contract_example() -> None:
    result = runner.invoke(app, ["add", "2025-09-30", "5"])
    assert result.exit_code == 0, result.output
    assert result.stdout == '{"date": "2025-10-14", "provisional": false}\n'


def test_add_other_calendar_and_year_without_data() -> None:
    result = runner.invoke(app, ["add", "2025-02-26", "1", "--calendar", "tibet"])
    assert json.loads(result.stdout) == {"date": "2025-03-05", "provisional": True}
    result = runner.invoke(app, ["add", "2027-03-05", "1"])
    assert json.loads(result.stdout) == {"date": "2027-03-08", "provisional": True}


def test_between() -> None:
    result = runner.invoke(app, ["between", "2025-09-30", "2025-10-14"])
    assert json.loads(result.stdout) == {
        "start": "2025-09-30",
        "end": "2025-10-14",
        "workdays": 5,
        "provisional": False,
    }


def test_calendars() -> None:
    result = runner.invoke(app, ["calendars"])
    assert set(json.loads(result.stdout)["calendars"]) >= {"official", "tibet"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "2025-13-01", "3"], "bad date '2025-13-01'"),
        (["add", "2025-1-1", "3"], "expected YYYY-MM-DD"),
        (["add", "2025-01-01", "-3"], "negative n -3"),
        (["add", "2025-01-01", "x"], "bad n 'x'"),
        (["add", "2025-01-01", "3", "--calendar", "mars"], "unknown calendar 'mars'"),
        (["between", "2025-01-01", "2025-02-30"], "bad date '2025-02-30'"),
    ],
)
def test_errors_are_cli_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, CliError)
    assert message in str(result.exception)
    assert result.stdout == ""


needs_govproj = pytest.mark.skipif(
    importlib.util.find_spec("govkit.policy.cli") is None or not GOVPROJ.exists(),
    reason="govproj needs govkit.policy.cli (written separately) and .venv/bin/govproj",
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GOVPROJ), "workdays", *args], capture_output=True, text=True, timeout=60)


@needs_govproj
def test_subprocess_success() -> None:
    done = run("add", "2025-09-30", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"date": "2025-10-14", "provisional": false}\n'


@needs_govproj
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "2025-02-30", "5"], "bad date"),
        (["add", "2025-01-01", "-3"], "negative n -3"),
        (["add", "2025-01-01", "3", "--calendar", "mars"], "unknown calendar 'mars'"),
    ],
)
def test_subprocess_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("govproj: ")
    assert message in lines[0]


@needs_govproj
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "not-a-date", "5"], "bad date"),
        (["add", "2025-01-01"], "Missing argument"),
        (["add", "2025-01-01", "3", "--bogus"], "unexpected extra argument"),
        (["add", "2025-01-01", "3", "extra"], "unexpected extra argument"),
        (["add", "2025-01-01", "3", "--calendar"], "requires an argument"),
        (["nope"], "No such command"),
    ],
)
def test_main_usage_errors_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process (the console script's start-up is slow): the same main() the script runs.
    from govkit.cli import main

    with pytest.raises(SystemExit) as info:
        main(["workdays", *args])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("govproj: ")
    assert message in lines[0]


def test_run_as_a_module_bad_input_is_one_line_and_exit_2() -> None:
    """``python -m govkit.cli`` (where the console script is not installed) answers bad input the
    same way: one line on stderr, exit 2, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "govkit.cli", "workdays", "add", "2025-02-30", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("govproj: ")
    assert "bad date" in done.stderr and "Traceback" not in done.stderr

"""The services' clock: the system's, or in dev a file an operator or a test writes."""

import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from govkit.clock import FileClock, service_clock, set_dev_clock, system_clock

BEIJING = timezone(timedelta(hours=8))


def test_production_runs_on_the_system_clock_and_refuses_a_clock_file(tmp_path: Path) -> None:
    assert service_clock(env="production", dev_clock_file=None) is system_clock
    with pytest.raises(ValueError, match="dev only"):
        service_clock(env="production", dev_clock_file=tmp_path / "clock")
    with pytest.raises(ValueError, match="dev only"):
        service_clock(env="test", dev_clock_file=tmp_path / "clock")


def test_without_the_file_the_dev_clock_is_the_system_clock(tmp_path: Path) -> None:
    clock = service_clock(env="dev", dev_clock_file=tmp_path / "clock")
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 1


def test_the_dev_clock_starts_at_the_written_instant_and_runs_on(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = FileClock(path)
    set_dev_clock(path, datetime(2025, 9, 30, 17, 0, tzinfo=BEIJING))
    first = clock()
    assert first.tzinfo is UTC and abs(first - datetime(2025, 9, 30, 9, 0, tzinfo=UTC)) < timedelta(seconds=1)
    time.sleep(0.05)
    assert clock() > first  # it runs at the real pace from the moment it was set
    set_dev_clock(path, datetime(2025, 10, 9, 9, 0, tzinfo=BEIJING))
    os.utime(path, ns=(time.time_ns(), time.time_ns()))  # same second as before: still re-read
    assert clock().astimezone(BEIJING).date().isoformat() == "2025-10-09"
    path.unlink()
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 1


def test_an_instant_without_its_offset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("2025-09-30T17:00:00", encoding="utf-8")
    with pytest.raises(ValueError, match="UTC offset"):
        FileClock(path)()
    with pytest.raises(ValueError, match="UTC offset"):
        set_dev_clock(path, datetime(2025, 9, 30, 17, 0))

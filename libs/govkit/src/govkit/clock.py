"""The services' clock: the system's, or in dev a clock an operator or a test can set.

Deadlines in working days only show themselves over days and holidays, which an end-to-end test
cannot wait for. With ``GOVPROJ_<SERVICE>_DEV_CLOCK_FILE`` set (dev only: refused in any other
environment) a service reads "now" from that file: it holds an ISO 8601 instant with its offset,
and the clock runs on from it at the real pace, counted from the file's modification time. Writing
the file moves every service that reads it at once; no file, the system clock. Only the domain's
time moves: tokens, TLS and timeouts keep the real clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current instant, UTC."""
    return datetime.now(UTC)


@dataclass
class FileClock:
    """Now = the instant in ``path`` + the real time since the file was written (UTC)."""

    path: Path
    _seen: tuple[int, datetime] | None = field(default=None, init=False)

    def __call__(self) -> datetime:
        try:
            written = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return system_clock()
        if self._seen is None or self._seen[0] != written:
            self._seen = (written, parse_instant(self.path.read_text(encoding="utf-8")))
        set_at = self._seen[1]
        return set_at + timedelta(seconds=time.time() - written / 1e9)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its UTC offset (a clock must not guess a time zone)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"the dev clock needs an instant with its UTC offset, got {text.strip()!r}")
    return value.astimezone(UTC)


def set_dev_clock(path: Path, instant: datetime) -> None:
    """Move a dev clock to ``instant`` (atomically, so a reader never sees half a file)."""
    if instant.tzinfo is None:
        raise ValueError("the dev clock needs an instant with its UTC offset")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(instant.isoformat(), encoding="utf-8")
    os.replace(partial, path)


def service_clock(*, env: str, dev_clock_file: Path | None) -> Clock:
    """The clock a service's use cases read: the system's, or the dev clock file's."""
    if dev_clock_file is None:
        return system_clock
    if env != "dev":
        raise ValueError("a dev clock file is for GOVPROJ_ENV=dev only; production runs on the system clock")
    return FileClock(dev_clock_file)

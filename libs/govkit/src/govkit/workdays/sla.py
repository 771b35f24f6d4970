"""The SLA clock: a deadline in working days that stops while waiting for the applicant (补正).

Pure value object: every method returns a new clock or an answer; nothing is read or written
except the calendar, which is resolved by name through the process-wide registry (files read once)
unless the caller passes a calendar object. Store it with :meth:`SlaClock.to_dict` in a JSON column
and restore it with :meth:`SlaClock.from_dict`.

Counting rules:

* The clock starts on ``started_on``; that day does not count. The due date is the ``workdays``-th
  counted working day after it (same convention as :func:`add_workdays`).
* Paused on day P and resumed on day R: the working days in ``(P, R]`` do not count. Day P itself
  counts (the reviewer worked that day and sent the 补正 notice); day R does not (the applicant's
  material arrives on R and the clock runs again from the next working day), exactly as if the
  clock had been restarted on R with the working days it had left.
* Hence a pause of k working days that ends before the due date moves the due date by exactly k
  working days. A pause that starts after the due date has passed does not rescue the deadline.
* While paused and not yet due, the due date is unknown (None): the clock is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from govkit.workdays.arithmetic import add_workdays, workdays_between
from govkit.workdays.model import WorkdayCalendar, WorkdayResult
from govkit.workdays.registry import DEFAULT_CALENDAR, get_calendar

SLA_RECORD_VERSION = 1


class SlaClockError(ValueError):
    """An SLA operation out of order (pause while paused, resume before the pause, ...)."""


@dataclass(frozen=True, slots=True)
class SlaPause:
    """One pause: from ``paused_on`` until ``resumed_on`` (None while still paused)."""

    paused_on: date
    resumed_on: date | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """A working-day deadline with pauses; immutable, JSON-serializable."""

    started_on: date
    workdays: int
    calendar: str = DEFAULT_CALENDAR
    pauses: tuple[SlaPause, ...] = ()

    # ---- construction and events -------------------------------------------------------------

    @classmethod
    def start(cls, started_on: date, workdays: int, calendar: str = DEFAULT_CALENDAR) -> SlaClock:
        """A running clock of ``workdays`` working days, started on ``started_on``."""
        if isinstance(workdays, bool) or not isinstance(workdays, int) or workdays < 0:
            raise SlaClockError(f"workdays must be a non-negative integer, got {workdays!r}")
        return cls(started_on=started_on, workdays=workdays, calendar=calendar)

    @property
    def paused(self) -> bool:
        """Whether the clock is stopped right now (a pause without a resume)."""
        return bool(self.pauses) and self.pauses[-1].resumed_on is None

    def pause(self, on: date) -> SlaClock:
        """Stop the clock on ``on`` (waiting for the applicant); ``on`` itself still counts."""
        if self.paused:
            raise SlaClockError(f"already paused since {self.pauses[-1].paused_on}")
        last = self.pauses[-1].resumed_on if self.pauses else self.started_on
        if last is not None and on < last:
            raise SlaClockError(f"cannot pause on {on}: before the clock's last event on {last}")
        return replace(self, pauses=(*self.pauses, SlaPause(on)))

    def resume(self, on: date) -> SlaClock:
        """Restart the clock on ``on``; the working days in (pause day, ``on``] do not count."""
        if not self.paused:
            raise SlaClockError("not paused")
        paused_on = self.pauses[-1].paused_on
        if on < paused_on:
            raise SlaClockError(f"cannot resume on {on}: before the pause on {paused_on}")
        return replace(self, pauses=(*self.pauses[:-1], SlaPause(paused_on, on)))

    # ---- questions ---------------------------------------------------------------------------

    def _calendar(self, calendar: WorkdayCalendar | None) -> WorkdayCalendar:
        return calendar if calendar is not None else get_calendar(self.calendar)

    def due_date(self, calendar: WorkdayCalendar | None = None) -> WorkdayResult | None:
        """The last working day of the deadline, or None while paused before reaching it."""
        cal = self._calendar(calendar)
        cursor = self.started_on
        left = self.workdays
        provisional = False
        for pause in self.pauses:
            running = workdays_between(cursor, pause.paused_on, cal)
            provisional = provisional or running.provisional
            if left <= running.days:
                break
            left -= running.days
            if pause.resumed_on is None:
                return None
            cursor = pause.resumed_on
        due = add_workdays(cursor, left, cal)
        return WorkdayResult(due.date, provisional or due.provisional)

    def paused_workdays(self, as_of: date, calendar: WorkdayCalendar | None = None) -> int:
        """Working days not counted because of pauses, up to ``as_of``."""
        cal = self._calendar(calendar)
        total = 0
        for pause in self.pauses:
            if pause.paused_on >= as_of:
                break
            until = as_of if pause.resumed_on is None else min(pause.resumed_on, as_of)
            total += workdays_between(pause.paused_on, until, cal).days
        return total

    def elapsed_workdays(self, as_of: date, calendar: WorkdayCalendar | None = None) -> int:
        """Counted working days in (started_on, as_of], pauses excluded (0 before the start)."""
        if as_of <= self.started_on:
            return 0
        cal = self._calendar(calendar)
        return workdays_between(self.started_on, as_of, cal).days - self.paused_workdays(as_of, cal)

    def remaining_workdays(self, as_of: date, calendar: WorkdayCalendar | None = None) -> int:
        """Working days left as of the end of ``as_of``; negative once overdue (by that many)."""
        return self.workdays - self.elapsed_workdays(as_of, calendar)

    def overdue(self, as_of: date, calendar: WorkdayCalendar | None = None) -> bool:
        """Whether the due date has passed by ``as_of`` (the due date itself is still in time)."""
        due = self.due_date(calendar)
        return due is not None and as_of > due.date

    # ---- storage -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict for a DB column; :meth:`from_dict` reads it back."""
        return {
            "version": SLA_RECORD_VERSION,
            "started_on": self.started_on.isoformat(),
            "workdays": self.workdays,
            "calendar": self.calendar,
            "pauses": [
                {
                    "paused_on": p.paused_on.isoformat(),
                    "resumed_on": p.resumed_on.isoformat() if p.resumed_on else None,
                }
                for p in self.pauses
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlaClock:
        """Rebuild a clock from :meth:`to_dict` output; a malformed record is an SlaClockError."""
        try:
            record = _SlaRecord.model_validate(data)
        except ValidationError as exc:
            raise SlaClockError(f"invalid SLA clock record: {exc.errors()[0]['msg']}") from exc
        clock = cls.start(record.started_on, record.workdays, record.calendar)
        # Replaying the events re-checks their order, so a hand-edited record cannot be inconsistent.
        for pause in record.pauses:
            clock = clock.pause(pause.paused_on)
            if pause.resumed_on is not None:
                clock = clock.resume(pause.resumed_on)
        return clock


class _SlaPauseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paused_on: date
    resumed_on: date | None = None


class _SlaRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[StrictInt, Field(ge=SLA_RECORD_VERSION, le=SLA_RECORD_VERSION)]
    started_on: date
    workdays: Annotated[StrictInt, Field(ge=0)]
    calendar: Annotated[str, Field(min_length=1)]
    pauses: tuple[_SlaPauseRecord, ...] = ()

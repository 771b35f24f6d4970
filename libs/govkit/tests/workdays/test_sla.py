"""The SLA clock: due date, pauses (补正), remaining days, overdue, JSON round trip."""

from __future__ import annotations

import json
from datetime import date

import pytest

from govkit.workdays import SlaClock, SlaClockError, SlaPause, WorkdayResult

D = date


def test_running_clock() -> None:
    clock = SlaClock.start(D(2025, 9, 30), 5)
    assert clock.due_date() == WorkdayResult(D(2025, 10, 14), provisional=False)
    assert clock.remaining_workdays(D(2025, 9, 30)) == 5
    assert clock.remaining_workdays(D(2025, 10, 8)) == 5  # holidays do not count
    assert clock.remaining_workdays(D(2025, 10, 11)) == 2  # make-up Saturday counts
    assert clock.remaining_workdays(D(2025, 10, 14)) == 0
    assert not clock.overdue(D(2025, 10, 14))  # the due date itself is in time
    assert clock.overdue(D(2025, 10, 15))
    assert clock.remaining_workdays(D(2025, 10, 16)) == -2  # overdue by 2 working days


def test_pause_day_counts_resume_day_does_not() -> None:
    # lhasa §11-style: 5 wd review. Started Mon 2025-03-03; paused Wed 03-05 after 2 working days
    # (03-04, 03-05); resumed Mon 03-10: (03-05, 03-10] = 03-06, 03-07, 03-10 do not count.
    clock = SlaClock.start(D(2025, 3, 3), 5).pause(D(2025, 3, 5))
    assert clock.paused
    assert clock.due_date() is None
    assert clock.remaining_workdays(D(2025, 3, 7)) == 3  # frozen while paused
    assert not clock.overdue(D(2025, 12, 31))  # a stopped clock is never overdue
    clock = clock.resume(D(2025, 3, 10))
    assert clock.paused_workdays(D(2025, 3, 31)) == 3
    # Without the pause: 03-10. With it: 3 working days later, 03-13.
    assert clock.due_date() == WorkdayResult(D(2025, 3, 13), provisional=False)
    assert clock.remaining_workdays(D(2025, 3, 10)) == 3
    assert clock.remaining_workdays(D(2025, 3, 13)) == 0


def test_pause_and_resume_same_day_changes_nothing() -> None:
    clock = SlaClock.start(D(2025, 3, 3), 5)
    assert clock.pause(D(2025, 3, 5)).resume(D(2025, 3, 5)).due_date() == clock.due_date()


def test_pause_over_a_holiday_week() -> None:
    # Paused 2025-09-29 (Mon), resumed 2025-10-13 (Mon): (09-29, 10-13] holds 09-30, 10-09, 10-10,
    # 10-11 (make-up Saturday), 10-13 = 5 working days.
    clock = SlaClock.start(D(2025, 9, 26), 3)
    assert clock.due_date() == WorkdayResult(D(2025, 9, 30), provisional=False)
    resumed = clock.pause(D(2025, 9, 29)).resume(D(2025, 10, 13))
    assert resumed.paused_workdays(D(2025, 10, 31)) == 5
    assert resumed.due_date() == WorkdayResult(D(2025, 10, 14), provisional=False)


def test_pause_after_the_due_date_does_not_rescue_it() -> None:
    clock = SlaClock.start(D(2025, 3, 3), 2)  # due 03-05
    late = clock.pause(D(2025, 3, 7)).resume(D(2025, 3, 20))
    assert late.due_date() == WorkdayResult(D(2025, 3, 5), provisional=False)
    assert late.overdue(D(2025, 3, 21))
    still_paused = clock.pause(D(2025, 3, 7))
    assert still_paused.due_date() == WorkdayResult(D(2025, 3, 5), provisional=False)
    assert still_paused.overdue(D(2025, 3, 7))


def test_several_pauses_add_up() -> None:
    clock = (
        SlaClock.start(D(2025, 3, 3), 10)
        .pause(D(2025, 3, 4))
        .resume(D(2025, 3, 6))  # 2 wd
        .pause(D(2025, 3, 10))
        .resume(D(2025, 3, 11))  # 1 wd
    )
    assert clock.due_date() == WorkdayResult(D(2025, 3, 20), provisional=False)  # 03-17 + 3 wd


def test_provisional_when_the_due_date_falls_in_a_year_without_data() -> None:
    due = SlaClock.start(D(2026, 12, 25), 10).due_date()
    assert due is not None and due.provisional


def test_tibet_clock() -> None:
    clock = SlaClock.start(D(2025, 2, 26), 1, calendar="tibet")
    assert clock.due_date() == WorkdayResult(D(2025, 3, 5), provisional=True)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda c: c.resume(D(2025, 3, 5)), "not paused"),
        (lambda c: c.pause(D(2025, 3, 1)), "before the clock's last event"),
        (lambda c: c.pause(D(2025, 3, 5)).pause(D(2025, 3, 6)), "already paused"),
        (lambda c: c.pause(D(2025, 3, 5)).resume(D(2025, 3, 4)), "before the pause"),
        (lambda c: c.pause(D(2025, 3, 5)).resume(D(2025, 3, 7)).pause(D(2025, 3, 6)), "last event"),
    ],
)
def test_events_out_of_order(action, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SlaClockError, match=message):
        action(SlaClock.start(D(2025, 3, 3), 5))


def test_negative_workdays() -> None:
    with pytest.raises(SlaClockError):
        SlaClock.start(D(2025, 3, 3), -1)


def test_json_round_trip() -> None:
    clock = SlaClock.start(D(2025, 3, 3), 5, "tibet").pause(D(2025, 3, 5)).resume(D(2025, 3, 10))
    clock = clock.pause(D(2025, 3, 11))
    record = json.loads(json.dumps(clock.to_dict()))
    assert record == {
        "version": 1,
        "started_on": "2025-03-03",
        "workdays": 5,
        "calendar": "tibet",
        "pauses": [
            {"paused_on": "2025-03-05", "resumed_on": "2025-03-10"},
            {"paused_on": "2025-03-11", "resumed_on": None},
        ],
    }
    restored = SlaClock.from_dict(record)
    assert restored == clock
    assert restored.pauses[-1] == SlaPause(D(2025, 3, 11))


@pytest.mark.parametrize(
    "record",
    [
        {"version": 2, "started_on": "2025-03-03", "workdays": 5, "calendar": "official"},
        {"version": 1, "started_on": "2025-03-03", "workdays": "5", "calendar": "official"},
        {"version": 1, "started_on": "2025-03-03", "workdays": 5, "calendar": "official", "x": 1},
        {
            "version": 1,
            "started_on": "2025-03-03",
            "workdays": 5,
            "calendar": "official",
            "pauses": [{"paused_on": "2025-03-01", "resumed_on": None}],
        },
    ],
)
def test_bad_records(record: dict[str, object]) -> None:
    with pytest.raises(SlaClockError):
        SlaClock.from_dict(record)

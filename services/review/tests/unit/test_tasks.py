"""SLA tasks: deadlines in working days over holidays, 补正 pauses, urgency and reminders."""

from datetime import date

import pytest

from govkit.errors import AppError
from review.domain import tasks as t
from review.domain.tasks import ReminderKind, TaskKind, TaskStatus, Urgency


def task(opened: date, workdays: int | None, **kw: object) -> t.Task:
    return t.open_task(
        id="task-1",
        tenant_id="county-b",
        reviewing_tenant_id=None,
        case_id="case-1",
        kind=TaskKind.FORMAL_REVIEW,
        stage="plan",
        holder_tenant_id="county-b",
        holder_role="bureau_reviewer",
        opened_on=opened,
        workdays=workdays,
        calendar="official",
        cite=["lhasa §11"],
        **kw,  # type: ignore[arg-type]
    )


def test_five_working_days_over_the_national_day_holiday() -> None:
    # 2025-09-30 + 5 wd: 1–8 October are holidays, 11 October (Saturday) is a make-up working day.
    assert task(date(2025, 9, 30), 5).due_on() == date(2025, 10, 14)


def test_pause_for_correction_moves_the_deadline_by_the_paused_working_days() -> None:
    running = task(date(2025, 3, 3), 5)  # Monday → due Monday 10 March
    assert running.due_on() == date(2025, 3, 10)
    paused = t.pause(running, date(2025, 3, 4))
    assert paused.paused and paused.due_on() is None
    assert paused.urgency(date(2025, 3, 20), 1) is Urgency.PAUSED
    resumed = t.resume(paused, date(2025, 3, 7))  # 5, 6, 7 March do not count
    assert not resumed.paused
    assert resumed.due_on() == date(2025, 3, 13)


def test_resume_and_pause_are_harmless_when_not_applicable() -> None:
    no_limit = task(date(2025, 3, 3), None)
    assert t.pause(no_limit, date(2025, 3, 4)) is no_limit
    running = task(date(2025, 3, 3), 5)
    assert t.resume(running, date(2025, 3, 4)) is running


def test_urgency_and_reminders_before_and_after_the_deadline() -> None:
    running = task(date(2025, 3, 3), 5)  # due 10 March (Monday)
    assert running.urgency(date(2025, 3, 5), 1) is Urgency.ON_TRACK
    # Friday 7 March is one working day before Monday 10 March.
    assert t.reminders_due(running, date(2025, 3, 7), 1) == [ReminderKind.DUE_SOON]
    assert t.reminders_due(running, date(2025, 3, 10), 1) == [ReminderKind.DUE_SOON]
    assert t.reminders_due(running, date(2025, 3, 11), 1) == [ReminderKind.OVERDUE]
    done = t.complete(running, date(2025, 3, 6))
    assert done.status is TaskStatus.DONE and t.reminders_due(done, date(2025, 3, 11), 1) == []


def test_fixed_due_date_without_a_working_day_limit() -> None:
    by_date = task(date(2025, 9, 16), None, fixed_due=date(2025, 9, 30))
    assert by_date.due_on() == date(2025, 9, 30)
    assert by_date.urgency(date(2025, 10, 1), 1) is Urgency.OVERDUE
    assert task(date(2025, 9, 16), None).urgency(date(2030, 1, 1), 1) is Urgency.NO_DEADLINE


def test_reassign_keeps_the_deadline_and_narrows_the_holder() -> None:
    running = task(date(2025, 3, 3), 5)
    moved = t.reassign(running, to_user="bureau_reviewer2.county-b")
    assert moved.due_on() == running.due_on()
    assert moved.visible_to(
        tenant="county-b", roles=frozenset(), org=None, username="bureau_reviewer2.county-b"
    )
    assert not moved.visible_to(
        tenant="county-b",
        roles=frozenset({"bureau_reviewer"}),
        org="bureau",
        username="bureau_reviewer.county-b",
    )
    with pytest.raises(AppError):
        t.reassign(t.complete(running, date(2025, 3, 4)), to_user="x")


def test_sla_key_lookup_takes_the_first_the_pack_names() -> None:
    lhasa = {"formal_review": 5, "issue_approval": 2, "second_review": 3}
    assert t.sla_workdays(lhasa, ("second_review", "formal_review")) == 3
    assert t.sla_workdays({"bureau_review": 15}, ("formal_review", "bureau_review")) == 15
    assert t.sla_workdays(None, ("formal_review",)) is None


def test_reminder_text_is_chinese_and_cites() -> None:
    subject, body = t.reminder_text(task(date(2025, 3, 3), 5), ReminderKind.OVERDUE, case_name="智慧城管")
    assert "已逾期" in subject and "2025-03-10" in body and "lhasa §11" in body

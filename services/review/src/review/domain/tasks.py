"""SLA tasks: every step someone owes the case, with its deadline in working days from the pack.

A task has a holder (a role in a tenant, optionally one user or one org), an SLA clock
(:class:`govkit.workdays.SlaClock`, paused while the case waits for the applicant's 补正) or a
fixed due date (a calendar date the pack sets, e.g. qiaokou §11(1) "9月底完成评审"), or neither
when the pack sets no limit. Reminders go out ``lead`` working days before the due date and once
it has passed; each reminder is keyed by (task, kind, due date) so a sweep never sends it twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.workdays import SlaClock, workdays_between


class TaskKind(StrEnum):
    """What the holder has to do."""

    FORMAL_REVIEW = "formal_review"
    OPINION = "opinion"
    CORRECTION = "correction"  # the applicant's 补正 after a plan-stage return
    EXPERT_REVIEW = "expert_review"  # one drawn expert's scoring sheet
    PLAN_DECISION = "plan_decision"
    APPROVAL_REVIEW = "approval_review"
    ISSUE_APPROVAL = "issue_approval"
    APPLICANT_REVISION = "applicant_revision"  # the applicant's revision after an approval-stage return
    STEP = "step"  # a recorded step with its own limit (发改 approval, third-party design review)
    CHANGE_REVIEW = "change_review"


KIND_ZH = {
    TaskKind.FORMAL_REVIEW: "形式审查",
    TaskKind.OPINION: "部门意见",
    TaskKind.CORRECTION: "补正材料",
    TaskKind.EXPERT_REVIEW: "专家评审打分",
    TaskKind.PLAN_DECISION: "年度计划决定",
    TaskKind.APPROVAL_REVIEW: "审批评审",
    TaskKind.ISSUE_APPROVAL: "出具批复",
    TaskKind.APPLICANT_REVISION: "修改评审材料",
    TaskKind.STEP: "办理环节",
    TaskKind.CHANGE_REVIEW: "变更审查",
}


class TaskStatus(StrEnum):
    """Open until done or cancelled."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Urgency(StrEnum):
    """Where an open task stands against its deadline."""

    NO_DEADLINE = "no_deadline"
    PAUSED = "paused"
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class ReminderKind(StrEnum):
    """Why a reminder went out."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Task:
    """One thing someone owes a case."""

    id: str
    tenant_id: str
    case_id: str
    kind: TaskKind
    stage: str
    holder_tenant_id: str
    holder_role: str
    opened_on: date
    version: int = 1
    reviewing_tenant_id: str | None = None
    holder_org: str | None = None
    holder_user: str | None = None
    subject: str | None = None  # the department, the expert, the step ...
    clock: SlaClock | None = None
    fixed_due: date | None = None
    status: TaskStatus = TaskStatus.OPEN
    closed_on: date | None = None
    cite: tuple[str, ...] = ()
    calendar: str | None = None

    @property
    def paused(self) -> bool:
        """Stopped while the case waits for the applicant."""
        return self.clock is not None and self.clock.paused

    def due_on(self) -> date | None:
        """The last day in time; None without a limit or while paused."""
        if self.clock is not None:
            due = self.clock.due_date()
            return due.date if due is not None else None
        return self.fixed_due

    def urgency(self, today: date, lead_workdays: int) -> Urgency:
        """Overdue after the due date; due soon within ``lead_workdays`` of it (the due day included)."""
        if self.clock is None and self.fixed_due is None:
            return Urgency.NO_DEADLINE
        due = self.due_on()
        if due is None:
            return Urgency.PAUSED
        if today > due:
            return Urgency.OVERDUE
        if workdays_between(today, due, self.calendar_name).days <= lead_workdays:
            return Urgency.DUE_SOON
        return Urgency.ON_TRACK

    @property
    def calendar_name(self) -> str | None:
        """The working-day calendar of the clock (or of the task)."""
        return self.clock.calendar if self.clock is not None else self.calendar

    def visible_to(
        self, *, tenant: str | None, roles: frozenset[str], org: str | None, username: str
    ) -> bool:
        """Whether the task is in the caller's work list."""
        if tenant != self.holder_tenant_id:
            return False
        if self.holder_user is not None:
            return self.holder_user == username
        if self.holder_role not in roles:
            return False
        return self.holder_org is None or self.holder_org == org


def sla_workdays(values: Mapping[str, Any] | None, keys: Sequence[str]) -> int | None:
    """The first of ``keys`` the pack's ``review_sla_workdays`` names (None when it names none).

    The keys are the contract's step names (lhasa: formal_review, issue_approval, return_feedback,
    applicant_revision, second_review; shuangyashan: bureau_review, ndrc_approval, design_review).
    """
    if not values:
        return None
    for key in keys:
        value = values.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def open_task(
    *,
    id: str,
    tenant_id: str,
    reviewing_tenant_id: str | None,
    case_id: str,
    kind: TaskKind,
    stage: str,
    holder_tenant_id: str,
    holder_role: str,
    opened_on: date,
    workdays: int | None,
    calendar: str,
    cite: Sequence[str] = (),
    holder_org: str | None = None,
    holder_user: str | None = None,
    subject: str | None = None,
    fixed_due: date | None = None,
) -> Task:
    """A new open task; with ``workdays`` its SLA clock starts on ``opened_on``."""
    clock = SlaClock.start(opened_on, workdays, calendar) if workdays is not None else None
    return Task(
        id=id,
        tenant_id=tenant_id,
        reviewing_tenant_id=reviewing_tenant_id,
        case_id=case_id,
        kind=kind,
        stage=stage,
        holder_tenant_id=holder_tenant_id,
        holder_role=holder_role,
        holder_org=holder_org,
        holder_user=holder_user,
        subject=subject,
        opened_on=opened_on,
        clock=clock,
        fixed_due=fixed_due if clock is None else None,
        cite=tuple(cite),
        calendar=calendar,
    )


def _require_open(task: Task) -> None:
    if task.status is not TaskStatus.OPEN:
        raise AppError(
            code="TASK_CLOSED",
            message="该待办事项已办结，不能再操作。",
            kind=ErrorKind.PRECONDITION,
            details={"task_id": task.id, "status": task.status.value},
        )


def pause(task: Task, on: date) -> Task:
    """Stop the clock (the case went back to the applicant); tasks without a clock are unchanged."""
    if task.status is not TaskStatus.OPEN or task.clock is None or task.clock.paused:
        return task
    return replace(task, clock=task.clock.pause(on))


def resume(task: Task, on: date) -> Task:
    """Run the clock again from ``on`` (the applicant's material arrived)."""
    if task.status is not TaskStatus.OPEN or task.clock is None or not task.clock.paused:
        return task
    return replace(task, clock=task.clock.resume(on))


def complete(task: Task, on: date) -> Task:
    """Done on ``on``."""
    _require_open(task)
    return replace(task, status=TaskStatus.DONE, closed_on=on)


def cancel(task: Task, on: date) -> Task:
    """No longer owed (the case closed or moved on)."""
    if task.status is not TaskStatus.OPEN:
        return task
    return replace(task, status=TaskStatus.CANCELLED, closed_on=on)


def reassign(task: Task, *, to_user: str) -> Task:
    """Give the task to one named user (its holder is away); the deadline does not move."""
    _require_open(task)
    if not to_user.strip():
        raise AppError(code="ASSIGNEE_REQUIRED", message="请指定接办人。", kind=ErrorKind.INVALID)
    return replace(task, holder_user=to_user.strip())


def reminders_due(task: Task, today: date, lead_workdays: int) -> list[ReminderKind]:
    """Reminders an open task calls for today (the sweep de-duplicates by task, kind and due date)."""
    if task.status is not TaskStatus.OPEN:
        return []
    urgency = task.urgency(today, lead_workdays)
    if urgency is Urgency.DUE_SOON:
        return [ReminderKind.DUE_SOON]
    if urgency is Urgency.OVERDUE:
        return [ReminderKind.OVERDUE]
    return []


def reminder_text(task: Task, kind: ReminderKind, *, case_name: str) -> tuple[str, str]:
    """Subject and body (Chinese) of a reminder."""
    due = task.due_on()
    what = KIND_ZH[task.kind] + (f"（{task.subject}）" if task.subject else "")
    if kind is ReminderKind.DUE_SOON:
        subject = f"【即将到期】{case_name}：{what}"
        body = f"您有一项待办“{what}”（项目：{case_name}）将于 {due} 到期，请及时办理。"
    else:
        subject = f"【已逾期】{case_name}：{what}"
        body = f"您的待办“{what}”（项目：{case_name}）已于 {due} 到期，现已逾期，请尽快办理。"
    if task.cite:
        body += "\n依据：" + "；".join(task.cite)
    return subject, body

"""SLA tasks of the cases: opening, pausing, closing them inside other use cases, and the work lists,
reassignment and in-app reminders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from review.adapters import repository
from review.adapters.orm import audit
from review.domain import tasks as t
from review.domain.case import ReviewCase
from review.domain.tasks import Task, TaskKind, TaskStatus, Urgency
from review.service._common import ReviewDeps, new_id, require_tenant, valid_uuid

LABEL = "待办事项"
REASSIGNERS = frozenset({"bureau_head", "tenant_admin"})


def new_task(
    deps: ReviewDeps,
    case: ReviewCase,
    *,
    kind: TaskKind,
    holder_tenant_id: str,
    holder_role: str,
    workdays: int | None,
    cite: Sequence[str] = (),
    holder_org: str | None = None,
    holder_user: str | None = None,
    subject: str | None = None,
    fixed_due: date | None = None,
    opened_on: date | None = None,
) -> Task:
    """A new task on a case, not yet stored (clock from today when the pack gives working days)."""
    return t.open_task(
        id=new_id(),
        tenant_id=case.tenant_id,
        reviewing_tenant_id=case.reviewing_tenant_id,
        case_id=case.id,
        kind=kind,
        stage=case.stage.value,
        holder_tenant_id=holder_tenant_id,
        holder_role=holder_role,
        opened_on=opened_on or deps.today(),
        workdays=workdays,
        calendar=deps.calendar,
        cite=cite,
        holder_org=holder_org,
        holder_user=holder_user,
        subject=subject,
        fixed_due=fixed_due,
    )


async def open_for_case(
    session: AsyncSession,
    deps: ReviewDeps,
    case: ReviewCase,
    *,
    kind: TaskKind,
    holder_tenant_id: str,
    holder_role: str,
    workdays: int | None,
    cite: Sequence[str] = (),
    holder_org: str | None = None,
    holder_user: str | None = None,
    subject: str | None = None,
    fixed_due: date | None = None,
    opened_on: date | None = None,
) -> Task:
    """Open a task on a case and store it (see :func:`new_task`)."""
    task = new_task(
        deps,
        case,
        kind=kind,
        holder_tenant_id=holder_tenant_id,
        holder_role=holder_role,
        workdays=workdays,
        cite=cite,
        holder_org=holder_org,
        holder_user=holder_user,
        subject=subject,
        fixed_due=fixed_due,
        opened_on=opened_on,
    )
    await repository.add_task(session, task)
    return task


async def close_kind(
    session: AsyncSession, case_id: str, kind: TaskKind, on: date, *, subject: str | None = None
) -> list[Task]:
    """Mark a case's open tasks of a kind done (optionally only the one about ``subject``)."""
    closed = []
    for task in await repository.case_tasks(session, case_id, open_only=True, kind=kind):
        if subject is not None and task.subject != subject:
            continue
        closed.append(await repository.save_task(session, t.complete(task, on)))
    return closed


async def pause_all(
    session: AsyncSession, case_id: str, on: date, *, except_kinds: Sequence[TaskKind] = ()
) -> int:
    """Stop the clocks of a case's open tasks (the case went back to the applicant)."""
    paused = 0
    for task in await repository.case_tasks(session, case_id, open_only=True):
        if task.kind in except_kinds:
            continue
        changed = t.pause(task, on)
        if changed is not task:
            await repository.save_task(session, changed)
            paused += 1
    return paused


async def resume_all(session: AsyncSession, case_id: str, on: date) -> int:
    """Run the paused clocks again (the applicant's material arrived)."""
    resumed = 0
    for task in await repository.case_tasks(session, case_id, open_only=True):
        changed = t.resume(task, on)
        if changed is not task:
            await repository.save_task(session, changed)
            resumed += 1
    return resumed


async def cancel_all(session: AsyncSession, case_id: str, on: date) -> int:
    """Nothing more is owed on a closed case."""
    cancelled = 0
    for task in await repository.case_tasks(session, case_id, open_only=True):
        await repository.save_task(session, t.cancel(task, on))
        cancelled += 1
    return cancelled


# --------------------------------------------------------------------------------------------
# Work lists and reassignment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskView:
    """A task with where it stands today."""

    task: Task
    due_on: date | None
    urgency: Urgency
    remaining_workdays: int | None


def view(task: Task, deps: ReviewDeps) -> TaskView:
    """A task as the work list shows it."""
    today = deps.today()
    remaining = task.clock.remaining_workdays(today) if task.clock is not None and not task.paused else None
    return TaskView(
        task=task,
        due_on=task.due_on(),
        urgency=task.urgency(today, deps.reminder_lead_workdays),
        remaining_workdays=remaining,
    )


async def my_tasks(
    *,
    deps: ReviewDeps,
    principal: Principal,
    urgency: Sequence[Urgency] | None = None,
    role: str | None = None,
) -> list[TaskView]:
    """The caller's open tasks (by role, org and personal assignment), filtered by urgency and role."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.open_tasks_of_holder(tx.session, tenant=tenant)
    roles = frozenset(principal.roles) if role is None else frozenset({role}) & frozenset(principal.roles)
    mine = [
        view(task, deps)
        for task in found
        if task.visible_to(tenant=tenant, roles=roles, org=principal.org, username=principal.username)
    ]
    if urgency:
        mine = [v for v in mine if v.urgency in urgency]
    return mine


async def case_tasks(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[TaskView]:
    """Every task of a case the caller may see."""
    from review.service._common import load_visible

    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        found = await repository.case_tasks(tx.session, case.id)
    return [view(task, deps) for task in found]


async def reassign(
    *, deps: ReviewDeps, principal: Principal, task_id: str, to_user: str, expected_version: int
) -> TaskView:
    """A bureau head gives a task to another user while its holder is away (same tenant)."""
    tenant = require_tenant(principal)
    valid_uuid(task_id, "task", LABEL)
    if not principal.has_role(*REASSIGNERS):
        raise forbidden("task.reassign")
    async with deps.uow(tenant_id=tenant) as tx:
        task = await repository.get_task(tx.session, task_id, lock=True)
        if task is None or task.holder_tenant_id != tenant:
            raise not_found("task", task_id, label_zh=LABEL)
        if task.version != expected_version:
            raise stale_version("task", expected=expected_version, label_zh=LABEL)
        if task.status is not TaskStatus.OPEN:
            raise AppError(
                code="TASK_CLOSED", message="该待办事项已办结，不能改派。", kind=ErrorKind.PRECONDITION
            )
        moved = t.reassign(task, to_user=to_user)
        stored = await repository.save_task_versioned(tx.session, moved, expected_version=expected_version)
        if stored is None:
            raise stale_version("task", expected=expected_version, label_zh=LABEL)
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=principal.username,
            action="task.reassigned",
            entity_type="task",
            entity_id=task.id,
            from_state=task.holder_user or task.holder_role,
            to_state=stored.holder_user,
            citations=list(task.cite),
            details={"case_id": task.case_id, "kind": task.kind.value},
        )
        await tx.commit()
    return view(stored, deps)


async def my_notifications(*, deps: ReviewDeps, principal: Principal, limit: int) -> list[Any]:
    """In-app reminders for the caller, newest first."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.notifications_for(
            tx.session,
            tenant=tenant,
            roles=sorted(principal.roles),
            username=principal.username,
            org=principal.org,
            limit=limit,
        )


async def mark_notification_read(*, deps: ReviewDeps, principal: Principal, notification_id: str) -> None:
    """Mark one of the caller's reminders read (idempotent)."""
    tenant = require_tenant(principal)
    valid_uuid(notification_id, "notification", "提醒")
    async with deps.uow(tenant_id=tenant) as tx:
        row = await repository.get_notification(tx.session, notification_id)
        mine = row is not None and (
            row.recipient_user == principal.username
            or (
                row.recipient_user is None
                and principal.has_role(row.recipient_role)
                and (row.recipient_org is None or row.recipient_org == principal.org)
            )
        )
        if not mine:
            raise not_found("notification", notification_id, label_zh="提醒")
        await repository.mark_read(tx.session, notification_id, at=deps.now())
        await tx.commit()

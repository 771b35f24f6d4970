"""Reading and writing review's aggregates (inside the caller's unit of work; RLS limits every query
to the session's tenant and the cases delegated to it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.workdays import SlaClock
from review.adapters.orm import (
    annual_plans,
    approval_applications,
    approval_baselines,
    approval_reviews,
    approval_steps,
    approvals,
    change_requests,
    document_counters,
    draws,
    experts,
    formal_reviews,
    notifications,
    opinions,
    panel_members,
    plan_decisions,
    plan_entries,
    review_cases,
    score_sheets,
    tasks,
)
from review.domain.approval import (
    Application,
    ApplicationStatus,
    Approval,
    ApprovalStatus,
    Baseline,
    StepRecord,
    StepStatus,
)
from review.domain.case import CaseStatus, ReviewCase, Stage
from review.domain.changes import ChangeKind, ChangeOutcome, ChangeRequest, ChangeStatus
from review.domain.declaration import DeclarationSnapshot, Material
from review.domain.experts import Draw, Expert, MemberStatus, PanelMember
from review.domain.opinions import Opinion, OpinionStatus, Verdict
from review.domain.plan import AnnualPlan, EntryStatus, PlanEntry, PlanLevel, PlanStatus
from review.domain.scoring import ScoreSheet
from review.domain.tasks import Task, TaskKind, TaskStatus

# --------------------------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------------------------


async def _one(session: AsyncSession, table: Table, row_id: str, *, lock: bool = False) -> Any | None:
    query = select(table).where(table.c.id == row_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def _save_versioned(
    session: AsyncSession, table: Table, values: dict[str, Any], expected: int
) -> Any | None:
    """Update a row if its version is still ``expected``; returns the stored row or None (stale)."""
    row_id = values.pop("id")
    values["version"] = expected + 1
    return (
        await session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.version == expected)
            .values(**values)
            .returning(table)
        )
    ).first()


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(value or ())


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


def _case(row: Any) -> ReviewCase:
    return ReviewCase(
        id=str(row.id),
        tenant_id=row.tenant_id,
        declaration_id=str(row.declaration_id),
        declaring_org_id=row.declaring_org_id,
        name=row.name,
        amount=row.amount,
        project_code=row.project_code,
        status=CaseStatus(row.status),
        opened_at=row.opened_at,
        version=row.version,
        reviewing_tenant_id=row.reviewing_tenant_id,
        stage=Stage(row.stage),
        org_name=row.org_name,
        supplementary=row.supplementary,
        pack_id=row.pack_id,
        target_year=row.target_year,
        round=row.round,
        declaration=DeclarationSnapshot.from_dict(row.declaration) if row.declaration else None,
        plan_level=row.plan_level,
        plan_budget=row.plan_budget,
        delegation_cite=_tuple(row.delegation_cite),
        updated_at=row.updated_at,
    )


def _case_row(case: ReviewCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "tenant_id": case.tenant_id,
        "declaration_id": case.declaration_id,
        "declaring_org_id": case.declaring_org_id,
        "name": case.name,
        "amount": case.amount,
        "project_code": case.project_code,
        "status": case.status.value,
        "opened_at": case.opened_at,
        "version": case.version,
        "reviewing_tenant_id": case.reviewing_tenant_id,
        "stage": case.stage.value,
        "org_name": case.org_name,
        "supplementary": case.supplementary,
        "pack_id": case.pack_id,
        "target_year": case.target_year,
        "round": case.round,
        "declaration": case.declaration.to_dict() if case.declaration else None,
        "plan_level": case.plan_level,
        "plan_budget": case.plan_budget,
        "delegation_cite": list(case.delegation_cite),
        "updated_at": case.updated_at,
    }


async def add_if_absent(session: AsyncSession, case: ReviewCase) -> bool:
    """Insert a case unless the declaration already has one; True when inserted."""
    result = await session.execute(
        pg_insert(review_cases)
        .values(**_case_row(case))
        .on_conflict_do_nothing(index_elements=[review_cases.c.declaration_id])
        .returning(review_cases.c.id)
    )
    return result.first() is not None


async def get(session: AsyncSession, case_id: str, *, lock: bool = False) -> ReviewCase | None:
    """A case by id (RLS limits it to the session's tenant and the cases delegated to it)."""
    row = await _one(session, review_cases, case_id, lock=lock)
    return _case(row) if row is not None else None


async def find_by_declaration(
    session: AsyncSession, declaration_id: str, *, lock: bool = False
) -> ReviewCase | None:
    """The case of a declaration."""
    query = select(review_cases).where(review_cases.c.declaration_id == declaration_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _case(row) if row is not None else None


async def save_case(session: AsyncSession, case: ReviewCase, *, expected_version: int) -> ReviewCase | None:
    """Store a changed case if nobody changed it since ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, review_cases, _case_row(case), expected_version)
    return _case(row) if row is not None else None


async def list_cases(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    org: tuple[str, str] | None = None,
    tenant: str | None = None,
    departments: Sequence[str] = (),
    expert_username: str | None = None,
    all_visible: bool = False,
    status: str | None = None,
    declaration_id: str | None = None,
) -> list[ReviewCase]:
    """Cases the caller may see, newest first: every visible one for bureaus, else the union of their
    own org's, those their department (of ``tenant``, the caller's) was given a task on or asked
    about, and those they were drawn for."""
    query = select(review_cases)
    if not all_visible:
        reach = []
        if org is not None:
            reach.append(and_(review_cases.c.tenant_id == org[0], review_cases.c.declaring_org_id == org[1]))
        if departments and tenant is not None:
            reach.append(_department_reach(review_cases.c.id, tenant=tenant, departments=departments))
        if expert_username:
            reach.append(
                exists().where(
                    panel_members.c.case_id == review_cases.c.id,
                    panel_members.c.expert_username == expert_username,
                    panel_members.c.status != MemberStatus.DECLINED.value,
                )
            )
        if not reach:
            return []
        query = query.where(or_(*reach))
    if status:
        query = query.where(review_cases.c.status == status)
    if declaration_id:
        query = query.where(review_cases.c.declaration_id == declaration_id)
    rows = (
        await session.execute(query.order_by(review_cases.c.opened_at.desc()).limit(limit).offset(offset))
    ).all()
    return [_case(row) for row in rows]


def _department_reach(case_id: Any, *, tenant: str, departments: Sequence[str]) -> Any:
    """Whether one of ``departments`` *of ``tenant``* holds or held a task on the case, or was asked
    for its opinion on it.

    The tenant matters: RLS lets the reviewing tenant (the city) read a county's delegated case, and
    the city has departments of the same names as the county's; only the county's were asked
    (opinions are asked in the case's own tenant, so an opinion row's ``tenant_id`` is the asked
    department's tenant). A department with no opinion to give but a step to record (发改's approval
    of the feasibility study) is reached through the task it holds.
    """
    names = list(departments)
    held = exists().where(
        tasks.c.case_id == case_id,
        tasks.c.holder_tenant_id == tenant,
        tasks.c.holder_role.in_(names),
    )
    asked = exists().where(
        opinions.c.case_id == case_id,
        opinions.c.tenant_id == tenant,
        opinions.c.department.in_(names),
    )
    return or_(held, asked)


async def involvement(
    session: AsyncSession,
    case_id: str,
    *,
    tenant: str,
    departments: Sequence[str],
    expert_username: str | None,
) -> bool:
    """Whether a department of ``tenant`` (the caller's) holds or held a task on the case or was asked
    about it, or the expert was drawn for it."""
    checks = []
    if departments:
        checks.append(_department_reach(case_id, tenant=tenant, departments=departments))
    if expert_username:
        checks.append(
            exists().where(
                panel_members.c.case_id == case_id,
                panel_members.c.expert_username == expert_username,
                panel_members.c.status != MemberStatus.DECLINED.value,
            )
        )
    if not checks:
        return False
    return bool(await session.scalar(select(or_(*checks))))


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


def _task(row: Any) -> Task:
    return Task(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        kind=TaskKind(row.kind),
        stage=row.stage,
        holder_tenant_id=row.holder_tenant_id,
        holder_role=row.holder_role,
        holder_org=row.holder_org,
        holder_user=row.holder_user,
        subject=row.subject,
        clock=SlaClock.from_dict(row.sla) if row.sla else None,
        fixed_due=row.fixed_due,
        status=TaskStatus(row.status),
        opened_on=row.opened_on,
        closed_on=row.closed_on,
        cite=_tuple(row.cite),
        calendar=row.calendar,
        version=row.version,
    )


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "tenant_id": task.tenant_id,
        "reviewing_tenant_id": task.reviewing_tenant_id,
        "case_id": task.case_id,
        "kind": task.kind.value,
        "stage": task.stage,
        "holder_tenant_id": task.holder_tenant_id,
        "holder_role": task.holder_role,
        "holder_org": task.holder_org,
        "holder_user": task.holder_user,
        "subject": task.subject,
        "sla": task.clock.to_dict() if task.clock else None,
        "fixed_due": task.fixed_due,
        "due_on": task.due_on() if task.status is TaskStatus.OPEN else None,
        "calendar": task.calendar,
        "status": task.status.value,
        "opened_on": task.opened_on,
        "closed_on": task.closed_on,
        "cite": list(task.cite),
        "version": task.version,
    }


async def add_task(session: AsyncSession, task: Task) -> None:
    """Insert a new task."""
    await add_tasks(session, [task])


async def add_tasks(session: AsyncSession, new: Sequence[Task]) -> None:
    """Insert new tasks in one statement (bound parameters: one cached compiled insert)."""
    if new:
        await session.execute(insert(tasks), [_task_row(task) for task in new])


async def save_task(session: AsyncSession, task: Task) -> Task:
    """Write a task (callers hold the case's row lock, so no version race on its tasks)."""
    values = _task_row(task)
    row_id = values.pop("id")
    values["version"] = task.version + 1
    row = (
        await session.execute(update(tasks).where(tasks.c.id == row_id).values(**values).returning(tasks))
    ).one()
    return _task(row)


async def save_task_versioned(session: AsyncSession, task: Task, *, expected_version: int) -> Task | None:
    """Write a task changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, tasks, _task_row(task), expected_version)
    return _task(row) if row is not None else None


async def get_task(session: AsyncSession, task_id: str, *, lock: bool = False) -> Task | None:
    """A task by id."""
    row = await _one(session, tasks, task_id, lock=lock)
    return _task(row) if row is not None else None


async def case_tasks(
    session: AsyncSession, case_id: str, *, open_only: bool = False, kind: TaskKind | None = None
) -> list[Task]:
    """A case's tasks, oldest first."""
    query = select(tasks).where(tasks.c.case_id == case_id)
    if open_only:
        query = query.where(tasks.c.status == TaskStatus.OPEN.value)
    if kind is not None:
        query = query.where(tasks.c.kind == kind.value)
    rows = (await session.execute(query.order_by(tasks.c.opened_on, tasks.c.id))).all()
    return [_task(r) for r in rows]


async def open_tasks_of_holder(session: AsyncSession, *, tenant: str, limit: int = 1000) -> list[Task]:
    """Open tasks held in ``tenant`` (filtered by role and user by the caller)."""
    rows = (
        await session.execute(
            select(tasks)
            .where(tasks.c.holder_tenant_id == tenant, tasks.c.status == TaskStatus.OPEN.value)
            .order_by(tasks.c.due_on.asc().nulls_last(), tasks.c.opened_on)
            .limit(limit)
        )
    ).all()
    return [_task(r) for r in rows]


async def open_tasks_with_deadline(session: AsyncSession, *, holder_tenant: str, due_by: date) -> list[Task]:
    """Open tasks held in a tenant whose due date is on or before ``due_by`` (the reminder sweep)."""
    rows = (
        await session.execute(
            select(tasks).where(
                tasks.c.holder_tenant_id == holder_tenant,
                tasks.c.status == TaskStatus.OPEN.value,
                tasks.c.due_on.is_not(None),
                tasks.c.due_on <= due_by,
            )
        )
    ).all()
    return [_task(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Formal reviews, opinions
# --------------------------------------------------------------------------------------------


async def add_formal_review(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record a formal review's outcome and checklist."""
    await session.execute(insert(formal_reviews).values(**values))


async def formal_reviews_of(session: AsyncSession, case_id: str) -> list[Any]:
    """A case's formal reviews, oldest first."""
    return list(
        (
            await session.execute(
                select(formal_reviews)
                .where(formal_reviews.c.case_id == case_id)
                .order_by(formal_reviews.c.reviewed_at)
            )
        ).all()
    )


def _opinion(row: Any) -> Opinion:
    return Opinion(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        department=row.department,
        reviews_zh=row.reviews_zh,
        status=OpinionStatus(row.status),
        task_id=str(row.task_id) if row.task_id else None,
        verdict=Verdict(row.verdict) if row.verdict else None,
        text=row.text,
        given_by=row.given_by,
        given_at=row.given_at,
        requested_at=row.requested_at,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _opinion_row(opinion: Opinion) -> dict[str, Any]:
    return {
        "id": opinion.id,
        "tenant_id": opinion.tenant_id,
        "reviewing_tenant_id": opinion.reviewing_tenant_id,
        "case_id": opinion.case_id,
        "department": opinion.department,
        "reviews_zh": opinion.reviews_zh,
        "status": opinion.status.value,
        "task_id": opinion.task_id,
        "verdict": opinion.verdict.value if opinion.verdict else None,
        "text": opinion.text,
        "given_by": opinion.given_by,
        "given_at": opinion.given_at,
        "requested_at": opinion.requested_at,
        "cite": list(opinion.cite),
        "version": opinion.version,
    }


async def add_opinion(session: AsyncSession, opinion: Opinion) -> None:
    """Ask a department (once per case and department)."""
    await add_opinions(session, [opinion])


async def add_opinions(session: AsyncSession, new: Sequence[Opinion]) -> None:
    """Ask several departments in one statement (each once per case and department)."""
    if new:
        await session.execute(
            pg_insert(opinions).on_conflict_do_nothing(constraint="uq_opinions_case_department"),
            [_opinion_row(opinion) for opinion in new],
        )


async def get_opinion(session: AsyncSession, opinion_id: str, *, lock: bool = False) -> Opinion | None:
    """An opinion by id."""
    row = await _one(session, opinions, opinion_id, lock=lock)
    return _opinion(row) if row is not None else None


async def save_opinion(session: AsyncSession, opinion: Opinion, *, expected_version: int) -> Opinion | None:
    """Write an opinion changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, opinions, _opinion_row(opinion), expected_version)
    return _opinion(row) if row is not None else None


async def opinions_of(session: AsyncSession, case_id: str) -> list[Opinion]:
    """A case's opinions in the order they were asked."""
    rows = (
        await session.execute(
            select(opinions)
            .where(opinions.c.case_id == case_id)
            .order_by(opinions.c.requested_at, opinions.c.department)
        )
    ).all()
    return [_opinion(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Experts, draws, panel, scores
# --------------------------------------------------------------------------------------------


def _expert(row: Any) -> Expert:
    return Expert(
        id=str(row.id),
        tenant_id=row.tenant_id,
        name=row.name,
        org=row.org,
        specialties=_tuple(row.specialties),
        contact=row.contact,
        available=row.available,
        discredited=row.discredited,
        discredited_reason=row.discredited_reason,
        username=row.username,
        affiliations=_tuple(row.affiliations),
        version=row.version,
        discredited_until=row.discredited_until,
    )


def _expert_row(expert: Expert) -> dict[str, Any]:
    return {
        "id": expert.id,
        "tenant_id": expert.tenant_id,
        "name": expert.name,
        "org": expert.org,
        "specialties": list(expert.specialties),
        "contact": expert.contact,
        "available": expert.available,
        "discredited": expert.discredited,
        "discredited_reason": expert.discredited_reason,
        "username": expert.username,
        "affiliations": list(expert.affiliations),
        "version": expert.version,
        "discredited_until": expert.discredited_until,
    }


async def add_expert(session: AsyncSession, expert: Expert, *, created_at: Any) -> None:
    """Add an expert to the library."""
    await session.execute(insert(experts).values(**_expert_row(expert), created_at=created_at))


async def get_expert(session: AsyncSession, expert_id: str) -> Expert | None:
    """An expert by id."""
    row = await _one(session, experts, expert_id)
    return _expert(row) if row is not None else None


async def save_expert(session: AsyncSession, expert: Expert, *, expected_version: int) -> Expert | None:
    """Write an expert changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, experts, _expert_row(expert), expected_version)
    return _expert(row) if row is not None else None


async def list_experts(session: AsyncSession, *, tenant: str) -> list[Expert]:
    """The tenant's library, by id (the draw order)."""
    rows = (
        await session.execute(select(experts).where(experts.c.tenant_id == tenant).order_by(experts.c.id))
    ).all()
    return [_expert(r) for r in rows]


async def experts_by_ids(session: AsyncSession, ids: Iterable[str]) -> dict[str, Expert]:
    """Experts by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = (await session.execute(select(experts).where(experts.c.id.in_(wanted)))).all()
    return {str(r.id): _expert(r) for r in rows}


def _draw(row: Any) -> Draw:
    return Draw(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        stage=row.stage,
        seed=row.seed,
        size=row.size,
        specialty=row.specialty,
        candidates=_tuple(row.candidates),
        excluded=dict(row.excluded or {}),
        drawn=_tuple(row.drawn),
        replaces_member_id=str(row.replaces_member_id) if row.replaces_member_id else None,
        drawn_by=row.drawn_by,
        drawn_at=row.drawn_at,
    )


async def add_draw(session: AsyncSession, draw: Draw) -> None:
    """Record a draw."""
    await session.execute(
        insert(draws).values(
            id=draw.id,
            tenant_id=draw.tenant_id,
            reviewing_tenant_id=draw.reviewing_tenant_id,
            case_id=draw.case_id,
            stage=draw.stage,
            seed=draw.seed,
            size=draw.size,
            specialty=draw.specialty,
            candidates=list(draw.candidates),
            excluded=draw.excluded,
            drawn=list(draw.drawn),
            replaces_member_id=draw.replaces_member_id,
            drawn_by=draw.drawn_by,
            drawn_at=draw.drawn_at,
        )
    )


async def get_draw(session: AsyncSession, draw_id: str) -> Draw | None:
    """A recorded draw."""
    row = await _one(session, draws, draw_id)
    return _draw(row) if row is not None else None


async def draws_of(session: AsyncSession, case_id: str) -> list[Draw]:
    """A case's draws, oldest first."""
    rows = (
        await session.execute(select(draws).where(draws.c.case_id == case_id).order_by(draws.c.drawn_at))
    ).all()
    return [_draw(r) for r in rows]


def _member(row: Any) -> PanelMember:
    return PanelMember(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        stage=row.stage,
        draw_id=str(row.draw_id),
        expert_id=str(row.expert_id),
        expert_username=row.expert_username,
        expert_name=row.expert_name,
        status=MemberStatus(row.status),
        declined_reason=row.declined_reason,
        replaced_by_draw_id=str(row.replaced_by_draw_id) if row.replaced_by_draw_id else None,
        version=row.version,
    )


def _member_row(member: PanelMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "tenant_id": member.tenant_id,
        "reviewing_tenant_id": member.reviewing_tenant_id,
        "case_id": member.case_id,
        "stage": member.stage,
        "draw_id": member.draw_id,
        "expert_id": member.expert_id,
        "expert_username": member.expert_username,
        "expert_name": member.expert_name,
        "status": member.status.value,
        "declined_reason": member.declined_reason,
        "replaced_by_draw_id": member.replaced_by_draw_id,
        "version": member.version,
    }


async def add_member(session: AsyncSession, member: PanelMember) -> None:
    """Put an expert on a panel."""
    await session.execute(insert(panel_members).values(**_member_row(member)))


async def get_member(session: AsyncSession, member_id: str, *, lock: bool = False) -> PanelMember | None:
    """A panel member by id."""
    row = await _one(session, panel_members, member_id, lock=lock)
    return _member(row) if row is not None else None


async def save_member(
    session: AsyncSession, member: PanelMember, *, expected_version: int
) -> PanelMember | None:
    """Write a panel member changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, panel_members, _member_row(member), expected_version)
    return _member(row) if row is not None else None


async def panel_of(session: AsyncSession, case_id: str, stage: str | None = None) -> list[PanelMember]:
    """A case's panel members (all stages unless given)."""
    query = select(panel_members).where(panel_members.c.case_id == case_id)
    if stage is not None:
        query = query.where(panel_members.c.stage == stage)
    rows = (await session.execute(query.order_by(panel_members.c.id))).all()
    return [_member(r) for r in rows]


def _sheet(row: Any) -> ScoreSheet:
    return ScoreSheet(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        stage=row.stage,
        expert_id=str(row.expert_id),
        scores={k: Decimal(str(v)) for k, v in (row.scores or {}).items()},
        comments=dict(row.comments or {}),
        overall_comment=row.overall_comment,
        total=row.total,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
    )


async def add_sheet(session: AsyncSession, sheet: ScoreSheet, *, criteria: list[dict[str, Any]]) -> bool:
    """Store an expert's sheet; False when the expert already scored this stage."""
    result = await session.execute(
        pg_insert(score_sheets)
        .values(
            id=sheet.id,
            tenant_id=sheet.tenant_id,
            reviewing_tenant_id=sheet.reviewing_tenant_id,
            case_id=sheet.case_id,
            stage=sheet.stage,
            expert_id=sheet.expert_id,
            scores={k: str(v) for k, v in sheet.scores.items()},
            comments=sheet.comments,
            overall_comment=sheet.overall_comment,
            total=sheet.total,
            criteria=criteria,
            submitted_by=sheet.submitted_by,
            submitted_at=sheet.submitted_at,
        )
        .on_conflict_do_nothing(constraint="uq_score_sheets_case_stage_expert")
        .returning(score_sheets.c.id)
    )
    return result.first() is not None


async def sheets_of(session: AsyncSession, case_id: str, stage: str) -> list[ScoreSheet]:
    """A case's sheets for a stage."""
    rows = (
        await session.execute(
            select(score_sheets)
            .where(score_sheets.c.case_id == case_id, score_sheets.c.stage == stage)
            .order_by(score_sheets.c.submitted_at)
        )
    ).all()
    return [_sheet(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


async def add_plan_decision(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record a plan decision with its citations."""
    await session.execute(insert(plan_decisions).values(**values))


async def plan_decisions_of(session: AsyncSession, case_id: str) -> list[Any]:
    """A case's plan decisions, oldest first."""
    return list(
        (
            await session.execute(
                select(plan_decisions)
                .where(plan_decisions.c.case_id == case_id)
                .order_by(plan_decisions.c.decided_at)
            )
        ).all()
    )


def _entry(row: Any) -> PlanEntry:
    return PlanEntry(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        declaration_id=str(row.declaration_id),
        plan_id=str(row.plan_id) if row.plan_id else None,
        name=row.name,
        org_id=row.org_id,
        org_name=row.org_name,
        project_code=row.project_code,
        level=PlanLevel(row.level),
        budget=row.budget,
        target_year=row.target_year,
        status=EntryStatus(row.status),
        decided_at=row.decided_at,
        valid_until=row.valid_until,
        extended_months=row.extended_months,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _entry_row(entry: PlanEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "tenant_id": entry.tenant_id,
        "reviewing_tenant_id": entry.reviewing_tenant_id,
        "case_id": entry.case_id,
        "declaration_id": entry.declaration_id,
        "plan_id": entry.plan_id,
        "name": entry.name,
        "org_id": entry.org_id,
        "org_name": entry.org_name,
        "project_code": entry.project_code,
        "level": entry.level.value,
        "budget": entry.budget,
        "target_year": entry.target_year,
        "status": entry.status.value,
        "decided_at": entry.decided_at,
        "valid_until": entry.valid_until,
        "extended_months": entry.extended_months,
        "cite": list(entry.cite),
        "version": entry.version,
    }


async def upsert_entry(session: AsyncSession, entry: PlanEntry) -> None:
    """Put a case into the plan (a case decided again replaces its entry)."""
    values = _entry_row(entry)
    await session.execute(
        pg_insert(plan_entries)
        .values(**values)
        .on_conflict_do_update(
            constraint="uq_plan_entries_case",
            set_={k: v for k, v in values.items() if k not in {"id", "case_id", "tenant_id"}},
        )
    )


async def entry_of_case(session: AsyncSession, case_id: str, *, lock: bool = False) -> PlanEntry | None:
    """A case's plan entry."""
    query = select(plan_entries).where(plan_entries.c.case_id == case_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _entry(row) if row is not None else None


async def get_entry(session: AsyncSession, entry_id: str, *, lock: bool = False) -> PlanEntry | None:
    """A plan entry by id."""
    row = await _one(session, plan_entries, entry_id, lock=lock)
    return _entry(row) if row is not None else None


async def save_entry(session: AsyncSession, entry: PlanEntry, *, expected_version: int) -> PlanEntry | None:
    """Write an entry changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, plan_entries, _entry_row(entry), expected_version)
    return _entry(row) if row is not None else None


async def entries(
    session: AsyncSession,
    *,
    tenant: str,
    year: int | None = None,
    plan_id: str | None = None,
    status: str | None = None,
) -> list[PlanEntry]:
    """A tenant's plan entries (of a year or a plan), key projects first, then by org and name."""
    query = select(plan_entries).where(plan_entries.c.tenant_id == tenant)
    if year is not None:
        query = query.where(plan_entries.c.target_year == year)
    if plan_id is not None:
        query = query.where(plan_entries.c.plan_id == plan_id)
    if status is not None:
        query = query.where(plan_entries.c.status == status)
    rows = (
        await session.execute(
            query.order_by(plan_entries.c.level, plan_entries.c.org_id, plan_entries.c.name)
        )
    ).all()
    return [_entry(r) for r in rows]


async def entries_to_lapse(session: AsyncSession, *, tenant: str, today: date) -> list[PlanEntry]:
    """Planned entries of a tenant whose validity ended before ``today``."""
    rows = (
        await session.execute(
            select(plan_entries).where(
                plan_entries.c.tenant_id == tenant,
                plan_entries.c.status == EntryStatus.PLANNED.value,
                plan_entries.c.valid_until.is_not(None),
                plan_entries.c.valid_until < today,
            )
        )
    ).all()
    return [_entry(r) for r in rows]


def _plan(row: Any) -> AnnualPlan:
    return AnnualPlan(
        id=str(row.id),
        tenant_id=row.tenant_id,
        year=row.year,
        status=PlanStatus(row.status),
        compiled_at=row.compiled_at,
        published_at=row.published_at,
        published_by=row.published_by,
        version=row.version,
    )


async def plan_for_year(
    session: AsyncSession, *, tenant: str, year: int, lock: bool = False
) -> AnnualPlan | None:
    """A tenant's plan of a year."""
    query = select(annual_plans).where(annual_plans.c.tenant_id == tenant, annual_plans.c.year == year)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _plan(row) if row is not None else None


async def get_plan(session: AsyncSession, plan_id: str, *, lock: bool = False) -> AnnualPlan | None:
    """A plan by id."""
    row = await _one(session, annual_plans, plan_id, lock=lock)
    return _plan(row) if row is not None else None


async def add_plan(session: AsyncSession, plan: AnnualPlan) -> AnnualPlan:
    """Create a year's plan, or return the one a concurrent compiler created first."""
    await session.execute(
        pg_insert(annual_plans)
        .values(
            id=plan.id,
            tenant_id=plan.tenant_id,
            year=plan.year,
            status=plan.status.value,
            compiled_at=plan.compiled_at,
            version=plan.version,
        )
        .on_conflict_do_nothing(constraint="uq_annual_plans_tenant_year")
    )
    stored = await plan_for_year(session, tenant=plan.tenant_id, year=plan.year, lock=True)
    assert stored is not None
    return stored


async def save_plan(session: AsyncSession, plan: AnnualPlan, *, expected_version: int) -> AnnualPlan | None:
    """Write a plan changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(
        session,
        annual_plans,
        {
            "id": plan.id,
            "status": plan.status.value,
            "compiled_at": plan.compiled_at,
            "published_at": plan.published_at,
            "published_by": plan.published_by,
        },
        expected_version,
    )
    return _plan(row) if row is not None else None


async def list_plans(session: AsyncSession, *, tenant: str) -> list[AnnualPlan]:
    """A tenant's plans, newest year first."""
    rows = (
        await session.execute(
            select(annual_plans)
            .where(annual_plans.c.tenant_id == tenant)
            .order_by(annual_plans.c.year.desc())
        )
    ).all()
    return [_plan(r) for r in rows]


async def assign_entries(session: AsyncSession, *, plan_id: str, tenant: str, year: int) -> int:
    """Attach the year's planned entries not yet in a plan; returns how many."""
    result = await session.execute(
        update(plan_entries)
        .where(
            plan_entries.c.tenant_id == tenant,
            plan_entries.c.target_year == year,
            plan_entries.c.plan_id.is_(None),
            plan_entries.c.status == EntryStatus.PLANNED.value,
        )
        .values(plan_id=plan_id)
        .returning(plan_entries.c.id)
    )
    return len(result.all())


# --------------------------------------------------------------------------------------------
# Applications, reviews, steps
# --------------------------------------------------------------------------------------------


def _application(row: Any) -> Application:
    return Application(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        attempt=row.attempt,
        round=row.round,
        status=ApplicationStatus(row.status),
        approver=row.approver,
        materials=tuple(Material.from_dict(m) for m in row.materials or []),
        sign_off=dict(row.sign_off) if row.sign_off else None,
        conclusion=row.conclusion,
        items=_tuple(row.items),
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _application_row(app: Application) -> dict[str, Any]:
    return {
        "id": app.id,
        "tenant_id": app.tenant_id,
        "reviewing_tenant_id": app.reviewing_tenant_id,
        "case_id": app.case_id,
        "attempt": app.attempt,
        "round": app.round,
        "status": app.status.value,
        "approver": app.approver,
        "materials": [m.to_dict() for m in app.materials],
        "sign_off": app.sign_off,
        "conclusion": app.conclusion,
        "items": list(app.items),
        "submitted_by": app.submitted_by,
        "submitted_at": app.submitted_at,
        "cite": list(app.cite),
        "version": app.version,
    }


async def add_application(session: AsyncSession, app: Application) -> None:
    """Record an application."""
    await session.execute(insert(approval_applications).values(**_application_row(app)))


async def save_application(session: AsyncSession, app: Application) -> Application:
    """Write an application (the caller holds the case's row lock)."""
    values = _application_row(app)
    row_id = values.pop("id")
    values["version"] = app.version + 1
    row = (
        await session.execute(
            update(approval_applications)
            .where(approval_applications.c.id == row_id)
            .values(**values)
            .returning(approval_applications)
        )
    ).one()
    return _application(row)


async def applications_of(session: AsyncSession, case_id: str) -> list[Application]:
    """A case's applications, first attempt first."""
    rows = (
        await session.execute(
            select(approval_applications)
            .where(approval_applications.c.case_id == case_id)
            .order_by(approval_applications.c.attempt)
        )
    ).all()
    return [_application(r) for r in rows]


async def current_application(session: AsyncSession, case_id: str) -> Application | None:
    """The latest application of a case."""
    apps = await applications_of(session, case_id)
    return apps[-1] if apps else None


async def add_review(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record a review round's conclusion."""
    await session.execute(insert(approval_reviews).values(**values))


async def reviews_of(session: AsyncSession, case_id: str) -> list[Any]:
    """A case's review conclusions, oldest first."""
    return list(
        (
            await session.execute(
                select(approval_reviews)
                .where(approval_reviews.c.case_id == case_id)
                .order_by(approval_reviews.c.reviewed_at)
            )
        ).all()
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        application_id=str(row.application_id),
        case_id=str(row.case_id),
        kind=row.kind,
        label_zh=row.label_zh,
        blocking=row.blocking,
        status=StepStatus(row.status),
        reference=row.reference,
        recorded_by=row.recorded_by,
        recorded_on=row.recorded_on,
        task_id=str(row.task_id) if row.task_id else None,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _step_row(step: StepRecord) -> dict[str, Any]:
    return {
        "id": step.id,
        "tenant_id": step.tenant_id,
        "reviewing_tenant_id": step.reviewing_tenant_id,
        "application_id": step.application_id,
        "case_id": step.case_id,
        "kind": step.kind,
        "label_zh": step.label_zh,
        "blocking": step.blocking,
        "status": step.status.value,
        "reference": step.reference,
        "recorded_by": step.recorded_by,
        "recorded_on": step.recorded_on,
        "task_id": step.task_id,
        "cite": list(step.cite),
        "version": step.version,
    }


async def add_step(session: AsyncSession, step: StepRecord) -> None:
    """Record a step to be done."""
    await session.execute(insert(approval_steps).values(**_step_row(step)))


async def get_step(session: AsyncSession, step_id: str) -> StepRecord | None:
    """A step by id."""
    row = await _one(session, approval_steps, step_id)
    return _step(row) if row is not None else None


async def save_step(session: AsyncSession, step: StepRecord, *, expected_version: int) -> StepRecord | None:
    """Write a step changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, approval_steps, _step_row(step), expected_version)
    return _step(row) if row is not None else None


async def steps_of(session: AsyncSession, application_id: str) -> list[StepRecord]:
    """An application's steps."""
    rows = (
        await session.execute(
            select(approval_steps)
            .where(approval_steps.c.application_id == application_id)
            .order_by(approval_steps.c.kind)
        )
    ).all()
    return [_step(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Approvals, baselines, changes
# --------------------------------------------------------------------------------------------


def _approval(row: Any) -> Approval:
    return Approval(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        case_id=str(row.case_id),
        declaration_id=str(row.declaration_id),
        application_id=str(row.application_id),
        project_code=row.project_code,
        document_number=row.document_number,
        approved_amount=row.approved_amount,
        approved_on=row.approved_on,
        valid_until=row.valid_until,
        conditions=_tuple(row.conditions),
        content=row.content,
        document_key=row.document_key,
        document_sha256=row.document_sha256,
        status=ApprovalStatus(row.status),
        baseline_version=row.baseline_version,
        issued_by=row.issued_by,
        procurement_started_on=row.procurement_started_on,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _approval_row(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "tenant_id": approval.tenant_id,
        "reviewing_tenant_id": approval.reviewing_tenant_id,
        "case_id": approval.case_id,
        "declaration_id": approval.declaration_id,
        "application_id": approval.application_id,
        "project_code": approval.project_code,
        "document_number": approval.document_number,
        "approved_amount": approval.approved_amount,
        "approved_on": approval.approved_on,
        "valid_until": approval.valid_until,
        "conditions": list(approval.conditions),
        "content": approval.content,
        "document_key": approval.document_key,
        "document_sha256": approval.document_sha256,
        "status": approval.status.value,
        "baseline_version": approval.baseline_version,
        "issued_by": approval.issued_by,
        "procurement_started_on": approval.procurement_started_on,
        "cite": list(approval.cite),
        "version": approval.version,
    }


async def add_approval(session: AsyncSession, approval: Approval) -> None:
    """Record an issued approval."""
    await session.execute(insert(approvals).values(**_approval_row(approval)))


async def get_approval(session: AsyncSession, approval_id: str, *, lock: bool = False) -> Approval | None:
    """An approval by id."""
    row = await _one(session, approvals, approval_id, lock=lock)
    return _approval(row) if row is not None else None


async def approval_of_case(session: AsyncSession, case_id: str) -> Approval | None:
    """A case's approval."""
    row = (await session.execute(select(approvals).where(approvals.c.case_id == case_id))).first()
    return _approval(row) if row is not None else None


async def save_approval(session: AsyncSession, approval: Approval) -> Approval:
    """Write an approval (the caller holds the case's row lock)."""
    values = _approval_row(approval)
    row_id = values.pop("id")
    values["version"] = approval.version + 1
    row = (
        await session.execute(
            update(approvals).where(approvals.c.id == row_id).values(**values).returning(approvals)
        )
    ).one()
    return _approval(row)


async def approvals_to_expire(session: AsyncSession, *, tenant: str, today: date) -> list[Approval]:
    """A tenant's valid approvals whose validity ended before ``today``, procurement never started."""
    rows = (
        await session.execute(
            select(approvals).where(
                approvals.c.tenant_id == tenant,
                approvals.c.status == ApprovalStatus.VALID.value,
                approvals.c.valid_until.is_not(None),
                approvals.c.valid_until < today,
                approvals.c.procurement_started_on.is_(None),
            )
        )
    ).all()
    return [_approval(r) for r in rows]


async def list_approvals(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    declaration_id: str | None = None,
    org: tuple[str, str] | None = None,
) -> list[Approval]:
    """Visible approvals, newest first; with ``org`` (tenant, org) only that unit's."""
    query = select(approvals)
    if declaration_id:
        query = query.where(approvals.c.declaration_id == declaration_id)
    if org is not None:
        query = query.where(
            exists().where(
                review_cases.c.id == approvals.c.case_id,
                review_cases.c.tenant_id == org[0],
                review_cases.c.declaring_org_id == org[1],
            )
        )
    rows = (
        await session.execute(query.order_by(approvals.c.approved_on.desc()).limit(limit).offset(offset))
    ).all()
    return [_approval(r) for r in rows]


def _baseline(row: Any) -> Baseline:
    return Baseline(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        approval_id=str(row.approval_id),
        version=row.version,
        amount=row.amount,
        content=row.content,
        conditions=_tuple(row.conditions),
        change_id=str(row.change_id) if row.change_id else None,
        created_by=row.created_by,
        created_at=row.created_at,
        cite=_tuple(row.cite),
    )


async def add_baseline(session: AsyncSession, baseline: Baseline, *, case_id: str) -> None:
    """Append a baseline version (the table refuses updates and deletes)."""
    await session.execute(
        insert(approval_baselines).values(
            id=baseline.id,
            tenant_id=baseline.tenant_id,
            reviewing_tenant_id=baseline.reviewing_tenant_id,
            case_id=case_id,
            approval_id=baseline.approval_id,
            version=baseline.version,
            amount=baseline.amount,
            content=baseline.content,
            conditions=list(baseline.conditions),
            change_id=baseline.change_id,
            created_by=baseline.created_by,
            created_at=baseline.created_at,
            cite=list(baseline.cite),
        )
    )


async def baselines_of(session: AsyncSession, approval_id: str) -> list[Baseline]:
    """Every baseline of an approval, first version first."""
    rows = (
        await session.execute(
            select(approval_baselines)
            .where(approval_baselines.c.approval_id == approval_id)
            .order_by(approval_baselines.c.version)
        )
    ).all()
    return [_baseline(r) for r in rows]


def _change(row: Any) -> ChangeRequest:
    return ChangeRequest(
        id=str(row.id),
        tenant_id=row.tenant_id,
        reviewing_tenant_id=row.reviewing_tenant_id,
        approval_id=str(row.approval_id),
        case_id=str(row.case_id),
        kind=ChangeKind(row.kind),
        description=row.description,
        new_amount=row.new_amount,
        new_content=row.new_content,
        base_amount=row.base_amount,
        change_amount=row.change_amount,
        cumulative_before=row.cumulative_before,
        major_content_change=row.major_content_change,
        status=ChangeStatus(row.status),
        routed=ChangeOutcome(row.routed),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        baseline_version=row.baseline_version,
        cite=_tuple(row.cite),
        version=row.version,
    )


def _change_row(change: ChangeRequest) -> dict[str, Any]:
    return {
        "id": change.id,
        "tenant_id": change.tenant_id,
        "reviewing_tenant_id": change.reviewing_tenant_id,
        "approval_id": change.approval_id,
        "case_id": change.case_id,
        "kind": change.kind.value,
        "description": change.description,
        "new_amount": change.new_amount,
        "new_content": change.new_content,
        "base_amount": change.base_amount,
        "change_amount": change.change_amount,
        "cumulative_before": change.cumulative_before,
        "major_content_change": change.major_content_change,
        "status": change.status.value,
        "routed": change.routed.value,
        "requested_by": change.requested_by,
        "requested_at": change.requested_at,
        "decided_by": change.decided_by,
        "decided_at": change.decided_at,
        "decision_reason": change.decision_reason,
        "baseline_version": change.baseline_version,
        "cite": list(change.cite),
        "version": change.version,
    }


async def add_change(session: AsyncSession, change: ChangeRequest) -> None:
    """Record a change request."""
    await session.execute(insert(change_requests).values(**_change_row(change)))


async def get_change(session: AsyncSession, change_id: str) -> ChangeRequest | None:
    """A change request by id."""
    row = await _one(session, change_requests, change_id)
    return _change(row) if row is not None else None


async def save_change(
    session: AsyncSession, change: ChangeRequest, *, expected_version: int
) -> ChangeRequest | None:
    """Write a change changed from ``expected_version`` (None when stale)."""
    row = await _save_versioned(session, change_requests, _change_row(change), expected_version)
    return _change(row) if row is not None else None


async def changes_of(session: AsyncSession, approval_id: str) -> list[ChangeRequest]:
    """An approval's change requests, oldest first."""
    rows = (
        await session.execute(
            select(change_requests)
            .where(change_requests.c.approval_id == approval_id)
            .order_by(change_requests.c.requested_at)
        )
    ).all()
    return [_change(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Notifications, document numbers
# --------------------------------------------------------------------------------------------


async def add_notification(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Record a reminder unless one of that kind exists for the task and due date; True when new."""
    result = await session.execute(
        pg_insert(notifications)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_notifications_task_kind_due")
        .returning(notifications.c.id)
    )
    return result.first() is not None


async def notifications_to_mail(session: AsyncSession, *, limit: int = 200) -> list[Any]:
    """Reminders of the session's tenant not yet e-mailed."""
    return list(
        (
            await session.execute(
                select(notifications)
                .where(notifications.c.emailed_at.is_(None))
                .order_by(notifications.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )


async def mark_emailed(session: AsyncSession, notification_id: str, *, at: Any, to: str) -> None:
    """Note that a reminder went out by e-mail."""
    await session.execute(
        update(notifications).where(notifications.c.id == notification_id).values(emailed_at=at, email_to=to)
    )


async def notifications_for(
    session: AsyncSession, *, tenant: str, roles: Sequence[str], username: str, org: str | None, limit: int
) -> list[Any]:
    """The in-app reminders addressed to a user (directly or through a role they hold)."""
    to_role = and_(
        notifications.c.recipient_user.is_(None),
        notifications.c.recipient_role.in_(list(roles)),
        or_(notifications.c.recipient_org.is_(None), notifications.c.recipient_org == org),
    )
    rows = (
        await session.execute(
            select(notifications)
            .where(
                notifications.c.tenant_id == tenant, or_(notifications.c.recipient_user == username, to_role)
            )
            .order_by(notifications.c.created_at.desc())
            .limit(limit)
        )
    ).all()
    return list(rows)


async def mark_read(session: AsyncSession, notification_id: str, *, at: Any) -> int:
    """Mark one reminder read; returns how many rows changed."""
    result = await session.execute(
        update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.read_at.is_(None))
        .values(read_at=at)
        .returning(notifications.c.id)
    )
    return len(result.all())


async def get_notification(session: AsyncSession, notification_id: str) -> Any | None:
    """One reminder."""
    return await _one(session, notifications, notification_id)


async def next_document_seq(session: AsyncSession, *, tenant: str, kind: str, year: int) -> int:
    """The next number of a tenant's documents of a kind in a year (the row lock serialises issuers)."""
    row = (
        await session.execute(
            pg_insert(document_counters)
            .values(tenant_id=tenant, kind=kind, year=year, last_seq=1)
            .on_conflict_do_update(
                index_elements=[
                    document_counters.c.tenant_id,
                    document_counters.c.kind,
                    document_counters.c.year,
                ],
                set_={"last_seq": document_counters.c.last_seq + 1},
            )
            .returning(document_counters.c.last_seq)
        )
    ).one()
    return int(row.last_seq)


async def count(session: AsyncSession, table: Table) -> int:
    """Rows of a table the session can see (tests and health)."""
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def with_version(obj: Any, version: int) -> Any:
    """A frozen dataclass with another version (after a save returned the stored row)."""
    return replace(obj, version=version)

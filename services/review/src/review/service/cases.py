"""Review cases: opened, resubmitted and withdrawn from intake's events; read; formally reviewed."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import AuditEntry
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind
from govkit.events import Envelope
from govkit.policy import Pack, evaluate, review_process, reviewing_tenant
from review.adapters import repository
from review.domain import case as rules
from review.domain import opinions as opinion_rules
from review.domain.approval import FIRST_REVIEW_KEYS, REVISION_KEYS, SECOND_REVIEW_KEYS, ApplicationStatus
from review.domain.case import Action, CaseStatus, ReviewCase, Stage
from review.domain.declaration import DeclarationSnapshot, from_payload
from review.domain.formal_review import FormalCheck, approval_checklist, plan_checklist
from review.domain.opinions import Opinion, OpinionStatus
from review.domain.plan import EntryStatus
from review.domain.tasks import Task, TaskKind, sla_workdays
from review.service import events as ev
from review.service import tasks as task_service
from review.service._common import (
    CHINA,
    SYSTEM_ACTOR,
    ReviewDeps,
    audit_case,
    case_audit_entry,
    case_facts,
    departments_of,
    expert_name,
    load_for_action,
    load_visible,
    new_id,
    record_case_audits,
    require_tenant,
    save_case,
    sorted_cite,
    valid_uuid,
)

log = logging.getLogger(__name__)


def _event_day(snapshot: DeclarationSnapshot, envelope: Envelope) -> date:
    """The day the declaration was submitted (China), which decides the pack in force."""
    try:
        moment = (
            datetime.fromisoformat(snapshot.submitted_at) if snapshot.submitted_at else envelope.occurred_at
        )
    except ValueError:
        moment = envelope.occurred_at
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(CHINA).date()


def _review_done_by(pack: Pack, on: date) -> date | None:
    """The pack's fixed review deadline (qiaokou §11(1): 每年9月底完成评审) for a declaration of ``on``."""
    rule = pack.call_calendar.review_done_by
    if rule is None:
        return None
    try:
        due = date(on.year, rule.month, rule.day)
    except ValueError:
        return None
    return due if due >= on else None


async def open_case(session: AsyncSession, envelope: Envelope, *, deps: ReviewDeps) -> None:
    """``declaration.submitted`` → a review case, its formal-review task and its opinion requests.

    Runs in the consumer's transaction with its inbox row; the unique declaration id makes a second
    case impossible even if the inbox were bypassed. A supplementary declaration skips the plan
    review and waits for its approval application.
    """
    snapshot = from_payload(envelope.payload)
    tenant = envelope.tenant
    on = _event_day(snapshot, envelope)
    pack = deps.pack_for(tenant, on)
    reviewer, delegation_cite = reviewing_tenant(tenant, on, registry=deps.policies)
    supplementary = snapshot.supplementary
    case = ReviewCase(
        id=new_id(),
        tenant_id=tenant,
        reviewing_tenant_id=reviewer if reviewer != tenant else None,
        declaration_id=snapshot.declaration_id,
        declaring_org_id=snapshot.org_id,
        org_name=snapshot.org_name,
        name=snapshot.name,
        amount=snapshot.amount,
        project_code=snapshot.project_code or None,
        status=CaseStatus.AWAITING_APPLICATION if supplementary else CaseStatus.OPEN,
        stage=Stage.APPROVAL if supplementary else Stage.PLAN,
        supplementary=supplementary,
        pack_id=pack.id,
        target_year=snapshot.plan_target_year,
        round=snapshot.round,
        declaration=snapshot,
        delegation_cite=tuple(delegation_cite),
        opened_at=deps.now(),
        updated_at=deps.now(),
        version=1,
    )
    if not await repository.add_if_absent(session, case):
        return
    # The case's tasks, opinion requests and audit records go in one statement each: a case of a
    # pack with five departments would otherwise take some twenty round trips to open.
    opened = case_audit_entry(
        actor=SYSTEM_ACTOR,
        session_tenant=tenant,
        case=case,
        action="case.opened",
        from_state=None,
        to_state=case.status.value,
        citations=delegation_cite,
        details={
            "declaration_id": case.declaration_id,
            "event_id": envelope.id,
            "pack": pack.id,
            "reviewing_tenant_id": case.reviewing_tenant_id,
            "supplementary": supplementary,
        },
    )
    if supplementary:
        await record_case_audits(session, session_tenant=tenant, case=case, entries=[opened])
        return
    facts = case_facts(deps, case)
    reqs = evaluate(pack, facts)
    sla = reqs["review_sla_workdays"]
    workdays = sla_workdays(sla.value, FIRST_REVIEW_KEYS)
    fixed = _review_done_by(pack, deps.today()) if workdays is None else None
    review_cite = (
        list(sla.cite)
        if workdays is not None
        else (
            pack.cite(list(pack.call_calendar.review_done_by.cite))
            if fixed and pack.call_calendar.review_done_by
            else []
        )
    )
    formal = task_service.new_task(
        deps,
        case,
        kind=TaskKind.FORMAL_REVIEW,
        holder_tenant_id=case.acting_tenant,
        holder_role="bureau_reviewer",
        workdays=workdays,
        fixed_due=fixed,
        cite=review_cite,
    )
    requests = opinion_requests(deps, case, pack, facts)
    await repository.add_tasks(session, [formal, *(task for _, task, _ in requests)])
    await repository.add_opinions(session, [opinion for opinion, _, _ in requests])
    await record_case_audits(
        session, session_tenant=tenant, case=case, entries=[opened, *(entry for _, _, entry in requests)]
    )


def opinion_requests(
    deps: ReviewDeps, case: ReviewCase, pack: Pack, facts: Mapping[str, Any]
) -> list[tuple[Opinion, Task, AuditEntry]]:
    """Every department the pack names for these facts: its opinion, its task with its own
    deadline and the audit record of the request (not yet stored)."""
    deadline = review_process(pack, facts)["opinion_workdays"]
    asked = []
    for routed in opinion_rules.route(pack, facts):
        task = task_service.new_task(
            deps,
            case,
            kind=TaskKind.OPINION,
            holder_tenant_id=case.tenant_id,
            holder_role=routed.department,
            workdays=deadline.value,
            subject=routed.department,
            cite=sorted_cite(routed.cite, deadline.cite),
        )
        opinion = Opinion(
            id=new_id(),
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            case_id=case.id,
            department=routed.department,
            reviews_zh=routed.reviews_zh,
            status=OpinionStatus.PENDING,
            requested_at=deps.now(),
            task_id=task.id,
            cite=routed.cite,
        )
        entry = case_audit_entry(
            actor=SYSTEM_ACTOR,
            session_tenant=case.tenant_id,
            case=case,
            action="opinion.requested",
            entity_type="opinion",
            entity_id=opinion.id,
            from_state=None,
            to_state=OpinionStatus.PENDING.value,
            citations=routed.cite,
            details={"department": routed.department, "due_on": str(task.due_on() or "")},
        )
        asked.append((opinion, task, entry))
    return asked


async def resubmit_case(session: AsyncSession, envelope: Envelope, *, deps: ReviewDeps) -> None:
    """``declaration.resubmitted``: the corrected declaration resumes a returned case (clock runs
    again, round + 1). Anything else (already resumed, closed) is recorded and left alone."""
    payload = envelope.payload.get("declaration") or {}
    snapshot = from_payload(payload)
    case = await repository.find_by_declaration(session, snapshot.declaration_id, lock=True)
    if case is None:
        log.warning("resubmission of unknown declaration %s ignored", snapshot.declaration_id)
        return
    if not (case.status is CaseStatus.RETURNED and case.stage is Stage.PLAN):
        await audit_case(
            session,
            actor=SYSTEM_ACTOR,
            session_tenant=envelope.tenant,
            case=case,
            action="case.resubmission_ignored",
            from_state=case.status.value,
            to_state=case.status.value,
            details={"event_id": envelope.id, "round": snapshot.round},
        )
        return
    today = deps.today()
    resumed = rules.transition(case, Action.RESUBMIT, at=deps.now())
    resumed = replace(
        resumed,
        declaration=snapshot,
        name=snapshot.name or case.name,
        amount=snapshot.amount or case.amount,
        project_code=snapshot.project_code or case.project_code,
        org_name=snapshot.org_name or case.org_name,
        round=max(snapshot.round, case.round + 1),
    )
    stored = await save_case(session, resumed, read=case)
    await task_service.close_kind(session, case.id, TaskKind.CORRECTION, today)
    await task_service.resume_all(session, case.id, today)
    if not await repository.case_tasks(session, case.id, open_only=True, kind=TaskKind.FORMAL_REVIEW):
        # Returned by the plan decision after the formal review had passed: the corrected
        # declaration is checked again, within the pack's limit for a second review.
        pack = deps.case_pack(stored)
        sla = evaluate(pack, case_facts(deps, stored))["review_sla_workdays"]
        days = sla_workdays(sla.value, SECOND_REVIEW_KEYS)
        await task_service.open_for_case(
            session,
            deps,
            stored,
            kind=TaskKind.FORMAL_REVIEW,
            holder_tenant_id=stored.acting_tenant,
            holder_role="bureau_reviewer",
            workdays=days,
            cite=list(sla.cite) if days is not None else [],
        )
    await audit_case(
        session,
        actor=snapshot.submitted_by or SYSTEM_ACTOR,
        session_tenant=envelope.tenant,
        case=stored,
        action="case.resubmitted",
        from_state=case.status.value,
        to_state=stored.status.value,
        details={"event_id": envelope.id, "round": stored.round},
    )


async def withdraw_case(session: AsyncSession, envelope: Envelope, *, deps: ReviewDeps) -> None:
    """``declaration.withdrawn``: the case closes; its tasks, opinions and plan entry go with it."""
    declaration_id = str(envelope.payload.get("declaration_id", ""))
    case = await repository.find_by_declaration(session, declaration_id, lock=True)
    if case is None or not rules.can(case, Action.WITHDRAW):
        if case is not None:
            log.info("withdrawal of case %s in state %s ignored", case.id, case.status)
        return
    today = deps.today()
    closed = await save_case(session, rules.transition(case, Action.WITHDRAW, at=deps.now()), read=case)
    await task_service.cancel_all(session, case.id, today)
    for opinion in await repository.opinions_of(session, case.id):
        cancelled = opinion_rules.cancel(opinion)
        if cancelled is not opinion:
            await repository.save_opinion(session, cancelled, expected_version=opinion.version)
    entry = await repository.entry_of_case(session, case.id, lock=True)
    if entry is not None and entry.status is EntryStatus.PLANNED:
        await repository.save_entry(
            session, replace(entry, status=EntryStatus.WITHDRAWN), expected_version=entry.version
        )
    app = await repository.current_application(session, case.id)
    if app is not None and app.status in (
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.RETURNED,
        ApplicationStatus.PASSED,
    ):
        await repository.save_application(session, replace(app, status=ApplicationStatus.CLOSED))
    await audit_case(
        session,
        actor=str(envelope.payload.get("withdrawn_by") or SYSTEM_ACTOR),
        session_tenant=envelope.tenant,
        case=closed,
        action="case.withdrawn",
        from_state=case.status.value,
        to_state=closed.status.value,
        details={"event_id": envelope.id, "reason": str(envelope.payload.get("reason", ""))},
    )


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


async def get_case(
    *, deps: ReviewDeps, principal: Principal, case_id: str | None = None, declaration_id: str | None = None
) -> ReviewCase:
    """One case by its id or its declaration's id (404 when the caller may not see it)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        if case_id:
            return await load_visible(tx.session, principal, case_id)
        ident = declaration_id or ""
        valid_uuid(ident, "case")
        found = await repository.find_by_declaration(tx.session, ident)
        if found is None:
            from govkit.errors import not_found

            raise not_found("case", ident, label_zh="审查案件")
        return await load_visible(tx.session, principal, found.id)


async def list_cases(
    *,
    deps: ReviewDeps,
    principal: Principal,
    declaration_id: str | None,
    limit: int,
    offset: int,
    status: str | None = None,
) -> list[ReviewCase]:
    """Cases the caller may see: bureaus and auditors all of their reach, units their own, departments
    the ones they were asked about, experts the ones they were drawn for."""
    tenant = require_tenant(principal)
    if declaration_id is not None:
        try:
            valid_uuid(declaration_id, "case")
        except AppError:
            return []
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.list_cases(
            tx.session,
            limit=limit,
            offset=offset,
            all_visible=principal.has_role(*rules.TENANT_WIDE_READERS),
            org=(tenant, principal.org) if principal.org else None,
            tenant=tenant,
            departments=departments_of(principal),
            expert_username=expert_name(principal),
            status=status,
            declaration_id=declaration_id,
        )
    return found


@dataclass(frozen=True)
class Checklist:
    """The formal checklist of a case's current stage."""

    stage: str
    check: FormalCheck


def checklist_of(deps: ReviewDeps, case: ReviewCase, materials: frozenset[str] | None = None) -> Checklist:
    """What the formal review requires of the case now (plan: the declaration; approval: documents)."""
    pack = deps.case_pack(case)
    if case.stage is Stage.PLAN:
        snapshot = case.declaration or DeclarationSnapshot(
            declaration_id=case.declaration_id,
            tenant_id=case.tenant_id,
            org_id=case.declaring_org_id,
            name=case.name,
            amount=case.amount,
        )
        return Checklist("plan", plan_checklist(pack, case_facts(deps, case), snapshot))
    have = set(materials or frozenset())
    if case.declaration is not None:
        have |= case.declaration.document_types()
    return Checklist(
        "approval", approval_checklist(pack, case_facts(deps, case, planned=True), frozenset(have))
    )


async def get_checklist(*, deps: ReviewDeps, principal: Principal, case_id: str) -> Checklist:
    """The checklist of the case's current stage with what is present."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        app = await repository.current_application(tx.session, case.id)
    materials = frozenset(m.doc_type for m in app.materials) if app is not None else None
    return checklist_of(deps, case, materials)


async def formal_reviews(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[Any]:
    """The case's formal reviews with their checklists."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        return await repository.formal_reviews_of(tx.session, case.id)


# --------------------------------------------------------------------------------------------
# Formal review
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormalReviewResult:
    """The case after the formal review, and the review."""

    case: ReviewCase
    review: dict[str, Any]


async def return_to_applicant(
    session: AsyncSession,
    deps: ReviewDeps,
    *,
    principal: Principal,
    case: ReviewCase,
    items: Sequence[str],
    reason: str,
    cite: Sequence[str],
) -> ReviewCase:
    """Back to the applicant for correction (补正): clocks paused, a correction task, review.returned."""
    today = deps.today()
    returned = await save_case(session, rules.transition(case, Action.RETURN, at=deps.now()), read=case)
    await task_service.pause_all(session, case.id, today)
    pack = deps.case_pack(case)
    sla = evaluate(pack, case_facts(deps, case))["review_sla_workdays"]
    revision_days = sla_workdays(sla.value, REVISION_KEYS)
    await task_service.open_for_case(
        session,
        deps,
        returned,
        kind=TaskKind.CORRECTION if case.stage is Stage.PLAN else TaskKind.APPLICANT_REVISION,
        holder_tenant_id=case.tenant_id,
        holder_role="applicant",
        holder_org=case.declaring_org_id,
        workdays=revision_days,
        cite=list(sla.cite) if revision_days is not None else list(cite),
    )
    session_tenant = principal.tenant or case.tenant_id
    await audit_case(
        session,
        actor=principal.username,
        session_tenant=session_tenant,
        case=returned,
        action="case.returned",
        from_state=case.status.value,
        to_state=returned.status.value,
        citations=cite,
        details={"stage": case.stage.value, "items": list(items), "reason": reason},
    )
    return returned


async def formal_review(
    *, deps: ReviewDeps, principal: Principal, case_id: str, expected_version: int, notes: Sequence[str] = ()
) -> FormalReviewResult:
    """The plan review's formal check: complete → on to the plan decision; incomplete (or problems
    the reviewer noted) → returned for correction with the items listed, clocks paused."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        rules.ensure_technical_reviewer(principal, case)
        ensure_stage(case, CaseStatus.OPEN)
        check = checklist_of(deps, case).check.with_reviewer_items(notes)
        outcome = "passed" if check.complete else "incomplete"
        record = {
            "id": new_id(),
            "tenant_id": case.tenant_id,
            "reviewing_tenant_id": case.reviewing_tenant_id,
            "case_id": case.id,
            "stage": case.stage.value,
            "round": case.round,
            "outcome": outcome,
            "checklist": [i.to_dict() for i in check.items],
            "reviewed_by": principal.username,
            "reviewed_at": deps.now(),
            "cite": check.cite,
        }
        await repository.add_formal_review(tx.session, record)
        if check.complete:
            stored = await save_case(tx.session, replace(case, updated_at=deps.now()), read=case)
            await task_service.close_kind(tx.session, case.id, TaskKind.FORMAL_REVIEW, deps.today())
            if not await repository.case_tasks(
                tx.session, case.id, open_only=True, kind=TaskKind.PLAN_DECISION
            ):
                pack = deps.case_pack(case)
                fixed = _review_done_by(pack, deps.today())
                rule = pack.call_calendar.review_done_by
                await task_service.open_for_case(
                    tx.session,
                    deps,
                    stored,
                    kind=TaskKind.PLAN_DECISION,
                    holder_tenant_id=case.tenant_id,
                    holder_role="bureau_head",
                    workdays=None,
                    fixed_due=fixed,
                    cite=pack.cite(list(rule.cite)) if fixed and rule else [],
                )
            await audit_case(
                tx.session,
                actor=principal.username,
                session_tenant=tenant,
                case=stored,
                action="case.formal_review_passed",
                entity_type="formal_review",
                entity_id=str(record["id"]),
                from_state=case.status.value,
                to_state=stored.status.value,
                citations=check.cite,
                details={"round": case.round},
            )
        else:
            items = check.missing_labels()
            reason = "形式审查发现材料不完整或存在问题，请补正后重新提交。"
            stored = await return_to_applicant(
                tx.session, deps, principal=principal, case=case, items=items, reason=reason, cite=check.cite
            )
            tx.emit(
                ev.returned(stored, stage="plan", items=items, reason=reason, at=deps.now(), cite=check.cite)
            )
        await tx.commit()
    return FormalReviewResult(case=stored, review=record)


def ensure_stage(case: ReviewCase, *statuses: CaseStatus) -> None:
    """A 422 unless the case is in one of ``statuses``."""
    if case.status not in statuses:
        refuse_state(case)


def refuse_state(case: ReviewCase) -> NoReturn:
    """The 422 for an action the case's state does not allow."""
    raise AppError(
        code="CASE_STATE_INVALID",
        message=f"案件当前状态为“{rules.STATUS_ZH[case.status]}”，不能执行此操作。",
        kind=ErrorKind.PRECONDITION,
        details={"status": case.status.value, "stage": case.stage.value},
    )

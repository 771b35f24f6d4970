"""Change requests after approval: the pack routes them to file-only or re-review; every approved
baseline is appended, never overwritten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found, stale_version
from govkit.policy import evaluate
from review.adapters import repository
from review.domain import case as rules
from review.domain import changes as ch
from review.domain.approval import FIRST_REVIEW_KEYS, Approval, ApprovalStatus, Baseline
from review.domain.case import Action, CaseStatus, ReviewCase, Stage
from review.domain.changes import ChangeKind, ChangeOutcome, ChangeRequest, ChangeStatus
from review.domain.tasks import TaskKind, sla_workdays
from review.service import events as ev
from review.service import tasks as task_service
from review.service._common import (
    ReviewDeps,
    audit_case,
    case_facts,
    load_for_action,
    load_visible,
    new_id,
    require_tenant,
    save_case,
    valid_uuid,
)
from review.service.cases import ensure_stage, refuse_state

LABEL = "变更申请"


async def _approval(session: AsyncSession, approval_id: str, *, lock: bool = True) -> Approval:
    valid_uuid(approval_id, "approval", "批复")
    found = await repository.get_approval(session, approval_id, lock=lock)
    if found is None:
        raise not_found("approval", approval_id, label_zh="批复")
    return found


async def _append_baseline(
    session: AsyncSession,
    *,
    case: ReviewCase,
    approval: Approval,
    change: ChangeRequest,
    by: str,
    at: datetime,
) -> tuple[Approval, Baseline]:
    """The next baseline (amount and content after the change) and the approval pointing at it."""
    history = await repository.baselines_of(session, approval.id)
    current = history[-1]
    baseline = Baseline(
        id=new_id(),
        tenant_id=approval.tenant_id,
        reviewing_tenant_id=approval.reviewing_tenant_id,
        approval_id=approval.id,
        version=current.version + 1,
        amount=change.new_amount if change.new_amount is not None else current.amount,
        content=change.new_content or current.content,
        conditions=current.conditions,
        change_id=change.id,
        created_by=by,
        created_at=at,
        cite=change.cite,
    )
    await repository.add_baseline(session, baseline, case_id=case.id)
    stored = await repository.save_approval(session, replace(approval, baseline_version=baseline.version))
    return stored, baseline


async def request_change(
    *,
    deps: ReviewDeps,
    principal: Principal,
    approval_id: str,
    case_version: int,
    kind: ChangeKind,
    description: str,
    new_amount: Decimal | None = None,
    new_content: str = "",
    major_content_change: bool = False,
) -> ChangeRequest:
    """The unit asks to change an approved project; the pack says file-only or re-review."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        # Lock order everywhere: the case first, then its approval.
        found = await _approval(tx.session, approval_id, lock=False)
        case = await load_for_action(tx.session, principal, found.case_id, case_version)
        approval = await _approval(tx.session, approval_id)
        rules.ensure_applicant(principal, case)
        ensure_stage(case, CaseStatus.APPROVED)
        if approval.status is not ApprovalStatus.VALID:
            raise AppError(
                code="APPROVAL_NOT_VALID", message="该批复已失效，不能申请变更。", kind=ErrorKind.PRECONDITION
            )
        history = await repository.baselines_of(tx.session, approval.id)
        base = history[-1].amount
        ch.validate(kind, description=description, new_amount=new_amount, base_amount=base)
        earlier = await repository.changes_of(tx.session, approval.id)
        cumulative = sum(
            (c.change_amount for c in earlier if c.status in (ChangeStatus.FILED, ChangeStatus.APPROVED)),
            Decimal(0),
        )
        routing = ch.route(
            deps.case_pack(case),
            case_facts(deps, case, planned=True),
            base_amount=base,
            new_amount=new_amount,
            cumulative_before=cumulative,
            major_content_change=major_content_change,
        )
        now = deps.now()
        change = ChangeRequest(
            id=new_id(),
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            approval_id=approval.id,
            case_id=case.id,
            kind=kind,
            description=description.strip(),
            new_amount=new_amount,
            new_content=new_content.strip(),
            base_amount=base,
            change_amount=Decimal(routing.facts["change_amount"]),
            cumulative_before=cumulative,
            major_content_change=major_content_change,
            status=ChangeStatus.FILED
            if routing.outcome is ChangeOutcome.FILE_ONLY
            else ChangeStatus.UNDER_REVIEW,
            routed=routing.outcome,
            requested_by=principal.username,
            requested_at=now,
            cite=routing.cite,
        )
        if routing.outcome is ChangeOutcome.FILE_ONLY:
            approval, baseline = await _append_baseline(
                tx.session, case=case, approval=approval, change=change, by=principal.username, at=now
            )
            change = replace(change, baseline_version=baseline.version)
            await repository.add_change(tx.session, change)
            stored_case = await save_case(tx.session, replace(case, updated_at=now), read=case)
            tx.emit(
                ev.change_decided(
                    approval, change_id=change.id, outcome=ChangeOutcome.FILE_ONLY.value,
                    new_amount=baseline.amount, baseline_version=baseline.version, cite=routing.cite,
                )
            )  # fmt: skip
        else:
            await repository.add_change(tx.session, change)
            stored_case = await save_case(
                tx.session, rules.transition(case, Action.REOPEN_FOR_CHANGE, at=now), read=case
            )
            limits = evaluate(deps.case_pack(case), case_facts(deps, case, planned=True))[
                "review_sla_workdays"
            ]
            days = sla_workdays(limits.value, FIRST_REVIEW_KEYS)
            await task_service.open_for_case(
                tx.session, deps, stored_case, kind=TaskKind.CHANGE_REVIEW, holder_tenant_id=case.tenant_id,
                holder_role="bureau_head", workdays=days, subject=change.id,
                cite=list(routing.cite) + (list(limits.cite) if days is not None else []),
            )  # fmt: skip
            tx.emit(
                ev.change_decided(
                    approval, change_id=change.id, outcome=ChangeOutcome.RE_REVIEW.value, new_amount=base,
                    baseline_version=approval.baseline_version, cite=routing.cite,
                )
            )  # fmt: skip
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored_case,
            action="change.requested",
            entity_type="change_request",
            entity_id=change.id,
            from_state=case.status.value,
            to_state=stored_case.status.value,
            citations=routing.cite,
            details={
                "routed": routing.outcome.value,
                "change_amount": str(change.change_amount),
                "cumulative_before": str(cumulative),
                "note": routing.note,
            },
        )
        await tx.commit()
    return change


async def decide_change(
    *, deps: ReviewDeps, principal: Principal, change_id: str, case_version: int, approve: bool, reason: str
) -> ChangeRequest:
    """The bureau decides a re-reviewed change; an approval appends the next baseline."""
    tenant = require_tenant(principal)
    valid_uuid(change_id, "change", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        change = await repository.get_change(tx.session, change_id)
        if change is None:
            raise not_found("change", change_id, label_zh=LABEL)
        case = await load_for_action(tx.session, principal, change.case_id, case_version)
        rules.ensure_decider(principal, case)
        if not (case.status is CaseStatus.APPROVAL_REVIEW and case.stage is Stage.CHANGE):
            refuse_state(case)
        approval = await _approval(tx.session, change.approval_id)
        now, today = deps.now(), deps.today()
        decided = ch.decide(change, approve=approve, by=principal.username, at=now, reason=reason)
        amount = (await repository.baselines_of(tx.session, approval.id))[-1].amount
        if approve:
            approval, baseline = await _append_baseline(
                tx.session, case=case, approval=approval, change=decided, by=principal.username, at=now
            )
            decided = replace(decided, baseline_version=baseline.version)
            amount = baseline.amount
        stored = await repository.save_change(tx.session, decided, expected_version=change.version)
        if stored is None:
            raise stale_version("change", expected=change.version, label_zh=LABEL)
        stored_case = await save_case(
            tx.session, rules.transition(case, Action.CLOSE_CHANGE, at=now), read=case
        )
        await task_service.close_kind(tx.session, case.id, TaskKind.CHANGE_REVIEW, today, subject=change.id)
        outcome = ChangeOutcome.APPROVED if approve else ChangeOutcome.REJECTED
        tx.emit(
            ev.change_decided(
                approval, change_id=change.id, outcome=outcome.value, new_amount=amount,
                baseline_version=approval.baseline_version, cite=change.cite,
            )
        )  # fmt: skip
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored_case,
            action="change.decided",
            entity_type="change_request",
            entity_id=change.id,
            from_state=change.status.value,
            to_state=stored.status.value,
            citations=change.cite,
            details={"reason": reason, "baseline_version": approval.baseline_version},
        )
        await tx.commit()
    return stored


async def list_changes(*, deps: ReviewDeps, principal: Principal, approval_id: str) -> list[ChangeRequest]:
    """An approval's change requests."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        approval = await _approval(tx.session, approval_id, lock=False)
        await load_visible(tx.session, principal, approval.case_id)
        return await repository.changes_of(tx.session, approval.id)

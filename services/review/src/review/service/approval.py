"""Approval review: the application, its rounds and steps, the approval document, rejection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.objectstore import PDF
from govkit.policy import PolicyError, Requirements, evaluate, get_tenant
from review.adapters import repository
from review.domain import approval as a
from review.domain import case as rules
from review.domain.approval import (
    APPROVER_ROLES,
    APPROVER_TASK_ROLE,
    FIRST_REVIEW_KEYS,
    ISSUE_KEYS,
    ISSUER_ROLES,
    SECOND_REVIEW_KEYS,
    Application,
    ApplicationStatus,
    Approval,
    ApprovalStatus,
    Baseline,
    Consequence,
    StepRecord,
    StepStatus,
)
from review.domain.case import Action, CaseStatus, ReviewCase, Stage
from review.domain.declaration import Material
from review.domain.formal_review import approval_checklist
from review.domain.plan import EntryStatus
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
    sorted_cite,
    valid_uuid,
)
from review.service.cases import ensure_stage, refuse_state, return_to_applicant

APPROVAL_LABEL = "批复"
STEP_LABEL = "办理环节"
BUREAU_ROLES = frozenset({"bureau_reviewer", "bureau_head"})


@dataclass(frozen=True)
class ApplicationView:
    """An application with its steps."""

    application: Application
    steps: list[StepRecord]


@dataclass(frozen=True)
class ApplicationResult:
    """The case after an application action, and the application."""

    case: ReviewCase
    application: ApplicationView


def _reqs(deps: ReviewDeps, case: ReviewCase) -> Requirements:
    return evaluate(deps.case_pack(case), case_facts(deps, case, planned=True))


def _check_complete(deps: ReviewDeps, case: ReviewCase, materials: Sequence[Material]) -> list[str]:
    have = {m.doc_type for m in materials}
    if case.declaration is not None:
        have |= case.declaration.document_types()
    check = approval_checklist(deps.case_pack(case), case_facts(deps, case, planned=True), frozenset(have))
    if not check.complete:
        raise AppError(
            code="APPLICATION_INCOMPLETE",
            message="审批申请材料不齐全：" + "；".join(check.missing_labels()) + "。",
            kind=ErrorKind.PRECONDITION,
            details={"missing": [i.to_dict() for i in check.missing]},
            cite=check.cite,
        )
    return check.cite


async def _view(session: AsyncSession, app: Application) -> ApplicationView:
    return ApplicationView(app, await repository.steps_of(session, app.id))


async def submit_application(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    expected_version: int,
    materials: Sequence[Material],
    sign_off: Mapping[str, Any] | None = None,
) -> ApplicationResult:
    """A planned (or supplementary) project applies for approval with the documents its pack requires."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        rules.ensure_applicant(principal, case)
        ensure_stage(case, CaseStatus.IN_PLAN, CaseStatus.AWAITING_APPLICATION)
        pack = deps.case_pack(case)
        reqs = _reqs(deps, case)
        sign_off_cite = a.check_sign_off(pack, sign_off) if case.supplementary else []
        doc_cite = _check_complete(deps, case, materials)
        approver, approver_cite = a.approver_of(reqs)
        previous = await repository.applications_of(tx.session, case.id)
        now, today = deps.now(), deps.today()
        app = Application(
            id=new_id(),
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            case_id=case.id,
            attempt=len(previous) + 1,
            round=1,
            status=ApplicationStatus.UNDER_REVIEW,
            approver=approver,
            materials=tuple(materials),
            sign_off=dict(sign_off) if sign_off else None,
            submitted_by=principal.username,
            submitted_at=now,
            cite=tuple(sorted_cite(doc_cite, approver_cite, sign_off_cite)),
        )
        await repository.add_application(tx.session, app)
        stored = await save_case(tx.session, rules.transition(case, Action.APPLY, at=now), read=case)
        for step in a.steps(
            pack, reqs, supplementary=case.supplementary, delegated=case.reviewing_tenant_id is not None,
            delegation_cite=case.delegation_cite,
        ):  # fmt: skip
            done = step.kind == "supplementary_sign_off"
            task_id = None
            if step.workdays is not None and not done:
                task = await task_service.open_for_case(
                    tx.session, deps, stored, kind=TaskKind.STEP, holder_tenant_id=case.tenant_id,
                    holder_role=step.holder_role, workdays=step.workdays, subject=step.kind, cite=step.cite,
                )  # fmt: skip
                task_id = task.id
            await repository.add_step(
                tx.session,
                StepRecord(
                    id=new_id(),
                    tenant_id=case.tenant_id,
                    reviewing_tenant_id=case.reviewing_tenant_id,
                    application_id=app.id,
                    case_id=case.id,
                    kind=step.kind,
                    label_zh=step.label_zh,
                    blocking=step.blocking,
                    status=StepStatus.DONE if done else StepStatus.PENDING,
                    reference=str((sign_off or {}).get("reference", "")) if done else "",
                    recorded_by=principal.username if done else None,
                    recorded_on=today if done else None,
                    task_id=task_id,
                    cite=step.cite,
                ),
            )
        sla = reqs["review_sla_workdays"]
        days = sla_workdays(sla.value, FIRST_REVIEW_KEYS)
        await task_service.open_for_case(
            tx.session, deps, stored, kind=TaskKind.APPROVAL_REVIEW, holder_tenant_id=case.acting_tenant,
            holder_role=APPROVER_TASK_ROLE[approver], workdays=days,
            cite=sorted_cite(approver_cite, sla.cite if days is not None else []),
        )  # fmt: skip
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="application.submitted",
            entity_type="approval_application",
            entity_id=app.id,
            from_state=case.status.value,
            to_state=stored.status.value,
            citations=app.cite,
            details={
                "attempt": app.attempt,
                "approver": approver,
                "documents": [m.doc_type for m in materials],
            },
        )
        view = await _view(tx.session, app)
        await tx.commit()
    return ApplicationResult(stored, view)


async def resubmit_application(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    expected_version: int,
    materials: Sequence[Material],
) -> ApplicationResult:
    """The unit's revised materials after a return start the next review round."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        rules.ensure_applicant(principal, case)
        app = await repository.current_application(tx.session, case.id)
        if app is not None and app.status is ApplicationStatus.VOID:
            # The pack's last round failed (lhasa §11): no further round, the refusal names the rule.
            rounds = _reqs(deps, case)["max_review_rounds"]
            raise AppError(
                code="REVIEW_ROUNDS_EXHAUSTED",
                message="评审未通过次数已达管理办法规定的上限，须重新编制材料后重新提交审批申请。",
                kind=ErrorKind.PRECONDITION,
                details={"max_rounds": rounds.value, "rounds": app.round},
                cite=list(rounds.cite),
            )
        if not (case.status is CaseStatus.RETURNED and case.stage is Stage.APPROVAL):
            refuse_state(case)
        if app is None:
            raise not_found("application", case_id, label_zh="审批申请")
        revised = a.resubmit(app, materials)
        _check_complete(deps, case, revised.materials)
        stored_app = await repository.save_application(tx.session, revised)
        now, today = deps.now(), deps.today()
        stored = await save_case(tx.session, rules.transition(case, Action.RESUBMIT, at=now), read=case)
        await task_service.close_kind(tx.session, case.id, TaskKind.APPLICANT_REVISION, today)
        await task_service.resume_all(tx.session, case.id, today)
        sla = _reqs(deps, case)["review_sla_workdays"]
        days = sla_workdays(sla.value, SECOND_REVIEW_KEYS)
        await task_service.open_for_case(
            tx.session, deps, stored, kind=TaskKind.APPROVAL_REVIEW, holder_tenant_id=case.acting_tenant,
            holder_role=APPROVER_TASK_ROLE[app.approver], workdays=days,
            cite=list(sla.cite) if days is not None else [],
        )  # fmt: skip
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="application.resubmitted",
            entity_type="approval_application",
            entity_id=app.id,
            from_state=case.status.value,
            to_state=stored.status.value,
            details={"round": stored_app.round, "documents": [m.doc_type for m in materials]},
        )
        view = await _view(tx.session, stored_app)
        await tx.commit()
    return ApplicationResult(stored, view)


async def list_applications(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[ApplicationView]:
    """A case's applications with their steps."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        return [await _view(tx.session, app) for app in await repository.applications_of(tx.session, case.id)]


async def review_records(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[Any]:
    """A case's review conclusions (round by round)."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        return await repository.reviews_of(tx.session, case.id)


async def conclude_review(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    expected_version: int,
    passed: bool,
    comments: str = "",
    items: Sequence[str] = (),
) -> ApplicationResult:
    """The approver's conclusion of a round: pass → the approval is to be issued; fail → written
    feedback and back to the unit; failing the last round the pack allows → materials anew."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        if not (case.status is CaseStatus.APPROVAL_REVIEW and case.stage is Stage.APPROVAL):
            refuse_state(case)
        app = await repository.current_application(tx.session, case.id)
        if app is None:
            raise not_found("application", case_id, label_zh="审批申请")
        rules.ensure_technical_reviewer(principal, case, APPROVER_ROLES[app.approver] | {"bureau_head"})
        reqs = _reqs(deps, case)
        rounds = reqs["max_review_rounds"]
        concluded, consequence = a.conclude(
            app, passed=passed, comments=comments, items=list(items), max_rounds=rounds.value
        )
        stored_app = await repository.save_application(tx.session, concluded)
        now, today = deps.now(), deps.today()
        cite = sorted_cite(app.cite, rounds.cite if consequence is Consequence.PREPARE_ANEW else [])
        await repository.add_review(
            tx.session,
            {
                "id": new_id(),
                "tenant_id": case.tenant_id,
                "reviewing_tenant_id": case.reviewing_tenant_id,
                "case_id": case.id,
                "application_id": app.id,
                "round": app.round,
                "outcome": {Consequence.ISSUE: "passed", Consequence.RETURN: "returned"}.get(
                    consequence, "prepare_anew"
                ),
                "comments": comments.strip(),
                "items": list(items),
                "reviewed_by": principal.username,
                "reviewed_at": now,
                "cite": cite,
            },
        )
        await task_service.close_kind(tx.session, case.id, TaskKind.APPROVAL_REVIEW, today)
        if consequence is Consequence.ISSUE:
            stored = await save_case(tx.session, replace(case, updated_at=now), read=case)
            sla = reqs["review_sla_workdays"]
            days = sla_workdays(sla.value, ISSUE_KEYS)
            issuer = "tech_center" if app.approver == "tech_center" else "bureau_head"
            await task_service.open_for_case(
                tx.session, deps, stored, kind=TaskKind.ISSUE_APPROVAL, holder_tenant_id=case.tenant_id,
                holder_role=issuer, workdays=days, cite=list(sla.cite) if days is not None else [],
            )  # fmt: skip
        elif consequence is Consequence.RETURN:
            listed = [i.strip() for i in items if i.strip()] or [comments.strip()]
            reason = comments.strip() or "评审未通过，请按评审意见修改后重新提交。"
            stored = await return_to_applicant(
                tx.session, deps, principal=principal, case=case, items=listed, reason=reason, cite=cite
            )
            tx.emit(ev.returned(stored, stage="approval", items=listed, reason=reason, at=now, cite=cite))
        else:
            stored = await save_case(tx.session, rules.prepare_anew(case, at=now), read=case)
            await task_service.cancel_all(tx.session, case.id, today)
            reason = f"评审{app.round}次未通过，须重新编制评审材料后重新申请。"
            listed = [i.strip() for i in items if i.strip()] or [comments.strip() or reason]
            tx.emit(ev.returned(stored, stage="approval", items=listed, reason=reason, at=now, cite=cite))
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="application.concluded",
            entity_type="approval_application",
            entity_id=app.id,
            from_state=case.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={
                "round": app.round,
                "passed": passed,
                "consequence": consequence.value,
                "items": list(items),
            },
        )
        view = await _view(tx.session, stored_app)
        await tx.commit()
    return ApplicationResult(stored, view)


async def record_step(
    *, deps: ReviewDeps, principal: Principal, step_id: str, expected_version: int, reference: str
) -> StepRecord:
    """Record a step as done (发改's approval number, the city's review opinion, the design review)."""
    tenant = require_tenant(principal)
    valid_uuid(step_id, "step", STEP_LABEL)
    if not reference.strip():
        raise AppError(
            code="STEP_REFERENCE_REQUIRED", message="请填写文件编号或意见文号。", kind=ErrorKind.INVALID
        )
    async with deps.uow(tenant_id=tenant) as tx:
        step = await repository.get_step(tx.session, step_id)
        if step is None:
            raise not_found("step", step_id, label_zh=STEP_LABEL)
        case = await load_for_action(tx.session, principal, step.case_id, None)
        rules.ensure_not_read_only(principal)
        allowed = {"ndrc", *BUREAU_ROLES} if step.kind.startswith("ndrc_") else set(BUREAU_ROLES)
        if principal.tenant not in {case.tenant_id, case.acting_tenant} or not principal.has_role(*allowed):
            raise forbidden("step.record")
        if step.version != expected_version:
            raise stale_version("step", expected=expected_version, label_zh=STEP_LABEL)
        if step.status is StepStatus.DONE:
            raise AppError(code="STEP_ALREADY_DONE", message="该环节已办理。", kind=ErrorKind.PRECONDITION)
        done = replace(
            step, status=StepStatus.DONE, reference=reference.strip(), recorded_by=principal.username,
            recorded_on=deps.today(),
        )  # fmt: skip
        stored = await repository.save_step(tx.session, done, expected_version=expected_version)
        if stored is None:
            raise stale_version("step", expected=expected_version, label_zh=STEP_LABEL)
        await task_service.close_kind(tx.session, case.id, TaskKind.STEP, deps.today(), subject=step.kind)
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=case,
            action="step.recorded",
            entity_type="approval_step",
            entity_id=step.id,
            from_state=step.status.value,
            to_state=stored.status.value,
            citations=step.cite,
            details={"kind": step.kind, "reference": stored.reference},
        )
        await tx.commit()
    return stored


def _document_number(deps: ReviewDeps, tenant_id: str, *, year: int, seq: int) -> str:
    try:
        return get_tenant(tenant_id, registry=deps.policies).document_number(year=year, seq=seq)
    except PolicyError as exc:
        raise AppError(
            code="DOCUMENT_NUMBER_NOT_CONFIGURED",
            message="该地区尚未配置批复文号格式，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"tenant": tenant_id, "reason": str(exc)},
        ) from exc


def _issuing_org(deps: ReviewDeps, tenant_id: str) -> tuple[str, str]:
    try:
        name = get_tenant(tenant_id, registry=deps.policies).name
    except PolicyError:
        name = tenant_id
    return name, f"{name}数据局"


async def grant_approval(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    expected_version: int,
    approved_amount: Decimal,
    conditions: Sequence[str] = (),
    content: str = "",
) -> Approval:
    """Issue the approval (审批表/批复): number, date, amount ≤ plan, conditions, validity from the
    pack, the PDF stored with its SHA-256, baseline version 1, approval.granted."""
    from review.adapters.documents import ApprovalDocument, render_approval_pdf

    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        app = await repository.current_application(tx.session, case.id)
        issuers = ISSUER_ROLES[app.approver] if app is not None else rules.DECIDERS
        rules.ensure_decider(principal, case, issuers)
        if not (case.status is CaseStatus.APPROVAL_REVIEW and case.stage is Stage.APPROVAL):
            refuse_state(case)
        if app is None or app.status is not ApplicationStatus.PASSED:
            raise AppError(
                code="REVIEW_NOT_PASSED",
                message="审批评审尚未通过，不能出具批复。",
                kind=ErrorKind.PRECONDITION,
                details={"application_status": app.status.value if app else None},
            )
        pending = [
            s
            for s in await repository.steps_of(tx.session, app.id)
            if s.blocking and s.status is StepStatus.PENDING
        ]
        if pending:
            raise AppError(
                code="APPROVAL_STEPS_PENDING",
                message="以下环节尚未办理：" + "、".join(s.label_zh for s in pending) + "。",
                kind=ErrorKind.PRECONDITION,
                details={"steps": [s.kind for s in pending]},
                cite=sorted_cite(*(s.cite for s in pending)),
            )
        a.check_amount(approved_amount, case.ceiling)
        reqs = _reqs(deps, case)
        today, now = deps.today(), deps.now()
        valid_until, validity_cite = a.validity(reqs, today)
        seq = await repository.next_document_seq(
            tx.session, tenant=case.tenant_id, kind="approval", year=today.year
        )
        number = _document_number(deps, case.tenant_id, year=today.year, seq=seq)
        clean_conditions = tuple(c.strip() for c in conditions if c.strip())
        cite = tuple(sorted_cite(app.cite, validity_cite, case.delegation_cite))
        approval_id = new_id()
        tenant_name, issuing_org = _issuing_org(deps, case.tenant_id)
        pdf = render_approval_pdf(
            ApprovalDocument(
                document_number=number,
                tenant_name=tenant_name,
                issuing_org=issuing_org,
                issued_on=today,
                project_name=case.name,
                project_code=case.project_code or "",
                declaring_org=case.org_name or case.declaring_org_id,
                approved_amount=approved_amount,
                planned_budget=case.ceiling,
                conditions=list(clean_conditions),
                valid_until=valid_until,
                citations=list(cite),
                footer=f"{issuing_org} · {number}",
            )
        )
        stored_object = await deps.store.put(
            f"approvals/{case.tenant_id}/{approval_id}.pdf", pdf, content_type=PDF
        )
        approval = Approval(
            id=approval_id,
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            case_id=case.id,
            declaration_id=case.declaration_id,
            application_id=app.id,
            project_code=case.project_code,
            document_number=number,
            approved_amount=approved_amount,
            approved_on=today,
            valid_until=valid_until,
            conditions=clean_conditions,
            content=content.strip(),
            document_key=stored_object.key,
            document_sha256=stored_object.sha256,
            status=ApprovalStatus.VALID,
            baseline_version=1,
            issued_by=principal.username,
            cite=cite,
        )
        await repository.add_approval(tx.session, approval)
        await repository.add_baseline(
            tx.session,
            Baseline(
                id=new_id(), tenant_id=case.tenant_id, reviewing_tenant_id=case.reviewing_tenant_id,
                approval_id=approval.id, version=1, amount=approved_amount, content=approval.content,
                conditions=clean_conditions, created_by=principal.username, created_at=now, cite=cite,
            ),
            case_id=case.id,
        )  # fmt: skip
        await repository.save_application(tx.session, replace(app, status=ApplicationStatus.GRANTED))
        stored = await save_case(tx.session, rules.transition(case, Action.GRANT, at=now), read=case)
        entry = await repository.entry_of_case(tx.session, case.id, lock=True)
        if entry is not None and entry.status is EntryStatus.PLANNED:
            await repository.save_entry(
                tx.session, replace(entry, status=EntryStatus.APPROVED), expected_version=entry.version
            )
        await task_service.close_kind(tx.session, case.id, TaskKind.ISSUE_APPROVAL, today)
        await task_service.cancel_all(tx.session, case.id, today)
        tx.emit(ev.approval_granted(approval, case=stored, facts=case_facts(deps, stored, planned=True)))
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="approval.granted",
            entity_type="approval",
            entity_id=approval.id,
            from_state=case.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={
                "document_number": number,
                "approved_amount": str(approved_amount),
                "valid_until": str(valid_until or ""),
                "document_sha256": stored_object.sha256,
            },
        )
        await tx.commit()
    return approval


async def reject_case(
    *, deps: ReviewDeps, principal: Principal, case_id: str, expected_version: int, reason: str
) -> ReviewCase:
    """The bureau refuses the approval (review.rejected, stage approval)."""
    tenant = require_tenant(principal)
    if not reason.strip():
        raise AppError(
            code="DECISION_REASON_REQUIRED", message="不予批复时须写明理由。", kind=ErrorKind.INVALID
        )
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        rules.ensure_decider(principal, case)
        if case.stage is not Stage.APPROVAL:
            refuse_state(case)
        now, today = deps.now(), deps.today()
        stored = await save_case(tx.session, rules.transition(case, Action.REJECT, at=now), read=case)
        app = await repository.current_application(tx.session, case.id)
        cite = list(app.cite) if app else []
        if app is not None and app.status not in (ApplicationStatus.GRANTED, ApplicationStatus.VOID):
            await repository.save_application(tx.session, replace(app, status=ApplicationStatus.REJECTED))
        entry = await repository.entry_of_case(tx.session, case.id, lock=True)
        if entry is not None and entry.status is EntryStatus.PLANNED:
            await repository.save_entry(
                tx.session, replace(entry, status=EntryStatus.REJECTED), expected_version=entry.version
            )
        await task_service.cancel_all(tx.session, case.id, today)
        tx.emit(ev.rejected(stored, stage="approval", reason=reason.strip(), cite=cite))
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="approval.rejected",
            from_state=case.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={"reason": reason.strip()},
        )
        await tx.commit()
    return stored


# --------------------------------------------------------------------------------------------
# Reading approvals
# --------------------------------------------------------------------------------------------


async def _load_approval(session: AsyncSession, principal: Principal, approval_id: str) -> Approval:
    valid_uuid(approval_id, "approval", APPROVAL_LABEL)
    found = await repository.get_approval(session, approval_id)
    if found is None:
        raise not_found("approval", approval_id, label_zh=APPROVAL_LABEL)
    await load_visible(session, principal, found.case_id)
    return found


async def get_approval(
    *, deps: ReviewDeps, principal: Principal, approval_id: str | None = None, case_id: str | None = None
) -> Approval:
    """An approval by id or by its case."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        if approval_id:
            return await _load_approval(tx.session, principal, approval_id)
        case = await load_visible(tx.session, principal, case_id or "")
        found = await repository.approval_of_case(tx.session, case.id)
        if found is None:
            raise not_found("approval", case_id, label_zh=APPROVAL_LABEL)
        return found


async def list_approvals(
    *, deps: ReviewDeps, principal: Principal, declaration_id: str | None, limit: int, offset: int
) -> list[Approval]:
    """Approvals the caller may see: bureaus and auditors all of their reach, a unit its own."""
    tenant = require_tenant(principal)
    if declaration_id is not None:
        try:
            valid_uuid(declaration_id, "approval", APPROVAL_LABEL)
        except AppError:
            return []
    wide = principal.has_role(*rules.TENANT_WIDE_READERS)
    if not wide and principal.org is None:
        return []
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_approvals(
            tx.session,
            limit=limit,
            offset=offset,
            declaration_id=declaration_id,
            org=None if wide else (tenant, principal.org or ""),
        )


@dataclass(frozen=True)
class DocumentFile:
    """The approval document's bytes."""

    filename: str
    content_type: str
    content: bytes
    sha256: str


async def approval_document(*, deps: ReviewDeps, principal: Principal, approval_id: str) -> DocumentFile:
    """The issued PDF, checked against the SHA-256 stored with the approval."""
    import hashlib

    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        found = await _load_approval(tx.session, principal, approval_id)
    content = await deps.store.get(found.document_key)
    if hashlib.sha256(content).hexdigest() != found.document_sha256:
        raise AppError(
            code="DOCUMENT_INTEGRITY_FAILED",
            message="批复文件与签发时的摘要不一致，请联系管理员核查。",
            kind=ErrorKind.UNAVAILABLE,
            details={"approval_id": found.id},
        )
    return DocumentFile(f"{found.document_number}.pdf", PDF, content, found.document_sha256)


async def baselines(*, deps: ReviewDeps, principal: Principal, approval_id: str) -> list[Baseline]:
    """Every approved baseline of an approval, first first."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        found = await _load_approval(tx.session, principal, approval_id)
        return await repository.baselines_of(tx.session, found.id)

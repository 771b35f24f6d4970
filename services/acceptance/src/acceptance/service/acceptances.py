"""Acceptances: the application (after the trial run, with the evidence, in time), the panel drawn
from review's expert library, the result with its checklist and report, rectification, filing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.adapters import repository
from acceptance.domain import acceptance as rules
from acceptance.domain import evidence as ev
from acceptance.domain import project as project_rules
from acceptance.domain.acceptance import (
    ORGANIZER_ZH,
    RESULT_ZH,
    STAGE_ZH,
    Acceptance,
    AcceptanceStatus,
    Panel,
    PanelExpert,
    Rectification,
    RectificationDraft,
    Stage,
)
from acceptance.domain.project import AcceptanceProject, ProjectStatus
from acceptance.service import events
from acceptance.service._common import (
    ACCEPTANCE_LABEL,
    AcceptanceDeps,
    audit_change,
    load_acceptance,
    load_project,
    new_id,
    require_tenant,
    save_acceptance,
    save_project,
    valid_uuid,
)
from acceptance.service.projects import required_evidence
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.policy import PolicyResolutionError, acceptance_checklist, get_tenant, obligations
from govkit.workdays import add_workdays

PANEL_PURPOSE = "acceptance"
RECTIFICATION_LABEL = "整改事项"

if TYPE_CHECKING:
    from acceptance.adapters.report import ReportDocument


def _refuse(code: str, message: str, *, cite: Sequence[str] = (), **details: object) -> AppError:
    return AppError(
        code=code, message=message, kind=ErrorKind.PRECONDITION, details=dict(details), cite=list(cite)
    )


def _initial_required_cite(deps: AcceptanceDeps, project: AcceptanceProject) -> list[str]:
    rows = obligations(deps.pack_of(project), "initial_acceptance_required")
    return sorted({c for r in rows for c in r["cite"]})


def _extension_cite(deps: AcceptanceDeps, project: AcceptanceProject) -> list[str]:
    return sorted({c for r in obligations(deps.pack_of(project), "acceptance_extension") for c in r["cite"]})


async def _ensure_no_open_work(
    deps: AcceptanceDeps, session: AsyncSession, project: AcceptanceProject
) -> None:
    if any(
        a.status is AcceptanceStatus.APPLIED for a in await repository.acceptances_of(session, project.id)
    ):
        raise _refuse("ACCEPTANCE_OPEN", "该项目已有进行中的验收，请先完成该次验收。")
    open_items = [
        r for r in await repository.rectifications_of(session, project_id=project.id) if r.done_on is None
    ]
    if open_items:
        cite = deps.requirements(project)["rectification_months"].cite
        raise _refuse(
            "RECTIFICATION_OPEN",
            f"尚有{len(open_items)}项整改未完成，整改完成后方可重新申请验收。",
            cite=cite,
            open=[r.id for r in open_items],
        )


async def apply(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    project_id: str,
    expected_version: int,
    stage: Stage,
) -> Acceptance:
    """The unit applies for the initial or the final acceptance, today.

    Refused with the article: before the trial run's minimum length has passed; the final one
    before the initial one passed where the pack requires it, without the evidence the pack
    requires, or after its due date without an approved extension.
    """
    tenant = require_tenant(principal)
    today = deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, project_id, lock=True, expected_version=expected_version
        )
        rules.ensure_unit(principal, org_id=project.org_id)
        if project.status is ProjectStatus.ACCEPTED:
            raise _refuse("ALREADY_ACCEPTED", "项目已通过竣工验收。")
        await _ensure_no_open_work(deps, tx.session, project)
        project_rules.ensure_trial_long_enough(project, today)
        reqs = deps.requirements(project)
        cite: list[str] = [*project.trial_cite]
        initial_cite = _initial_required_cite(deps, project)
        if stage is Stage.INITIAL:
            if project.initial_passed_on is not None:
                raise _refuse("INITIAL_ALREADY_PASSED", "该项目初步验收已通过，请申请竣工验收。")
            organizer, organizer_cite = rules.SELF_ACCEPTED, initial_cite
        else:
            if initial_cite and project.initial_passed_on is None:
                raise _refuse(
                    "INITIAL_ACCEPTANCE_REQUIRED", "初步验收通过后方可申请竣工验收。", cite=initial_cite
                )
            lacking = ev.missing(
                required_evidence(deps, project),
                await repository.evidence_of(tx.session, project.id),
                before=ev.Before.FINAL_ACCEPTANCE,
            )
            ev.ensure_present(lacking, step_zh="申请竣工验收")
            project_rules.ensure_final_in_time(project, today, extension_cite=_extension_cite(deps, project))
            organizer = reqs["acceptance_organizer"].value or rules.SELF_ACCEPTED
            organizer_cite = list(reqs["acceptance_organizer"].cite)
            cite += [*project.final_due_cite, *initial_cite]
        checklist = rules.checklist_from_pack(acceptance_checklist(deps.pack_of(project), project.facts()))
        item = Acceptance(
            id=new_id(),
            tenant_id=tenant,
            project_id=project.id,
            stage=stage,
            round=await repository.rounds_of(tx.session, project.id, stage) + 1,
            status=AcceptanceStatus.APPLIED,
            organizer=str(organizer),
            organizer_cite=tuple(organizer_cite),
            applied_on=today,
            applied_by=principal.username,
            checklist=checklist,
            cite=tuple(sorted({*cite, *organizer_cite})),
        )
        await repository.add_acceptance(tx.session, item)
        # The project's version moves too: a second application racing this one gets 409.
        await save_project(tx.session, deps, project, read=project)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="acceptance.applied",
            entity_type="acceptance",
            entity_id=item.id,
            from_state=None,
            to_state=item.status.value,
            citations=item.cite,
            details={
                "project_id": project.id,
                "stage": stage.value,
                "round": item.round,
                "organizer": organizer,
            },
        )
        await tx.commit()
    return item


async def get_acceptance(
    *, deps: AcceptanceDeps, principal: Principal, acceptance_id: str
) -> tuple[Acceptance, list[Rectification]]:
    """An acceptance with its rectification items."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        item, _project = await load_acceptance(tx.session, principal, acceptance_id)
        return item, await repository.rectifications_of(tx.session, acceptance_id=item.id)


def _ensure_may_draw(principal: Principal, item: Acceptance, project: AcceptanceProject) -> None:
    if principal.has_role(*rules.BUREAU_ROLES):
        return
    if item.organizer != "bureau" and principal.has_role("unit_head") and principal.org == project.org_id:
        return
    raise forbidden("acceptance.panel")


async def draw_panel(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    acceptance_id: str,
    expected_version: int,
    size: int,
    seed: str | None,
    specialty: str | None,
    avoid_orgs: Sequence[str],
) -> Acceptance:
    """Draw the acceptance panel from the expert library through review's gRPC.

    Experts of the building unit and of the project's contractors are avoided with the orgs the
    caller names. The call to review runs outside the transaction; the panel is then attached to
    the acceptance at the version read (a concurrent change → 409, the draw stays in review's audit).
    """
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        item, project = await load_acceptance(
            tx.session, principal, acceptance_id, expected_version=expected_version
        )
        _ensure_may_draw(principal, item, project)
        rules.attach_panel(item, Panel("", (), {}, (), "", deps.now()))  # open and without a panel
        contractors = [
            c.supplier_name for c in await repository.contracts_of(tx.session, project.declaration_id)
        ]
    bidders = sorted({o.strip() for o in [*contractors, *avoid_orgs] if o and o.strip()})
    drawn = await deps.panels.draw(
        tenant_id=tenant,
        purpose=PANEL_PURPOSE,
        reference_id=item.id,
        size=size,
        seed=seed,
        specialty=specialty,
        declaring_orgs=[project.org_id],
        bidders=bidders,
        requested_by=principal.username,
    )
    panel = Panel(
        seed=drawn.seed,
        candidates=drawn.candidates,
        excluded=dict(drawn.excluded),
        experts=tuple(PanelExpert(e.expert_id, e.name, e.org) for e in drawn.experts),
        drawn_by=principal.username,
        drawn_at=deps.now(),
        draw_reference=drawn.reference,
    )
    async with deps.uow(tenant_id=tenant) as tx:
        current, _ = await load_acceptance(
            tx.session, principal, acceptance_id, lock=True, expected_version=item.version
        )
        stored = await save_acceptance(tx.session, rules.attach_panel(current, panel), read=current)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="acceptance.panel_drawn",
            entity_type="acceptance",
            entity_id=item.id,
            from_state=item.status.value,
            to_state=item.status.value,
            citations=item.organizer_cite,
            details={
                "seed": panel.seed,
                "size": size,
                "candidates": list(panel.candidates),
                "excluded": panel.excluded,
                "drawn": [e.expert_id for e in panel.experts],
                "avoided_orgs": [project.org_id, *bidders],
                "review_reference": panel.draw_reference,
            },
        )
        await tx.commit()
    return stored


@dataclass(frozen=True)
class Finding:
    """The panel's finding on one checklist item."""

    code: str
    passed: bool
    note: str = ""


def _tenant_name(deps: AcceptanceDeps, tenant: str) -> str:
    try:
        return get_tenant(tenant, registry=deps.policies).name
    except PolicyResolutionError:
        return tenant


def _report(
    deps: AcceptanceDeps, project: AcceptanceProject, item: Acceptance, items: Sequence[Rectification]
) -> ReportDocument:
    # The report adapter (reportlab) is imported on first use: ~10 MB of the idle process.
    from acceptance.adapters.report import ReportDocument, ReportRectification

    assert item.decided_on is not None
    status = AcceptanceStatus(item.status)
    return ReportDocument(
        tenant_name=_tenant_name(deps, project.tenant_id),
        project_name=project.project_name or project.project_code,
        project_code=project.project_code,
        org_id=project.org_id,
        stage_zh=STAGE_ZH[item.stage],
        round=item.round,
        organizer_zh=ORGANIZER_ZH.get(item.organizer, item.organizer),
        decided_on=item.decided_on,
        result_zh=RESULT_ZH[status],
        contract_amount=project.contract_amount,
        panel=[(e.name, e.org) for e in item.panel.experts] if item.panel else [],
        checklist=[(i.label_zh, bool(i.passed), i.note, "、".join(i.cite)) for i in item.checklist],
        opinion=item.opinion,
        rectifications=[ReportRectification(r.description, r.owner, r.due_on) for r in items],
        citations=item.cite,
    )


async def decide(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    acceptance_id: str,
    expected_version: int,
    findings: Sequence[Finding],
    opinion: str,
    rectifications: Sequence[RectificationDraft],
) -> tuple[Acceptance, list[Rectification]]:
    """Record the result: every checklist item's finding, the report PDF with its SHA-256, the
    rectification items of a failure, and acceptance.passed / acceptance.failed in the outbox."""
    tenant = require_tenant(principal)
    today = deps.today()
    by_code: Mapping[str, tuple[bool, str]] = {f.code: (f.passed, f.note) for f in findings}
    if len(by_code) != len(findings):
        raise AppError(
            code="CHECKLIST_DUPLICATE", message="验收清单同一事项只能给出一个结论。", kind=ErrorKind.INVALID
        )
    async with deps.uow(tenant_id=tenant) as tx:
        item, project = await load_acceptance(
            tx.session, principal, acceptance_id, lock=True, expected_version=expected_version
        )
        rules.ensure_may_decide(principal, item, org_id=project.org_id)
        reqs = deps.requirements(project)
        months = reqs["rectification_months"]
        rectify_by = project_rules.add_months(today, months.value) if months.value else None
        decision = rules.decide(
            item,
            findings=by_code,
            opinion=opinion,
            decided_on=today,
            decided_by=principal.username,
            rectifications=rectifications,
            rectify_by=rectify_by,
            rectify_cite=months.cite,
        )
        decided = decision.acceptance
        cite = set(decided.cite)
        items = [
            Rectification(
                id=new_id(),
                tenant_id=tenant,
                project_id=project.id,
                acceptance_id=item.id,
                description=d.description,
                owner=d.owner,
                due_on=d.due_on or today,
                cite=tuple(months.cite),
            )
            for d in decision.rectifications
        ]
        if not decision.passed:
            cite |= set(months.cite)
        if decided.self_accepted and decided.stage is Stage.FINAL:
            filing = reqs["acceptance_filing_workdays"]
            if filing.value:
                due = add_workdays(today, int(filing.value), deps.calendar).date
                decided = replace(decided, filing_due_on=due, filing_cite=tuple(filing.cite))
                cite |= set(filing.cite)
        decided = replace(decided, cite=tuple(sorted(cite)))
        # The project moves with the result.
        if not decision.passed:
            changed = replace(project, status=ProjectStatus.RECTIFYING)
        elif decided.stage is Stage.INITIAL:
            final = reqs["final_acceptance_within_months"]
            due_on = project_rules.final_due(
                final.value, initial_passed_on=today, completed_on=project.completed_on
            )
            changed = replace(project, status=ProjectStatus.INITIAL_PASSED, initial_passed_on=today)
            if due_on is not None:
                changed = project_rules.replace_due(changed, due_on, final.cite)
        else:
            changed = replace(project, status=ProjectStatus.ACCEPTED, accepted_on=today)
        from acceptance.adapters.report import render_report_pdf

        pdf = render_report_pdf(_report(deps, changed, decided, items))
        key = f"{tenant}/acceptances/{item.id}/report.pdf"
        stored_pdf = await deps.store.put(key, pdf, content_type="application/pdf")
        decided = replace(decided, report_key=key, report_sha256=stored_pdf.sha256)
        stored = await save_acceptance(tx.session, decided, read=item)
        for r in items:
            await repository.add_rectification(tx.session, r)
        stored_project = await save_project(tx.session, deps, changed, read=project)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="acceptance.passed" if decision.passed else "acceptance.failed",
            entity_type="acceptance",
            entity_id=item.id,
            from_state=item.status.value,
            to_state=stored.status.value,
            citations=stored.cite,
            details={
                "project_id": project.id,
                "stage": item.stage.value,
                "round": item.round,
                "report_sha256": stored.report_sha256,
                "failed_items": [i.code for i in stored.checklist if not i.passed],
                "rectifications": [r.id for r in items],
                "project_status": stored_project.status.value,
            },
        )
        if not decision.passed:
            tx.emit(events.acceptance_failed(stored_project, stored, items))
        elif stored.stage is Stage.FINAL:
            tx.emit(events.acceptance_passed(stored_project, stored))
        await tx.commit()
    return stored, items


async def complete_rectification(
    *, deps: AcceptanceDeps, principal: Principal, item_id: str, expected_version: int, note: str
) -> Rectification:
    """The unit reports an item rectified; with the last one the project may apply again."""
    tenant = require_tenant(principal)
    valid_uuid(item_id, "rectification", RECTIFICATION_LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.get_rectification(tx.session, item_id, lock=True)
        if found is None:
            raise not_found("rectification", item_id, label_zh=RECTIFICATION_LABEL)
        project = await load_project(tx.session, principal, found.project_id, lock=True)
        rules.ensure_unit(principal, org_id=project.org_id)
        if found.version != expected_version:
            raise stale_version("rectification", expected=expected_version, label_zh=RECTIFICATION_LABEL)
        done = rules.complete_rectification(found, on=deps.today(), by=principal.username, note=note)
        stored = await repository.save_rectification(tx.session, done, expected_version=found.version)
        if stored is None:
            raise stale_version("rectification", expected=found.version, label_zh=RECTIFICATION_LABEL)
        remaining = [
            r
            for r in await repository.rectifications_of(tx.session, project_id=project.id)
            if r.done_on is None
        ]
        to_state = project.status
        if not remaining and project.status is ProjectStatus.RECTIFYING:
            back = ProjectStatus.INITIAL_PASSED if project.initial_passed_on else ProjectStatus.TRIAL_RUN
            to_state = (
                await save_project(tx.session, deps, replace(project, status=back), read=project)
            ).status
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="rectification.completed",
            entity_type="rectification",
            entity_id=found.id,
            from_state="open",
            to_state="done",
            citations=found.cite,
            details={
                "project_id": project.id,
                "acceptance_id": found.acceptance_id,
                "note": stored.note,
                "late": stored.done_on is not None and stored.done_on > found.due_on,
                "remaining": len(remaining),
                "project_status": to_state.value,
            },
        )
        await tx.commit()
    return stored


async def file_result(
    *, deps: AcceptanceDeps, principal: Principal, acceptance_id: str, expected_version: int
) -> Acceptance:
    """A self-accepted project's unit files its result with the bureau (qiaokou-2022 §28(3))."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        item, project = await load_acceptance(
            tx.session, principal, acceptance_id, lock=True, expected_version=expected_version
        )
        rules.ensure_unit(principal, org_id=project.org_id)
        filed = rules.file_result(item, on=deps.today())
        stored = await save_acceptance(tx.session, filed, read=item)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="acceptance.filed",
            entity_type="acceptance",
            entity_id=item.id,
            from_state=item.status.value,
            to_state=item.status.value,
            citations=item.filing_cite,
            details={
                "filed_on": stored.filed_on.isoformat() if stored.filed_on else None,
                "due_on": item.filing_due_on.isoformat() if item.filing_due_on else None,
                "late": stored.filed_late,
            },
        )
        await tx.commit()
    return stored


async def report(
    *, deps: AcceptanceDeps, principal: Principal, acceptance_id: str
) -> tuple[Acceptance, bytes]:
    """The report PDF of a decided acceptance (checked against its SHA-256)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        item, _project = await load_acceptance(tx.session, principal, acceptance_id)
    if item.report_key is None or item.report_sha256 is None:
        raise not_found("report", acceptance_id, label_zh=ACCEPTANCE_LABEL + "报告")
    data = await deps.store.get(item.report_key)
    if hashlib.sha256(data).hexdigest() != item.report_sha256:
        raise AppError(
            code="STORED_FILE_CORRUPT",
            message="存储的文件与登记的校验值不一致，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"acceptance_id": item.id},
        )
    return item, data


__all__ = [
    "Finding",
    "apply",
    "complete_rectification",
    "decide",
    "draw_panel",
    "file_result",
    "get_acceptance",
    "report",
]

"""Construction: progress reports (with serious-delay detection from the pack's margin), payments
(payment.recorded; the final payment waits for the acceptance), suspension, resumption and
termination (project.suspended / project.resumed / project.terminated), and the suspension that
evaluation's rectification.escalated orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found
from govkit.events import Envelope
from govproj.evaluation.events.v1 import events_pb2 as evaluation_events
from procurement.adapters import repository
from procurement.domain import construction as rules
from procurement.domain import project as project_rules
from procurement.domain.construction import Delay, Payment, PaymentKind, ProgressReport
from procurement.domain.procurement import Filing, Role
from procurement.domain.project import Project, ProjectStatus
from procurement.service import events as ev
from procurement.service._common import (
    SYSTEM_ACTOR,
    ProcurementDeps,
    audit_event,
    cite_of,
    emit_in_consumer,
    ensure_bureau,
    ensure_unit,
    load_project,
    new_id,
    require_tenant,
    save_project,
    valid_uuid,
)

DELAY_RULE = "serious_delay_report"
DELAY_PARAM = "delay_percent_over_contract_period"
GROUND_RULE = "suspension_ground"
FINAL_PAYMENT_RULE = "final_payment_requires_acceptance"
COMPLETE = Decimal(100)
AUDIT_ACTION = {
    "suspension": "project.suspended",
    "termination": "project.terminated",
    "resumption": "project.resumed",
}


async def _filing_of_project(session: AsyncSession, project: Project, filing_id: str) -> Filing:
    valid_uuid(filing_id, "filing", "备案合同")
    filing = await repository.get_filing(session, filing_id)
    if filing is None or filing.declaration_id != project.declaration_id:
        raise not_found("filing", filing_id, label_zh="备案合同")
    return filing


def contract_delay(
    deps: ProcurementDeps, project: Project, filing: Filing, *, percent: Decimal, on: date
) -> Delay:
    """The contract's delay on ``on`` under the project's pack (lhasa §18: serious beyond 50%)."""
    found = deps.obligations(project, DELAY_RULE)
    rule = next((r for r in found if DELAY_PARAM in r["params"]), found[0] if found else None)
    return rules.delay(
        period_start=filing.terms.period_start,
        period_end=filing.terms.period_end,
        today=on,
        complete=percent >= COMPLETE,
        rule=rule,
        margin_param=DELAY_PARAM,
    )


async def _mark_delay(
    session: AsyncSession, project: Project, delay: Delay, *, on: date, actor: str
) -> Project:
    """First detection of a serious delay is kept on the project and audited with its article."""
    if not delay.serious or project.serious_delay_since is not None:
        return project
    stored = await save_project(session, replace(project, serious_delay_since=on), read=project)
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=actor,
        action="project.serious_delay",
        entity_type="project",
        entity_id=project.declaration_id,
        from_state=project.status.value,
        to_state=stored.status.value,
        citations=delay.cite,
        details=delay.to_dict(),
    )
    return stored


async def report_progress(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    declaration_id: str,
    filing_id: str,
    percent: Decimal,
    milestones_done: list[str],
    note: str,
    expected_version: int,
) -> tuple[ProgressReport, Project]:
    """The unit reports progress on a construction contract; a delay beyond the pack's margin is
    flagged on the project (for the bureau to act on, lhasa §18, heze-2021 §20)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, declaration_id, lock=True, expected_version=expected_version
        )
        ensure_unit(principal, project)
        project_rules.ensure_building(project)
        filing = await _filing_of_project(tx.session, project, filing_id)
        if filing.role is not Role.CONSTRUCTION:
            raise AppError(
                code="NOT_CONSTRUCTION_CONTRACT", message="建设进度应按承建合同报告。", kind=ErrorKind.INVALID
            )
        names = {m.name for m in filing.terms.schedule}
        unknown = [m for m in milestones_done if m not in names]
        if unknown:
            raise AppError(
                code="VALIDATION_FAILED",
                message="提交的内容有误，请按提示修改后重试。",
                kind=ErrorKind.INVALID,
                details={
                    "fields": [
                        {
                            "field": "milestones_done",
                            "message": "不是合同进度计划中的节点：" + "、".join(unknown),
                        }
                    ]
                },
            )
        previous = await repository.filing_percent(tx.session, filing.id)
        rules.validate_progress(percent, previous=previous)
        today = deps.today()
        delay = contract_delay(deps, project, filing, percent=percent, on=today)
        report = ProgressReport(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=project.declaration_id,
            filing_id=filing.id,
            reported_on=today,
            percent=percent,
            milestones_done=tuple(milestones_done),
            note=note,
            reported_by=principal.username,
            reported_at=deps.now(),
            delay=delay.to_dict(),
        )
        await repository.add_progress(tx.session, report)
        await repository.set_filing_percent(tx.session, filing.id, percent)
        touched = await save_project(tx.session, replace(project), read=project)  # bumps the version
        stored = await _mark_delay(tx.session, touched, delay, on=today, actor=principal.username)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="progress.reported",
            entity_type="filing",
            entity_id=filing.id,
            from_state=None,
            to_state=None,
            citations=delay.cite,
            details={"percent": str(percent), "milestones_done": milestones_done, "delay": delay.to_dict()},
        )
        await tx.commit()
    return report, stored


async def record_payment(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    declaration_id: str,
    filing_id: str,
    kind: PaymentKind,
    amount: Decimal,
    paid_on: date,
    note: str,
    expected_version: int,
) -> Payment:
    """The unit records a payment; the final payment is refused until the acceptance passed
    (qiaokou-2022 §29, shuangyashan-2024 §30, heze-2021 §23)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, declaration_id, lock=True, expected_version=expected_version
        )
        ensure_unit(principal, project)
        project_rules.ensure_building(project)
        filing = await _filing_of_project(tx.session, project, filing_id)
        if paid_on > deps.today():
            raise AppError(
                code="VALIDATION_FAILED",
                message="提交的内容有误，请按提示修改后重试。",
                kind=ErrorKind.INVALID,
                details={"fields": [{"field": "paid_on", "message": "支付日期不能晚于今天"}]},
            )
        final_cite = cite_of(deps.obligations(project, FINAL_PAYMENT_RULE))
        paid = await repository.paid_total(tx.session, filing.id)
        rules.check_payment(
            kind=kind,
            amount=amount,
            contract_amount=filing.terms.amount,
            paid_so_far=paid,
            accepted=project.accepted_on is not None,
            final_cite=final_cite,
        )
        payment = Payment(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=project.declaration_id,
            filing_id=filing.id,
            kind=kind,
            amount=amount,
            paid_on=paid_on,
            recorded_by=principal.username,
            recorded_at=deps.now(),
            note=note,
            cite=tuple(final_cite if kind is PaymentKind.FINAL else ()),
        )
        await repository.add_payment(tx.session, payment)
        stored = await save_project(tx.session, replace(project), read=project)
        tx.emit(ev.payment_recorded(stored, payment, paid_total=paid + amount))
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="payment.recorded",
            entity_type="payment",
            entity_id=payment.id,
            from_state=None,
            to_state=kind.value,
            citations=payment.cite,
            details={"filing_id": filing.id, "amount": str(amount), "paid_total": str(paid + amount)},
        )
        await tx.commit()
    return payment


def grounds_of(deps: ProcurementDeps, project: Project) -> dict[str, dict[str, Any]]:
    """The suspension (and termination) grounds of the project's pack."""
    return rules.grounds(deps.obligations(project, GROUND_RULE))


async def _intervene(
    session: AsyncSession,
    deps: ProcurementDeps,
    *,
    project: Project,
    kind: str,
    ground: str,
    reason: str,
    actor: str,
    source: str,
    source_ref: str,
    cite: list[str],
) -> tuple[Project, str, Envelope]:
    today = deps.today()
    intervention_id = new_id()
    if kind == "suspension":
        changed = project_rules.suspend(project)
        event = ev.project_suspended(
            changed,
            suspension_id=intervention_id,
            ground=ground,
            reason=reason,
            on=today,
            source=source,
            cite=cite,
        )
    elif kind == "termination":
        changed = project_rules.terminate(project)
        event = ev.project_terminated(
            changed, termination_id=intervention_id, ground=ground, reason=reason, on=today, cite=cite
        )
    else:
        filings = await repository.filings_of(session, project.declaration_id)
        changed = project_rules.resume(
            project, has_construction_contract=any(f.role is Role.CONSTRUCTION for f in filings)
        )
        event = ev.project_resumed(changed, suspension_id=intervention_id, on=today, cite=cite)
    stored = await save_project(session, changed, read=project)
    await repository.add_intervention(
        session,
        id=intervention_id,
        tenant_id=project.tenant_id,
        declaration_id=project.declaration_id,
        kind=kind,
        ground=ground,
        reason=reason,
        on_date=today,
        actor=actor,
        source=source,
        source_ref=source_ref,
        cite=cite,
    )
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=actor,
        action=AUDIT_ACTION[kind],
        entity_type="project",
        entity_id=project.declaration_id,
        from_state=project.status.value,
        to_state=stored.status.value,
        citations=cite,
        details={"ground": ground, "reason": reason, "source": source, "source_ref": source_ref},
    )
    return stored, intervention_id, event


async def intervene(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    declaration_id: str,
    kind: str,
    ground: str,
    reason: str,
    expected_version: int,
) -> Project:
    """The bureau suspends, terminates or resumes a project; suspension and termination name one of
    the pack's grounds (qiaokou-2022 §27(1)–(5), lhasa §18, heze-2021 §20) and cite it."""
    tenant = require_tenant(principal)
    ensure_bureau(principal)
    if not reason.strip():
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "reason", "message": "请说明理由"}]},
        )
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, declaration_id, lock=True, expected_version=expected_version
        )
        if kind == "resumption":
            cite: list[str] = []
            last = [
                i
                for i in await repository.interventions_of(tx.session, declaration_id)
                if i["kind"] == "suspension"
            ]
            if last:
                cite = list(last[-1]["cite"])
            ground = last[-1]["ground"] if last else ""
        else:
            found = rules.ground_of(grounds_of(deps, project), ground)
            cite = list(found["cite"])
        stored, _, event = await _intervene(
            tx.session,
            deps,
            project=project,
            kind=kind,
            ground=ground,
            reason=reason.strip(),
            actor=principal.username,
            source="bureau",
            source_ref="",
            cite=cite,
        )
        tx.emit(event)
        await tx.commit()
    return stored


async def rectification_escalated(
    session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps
) -> None:
    """evaluation's ``rectification.escalated``: a rectification order unresolved past its due date
    suspends the project (qiaokou-2022 §37, heze-2023 §35 as the event cites them)."""
    p = envelope.payload_as(evaluation_events.RectificationEscalated)
    project = await repository.get_project(session, p.declaration_id, lock=True) if p.declaration_id else None
    if project is None or project.status not in (ProjectStatus.PROCURING, ProjectStatus.CONSTRUCTION):
        return
    if await repository.intervention_by_source(session, f"rectification:{p.order_id}"):
        return
    _, _, event = await _intervene(
        session,
        deps,
        project=project,
        kind="suspension",
        ground=rules.RECTIFICATION_ESCALATED,
        reason=p.grounds or "整改逾期未完成",
        actor=SYSTEM_ACTOR,
        source=rules.RECTIFICATION_ESCALATED,
        source_ref=f"rectification:{p.order_id}",
        cite=[c.ref for c in p.citations],
    )
    await emit_in_consumer(session, event)


async def sweep_delays(deps: ProcurementDeps, tenant: str) -> int:
    """Flag construction contracts now seriously delayed (no progress report needed)."""
    today = deps.today()
    flagged = 0
    async with deps.uow(tenant_id=tenant) as tx:
        building = await repository.list_projects(
            tx.session, org=None, status=ProjectStatus.CONSTRUCTION.value, limit=10_000, offset=0
        )
    for project in building:
        if project.serious_delay_since is not None:
            continue
        async with deps.uow(tenant_id=tenant) as tx:
            locked = await repository.get_project(tx.session, project.declaration_id, lock=True)
            if locked is None or locked.serious_delay_since is not None:
                continue
            for filing in await repository.filings_of(tx.session, locked.declaration_id):
                if filing.role is not Role.CONSTRUCTION:
                    continue
                percent = await repository.filing_percent(tx.session, filing.id)
                delay = contract_delay(deps, locked, filing, percent=percent, on=today)
                if delay.serious:
                    await _mark_delay(tx.session, locked, delay, on=today, actor=SYSTEM_ACTOR)
                    flagged += 1
                    break
            await tx.commit()
    return flagged

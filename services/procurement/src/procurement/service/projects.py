"""The read model of approved projects, kept from review's events (approval.granted,
change.decided, approval.expired), acceptance's acceptance.passed and evaluation's
discredited.changed; and the project reads of the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from govkit.events import Envelope
from govkit.policy import Facts
from govproj.acceptance.events.v1 import events_pb2 as acceptance_events
from govproj.evaluation.events.v1 import events_pb2 as evaluation_events
from govproj.review.events.v1 import events_pb2 as review_events
from procurement.adapters import repository
from procurement.domain import project as rules
from procurement.domain.construction import Payment, ProgressReport
from procurement.domain.procurement import Filing, Procurement
from procurement.domain.project import Project, ProjectStatus
from procurement.service._common import (
    SYSTEM_ACTOR,
    ProcurementDeps,
    audit_event,
    load_project,
    require_tenant,
)

FACT_KEYS = frozenset(Facts.model_fields)
FINAL_STAGE = "final"


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _amount(value: str) -> Decimal | None:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _facts(raw: str) -> dict[str, Any]:
    """The approval's policy facts, only the keys the policy engine knows (it refuses others)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if k in FACT_KEYS and k not in ("amount", "approved_amount")}


async def approval_granted(session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps) -> None:
    """``approval.granted`` → an approved project (a second grant of the same declaration refreshes it)."""
    p = envelope.payload_as(review_events.ApprovalGranted)
    amount = _amount(p.approved_amount.amount)
    approved_on = _day(p.approved_on)
    if amount is None or approved_on is None or not p.declaration_id:
        return  # nothing procurement could check against
    tenant = envelope.tenant
    pack = deps.pack_for(tenant, approved_on)
    project = Project(
        declaration_id=p.declaration_id,
        tenant_id=tenant,
        approval_id=p.approval_id,
        project_code=p.project_code or p.document_number,
        name=p.project_name,
        org_id=p.org_id,
        org_name=p.org_name,
        designer_org=p.designer_org,
        approved_amount=amount,
        approved_on=approved_on,
        valid_until=_day(p.valid_until),
        baseline_version=p.baseline_version or 1,
        facts=_facts(p.facts_json),
        pack_id=pack.id,
        status=ProjectStatus.APPROVED,
        approval_cite=tuple(c.ref for c in p.citations),
    )
    existing = await repository.get_project(session, p.declaration_id, lock=True)
    if existing is None:
        await repository.add_project(session, project)
    else:
        await repository.save_project(
            session,
            replace(project, status=existing.status, procurement_started_on=existing.procurement_started_on),
            expected_version=existing.version,
        )
    await audit_event(
        session,
        tenant_id=tenant,
        actor=SYSTEM_ACTOR,
        action="project.approved",
        entity_type="project",
        entity_id=p.declaration_id,
        from_state=existing.status.value if existing else None,
        to_state=(existing.status if existing else ProjectStatus.APPROVED).value,
        citations=project.approval_cite,
        details={"approval_id": p.approval_id, "approved_amount": str(amount), "event_id": envelope.id},
    )


async def change_decided(session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps) -> None:
    """``change.decided`` → the approved amount of the baseline now in force."""
    p = envelope.payload_as(review_events.ChangeDecided)
    project = await repository.get_project(session, p.declaration_id, lock=True) if p.declaration_id else None
    amount = _amount(p.new_amount.amount)
    if project is None or amount is None or p.baseline_version <= project.baseline_version:
        return
    stored = await repository.save_project(
        session,
        replace(project, approved_amount=amount, baseline_version=p.baseline_version),
        expected_version=project.version,
    )
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=SYSTEM_ACTOR,
        action="project.baseline_changed",
        entity_type="project",
        entity_id=project.declaration_id,
        from_state=project.status.value,
        to_state=stored.status.value if stored else project.status.value,
        citations=[c.ref for c in p.citations],
        details={
            "from_amount": str(project.approved_amount),
            "to_amount": str(amount),
            "baseline_version": p.baseline_version,
            "change_id": p.change_id,
        },
    )


async def approval_expired(session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps) -> None:
    """``approval.expired`` → no procurement may begin on the project."""
    p = envelope.payload_as(review_events.ApprovalExpired)
    project = await repository.get_project(session, p.declaration_id, lock=True) if p.declaration_id else None
    if project is None or project.status is not ProjectStatus.APPROVED:
        return
    on = _day(p.expired_on) or deps.today()
    await repository.save_project(
        session,
        replace(project, status=ProjectStatus.EXPIRED, expired_on=on),
        expected_version=project.version,
    )
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=SYSTEM_ACTOR,
        action="project.approval_expired",
        entity_type="project",
        entity_id=project.declaration_id,
        from_state=project.status.value,
        to_state=ProjectStatus.EXPIRED.value,
        citations=[c.ref for c in p.citations],
        details={"expired_on": on.isoformat()},
    )


async def acceptance_passed(session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps) -> None:
    """``acceptance.passed`` (final acceptance) → the final payment is no longer blocked."""
    p = envelope.payload_as(acceptance_events.AcceptancePassed)
    if p.stage and p.stage != FINAL_STAGE:
        return
    project = await repository.get_project(session, p.declaration_id, lock=True) if p.declaration_id else None
    if project is None or project.accepted_on is not None:
        return
    on = _day(p.accepted_on) or deps.today()
    stored = await repository.save_project(
        session,
        rules.accepted(project, on=on, acceptance_id=p.acceptance_id),
        expected_version=project.version,
    )
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=SYSTEM_ACTOR,
        action="project.accepted",
        entity_type="project",
        entity_id=project.declaration_id,
        from_state=project.status.value,
        to_state=stored.status.value if stored else project.status.value,
        citations=[c.ref for c in p.citations],
        details={"acceptance_id": p.acceptance_id, "accepted_on": on.isoformat(), "round": p.round},
    )


async def discredited_changed(session: AsyncSession, envelope: Envelope, *, deps: ProcurementDeps) -> None:
    """``discredited.changed`` → the local discredited list (suppliers and supervisors are refused)."""
    p = envelope.payload_as(evaluation_events.DiscreditedChanged)
    if not p.entry_id or not p.credit_code:
        return  # experts are review's concern
    platform = p.scope == "platform"
    try:
        changed_at = datetime.fromisoformat(p.changed_at) if p.changed_at else deps.now()
    except ValueError:
        changed_at = deps.now()
    if changed_at.tzinfo is None:
        changed_at = deps.now()
    await repository.upsert_discredited(
        session,
        entry_id=p.entry_id,
        tenant_id="" if platform else envelope.tenant,
        scope="platform" if platform else "tenant",
        subject_kind=p.subject_kind,
        credit_code=p.credit_code.strip().upper(),
        name=p.name,
        grounds=p.grounds,
        period_from=_day(p.period_from),
        period_until=_day(p.period_until),
        active=p.change != "removed",
        cite=[c.ref for c in p.citations],
        changed_at=changed_at,
    )


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectView:
    """A project with its procurements, filings, progress, payments and interventions."""

    project: Project
    procurements: list[Procurement]
    filings: list[Filing]
    progress: list[ProgressReport]
    payments: list[Payment]
    interventions: list[dict[str, Any]]
    final_payment_blocked: bool
    final_payment_cite: list[str]


async def get_project(*, deps: ProcurementDeps, principal: Principal, declaration_id: str) -> ProjectView:
    """One project as the caller may see it."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(tx.session, principal, declaration_id)
        cite = sorted(
            {c for ob in deps.obligations(project, "final_payment_requires_acceptance") for c in ob["cite"]}
        )
        return ProjectView(
            project=project,
            procurements=await repository.procurements_of(tx.session, declaration_id),
            filings=await repository.filings_of(tx.session, declaration_id),
            progress=await repository.progress_of(tx.session, declaration_id),
            payments=await repository.payments_of(tx.session, declaration_id),
            interventions=await repository.interventions_of(tx.session, declaration_id),
            final_payment_blocked=project.accepted_on is None,
            final_payment_cite=cite,
        )


async def list_projects(
    *, deps: ProcurementDeps, principal: Principal, status: str | None, limit: int, offset: int
) -> list[Project]:
    """The caller's tenant's projects (a unit sees its own)."""
    tenant = require_tenant(principal)
    org = None if principal.has_role(*rules.TENANT_WIDE_READERS) else (principal.org or "\x00")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_projects(tx.session, org=org, status=status, limit=limit, offset=offset)


async def list_discredited(
    *, deps: ProcurementDeps, principal: Principal, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The discredited list as procurement applies it (the tenant's and platform-wide entries)."""
    tenant = require_tenant(principal)
    if not principal.has_role(*rules.TENANT_WIDE_READERS):
        from govkit.errors import forbidden

        raise forbidden("procurement.discredited")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_discredited(tx.session, limit=limit, offset=offset)

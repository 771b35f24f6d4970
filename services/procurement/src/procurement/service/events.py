"""procurement's integration events (proto/govproj/procurement/events/v1), written to the outbox by
the use cases. Subjects: ``govproj.procurement.v1.<aggregate>.<event>``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from govkit.events import Envelope, new_event
from govproj.common.v1 import common_pb2
from govproj.procurement.events.v1 import events_pb2
from procurement.domain.construction import Payment
from procurement.domain.procurement import Filing, Procurement
from procurement.domain.project import Project

PROCUREMENT_STARTED = "govproj.procurement.v1.procurement.started"
CONTRACT_FILED = "govproj.procurement.v1.contract.filed"
FILING_OVERDUE = "govproj.procurement.v1.filing.overdue"
PAYMENT_RECORDED = "govproj.procurement.v1.payment.recorded"
PROJECT_SUSPENDED = "govproj.procurement.v1.project.suspended"
PROJECT_TERMINATED = "govproj.procurement.v1.project.terminated"
PROJECT_RESUMED = "govproj.procurement.v1.project.resumed"


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _money(amount: Decimal) -> common_pb2.Money:
    return common_pb2.Money(amount=str(amount))


def procurement_started(project: Project, p: Procurement, *, cite: Sequence[str]) -> Envelope:
    """``procurement.started``: review stops the approval's validity clock."""
    return new_event(
        event_type=PROCUREMENT_STARTED,
        tenant=project.tenant_id,
        payload=events_pb2.ProcurementStarted(
            procurement_id=p.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            approval_id=project.approval_id,
            method=p.method.value,
            started_on=p.started_on.isoformat(),
            citations=_cite(cite),
        ),
    )


def contract_filed(project: Project, filing: Filing) -> Envelope:
    """``contract.filed`` with what acceptance needs of the contract and the project."""
    t = filing.terms
    return new_event(
        event_type=CONTRACT_FILED,
        tenant=project.tenant_id,
        payload=events_pb2.ContractFiled(
            contract_id=filing.id,
            filing_id=filing.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            role=filing.role.value,
            contract_amount=_money(t.amount),
            signed_on=t.signed_on.isoformat(),
            period_start=t.period_start.isoformat(),
            period_end=t.period_end.isoformat(),
            period_days=t.period_days,
            supplier_name=t.supplier_name,
            supplier_credit_code=t.supplier_credit_code,
            method=filing.method.value,
            warranty_months=str(t.warranty_months),
            facts=events_pb2.PackFacts(
                amount=_money(project.approved_amount),
                category=project.category,
                public_facing=project.public_facing,
                org_id=project.org_id,
                project_name=project.name,
            ),
            overdue=filing.overdue,
            filed_at=filing.filed_at.isoformat(),
            approval_id=project.approval_id,
            citations=_cite(filing.cite),
        ),
    )


def filing_overdue(project: Project, p: Procurement, *, workdays: int, cite: Sequence[str]) -> Envelope:
    """``filing.overdue``: the deadline passed with nothing filed."""
    return new_event(
        event_type=FILING_OVERDUE,
        tenant=project.tenant_id,
        payload=events_pb2.FilingOverdue(
            procurement_id=p.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            signed_on=p.signed_on.isoformat() if p.signed_on else "",
            due_on=p.filing_due_on.isoformat() if p.filing_due_on else "",
            workdays=workdays,
            citations=_cite(cite),
        ),
    )


def payment_recorded(project: Project, payment: Payment, *, paid_total: Decimal) -> Envelope:
    """``payment.recorded``."""
    return new_event(
        event_type=PAYMENT_RECORDED,
        tenant=project.tenant_id,
        payload=events_pb2.PaymentRecorded(
            payment_id=payment.id,
            contract_id=payment.filing_id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            kind=payment.kind.value,
            amount=_money(payment.amount),
            paid_total=_money(paid_total),
            paid_on=payment.paid_on.isoformat(),
            citations=_cite(payment.cite),
        ),
    )


def project_suspended(
    project: Project,
    *,
    suspension_id: str,
    ground: str,
    reason: str,
    on: date,
    source: str,
    cite: Sequence[str],
) -> Envelope:
    """``project.suspended``."""
    return new_event(
        event_type=PROJECT_SUSPENDED,
        tenant=project.tenant_id,
        payload=events_pb2.ProjectSuspended(
            suspension_id=suspension_id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            ground=ground,
            reason=reason,
            suspended_on=on.isoformat(),
            source=source,
            citations=_cite(cite),
        ),
    )


def project_resumed(project: Project, *, suspension_id: str, on: date, cite: Sequence[str]) -> Envelope:
    """``project.resumed``."""
    return new_event(
        event_type=PROJECT_RESUMED,
        tenant=project.tenant_id,
        payload=events_pb2.ProjectResumed(
            suspension_id=suspension_id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            resumed_on=on.isoformat(),
            citations=_cite(cite),
        ),
    )


def project_terminated(
    project: Project, *, termination_id: str, ground: str, reason: str, on: date, cite: Sequence[str]
) -> Envelope:
    """``project.terminated``."""
    return new_event(
        event_type=PROJECT_TERMINATED,
        tenant=project.tenant_id,
        payload=events_pb2.ProjectTerminated(
            termination_id=termination_id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            ground=ground,
            reason=reason,
            terminated_on=on.isoformat(),
            citations=_cite(cite),
        ),
    )

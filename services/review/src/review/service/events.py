"""review's integration events (proto/govproj/review/events/v1), written to the outbox by the use cases.

Subjects: ``govproj.review.v1.<aggregate>.<event>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from govkit.events import Envelope, new_event
from govproj.common.v1 import common_pb2
from govproj.review.events.v1 import events_pb2
from review.domain.approval import Approval
from review.domain.case import ReviewCase
from review.domain.plan import AnnualPlan, PlanEntry

REVIEW_RETURNED = "govproj.review.v1.review.returned"
REVIEW_REJECTED = "govproj.review.v1.review.rejected"
PLAN_DECIDED = "govproj.review.v1.plan.decided"
PLAN_PUBLISHED = "govproj.review.v1.plan.published"
APPROVAL_GRANTED = "govproj.review.v1.approval.granted"
APPROVAL_EXPIRED = "govproj.review.v1.approval.expired"
CHANGE_DECIDED = "govproj.review.v1.change.decided"


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _money(amount: Decimal | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount=str(amount)) if amount is not None else None


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def returned(
    case: ReviewCase, *, stage: str, items: Sequence[str], reason: str, at: datetime, cite: Sequence[str]
) -> Envelope:
    """``review.returned``: back to the applicant with what to correct."""
    return new_event(
        event_type=REVIEW_RETURNED,
        tenant=case.tenant_id,
        payload=events_pb2.ReviewReturned(
            case_id=case.id,
            declaration_id=case.declaration_id,
            tenant_id=case.tenant_id,
            stage=stage,
            items=list(items),
            reason=reason,
            returned_at=at.isoformat(),
            citations=_cite(cite),
        ),
    )


def rejected(case: ReviewCase, *, stage: str, reason: str, cite: Sequence[str]) -> Envelope:
    """``review.rejected``."""
    return new_event(
        event_type=REVIEW_REJECTED,
        tenant=case.tenant_id,
        payload=events_pb2.ReviewRejected(
            case_id=case.id,
            declaration_id=case.declaration_id,
            tenant_id=case.tenant_id,
            stage=stage,
            reason=reason,
            citations=_cite(cite),
        ),
    )


def plan_decided(
    case: ReviewCase,
    *,
    outcome: str,
    level: str | None,
    budget: Decimal | None,
    reason: str,
    cite: Sequence[str],
) -> Envelope:
    """``plan.decided``."""
    return new_event(
        event_type=PLAN_DECIDED,
        tenant=case.tenant_id,
        payload=events_pb2.PlanDecided(
            case_id=case.id,
            declaration_id=case.declaration_id,
            tenant_id=case.tenant_id,
            outcome=outcome,
            level=level or "",
            budget=_money(budget),
            reason=reason,
            target_year=case.target_year or 0,
            citations=_cite(cite),
        ),
    )


def plan_published(plan: AnnualPlan, entries: Sequence[PlanEntry], *, cite: Sequence[str]) -> Envelope:
    """``plan.published`` with every entry of the plan."""
    return new_event(
        event_type=PLAN_PUBLISHED,
        tenant=plan.tenant_id,
        payload=events_pb2.PlanPublished(
            plan_id=plan.id,
            tenant_id=plan.tenant_id,
            year=plan.year,
            published_at=plan.published_at.isoformat() if plan.published_at else "",
            entries=[
                events_pb2.PlanEntry(
                    declaration_id=e.declaration_id,
                    project_code=e.project_code or "",
                    name=e.name,
                    org_id=e.org_id,
                    level=e.level.value,
                    budget=_money(e.budget),
                    valid_until=_day(e.valid_until),
                )
                for e in entries
            ],
            citations=_cite(cite),
        ),
    )


def approval_granted(
    approval: Approval, *, case: ReviewCase | None = None, facts: Mapping[str, Any] | None = None
) -> Envelope:
    """``approval.granted``, with the project's name, unit, designer and policy facts from the case
    (procurement keeps its own read model of approved projects from this event)."""
    declaration = case.declaration if case is not None else None
    return new_event(
        event_type=APPROVAL_GRANTED,
        tenant=approval.tenant_id,
        payload=events_pb2.ApprovalGranted(
            approval_id=approval.id,
            case_id=approval.case_id,
            declaration_id=approval.declaration_id,
            tenant_id=approval.tenant_id,
            project_code=approval.project_code or "",
            document_number=approval.document_number,
            approved_amount=_money(approval.approved_amount),
            approved_on=approval.approved_on.isoformat(),
            valid_until=_day(approval.valid_until),
            conditions=list(approval.conditions),
            document_sha256=approval.document_sha256,
            baseline_version=approval.baseline_version,
            citations=_cite(approval.cite),
            project_name=case.name if case is not None else "",
            org_id=case.declaring_org_id if case is not None else "",
            org_name=case.org_name if case is not None else "",
            designer_org=declaration.designer_org if declaration is not None else "",
            facts_json=json.dumps(dict(facts or {}), default=str, ensure_ascii=False),
        ),
    )


def approval_expired(approval: Approval, *, expired_on: date, cite: Sequence[str]) -> Envelope:
    """``approval.expired``."""
    return new_event(
        event_type=APPROVAL_EXPIRED,
        tenant=approval.tenant_id,
        payload=events_pb2.ApprovalExpired(
            approval_id=approval.id,
            declaration_id=approval.declaration_id,
            tenant_id=approval.tenant_id,
            project_code=approval.project_code or "",
            expired_on=expired_on.isoformat(),
            citations=_cite(cite),
        ),
    )


def change_decided(
    approval: Approval,
    *,
    change_id: str,
    outcome: str,
    new_amount: Decimal,
    baseline_version: int,
    cite: Sequence[str],
) -> Envelope:
    """``change.decided``."""
    return new_event(
        event_type=CHANGE_DECIDED,
        tenant=approval.tenant_id,
        payload=events_pb2.ChangeDecided(
            change_id=change_id,
            approval_id=approval.id,
            declaration_id=approval.declaration_id,
            tenant_id=approval.tenant_id,
            outcome=outcome,
            new_amount=_money(new_amount),
            baseline_version=baseline_version,
            citations=_cite(cite),
        ),
    )

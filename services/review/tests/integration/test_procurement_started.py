"""procurement's procurement.started over the real PostgreSQL: the approval records the start and
the sweep no longer expires it (qiaokou-2022 §22); approval.granted carries what procurement's read
model needs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from govkit.db import set_tenant
from govkit.events import new_event
from govproj.procurement.events.v1 import events_pb2
from review.domain.approval import ApprovalStatus
from review.service import ReviewDeps
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import procurement as procurement_service
from review.service import sweep as sweep_service

from .test_approval import doc, planned_case

pytestmark = pytest.mark.integration


async def test_a_started_procurement_keeps_the_approval_from_expiring(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h
) -> None:
    tenant = tenants.qiaokou
    applicant, head = h.who(tenant, "applicant", org="unit-1"), h.who(tenant, "bureau_head")
    approvals = []
    for name in ("采购已开始的项目", "未采购的项目"):
        case_id = await planned_case(deps, h, tenant, tenants.city, name=name)
        version = (await case_service.get_case(deps=deps, principal=applicant, case_id=case_id)).version
        r = await approval_service.submit_application(
            deps=deps,
            principal=applicant,
            case_id=case_id,
            expected_version=version,
            materials=[doc("technical_scheme")],
        )
        r = await approval_service.conclude_review(
            deps=deps,
            principal=h.who(tenants.city, "bureau_reviewer"),
            case_id=case_id,
            expected_version=r.case.version,
            passed=True,
        )
        approvals.append(
            await approval_service.grant_approval(
                deps=deps,
                principal=head,
                case_id=case_id,
                expected_version=r.case.version,
                approved_amount=Decimal("700000.00"),
            )
        )
    started, idle = approvals
    granted = await h.outbox(deps.uow, tenant, "govproj.review.v1.approval.granted")
    payload = granted[0]["payload"]
    assert payload["project_name"] == "采购已开始的项目" and payload["org_id"] == "unit-1"
    assert json.loads(payload["facts_json"])["amount"] == "800000.00"  # the policy facts: the planned budget

    event = events_pb2.ProcurementStarted(
        procurement_id="p-1",
        declaration_id=started.declaration_id,
        tenant_id=tenant,
        approval_id=started.id,
        method="open_tender",
        started_on="2025-05-06",
    )
    envelope = new_event(
        event_type="govproj.procurement.v1.procurement.started", tenant=tenant, payload=event
    )
    async with deps.uow.session_factory() as session, session.begin():
        await set_tenant(session, tenant)
        await procurement_service.record_procurement_started(session, envelope, deps=deps)
        bogus = new_event(
            event_type="govproj.procurement.v1.procurement.started",
            tenant=tenant,
            payload=events_pb2.ProcurementStarted(approval_id="not-a-uuid"),
        )
        await procurement_service.record_procurement_started(session, bogus, deps=deps)
    report = await sweep_service.sweep(deps, [tenant], today=date(2027, 1, 1))
    assert report.approvals_expired == 1
    kept = await approval_service.get_approval(deps=deps, principal=head, approval_id=started.id)
    assert kept.status is ApprovalStatus.VALID and kept.procurement_started_on == date(2025, 5, 6)
    gone = await approval_service.get_approval(deps=deps, principal=head, approval_id=idle.id)
    assert gone.status is ApprovalStatus.EXPIRED

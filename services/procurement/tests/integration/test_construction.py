"""Construction over the real PostgreSQL: progress with serious-delay detection from the pack's
margin (lhasa §18: 50%), payments with the final payment held until acceptance.passed
(qiaokou-2022 §29), suspension/resumption/termination on the pack's grounds (qiaokou-2022 §27), and
the suspension evaluation's rectification.escalated orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from govkit.errors import AppError, ErrorKind
from govkit.events import new_event
from govproj.acceptance.events.v1 import events_pb2 as acceptance_events
from govproj.common.v1 import common_pb2
from govproj.evaluation.events.v1 import events_pb2 as evaluation_events
from procurement.domain.construction import PaymentKind
from procurement.domain.procurement import Milestone, Role
from procurement.domain.project import ProjectStatus
from procurement.service import ProcurementDeps
from procurement.service import construction as construction_service
from procurement.service import projects as project_service
from procurement.service import sweep as sweep_service

from .conftest import SUPERVISOR
from .test_filing import procure_and_file

pytestmark = pytest.mark.integration


async def version(deps: ProcurementDeps, h: Any, tenant: str, declaration_id: str) -> int:
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "bureau_head", org="bureau"), declaration_id=declaration_id
    )
    return view.project.version


async def pay(
    deps: ProcurementDeps, h: Any, tenant: str, declaration_id: str, filing_id: str, **kw: Any
) -> Any:
    return await construction_service.record_payment(
        deps=deps,
        principal=h.who(tenant, "unit_head"),
        declaration_id=declaration_id,
        filing_id=filing_id,
        kind=kw.get("kind", PaymentKind.PROGRESS),
        amount=kw.get("amount", Decimal("100000.00")),
        paid_on=deps.today(),
        note="",
        expected_version=await version(deps, h, tenant, declaration_id),
    )


async def test_the_final_payment_waits_for_the_acceptance(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    filing = await procure_and_file(deps, h, tenant, declaration_id)
    await pay(
        deps, h, tenant, declaration_id, filing.id, kind=PaymentKind.ADVANCE, amount=Decimal("225000.00")
    )
    with pytest.raises(AppError) as blocked:
        await pay(
            deps, h, tenant, declaration_id, filing.id, kind=PaymentKind.FINAL, amount=Decimal("525000.00")
        )
    assert blocked.value.code == "FINAL_PAYMENT_BEFORE_ACCEPTANCE"
    assert blocked.value.kind is ErrorKind.PRECONDITION and blocked.value.cite == ["qiaokou-2022 §29"]

    passed = acceptance_events.AcceptancePassed(
        acceptance_id="acc-1",
        declaration_id=declaration_id,
        tenant_id=tenant,
        accepted_on="2025-03-03",
        stage="final",
        result="passed",
        round=1,
    )
    envelope = new_event(event_type="govproj.acceptance.v1.acceptance.passed", tenant=tenant, payload=passed)
    await h.feed(deps, project_service.acceptance_passed, envelope)
    final = await pay(
        deps, h, tenant, declaration_id, filing.id, kind=PaymentKind.FINAL, amount=Decimal("525000.00")
    )
    assert final.cite == ("qiaokou-2022 §29",)
    with pytest.raises(AppError) as over:
        await pay(deps, h, tenant, declaration_id, filing.id, amount=Decimal("0.01"))
    assert over.value.code == "PAYMENT_EXCEEDS_CONTRACT"
    recorded = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.payment.recorded")
    assert [e["payload"]["kind"] for e in recorded] == ["advance", "final"]
    assert recorded[-1]["payload"]["paid_total"] == {"amount": "750000.00"}
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "applicant"), declaration_id=declaration_id
    )
    assert view.project.status is ProjectStatus.ACCEPTED and not view.final_payment_blocked


async def test_an_initial_acceptance_does_not_release_the_final_payment(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.city
    declaration_id = await h.grant(deps, tenant)
    filing = await procure_and_file(deps, h, tenant, declaration_id)
    initial = acceptance_events.AcceptancePassed(
        acceptance_id="acc-0",
        declaration_id=declaration_id,
        tenant_id=tenant,
        accepted_on="2025-03-03",
        stage="initial",
        result="passed",
    )
    await h.feed(
        deps,
        project_service.acceptance_passed,
        new_event(
            event_type="govproj.acceptance.v1.acceptance.passed",
            tenant=tenant,
            payload=initial,
        ),
    )
    with pytest.raises(AppError) as blocked:
        await pay(deps, h, tenant, declaration_id, filing.id, kind=PaymentKind.FINAL)
    assert blocked.value.cite == ["shuangyashan-2024 §30"]


async def test_lhasa_serious_delay_beyond_half_the_contract_period_then_suspension_and_termination(
    deps: ProcurementDeps, tenants: Any, h: Any, clock: Any
) -> None:
    tenant = tenants.lhasa  # §13: supervision always; §18: 50% over the contract period is serious
    declaration_id = await h.grant(deps, tenant)
    await procure_and_file(
        deps,
        h,
        tenant,
        declaration_id,
        role=Role.SUPERVISION,
        supplier_name="某某监理咨询有限公司",
        supplier_credit_code=SUPERVISOR,
        amount=Decimal("30000.00"),
        contract_no="JL-1",
        schedule=(),
    )
    period = {"period_start": date(2025, 3, 10), "period_end": date(2025, 4, 8)}  # 30 days
    filing = await procure_and_file(
        deps, h, tenant, declaration_id, schedule=(Milestone("上线", date(2025, 4, 1)),), **period
    )
    unit = h.who(tenant, "applicant")

    async def report(percent: str, done: list[str]) -> Any:
        return await construction_service.report_progress(
            deps=deps,
            principal=unit,
            declaration_id=declaration_id,
            filing_id=filing.id,
            percent=Decimal(percent),
            milestones_done=done,
            note="",
            expected_version=await version(deps, h, tenant, declaration_id),
        )

    clock.day = date(2025, 4, 20)  # 12 days over: 40%
    first, _ = await report("60", [])
    assert first.delay["days_over"] == 12 and not first.delay["serious"]
    assert first.delay["margin_percent"] == "50" and first.delay["cite"] == ["lhasa §18"]
    with pytest.raises(AppError) as backwards:
        await report("50", [])
    assert backwards.value.code == "PROGRESS_BACKWARDS"
    with pytest.raises(AppError) as unknown:
        await report("70", ["不存在的节点"])
    assert unknown.value.kind is ErrorKind.INVALID
    clock.day = date(2025, 4, 25)  # 17 days over: 56.7%
    assert (await sweep_service.sweep(deps, [tenant])).serious_delays == 1
    view = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    assert view.project.serious_delay_since == date(2025, 4, 25)

    bureau = h.who(tenant, "bureau_head", org="bureau")
    with pytest.raises(AppError) as not_a_ground:
        await construction_service.intervene(
            deps=deps,
            principal=bureau,
            declaration_id=declaration_id,
            kind="suspension",
            ground="force_majeure",
            reason="不可抗力",
            expected_version=await version(deps, h, tenant, declaration_id),
        )
    assert not_a_ground.value.code == "UNKNOWN_SUSPENSION_GROUND"
    with pytest.raises(AppError) as unit_cannot:
        await construction_service.intervene(
            deps=deps,
            principal=unit,
            declaration_id=declaration_id,
            kind="suspension",
            ground="serious_delay",
            reason="严重逾期",
            expected_version=await version(deps, h, tenant, declaration_id),
        )
    assert unit_cannot.value.kind is ErrorKind.FORBIDDEN
    suspended = await construction_service.intervene(
        deps=deps,
        principal=bureau,
        declaration_id=declaration_id,
        kind="suspension",
        ground="serious_delay",
        reason="超合同工期50%，逾期不整改",
        expected_version=await version(deps, h, tenant, declaration_id),
    )
    assert suspended.status is ProjectStatus.SUSPENDED
    with pytest.raises(AppError) as stopped:
        await report("80", [])
    assert stopped.value.code == "PROJECT_SUSPENDED"
    resumed = await construction_service.intervene(
        deps=deps,
        principal=bureau,
        declaration_id=declaration_id,
        kind="resumption",
        ground="",
        reason="整改完成",
        expected_version=suspended.version,
    )
    assert resumed.status is ProjectStatus.CONSTRUCTION
    with pytest.raises(AppError) as stale:
        await construction_service.intervene(
            deps=deps,
            principal=bureau,
            declaration_id=declaration_id,
            kind="termination",
            ground="serious_delay",
            reason="整改后仍不符合要求",
            expected_version=suspended.version,
        )
    assert stale.value.kind is ErrorKind.CONFLICT
    terminated = await construction_service.intervene(
        deps=deps,
        principal=bureau,
        declaration_id=declaration_id,
        kind="termination",
        ground="serious_delay",
        reason="整改后仍不符合要求",
        expected_version=resumed.version,
    )
    assert terminated.status is ProjectStatus.TERMINATED
    suspended_events = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.project.suspended")
    assert suspended_events[0]["payload"]["ground"] == "serious_delay"
    assert suspended_events[0]["payload"]["citations"] == [{"ref": "lhasa §18"}]
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.project.resumed")) == 1
    terminated_events = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.project.terminated")
    assert terminated_events[0]["payload"]["citations"] == [{"ref": "lhasa §18"}]


async def test_qiaokou_suspension_cites_the_item_of_article_27(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    await procure_and_file(deps, h, tenant, declaration_id)
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "bureau_head", org="bureau"), declaration_id=declaration_id
    )
    grounds = construction_service.grounds_of(deps, view.project)
    assert set(grounds) == {
        "force_majeure",
        "major_content_change",
        "poor_execution",
        "major_security_risk",
        "refuses_supervision",
    }
    suspended = await construction_service.intervene(
        deps=deps,
        principal=h.who(tenant, "bureau_head", org="bureau"),
        declaration_id=declaration_id,
        kind="suspension",
        ground="major_security_risk",
        reason="存在重大安全隐患，整改不到位",
        expected_version=view.project.version,
    )
    assert suspended.status is ProjectStatus.SUSPENDED
    events = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.project.suspended")
    assert events[0]["payload"]["citations"] == [{"ref": "qiaokou-2022 §27(4)"}]


async def test_rectification_escalated_suspends_the_project_once(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.wuxing
    declaration_id = await h.grant(deps, tenant)
    await procure_and_file(deps, h, tenant, declaration_id)
    escalated = evaluation_events.RectificationEscalated(
        order_id="order-1",
        declaration_id=declaration_id,
        tenant_id=tenant,
        items=["数据未共享"],
        due_on="2025-02-28",
        escalated_on="2025-03-03",
        grounds="整改逾期未完成",
        citations=[common_pb2.Citation(ref="qiaokou-2022 §37")],
    )
    for _ in range(2):  # the inbox keeps redeliveries out; a second order id would be a new order
        await h.feed(
            deps,
            construction_service.rectification_escalated,
            new_event(
                event_type="govproj.evaluation.v1.rectification.escalated",
                tenant=tenant,
                payload=escalated,
            ),
        )
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "applicant"), declaration_id=declaration_id
    )
    assert view.project.status is ProjectStatus.SUSPENDED
    assert [i["source"] for i in view.interventions] == ["rectification_escalated"]
    events = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.project.suspended")
    assert len(events) == 1 and events[0]["payload"]["source"] == "rectification_escalated"
    assert events[0]["payload"]["citations"] == [{"ref": "qiaokou-2022 §37"}]

"""Plan review over real PostgreSQL and NATS: cases from intake's events, formal review and 补正,
department opinions routed per pack, the plan decision."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from govkit.audit import AuditRecord
from govkit.errors import AppError, ErrorKind
from govkit.events import new_event
from govkit.events.nats import NatsConnection, ensure_stream
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2
from review.adapters.orm import audit, events
from review.domain.case import CaseStatus
from review.domain.opinions import Verdict
from review.domain.plan import PlanLevel, PlanOutcome
from review.domain.tasks import TaskKind, Urgency
from review.entrypoints.consumers import (
    DECLARATION_RESUBMITTED,
    DECLARATION_SUBMITTED,
    DECLARATION_WITHDRAWN,
    consumers_for,
)
from review.service import ReviewDeps
from review.service import cases as case_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import tasks as task_service

pytestmark = pytest.mark.integration


async def _publish(js: Any, subject: str, tenant: str, payload: Any) -> None:
    envelope = new_event(event_type=subject, tenant=tenant, payload=payload)
    await js.publish(subject, envelope.to_json(), headers={"Nats-Msg-Id": str(uuid.uuid4())})


async def _wait(predicate: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_intake_events_open_resume_and_close_cases_over_nats(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h, nats_server
) -> None:
    """submitted → a case (once, even delivered twice); resubmitted → the paused clock runs again,
    round 2; withdrawn → the case closes with its tasks."""
    nats = NatsConnection(url=nats_server.url, name="review-it")
    infra = type("Infra", (), {})()
    infra.uow, infra.tables, infra.nats = deps.uow, events, nats
    tenant = tenants.lhasa
    applicant = h.who(tenant, "applicant", org="unit-1")
    reviewer = h.who(tenant, "bureau_reviewer")
    # A cross-department declaration without its framework goals (lhasa §9): the formal review returns it.
    first = h.submitted_payload(tenant, category="cross_department", goals="")
    try:
        js = await nats.jetstream(timeout=10)
        await ensure_stream(js, "intake")
        running = []
        for consumer in consumers_for(infra, deps):
            consumer.name = f"{consumer.name}-{uuid.uuid4().hex[:6]}"
            running.append(asyncio.create_task(consumer.run()))
        try:
            await _publish(js, DECLARATION_SUBMITTED, tenant, first)
            await _publish(js, DECLARATION_SUBMITTED, tenant, first)  # a second copy: the inbox absorbs it

            async def opened() -> bool:
                found = await case_service.list_cases(
                    deps=deps, principal=reviewer, declaration_id=first.declaration_id, limit=5, offset=0
                )
                return bool(found)

            await _wait(opened)
            await asyncio.sleep(0.3)
            (case,) = await case_service.list_cases(
                deps=deps, principal=reviewer, declaration_id=first.declaration_id, limit=5, offset=0
            )
            assert case.status is CaseStatus.OPEN and case.pack_id == "lhasa" and case.round == 1
            tasks = {
                v.task.kind: v
                for v in await task_service.case_tasks(deps=deps, principal=reviewer, case_id=case.id)
            }
            # lhasa §11: the first review within 5 working days of receipt (Mon 3 → Mon 10 March).
            assert tasks[TaskKind.FORMAL_REVIEW].due_on == date(2025, 3, 10)
            assert tasks[TaskKind.FORMAL_REVIEW].task.cite == ("lhasa §11",)

            clock.day = date(2025, 3, 4)
            result = await case_service.formal_review(
                deps=deps, principal=reviewer, case_id=case.id, expected_version=case.version
            )
            assert result.case.status is CaseStatus.RETURNED and result.review["outcome"] == "incomplete"
            paused = await task_service.case_tasks(deps=deps, principal=reviewer, case_id=case.id)
            review_task = next(v for v in paused if v.task.kind is TaskKind.FORMAL_REVIEW)
            assert review_task.urgency is Urgency.PAUSED and review_task.due_on is None
            mine = await task_service.my_tasks(deps=deps, principal=applicant)
            assert [v.task.kind for v in mine] == [TaskKind.CORRECTION]

            clock.day = date(2025, 3, 7)  # the corrected declaration arrives on Friday
            corrected = events_pb2.DeclarationSubmitted()
            corrected.CopyFrom(first)
            corrected.goals = "统一框架方案：建设目标与各部门分工。"
            corrected.round = 2
            await _publish(
                js, DECLARATION_RESUBMITTED, tenant, events_pb2.DeclarationResubmitted(declaration=corrected)
            )

            async def resumed() -> bool:
                got = await case_service.get_case(deps=deps, principal=reviewer, case_id=case.id)
                return got.status is CaseStatus.OPEN

            await _wait(resumed)
            again = await case_service.get_case(deps=deps, principal=reviewer, case_id=case.id)
            assert again.round == 2 and again.declaration is not None and again.declaration.goals
            tasks = {
                v.task.kind: v
                for v in await task_service.case_tasks(deps=deps, principal=reviewer, case_id=case.id)
            }
            # Paused on Tue 4 (counted), resumed Fri 7: 5, 6, 7 March do not count → due Thu 13 March.
            assert tasks[TaskKind.FORMAL_REVIEW].due_on == date(2025, 3, 13)
            assert tasks[TaskKind.CORRECTION].task.status.value == "done"

            second = h.submitted_payload(tenant, name="第二个项目")
            await _publish(js, DECLARATION_SUBMITTED, tenant, second)
            await _wait(lambda: _has_case(deps, reviewer, second.declaration_id))
            await _publish(
                js,
                DECLARATION_WITHDRAWN,
                tenant,
                events_pb2.DeclarationWithdrawn(
                    declaration_id=second.declaration_id,
                    tenant_id=tenant,
                    withdrawn_by="applicant",
                    reason="不再建设",
                ),
            )

            async def withdrawn() -> bool:
                found = await case_service.list_cases(
                    deps=deps, principal=reviewer, declaration_id=second.declaration_id, limit=5, offset=0
                )
                return bool(found) and found[0].status is CaseStatus.WITHDRAWN

            await _wait(withdrawn)
            closed = (
                await case_service.list_cases(
                    deps=deps, principal=reviewer, declaration_id=second.declaration_id, limit=5, offset=0
                )
            )[0]
            assert all(
                v.task.status.value == "cancelled"
                for v in await task_service.case_tasks(deps=deps, principal=reviewer, case_id=closed.id)
            )
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        await nats.close()
    cases = await case_service.list_cases(
        deps=deps, principal=reviewer, declaration_id=None, limit=50, offset=0
    )
    assert sorted(c.declaration_id for c in cases) == sorted([first.declaration_id, second.declaration_id])


async def _has_case(deps: ReviewDeps, principal: Any, declaration_id: str) -> bool:
    return bool(
        await case_service.list_cases(
            deps=deps, principal=principal, declaration_id=declaration_id, limit=1, offset=0
        )
    )


async def test_incomplete_declaration_is_returned_with_items_and_review_returned_is_emitted(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.qiaokou
    case_id = await h.open_case(deps, tenant, materials=[], content="")
    city_reviewer = h.who(tenants.city, "bureau_reviewer")  # county-b's technical review is the city's
    case = await case_service.get_case(deps=deps, principal=city_reviewer, case_id=case_id)
    assert case.reviewing_tenant_id == tenants.city and case.delegation_cite == ("shuangyashan-2024 §40",)
    with pytest.raises(AppError) as err:
        await case_service.formal_review(
            deps=deps,
            principal=h.who(tenant, "bureau_reviewer"),
            case_id=case_id,
            expected_version=case.version,
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    result = await case_service.formal_review(
        deps=deps,
        principal=city_reviewer,
        case_id=case_id,
        expected_version=case.version,
        notes=["预算明细不清"],
    )
    assert result.case.status is CaseStatus.RETURNED
    (event,) = await h.outbox(deps.uow, tenant, "govproj.review.v1.review.returned")
    payload = event["payload"]
    assert payload["stage"] == "plan" and payload["declaration_id"] == case.declaration_id
    assert payload["items"] == ["缺少项目申报表", "未填写主要建设内容", "预算明细不清"]
    assert [c["ref"] for c in payload["citations"]] == ["qiaokou-2022 §10"]
    # The audit record is in the county's chain, naming the city as the acting tenant.
    async with deps.uow(tenant_id=tenant) as tx:
        rows = (await tx.session.execute(select(audit).where(audit.c.action == "case.returned"))).all()
    assert len(rows) == 1 and rows[0].details["acting_tenant"] == tenants.city
    assert rows[0].citations == ["qiaokou-2022 §10"] and rows[0].actor == city_reviewer.username
    assert AuditRecord  # the chain itself is govkit's (sealed by the service's sealer)


async def test_opinions_are_routed_per_pack_and_answered_by_their_department(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    qiaokou_case = await h.open_case(
        deps, tenants.qiaokou, amount=common_pb2.Money(amount="3000000.00"), goods_and_services_only=False
    )
    wuxing_case = await h.open_case(deps, tenants.wuxing, category="cross_department")
    bureau_b = h.who(tenants.qiaokou, "bureau_head")
    views = await opinion_service.list_opinions(deps=deps, principal=bureau_b, case_id=qiaokou_case)
    assert sorted(v.opinion.department for v in views) == ["crypto", "finance", "ndrc", "police"]
    ndrc = next(v.opinion for v in views if v.opinion.department == "ndrc")
    assert ndrc.cite == ("qiaokou-2022 §15", "qiaokou-2022 §6")
    wuxing = await opinion_service.list_opinions(
        deps=deps, principal=h.who(tenants.wuxing, "bureau_head"), case_id=wuxing_case
    )
    assert sorted(v.opinion.department for v in wuxing) == [
        "crypto",
        "cyberspace",
        "finance",
        "police",
        "reform",
    ]

    finance = h.who(tenants.qiaokou, "finance", org="finance")
    police = h.who(tenants.qiaokou, "police", org="police")
    fin = next(v.opinion for v in views if v.opinion.department == "finance")
    with pytest.raises(AppError) as err:
        await opinion_service.give_opinion(
            deps=deps,
            principal=police,
            opinion_id=fin.id,
            expected_version=fin.version,
            verdict=Verdict.AGREE,
            text="",
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(AppError) as err:
        await opinion_service.give_opinion(
            deps=deps,
            principal=finance,
            opinion_id=fin.id,
            expected_version=fin.version,
            verdict=Verdict.DISAGREE,
            text="",
        )
    assert err.value.code == "OPINION_TEXT_REQUIRED"
    given = await opinion_service.give_opinion(
        deps=deps,
        principal=finance,
        opinion_id=fin.id,
        expected_version=fin.version,
        verdict=Verdict.AGREE_WITH_CONDITIONS,
        text="资金分两年安排。",
    )
    assert given.opinion.verdict is Verdict.AGREE_WITH_CONDITIONS
    # Finance sees the cases it was asked about, and only those.
    visible = await case_service.list_cases(
        deps=deps, principal=finance, declaration_id=None, limit=50, offset=0
    )
    assert [c.id for c in visible] == [qiaokou_case]
    open_for_finance = await task_service.my_tasks(deps=deps, principal=finance)
    assert open_for_finance == []
    assert [v.task.subject for v in await task_service.my_tasks(deps=deps, principal=police)] == ["police"]


async def _through_joint_review(
    deps: ReviewDeps, h: Any, tenant: str, reviewer_tenant: str, case_id: str
) -> int:
    """Formal review passed and every opinion given; returns the case's version."""
    reviewer = h.who(reviewer_tenant, "bureau_reviewer")
    case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=case.version
    )
    head = h.who(tenant, "bureau_head")
    for view in await opinion_service.list_opinions(deps=deps, principal=head, case_id=case_id):
        await opinion_service.give_opinion(
            deps=deps,
            principal=h.who(tenant, view.opinion.department, org=view.opinion.department),
            opinion_id=view.opinion.id,
            expected_version=view.opinion.version,
            verdict=Verdict.AGREE,
            text="",
        )
    return (await case_service.get_case(deps=deps, principal=head, case_id=case_id)).version


async def test_plan_decision_needs_the_joint_review_and_keeps_the_budget_within_the_declaration(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.qiaokou
    case_id = await h.open_case(deps, tenant)
    head = h.who(tenant, "bureau_head")
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    with pytest.raises(AppError) as err:
        await plan_service.decide_plan(
            deps=deps,
            principal=head,
            case_id=case_id,
            expected_version=case.version,
            outcome=PlanOutcome.IN_PLAN,
            level=PlanLevel.GENERAL,
            budget=Decimal("800000.00"),
        )
    assert err.value.code == "JOINT_REVIEW_INCOMPLETE" and "形式审查尚未通过" in err.value.details["missing"]
    version = await _through_joint_review(deps, h, tenant, tenants.city, case_id)
    with pytest.raises(AppError) as err:
        await plan_service.decide_plan(
            deps=deps,
            principal=head,
            case_id=case_id,
            expected_version=version,
            outcome=PlanOutcome.IN_PLAN,
            level=PlanLevel.GENERAL,
            budget=Decimal("800000.01"),
        )
    assert err.value.code == "PLAN_BUDGET_EXCEEDS_DECLARED"
    with pytest.raises(AppError) as err:
        await plan_service.decide_plan(
            deps=deps,
            principal=h.who(tenants.city, "bureau_head"),
            case_id=case_id,
            expected_version=version,
            outcome=PlanOutcome.IN_PLAN,
            level=PlanLevel.GENERAL,
            budget=Decimal(1),
        )
    assert err.value.kind is ErrorKind.FORBIDDEN  # the city reviews; the county decides its plan
    result = await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=version,
        outcome=PlanOutcome.IN_PLAN,
        level=PlanLevel.KEY,
        budget=Decimal("750000.00"),
    )
    assert result.case.status is CaseStatus.IN_PLAN and result.case.plan_budget == Decimal("750000.00")
    (event,) = await h.outbox(deps.uow, tenant, "govproj.review.v1.plan.decided")
    assert event["payload"]["outcome"] == "in_plan" and event["payload"]["level"] == "key"
    assert event["payload"]["budget"] == {"amount": "750000.00"}
    refs = [c["ref"] for c in event["payload"]["citations"]]
    assert "qiaokou-2022 §10" in refs and "qiaokou-2022 §13" in refs and "qiaokou-2022 §6" in refs


async def test_plan_rejection_emits_both_events(deps: ReviewDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.wuxing
    case_id = await h.open_case(
        deps, tenant, materials=[h.material("application_form"), h.material("feasibility_study")]
    )
    head = h.who(tenant, "bureau_head")
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    with pytest.raises(AppError) as err:
        await plan_service.decide_plan(
            deps=deps,
            principal=head,
            case_id=case_id,
            expected_version=case.version,
            outcome=PlanOutcome.REJECTED,
            reason=" ",
        )
    assert err.value.code == "DECISION_REASON_REQUIRED"
    result = await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=case.version,
        outcome=PlanOutcome.REJECTED,
        reason="与已建系统功能重复。",
    )
    assert result.case.status is CaseStatus.REJECTED
    subjects = [e["type"] for e in await h.outbox(deps.uow, tenant)]
    assert subjects == ["govproj.review.v1.plan.decided", "govproj.review.v1.review.rejected"]
    auditor = h.who(tenant, "auditor", org="audit")
    assert (
        await case_service.get_case(deps=deps, principal=auditor, case_id=case_id)
    ).status is CaseStatus.REJECTED


async def test_a_return_by_the_plan_decision_is_checked_again_after_resubmission(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.lhasa
    payload = h.submitted_payload(tenant)
    envelope = new_event(event_type=DECLARATION_SUBMITTED, tenant=tenant, payload=payload)
    async with deps.uow(tenant_id=tenant) as tx:
        await case_service.open_case(tx.session, envelope, deps=deps)
        await tx.commit()
    head = h.who(tenant, "bureau_head")
    (case,) = await case_service.list_cases(
        deps=deps, principal=head, declaration_id=payload.declaration_id, limit=1, offset=0
    )
    version = await _through_joint_review(deps, h, tenant, tenant, case.id)
    result = await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case.id,
        expected_version=version,
        outcome=PlanOutcome.RETURNED,
        reason="请补充绩效目标测算依据。",
        items=["补充绩效目标测算依据"],
    )
    assert result.case.status is CaseStatus.RETURNED
    subjects = [e["type"] for e in await h.outbox(deps.uow, tenant)]
    assert subjects[-2:] == ["govproj.review.v1.review.returned", "govproj.review.v1.plan.decided"]
    corrected = events_pb2.DeclarationSubmitted()
    corrected.CopyFrom(payload)
    corrected.round = 2
    again = new_event(
        event_type=DECLARATION_RESUBMITTED,
        tenant=tenant,
        payload=events_pb2.DeclarationResubmitted(declaration=corrected),
    )
    async with deps.uow(tenant_id=tenant) as tx:
        await case_service.resubmit_case(tx.session, again, deps=deps)
        await tx.commit()
    reviewer = h.who(tenant, "bureau_reviewer")
    reopened = await case_service.get_case(deps=deps, principal=reviewer, case_id=case.id)
    assert reopened.status is CaseStatus.OPEN and reopened.round == 2
    open_reviews = [
        v
        for v in await task_service.my_tasks(deps=deps, principal=reviewer)
        if v.task.kind is TaskKind.FORMAL_REVIEW
    ]
    assert len(open_reviews) == 1 and open_reviews[0].task.cite == ("lhasa §11",)  # second review: 3 wd
    with pytest.raises(AppError) as err:
        await plan_service.decide_plan(
            deps=deps,
            principal=head,
            case_id=case.id,
            expected_version=reopened.version,
            outcome=PlanOutcome.IN_PLAN,
            level=PlanLevel.GENERAL,
            budget=Decimal(1),
        )
    assert "形式审查尚未通过" in err.value.details["missing"]
    await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case.id, expected_version=reopened.version
    )
    version = (await case_service.get_case(deps=deps, principal=head, case_id=case.id)).version
    decided = await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case.id,
        expected_version=version,
        outcome=PlanOutcome.IN_PLAN,
        level=PlanLevel.GENERAL,
        budget=Decimal(1),
    )
    assert decided.case.status is CaseStatus.IN_PLAN

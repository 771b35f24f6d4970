"""What the end-to-end tests cannot show on the real clock and the dev tenants, shown here on real
PostgreSQL with the test clock and a lhasa tenant (tests/e2e/test_front_half.py has the rest):

- a return (补正) just before the National Day holiday: the SLA clock is paused over the holiday,
  the holiday and the paused days never count, the remaining working days are the same after the
  resubmission as on the day of the return;
- lhasa §11: after two failed review rounds the application is void and a third round is refused
  (the unit prepares its materials anew and applies again).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from govkit.errors import AppError, ErrorKind
from govkit.events import new_event
from govproj.intake.events.v1 import events_pb2
from review.adapters import repository
from review.domain.approval import ApplicationStatus
from review.domain.case import CaseStatus, Stage
from review.domain.declaration import Material
from review.domain.opinions import Verdict
from review.domain.plan import PlanLevel, PlanOutcome
from review.domain.tasks import TaskKind, Urgency
from review.entrypoints.consumers import DECLARATION_RESUBMITTED, DECLARATION_SUBMITTED
from review.service import ReviewDeps
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import tasks as task_service

pytestmark = pytest.mark.integration


async def _deliver(deps: ReviewDeps, tenant: str, subject: str, payload: Any) -> None:
    """Hand an intake event to review's handler in one transaction, as its consumer does."""
    envelope = new_event(event_type=subject, tenant=tenant, payload=payload)
    handler = case_service.open_case if subject == DECLARATION_SUBMITTED else case_service.resubmit_case
    async with deps.uow(tenant_id=tenant) as tx:
        await handler(tx.session, envelope, deps=deps)
        await tx.commit()


async def _formal_review_task(deps: ReviewDeps, principal: Any, case_id: str) -> task_service.TaskView:
    views = await task_service.case_tasks(deps=deps, principal=principal, case_id=case_id)
    (view,) = [v for v in views if v.task.kind is TaskKind.FORMAL_REVIEW]
    return view


async def test_a_return_before_the_national_day_pauses_the_clock_over_the_holiday(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h
) -> None:
    tenant = tenants.lhasa  # lhasa §11: the formal review within 5 working days of receipt
    reviewer = h.who(tenant, "bureau_reviewer")
    applicant = h.who(tenant, "applicant", org="unit-1")
    # A cross-department declaration without its framework goals (lhasa §9): the review returns it.
    clock.day = date(2025, 9, 29)  # Monday; 1–8 October 2025 are holidays, Sat 11 October is worked
    first = h.submitted_payload(
        tenant, category="cross_department", goals="", submitted_at="2025-09-29T09:00:00+08:00"
    )
    await _deliver(deps, tenant, DECLARATION_SUBMITTED, first)
    (case,) = await case_service.list_cases(
        deps=deps, principal=reviewer, declaration_id=first.declaration_id, limit=5, offset=0
    )
    task = await _formal_review_task(deps, reviewer, case.id)
    # 30 Sep, 9, 10, 11 (the make-up Saturday) and 13 October: the holiday never counts.
    assert task.due_on == date(2025, 10, 13) and task.remaining_workdays == 5
    assert task.task.cite == ("lhasa §11",)

    clock.day = date(2025, 9, 30)  # the last working day before the holiday: the case goes back
    assert (await _formal_review_task(deps, reviewer, case.id)).remaining_workdays == 4
    result = await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case.id, expected_version=case.version
    )
    assert result.case.status is CaseStatus.RETURNED
    missing = [i for i in result.review["checklist"] if not i["present"]]
    assert missing and all(i["cite"] for i in missing)  # every returned item names its article

    for day in (date(2025, 10, 1), date(2025, 10, 8), date(2025, 10, 13)):  # holiday, and past the due day
        clock.day = day
        paused = await _formal_review_task(deps, reviewer, case.id)
        assert paused.task.paused and paused.due_on is None and paused.urgency is Urgency.PAUSED
        assert paused.remaining_workdays is None
    # The applicant's correction task runs meanwhile (lhasa §11: revise within 3 working days).
    (correction,) = await task_service.my_tasks(deps=deps, principal=applicant)
    assert correction.task.kind is TaskKind.CORRECTION and correction.due_on == date(2025, 10, 11)

    clock.day = date(2025, 10, 9)  # the corrected declaration arrives on the first working day after
    corrected = events_pb2.DeclarationSubmitted()
    corrected.CopyFrom(first)
    corrected.goals = "统一框架方案：建设目标与各部门分工。"
    corrected.round = 2
    await _deliver(
        deps, tenant, DECLARATION_RESUBMITTED, events_pb2.DeclarationResubmitted(declaration=corrected)
    )
    resumed_case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case.id)
    assert (resumed_case.status, resumed_case.round) == (CaseStatus.OPEN, 2)
    resumed = await _formal_review_task(deps, reviewer, case.id)
    # Four working days were left on 30 September and four are left on 9 October: neither the
    # holiday nor the day of the resubmission was counted. Due 10, 11, 13, 14 October.
    assert not resumed.task.paused and resumed.remaining_workdays == 4
    assert resumed.due_on == date(2025, 10, 14) and resumed.urgency is Urgency.ON_TRACK
    assert (await task_service.my_tasks(deps=deps, principal=applicant)) == []

    clock.day = date(2025, 10, 14)
    passed = await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case.id, expected_version=resumed_case.version
    )
    assert passed.review["outcome"] == "passed" and passed.review["round"] == 2
    done = await _formal_review_task(deps, reviewer, case.id)
    assert done.task.closed_on == date(2025, 10, 14) == done.due_on  # on the last day, in time


def _doc(doc_type: str, version: int = 1) -> Material:
    return Material(
        doc_type,
        f"{doc_type}-v{version}.pdf",
        hashlib.sha256(f"{doc_type}{version}".encode()).hexdigest(),
        2048,
        "application/pdf",
    )


async def _planned(deps: ReviewDeps, h: Any, tenant: str) -> str:
    """A lhasa declaration through formal review, the four opinions and the plan decision."""
    case_id = await h.open_case(deps, tenant)
    reviewer, head = h.who(tenant, "bureau_reviewer"), h.who(tenant, "bureau_head")
    case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=case.version
    )
    for view in await opinion_service.list_opinions(deps=deps, principal=head, case_id=case_id):
        await opinion_service.give_opinion(
            deps=deps,
            principal=h.who(tenant, view.opinion.department, org=view.opinion.department),
            opinion_id=view.opinion.id,
            expected_version=view.opinion.version,
            verdict=Verdict.AGREE,
            text="",
        )
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=case.version,
        outcome=PlanOutcome.IN_PLAN,
        level=PlanLevel.GENERAL,
        budget=Decimal("800000.00"),
    )
    return case_id


async def test_lhasa_refuses_a_third_review_round_after_two_failed_ones(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h
) -> None:
    tenant = tenants.lhasa
    clock.day = date(2025, 3, 10)
    case_id = await _planned(deps, h, tenant)
    applicant = h.who(tenant, "applicant", org="unit-1")
    reviewer = h.who(tenant, "bureau_reviewer")
    full = [_doc("crypto_plan"), _doc("feasibility_study"), _doc("preliminary_design")]
    version = (await case_service.get_case(deps=deps, principal=applicant, case_id=case_id)).version
    r = await approval_service.submit_application(
        deps=deps, principal=applicant, case_id=case_id, expected_version=version, materials=full
    )
    r = await approval_service.conclude_review(
        deps=deps,
        principal=reviewer,
        case_id=case_id,
        expected_version=r.case.version,
        passed=False,
        comments="安全投入比例不足。",
        items=["补充网络安全投入测算"],
    )
    assert (r.case.status, r.application.application.round) == (CaseStatus.RETURNED, 1)
    r = await approval_service.resubmit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=r.case.version,
        materials=[_doc("crypto_plan", 2)],
    )
    assert r.application.application.round == 2
    r = await approval_service.conclude_review(
        deps=deps,
        principal=reviewer,
        case_id=case_id,
        expected_version=r.case.version,
        passed=False,
        comments="仍不满足要求。",
        items=["密码应用方案仍不完整"],
    )
    # Second failure: the application is void, the case waits for materials prepared anew.
    assert r.application.application.status is ApplicationStatus.VOID
    assert (r.case.status, r.case.stage) == (CaseStatus.IN_PLAN, Stage.APPROVAL)
    async with deps.uow(tenant_id=tenant) as tx:
        (_, second) = await repository.reviews_of(tx.session, case_id)
    assert second.outcome == "prepare_anew" and "lhasa §11" in second.cite
    returned = (await h.outbox(deps.uow, tenant, "govproj.review.v1.review.returned"))[-1]["payload"]
    assert "重新编制" in returned["reason"] and {"ref": "lhasa §11"} in returned["citations"]

    # A third round of the same application is refused, with the article that ends it.
    with pytest.raises(AppError) as third:
        await approval_service.resubmit_application(
            deps=deps,
            principal=applicant,
            case_id=case_id,
            expected_version=r.case.version,
            materials=[_doc("crypto_plan", 3)],
        )
    assert third.value.kind is ErrorKind.PRECONDITION
    assert third.value.code == "REVIEW_ROUNDS_EXHAUSTED" and third.value.cite == ["lhasa §11"]
    assert "重新编制" in third.value.message
    # Nor can the reviewer conclude a third round on it.
    with pytest.raises(AppError) as concluded:
        await approval_service.conclude_review(
            deps=deps,
            principal=reviewer,
            case_id=case_id,
            expected_version=r.case.version,
            passed=True,
        )
    assert concluded.value.code == "CASE_STATE_INVALID"
    after = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    assert (after.status, after.version) == (CaseStatus.IN_PLAN, r.case.version)  # nothing changed
    # Materials prepared anew make a new application that starts again at round 1.
    fresh = await approval_service.submit_application(
        deps=deps, principal=applicant, case_id=case_id, expected_version=after.version, materials=full
    )
    assert (fresh.application.application.attempt, fresh.application.application.round) == (2, 1)

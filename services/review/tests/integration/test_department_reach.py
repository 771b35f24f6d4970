"""Which cases a department reaches, over real PostgreSQL with RLS: the one it holds a task on (发改,
which gives no opinion, records its approval of the feasibility study — shuangyashan-2024 §18) and
the ones its own tenant asked it about; never a delegated county case only the county's department
of the same name was asked about (the city's session reads that case for its technical review)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from govkit.errors import AppError, ErrorKind
from review.domain.approval import StepStatus
from review.domain.declaration import Material
from review.domain.opinions import Verdict
from review.domain.plan import PlanLevel, PlanOutcome
from review.domain.tasks import TaskKind, TaskStatus
from review.service import ReviewDeps
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import tasks as task_service

pytestmark = pytest.mark.integration


def doc(doc_type: str) -> Material:
    return Material(
        doc_type, f"{doc_type}.pdf", hashlib.sha256(doc_type.encode()).hexdigest(), 2048, "application/pdf"
    )


async def _visible_ids(deps: ReviewDeps, principal: Any) -> set[str]:
    found = await case_service.list_cases(
        deps=deps, principal=principal, declaration_id=None, limit=100, offset=0
    )
    return {c.id for c in found}


async def _city_case_with_ndrc_step(deps: ReviewDeps, h: Any, tenant: str) -> tuple[str, str]:
    """A city (shuangyashan-2024) declaration through the plan review into an approval application
    whose 发改 step (§18: FS approval within 8 working days) is open; (case id, step id)."""
    plan_documents = ("application_form", "technical_scheme", "pre_performance_assessment")
    case_id = await h.open_case(deps, tenant, materials=[h.material(d) for d in plan_documents])
    reviewer, head = h.who(tenant, "bureau_reviewer"), h.who(tenant, "bureau_head")
    case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    formal = await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=case.version
    )
    assert formal.review["outcome"] == "passed"
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
        budget=case.amount,
    )
    applicant = h.who(tenant, "applicant", org="unit-1")
    case = await case_service.get_case(deps=deps, principal=applicant, case_id=case_id)
    result = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=case.version,
        materials=[doc("feasibility_study"), doc("preliminary_design"), doc("pre_performance_assessment")],
    )
    (step,) = [s for s in result.application.steps if s.kind == "ndrc_feasibility_study"]
    return case_id, step.id


async def test_the_ndrc_opens_the_case_of_its_step_and_records_it(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.city
    case_id, step_id = await _city_case_with_ndrc_step(deps, h, tenant)
    ndrc = h.who(tenant, "ndrc", org="ndrc")
    # The step is in 发改's work list ...
    (task,) = [
        v.task for v in await task_service.my_tasks(deps=deps, principal=ndrc) if v.task.case_id == case_id
    ]
    assert (task.kind, task.subject, task.holder_role) == (TaskKind.STEP, "ndrc_feasibility_study", "ndrc")
    assert task.cite and "shuangyashan-2024 §18" in task.cite
    # ... so 发改 opens the case, finds it among its cases, reads the application's steps ...
    assert (await case_service.get_case(deps=deps, principal=ndrc, case_id=case_id)).id == case_id
    assert case_id in await _visible_ids(deps, ndrc)
    (application,) = await approval_service.list_applications(deps=deps, principal=ndrc, case_id=case_id)
    (step,) = [s for s in application.steps if s.id == step_id]
    assert step.status is StepStatus.PENDING
    # ... and records its approval of the feasibility study, which closes its task.
    done = await approval_service.record_step(
        deps=deps,
        principal=ndrc,
        step_id=step_id,
        expected_version=step.version,
        reference="测发改审〔2025〕5号",
    )
    assert done.status is StepStatus.DONE and done.recorded_by == ndrc.username
    assert not [
        v for v in await task_service.my_tasks(deps=deps, principal=ndrc) if v.task.case_id == case_id
    ]
    # It held the task, so it still reads the case afterwards (its record is part of the case).
    tasks = await task_service.case_tasks(deps=deps, principal=ndrc, case_id=case_id)
    (closed,) = [v.task for v in tasks if v.task.id == task.id]
    assert closed.status is TaskStatus.DONE
    # 发改 of another tenant holds nothing here and does not see the case.
    stranger = h.who(tenants.wuxing, "ndrc", org="ndrc")
    with pytest.raises(AppError) as err:
        await case_service.get_case(deps=deps, principal=stranger, case_id=case_id)
    assert err.value.kind is ErrorKind.NOT_FOUND
    assert case_id not in await _visible_ids(deps, stranger)


async def test_a_city_department_does_not_see_a_delegated_county_case_it_was_not_asked_about(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    county, city = tenants.qiaokou, tenants.city  # qiaokou delegates its technical review to the city
    county_case = await h.open_case(deps, county, name="县城管平台")
    city_case = await h.open_case(deps, city, name="市医保平台")
    county_finance = h.who(county, "finance", org="finance")
    city_finance = h.who(city, "finance", org="finance")
    # The county asked its own 财政 (qiaokou-2022 §15); the city asked its own (shuangyashan-2024 §5).
    county_asked = await opinion_service.list_opinions(
        deps=deps, principal=h.who(county, "bureau_head"), case_id=county_case
    )
    assert "finance" in {v.opinion.department for v in county_asked}
    # The city's reviewers read the county's case (the delegated technical review) ...
    assert (
        await case_service.get_case(deps=deps, principal=h.who(city, "bureau_reviewer"), case_id=county_case)
    ).id
    # ... but the city's 财政 was not asked about it: not in its list, 404 when opened by id.
    assert await _visible_ids(deps, city_finance) == {city_case}
    for read in (case_service.get_case, opinion_service.list_opinions, task_service.case_tasks):
        with pytest.raises(AppError) as err:
            await read(deps=deps, principal=city_finance, case_id=county_case)
        assert err.value.kind is ErrorKind.NOT_FOUND
    (county_opinion,) = [v.opinion for v in county_asked if v.opinion.department == "finance"]
    with pytest.raises(AppError) as err:
        await opinion_service.give_opinion(
            deps=deps,
            principal=city_finance,
            opinion_id=county_opinion.id,
            expected_version=county_opinion.version,
            verdict=Verdict.AGREE,
            text="",
        )
    assert err.value.kind is ErrorKind.NOT_FOUND
    # The city's 财政 does see the city's case it was asked about, and the county's 财政 the county's.
    assert (await case_service.get_case(deps=deps, principal=city_finance, case_id=city_case)).id == city_case
    assert await _visible_ids(deps, county_finance) == {county_case}
    assert (
        await case_service.get_case(deps=deps, principal=county_finance, case_id=county_case)
    ).id == county_case
    given = await opinion_service.give_opinion(
        deps=deps,
        principal=county_finance,
        opinion_id=county_opinion.id,
        expected_version=county_opinion.version,
        verdict=Verdict.AGREE,
        text="资金已列入预算。",
    )
    assert given.opinion.given_by == county_finance.username

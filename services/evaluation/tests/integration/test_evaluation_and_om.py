"""Self-evaluation in the pack's window, the key-project evaluation within its working days, O&M
requests refused with their articles (lhasa §20 three years, §27 deadline and report) and granted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from evaluation.adapters.orm import audit
from evaluation.domain.evaluation import Kind, Status
from evaluation.domain.om_funding import Declared, Outcome
from evaluation.domain.scoring import ScoreInput
from evaluation.service import EvaluationDeps
from evaluation.service import evaluations as evaluation_service
from evaluation.service import om_funding as om_service
from govkit.errors import AppError

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.4\n%evidence\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
COMPLIANT = Declared(
    data_shared=True, in_resource_catalog=True, security_compliant=True, crypto_compliant=True
)


async def _accepted_project(deps: EvaluationDeps, h: Any, tenant: str, on: date) -> Any:
    d = h.submitted(tenant)
    await h.feed(deps, d, h.planned(d, "key"), h.accepted(d, on), tenant=tenant)
    return d


async def _self_evaluation(deps: EvaluationDeps, h: Any, tenant: str, declaration_id: str) -> Any:
    unit = h.who(tenant, "applicant", org="unit-1")
    started = await evaluation_service.start_evaluation(
        deps=deps,
        principal=unit,
        fields=evaluation_service.EvaluationStart(declaration_id=declaration_id, kind=Kind.SELF),
    )
    evidence = await evaluation_service.upload_evidence(
        deps=deps,
        principal=unit,
        evaluation_id=started.id,
        filename="自评报告.pdf",
        content_type="application/pdf",
        data=PDF,
        max_bytes=1024 * 1024,
    )
    return await evaluation_service.complete_evaluation(
        deps=deps,
        principal=unit,
        evaluation_id=started.id,
        expected_version=started.version,
        scores=[
            ScoreInput(
                code="closure_rate",
                label_zh="案件办结率",
                actual="提高22%",
                score=Decimal(95),
                evidence=(evidence["sha256"],),
            ),
            ScoreInput(code="satisfaction", label_zh="群众满意度", actual="88%", score=Decimal(80)),
        ],
        report_sha256=evidence["sha256"],
        summary="目标基本完成。",
    )


async def test_lhasa_from_acceptance_to_granted_om_funding(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.lhasa
    d = await _accepted_project(deps, h, tenant, date(2025, 3, 3))
    unit = h.who(tenant, "applicant", org="unit-1")

    # Before month 12 the window is not open (lhasa §22).
    clock.day = date(2025, 9, 1)
    with pytest.raises(AppError) as refused:
        await evaluation_service.start_evaluation(
            deps=deps,
            principal=unit,
            fields=evaluation_service.EvaluationStart(declaration_id=d.declaration_id, kind=Kind.SELF),
        )
    assert refused.value.code == "OUTSIDE_SELF_EVALUATION_WINDOW"
    assert refused.value.cite == ["lhasa §22"]
    lists = await evaluation_service.self_evaluation_lists(deps=deps, principal=unit, org_id=None)
    assert [(r.project.declaration_id, r.state.value) for r in lists] == [(d.declaration_id, "upcoming")]
    assert lists[0].window is not None and lists[0].window.opens_on == date(2026, 3, 3)

    clock.day = date(2026, 3, 10)
    self_eval = await _self_evaluation(deps, h, tenant, d.declaration_id)
    assert self_eval.status is Status.COMPLETED
    # Equal weights (lhasa lists no indicators): (95 + 80) / 2; the target comes from the goals.
    assert self_eval.total_score == Decimal("87.50")
    assert self_eval.grade == "良"
    assert self_eval.indicators[1].target == d.performance_goals
    completed = await h.outbox(deps.uow, tenant, "govproj.evaluation.v1.evaluation.completed")
    assert completed[-1]["payload"]["total_score"] == "87.50"
    assert [
        r.state.value
        for r in await evaluation_service.self_evaluation_lists(deps=deps, principal=unit, org_id=None)
    ] == ["done"]

    # O&M inside the three years after acceptance is refused with lhasa §20.
    om = await om_service.file_request(
        deps=deps,
        principal=unit,
        fields=om_service.OmRequestCreate(
            declaration_id=d.declaration_id,
            budget_year=2027,
            amount=Decimal("120000.00"),
            free_maintenance_ends_on=date(2027, 12, 31),
            declared=COMPLIANT,
            evaluation_id=self_eval.id,
        ),
    )
    assert om.outcome is Outcome.REFUSED
    assert [r.code for r in om.refusals] == ["OM_WITHIN_FREE_YEARS"]
    assert om.refusals[0].cite == ("lhasa §20",)
    assert "lhasa §20" in om.cite
    # Audited in the tenant's chain with its articles.
    async with deps.uow(tenant_id=tenant) as tx:
        audited = (
            await tx.session.execute(
                select(audit.c.action, audit.c.citations).where(audit.c.entity_id == om.id)
            )
        ).all()
    assert [(a.action, a.citations) for a in audited] == [("om_funding.decided", list(om.cite))]
    decided = await h.outbox(deps.uow, tenant, "govproj.evaluation.v1.om_funding.decided")
    assert decided[-1]["payload"]["outcome"] == "refused"
    assert decided[-1]["payload"]["refusal_codes"] == ["OM_WITHIN_FREE_YEARS"]
    assert {"ref": "lhasa §20"} in decided[-1]["payload"]["citations"]

    # Finance starts the key-project evaluation within 10 working days (lhasa §22).
    finance = h.who(tenant, "finance", org="finance")
    (pending,) = await evaluation_service.self_evaluation_lists(deps=deps, principal=finance, org_id=None)
    assert pending.key_evaluation_due_on == date(2026, 3, 24) and not pending.key_evaluation_started
    assert pending.key_evaluation_cite == ("lhasa §22",)
    clock.day = date(2026, 3, 25)  # a working day past the deadline: overdue until started
    (late,) = await evaluation_service.self_evaluation_lists(deps=deps, principal=finance, org_id=None)
    assert late.key_evaluation_overdue
    clock.day = date(2026, 3, 10)
    key = await evaluation_service.start_evaluation(
        deps=deps,
        principal=finance,
        fields=evaluation_service.EvaluationStart(declaration_id=d.declaration_id, kind=Kind.KEY),
    )
    assert key.due_on == date(2026, 3, 24) and not key.late
    assert key.cite == ("lhasa §22",)
    assert key.evaluator == "finance"

    # Three years on, before 31 August of the year before free maintenance ends, with the report.
    clock.day = date(2028, 3, 6)
    granted = await om_service.file_request(
        deps=deps,
        principal=unit,
        fields=om_service.OmRequestCreate(
            declaration_id=d.declaration_id,
            budget_year=2029,
            amount=Decimal("120000.00"),
            free_maintenance_ends_on=date(2029, 6, 30),
            declared=COMPLIANT,
            evaluation_id=self_eval.id,
        ),
    )
    assert granted.outcome is Outcome.GRANTED, granted.refusals
    assert granted.deadline == date(2028, 8, 31)
    assert granted.cite == ("lhasa §27",)

    # Without the report, and after the deadline: refused with §27 each.
    late = await om_service.file_request(
        deps=deps,
        principal=unit,
        fields=om_service.OmRequestCreate(
            declaration_id=d.declaration_id,
            budget_year=2028,
            amount=Decimal("1.00"),
            free_maintenance_ends_on=date(2028, 12, 31),
            declared=COMPLIANT,
            evaluation_id=None,
        ),
    )
    assert [r.code for r in late.refusals] == ["OM_REQUEST_LATE", "OM_EVALUATION_REPORT_MISSING"]
    assert all(r.cite == ("lhasa §27",) for r in late.refusals)


async def test_shuangyashan_refuses_om_for_systems_failing_sharing_security_or_crypto(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.city
    d = await _accepted_project(deps, h, tenant, date(2024, 1, 10))
    unit = h.who(tenant, "unit_head", org="unit-1")
    om = await om_service.file_request(
        deps=deps,
        principal=unit,
        fields=om_service.OmRequestCreate(
            declaration_id=d.declaration_id,
            budget_year=2026,
            amount=Decimal("5000.00"),
            free_maintenance_ends_on=date(2026, 12, 31),
            declared=Declared(
                data_shared=False, in_resource_catalog=False, security_compliant=True, crypto_compliant=False
            ),
            evaluation_id=None,
        ),
    )
    assert [r.code for r in om.refusals] == ["OM_DATA_NOT_SHARED", "OM_NOT_IN_CATALOG", "OM_CRYPTO_FAILED"]
    assert om.cite == ("shuangyashan-2024 §36",)


async def test_om_for_a_project_not_accepted_is_refused_with_qiaokou_29(
    deps: EvaluationDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    d = h.submitted(tenant)
    await h.feed(deps, d, tenant=tenant)
    unit = h.who(tenant, "applicant", org="unit-1")
    om = await om_service.file_request(
        deps=deps,
        principal=unit,
        fields=om_service.OmRequestCreate(
            declaration_id=d.declaration_id,
            budget_year=2026,
            amount=Decimal("5000.00"),
            free_maintenance_ends_on=date(2027, 12, 31),
            declared=COMPLIANT,
            evaluation_id=None,
        ),
    )
    assert [r.code for r in om.refusals] == ["OM_NOT_ACCEPTED"]
    assert om.refusals[0].cite == ("qiaokou-2022 §29",)
    # Another tenant's unit does not see it, nor the project.
    other = h.who(tenants.wuxing, "applicant", org="unit-1")
    with pytest.raises(AppError) as hidden:
        await om_service.get_request(deps=deps, principal=other, request_id=om.id)
    assert hidden.value.code.endswith("NOT_FOUND")


async def test_application_evaluation_needs_a_key_project_a_year_in_operation(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    d = await _accepted_project(deps, h, tenant, date(2024, 1, 15))
    bureau = h.who(tenant, "bureau_head")
    clock.day = date(2025, 3, 3)
    started = await evaluation_service.start_evaluation(
        deps=deps,
        principal=bureau,
        fields=evaluation_service.EvaluationStart(declaration_id=d.declaration_id, kind=Kind.APPLICATION),
    )
    assert started.cite == ("qiaokou-2022 §39",)
    # qiaokou §40's nine indicators must all be scored.
    with pytest.raises(AppError) as mismatch:
        await evaluation_service.complete_evaluation(
            deps=deps,
            principal=bureau,
            evaluation_id=started.id,
            expected_version=started.version,
            scores=[ScoreInput(code="quality", actual="良好", score=Decimal(90))],
            report_sha256="",
            summary="",
        )
    assert mismatch.value.code == "INDICATORS_MISMATCH"
    codes = [
        "quality",
        "cost_effectiveness",
        "application_effect",
        "operational_efficiency",
        "frequency_of_use",
        "sharing",
        "security",
        "innovation",
        "economic_social_benefit",
    ]
    done = await evaluation_service.complete_evaluation(
        deps=deps,
        principal=bureau,
        evaluation_id=started.id,
        expected_version=started.version,
        scores=[ScoreInput(code=c, actual="达标", score=Decimal(70)) for c in codes],
        report_sha256="",
        summary="",
    )
    assert done.total_score == Decimal("70.00") and done.grade == "中"
    assert "qiaokou-2022 §40" in done.cite
    with pytest.raises(AppError) as stale:
        await evaluation_service.complete_evaluation(
            deps=deps,
            principal=bureau,
            evaluation_id=started.id,
            expected_version=started.version,
            scores=[],
            report_sha256="",
            summary="",
        )
    assert stale.value.code == "STALE_VERSION" or stale.value.kind.value == "conflict"

    # A project accepted half a year ago is too young (qiaokou §39: over a year).
    young = await _accepted_project(deps, h, tenant, date(2024, 12, 1))
    with pytest.raises(AppError) as early:
        await evaluation_service.start_evaluation(
            deps=deps,
            principal=bureau,
            fields=evaluation_service.EvaluationStart(
                declaration_id=young.declaration_id, kind=Kind.APPLICATION
            ),
        )
    assert early.value.code == "NOT_IN_OPERATION_LONG_ENOUGH"
    assert early.value.cite == ["qiaokou-2022 §39"]


async def test_third_party_post_evaluation_is_scored_by_the_assigned_evaluator_only(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.city  # shuangyashan §31: the bureau commissions a third party
    d = await _accepted_project(deps, h, tenant, date(2024, 6, 3))
    bureau = h.who(tenant, "bureau_reviewer")
    with pytest.raises(AppError) as no_org:
        await evaluation_service.start_evaluation(
            deps=deps,
            principal=bureau,
            fields=evaluation_service.EvaluationStart(declaration_id=d.declaration_id, kind=Kind.THIRD_PARTY),
        )
    assert no_org.value.code == "EVALUATOR_ORG_REQUIRED"
    assigned = await evaluation_service.start_evaluation(
        deps=deps,
        principal=bureau,
        fields=evaluation_service.EvaluationStart(
            declaration_id=d.declaration_id, kind=Kind.THIRD_PARTY, evaluator_org="某评估咨询有限公司"
        ),
    )
    assert assigned.evaluator == "某评估咨询有限公司" and assigned.cite == ("shuangyashan-2024 §31",)
    scores = [ScoreInput(code="effect", label_zh="应用成效", actual="良好", score=Decimal(85))]
    stranger = h.who(tenant, "evaluator", org="另一评估公司")
    with pytest.raises(AppError) as hidden:
        await evaluation_service.complete_evaluation(
            deps=deps,
            principal=stranger,
            evaluation_id=assigned.id,
            expected_version=1,
            scores=scores,
            report_sha256="",
            summary="",
        )
    assert hidden.value.code.endswith("NOT_FOUND")
    evaluator = h.who(tenant, "evaluator", org="某评估咨询有限公司")
    assert [
        e.id
        for e in await evaluation_service.list_evaluations(
            deps=deps, principal=evaluator, kind=None, declaration_id=None
        )
    ] == [assigned.id]
    done = await evaluation_service.complete_evaluation(
        deps=deps,
        principal=evaluator,
        evaluation_id=assigned.id,
        expected_version=1,
        scores=scores,
        report_sha256="",
        summary="第三方后评价结论：良好。",
    )
    assert done.total_score == Decimal("85.00") and done.grade == "良"
    # The unit sees its project's evaluation, another tenant's bureau does not.
    unit = h.who(tenant, "applicant", org="unit-1")
    assert (
        await evaluation_service.get_evaluation(deps=deps, principal=unit, evaluation_id=done.id)
    ).id == done.id
    with pytest.raises(AppError):
        await evaluation_service.get_evaluation(
            deps=deps, principal=h.who(tenants.lhasa, "bureau_head"), evaluation_id=done.id
        )

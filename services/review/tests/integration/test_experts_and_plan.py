"""Expert draws and scoring, the annual plan (compile, publish, Excel), extension and lapse."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from govkit.errors import AppError, ErrorKind
from review.domain.case import CaseStatus
from review.domain.experts import MemberStatus
from review.domain.opinions import Verdict
from review.domain.plan import EntryStatus, PlanLevel, PlanOutcome
from review.service import ReviewDeps
from review.service import cases as case_service
from review.service import experts as expert_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import sweep as sweep_service

pytestmark = pytest.mark.integration


async def _library(deps: ReviewDeps, h: Any, tenant: str) -> dict[str, str]:
    """Eight experts in ``tenant``'s library: five clean, three with a conflict, one discredited."""
    keeper = h.who(tenant, "bureau_reviewer")
    made: dict[str, str] = {}
    specs = [
        ("张一", "大学一", (), "expert1"),
        ("张二", "大学二", (), "expert2"),
        ("张三", "大学三", (), "expert3"),
        ("张四", "大学四", (), "expert4"),
        ("张五", "大学五", (), "expert5"),
        ("同单位", "市城市管理局", (), None),
        ("设计关联", "大学七", ("某某设计院有限公司",), None),
        ("投标关联", "甲科技有限公司", (), None),
    ]
    for name, org, ties, login in specs:
        expert = await expert_service.create_expert(
            deps=deps,
            principal=keeper,
            fields=expert_service.ExpertFields(
                name=name,
                org=org,
                specialties=("软件",),
                affiliations=ties,
                username=f"{login}.{tenant}" if login else None,
            ),
        )
        made[name] = expert.id
    bad = await expert_service.create_expert(
        deps=deps,
        principal=keeper,
        fields=expert_service.ExpertFields(
            name="失信", org="大学九", discredited=True, discredited_reason="评审违规"
        ),
    )
    made["失信"] = bad.id
    return made


async def test_seeded_draw_avoids_conflicts_replays_and_replaces_a_decliner(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    # county-b's (qiaokou) technical review is the city's: the panel comes from the city's library.
    library = await _library(deps, h, tenants.city)
    case_id = await h.open_case(deps, tenants.qiaokou)
    reviewer = h.who(tenants.city, "bureau_reviewer")
    with pytest.raises(AppError) as err:
        await expert_service.draw_panel(
            deps=deps, principal=h.who(tenants.qiaokou, "bureau_reviewer"), case_id=case_id, size=3
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(AppError) as err:
        await expert_service.draw_panel(
            deps=deps, principal=reviewer, case_id=case_id, size=6, bidders=["甲科技有限公司"]
        )
    assert err.value.code == "EXPERT_POOL_TOO_SMALL" and err.value.details == {"eligible": 5, "requested": 6}
    panel = await expert_service.draw_panel(
        deps=deps, principal=reviewer, case_id=case_id, size=3, seed="2025-第1次", bidders=["甲科技有限公司"]
    )
    (draw,) = panel.draws
    clean = {library[n] for n in ("张一", "张二", "张三", "张四", "张五")}
    assert set(draw.candidates) == clean and draw.seed == "2025-第1次"
    assert draw.excluded == {
        library["同单位"]: "same_org",
        library["设计关联"]: "designer",
        library["投标关联"]: "bidder",
        library["失信"]: "discredited",
    }
    assert {m.expert_id for m in panel.members} == set(draw.drawn) and set(draw.drawn) <= clean
    replay = await expert_service.replay_draw(
        deps=deps, principal=h.who(tenants.qiaokou, "auditor", org="audit"), draw_id=draw.id
    )
    assert replay.matches and replay.replayed == draw.drawn
    with pytest.raises(AppError) as err:
        await expert_service.draw_panel(deps=deps, principal=reviewer, case_id=case_id, size=3)
    assert err.value.code == "PANEL_ALREADY_DRAWN"

    # The first expert declines in person; the replacement comes from those not yet on the panel.
    first = panel.members[0]
    decliner = h.who(tenants.city, "expert", org=None, name=first.expert_username)
    after = await expert_service.decline_member(
        deps=deps, principal=decliner, member_id=first.id, expected_version=first.version, reason="出差"
    )
    replacement_draw = after.draws[-1]
    assert replacement_draw.replaces_member_id == first.id and len(replacement_draw.drawn) == 1
    assert replacement_draw.drawn[0] not in draw.drawn
    active = [m for m in after.members if m.status is not MemberStatus.DECLINED]
    assert len(active) == 3
    assert (
        await expert_service.replay_draw(deps=deps, principal=reviewer, draw_id=replacement_draw.id)
    ).matches

    # Experts see the cases drawn for them; one who declined no longer does.
    visible = await case_service.list_cases(
        deps=deps, principal=decliner, declaration_id=None, limit=10, offset=0
    )
    assert visible == []
    member = active[0]
    expert = h.who(tenants.city, "expert", org=None, name=member.expert_username)
    assert [
        c.id
        for c in await case_service.list_cases(
            deps=deps, principal=expert, declaration_id=None, limit=10, offset=0
        )
    ] == [case_id]

    # Scoring: the pack's plan criteria (qiaokou §11(1), five items), every line, once.
    stage, criteria = await expert_service.scoring_sheet(deps=deps, principal=expert, case_id=case_id)
    assert stage == "plan" and [c.cite for c in criteria] == [("qiaokou-2022 §11(1)",)] * 5
    with pytest.raises(AppError) as err:
        await expert_service.submit_scores(
            deps=deps,
            principal=expert,
            case_id=case_id,
            scores={criteria[0].code: 8},
            comments={},
            overall_comment="",
        )
    assert err.value.code == "SCORE_SHEET_MISMATCH"
    assert all(m.expert_username for m in active), active
    for i, m in enumerate(active):
        await expert_service.submit_scores(
            deps=deps,
            principal=h.who(tenants.city, "expert", org=None, name=m.expert_username),
            case_id=case_id,
            scores={c.code: 6 + i for c in criteria},
            comments={},
            overall_comment=f"意见{i}",
        )
    with pytest.raises(AppError) as err:
        await expert_service.submit_scores(
            deps=deps,
            principal=expert,
            case_id=case_id,
            scores={c.code: 9 for c in criteria},
            comments={},
            overall_comment="",
        )
    assert err.value.code == "SCORES_ALREADY_SUBMITTED" and err.value.kind is ErrorKind.CONFLICT
    _, summary, _sheets = await expert_service.panel_summary(
        deps=deps, principal=h.who(tenants.qiaokou, "bureau_head"), case_id=case_id
    )
    assert summary.complete and summary.sheets == 3 and summary.mean_total == Decimal("35.00")
    assert summary.criteria[0].minimum == Decimal(6) and summary.criteria[0].maximum == Decimal(8)


async def _planned(deps: ReviewDeps, h: Any, tenant: str, reviewer_tenant: str, **fields: Any) -> str:
    """A case through the joint review and into the plan (general, at its declared amount)."""
    case_id = await h.open_case(deps, tenant, **fields)
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
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=case.version,
        outcome=PlanOutcome.IN_PLAN,
        level=fields.pop("level", PlanLevel.GENERAL),
        budget=case.amount,
        reason="符合规划",
    )
    return case_id


async def test_plan_compile_publish_export_extend_and_lapse(deps: ReviewDeps, tenants, clock, h) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.qiaokou
    from govproj.common.v1 import common_pb2

    first = await _planned(deps, h, tenant, tenants.city, org_id="unit-1", org_name="城管局")
    second = await _planned(
        deps,
        h,
        tenant,
        tenants.city,
        org_id="unit-2",
        org_name="教育局",
        name="智慧教育",
        amount=common_pb2.Money(amount="1200000.50"),
    )
    head = h.who(tenant, "bureau_head")
    clock.day = date(2025, 10, 10)
    with pytest.raises(AppError) as err:
        await plan_service.compile_plan(
            deps=deps, principal=h.who(tenant, "applicant", org="unit-1"), year=2026
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    compiled = await plan_service.compile_plan(deps=deps, principal=head, year=2026)
    assert {e.case_id for e in compiled.entries} == {first, second}
    assert compiled.total == Decimal("2000000.50") and compiled.plan.status.value == "draft"
    published = await plan_service.publish_plan(
        deps=deps, principal=head, plan_id=compiled.plan.id, expected_version=compiled.plan.version
    )
    # qiaokou §13: valid one year, from 1 January of the plan year.
    assert {e.valid_until for e in published.entries} == {date(2026, 12, 31)}
    (event,) = await h.outbox(deps.uow, tenant, "govproj.review.v1.plan.published")
    assert event["payload"]["year"] == 2026 and len(event["payload"]["entries"]) == 2
    assert {c["ref"] for c in event["payload"]["citations"]} == {"qiaokou-2022 §13"}
    with pytest.raises(AppError) as err:
        await plan_service.publish_plan(
            deps=deps, principal=head, plan_id=compiled.plan.id, expected_version=published.plan.version
        )
    assert err.value.code == "PLAN_ALREADY_PUBLISHED"

    exported = await plan_service.export_plan(deps=deps, principal=head, plan_id=compiled.plan.id)
    assert exported.filename.endswith("2026年度项目计划.xlsx")
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert any(row and "项目名称" in row for row in cells)
    flat = [str(c) for row in cells for c in row if c is not None]
    assert "小计" in flat and "合计" in flat and "智慧教育" in flat

    # Extension: once, at most twelve months (qiaokou §13); then the entry lapses after its end.
    entry = next(e for e in published.entries if e.case_id == first)
    with pytest.raises(AppError) as err:
        await plan_service.extend_entry(
            deps=deps,
            principal=head,
            entry_id=entry.id,
            expected_version=entry.version,
            months=13,
            reason="x",
        )
    assert err.value.code == "PLAN_EXTENSION_TOO_LONG"
    clock.day = date(2026, 12, 1)
    extended = await plan_service.extend_entry(
        deps=deps,
        principal=head,
        entry_id=entry.id,
        expected_version=entry.version,
        months=6,
        reason="前期工作延误",
    )
    assert extended.valid_until == date(2027, 6, 30) and extended.extended_months == 6
    with pytest.raises(AppError) as err:
        await plan_service.extend_entry(
            deps=deps,
            principal=head,
            entry_id=entry.id,
            expected_version=extended.version,
            months=1,
            reason="x",
        )
    assert err.value.code == "PLAN_ALREADY_EXTENDED"

    report = await sweep_service.sweep(deps, [tenant], today=date(2027, 1, 1))
    assert report.entries_lapsed == 1  # the unextended one
    assert (
        await case_service.get_case(deps=deps, principal=head, case_id=second)
    ).status is CaseStatus.LAPSED
    assert (
        await case_service.get_case(deps=deps, principal=head, case_id=first)
    ).status is CaseStatus.IN_PLAN
    again = await sweep_service.sweep(deps, [tenant], today=date(2027, 1, 2))
    assert again.entries_lapsed == 0  # idempotent
    assert (await sweep_service.sweep(deps, [tenant], today=date(2027, 7, 1))).entries_lapsed == 1
    view = await plan_service.get_plan(deps=deps, principal=head, year=2026)
    assert {e.status for e in view.entries} == {EntryStatus.LAPSED}

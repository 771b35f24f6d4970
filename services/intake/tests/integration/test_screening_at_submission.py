"""Screening at submission: duplicate construction and project splitting are flags with citations,
stored with the declaration and put in the event; every replica's index stays correct."""

from dataclasses import replace
from decimal import Decimal

import pytest

from intake import service
from intake.adapters.screening_index import ScreeningIndexes
from intake.domain.declaration import DeclarationStatus
from intake.domain.orgs import ExistingSystem, SystemStatus

pytestmark = pytest.mark.integration

CITY_COMMAND = {
    "name": "智慧城管综合指挥平台",
    "necessity": "城市管理案件分散在各部门处置，缺少统一的指挥调度和监督考核手段。",
    "content": "建设城市管理综合指挥调度中心，整合数字城管案件受理、派遣、处置、核查、结案闭环流程，"
    "接入视频监控和网格员巡查上报，实现占道经营、违章停车、垃圾暴露等问题的智能发现和统一调度。",
    "goals": "案件按期结案率达到95%以上，问题发现时间缩短50%。",
}
EXISTING_COMMAND = {
    "name": "城市管理综合指挥调度系统",
    "description": "数字城管案件受理、派遣、处置、核查、结案闭环管理，网格员巡查上报，视频监控接入，"
    "占道经营、违章停车、垃圾暴露等城市管理问题统一指挥调度和监督考核。",
}
FARM = {
    "name": "高标准农田建设管理系统",
    "necessity": "农田建设项目台账分散，缺少全过程监管。",
    "content": "建设农田建设项目储备、实施、验收、管护全过程管理，接入土壤墒情监测设备。",
    "goals": "农田建设项目全部纳入系统管理。",
}


async def register(world, **values):  # type: ignore[no-untyped-def]
    return await service.upsert_system(
        deps=world.deps,
        principal=world.bureau,
        system=ExistingSystem(
            id="",
            tenant_id=world.tenant,
            org_id=values.pop("org_id", "unit-2"),
            name=values["name"],
            description=values["description"],
            built_year=2019,
            status=SystemStatus.ACTIVE,
            version=0,
            updated_at=world.clock(),
        ),
        expected_version=0,
    )


async def test_a_declaration_like_a_registered_system_is_flagged_with_score_and_article(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    await world.open_call()
    system = await register(world, **EXISTING_COMMAND)
    submitted = await world.submit(await world.draft(**CITY_COMMAND))
    assert submitted.status is DeclarationStatus.SUBMITTED  # a flag, not a refusal
    [finding] = [f for f in submitted.findings if f.kind == "duplicate_construction"]
    assert finding.related_ids == (system.id,) and finding.score >= 0.3
    assert finding.citations == ("wuxing-2023 §8(2)",) and "城市管理综合指挥调度系统" in finding.message
    [(_, payload)] = await world.outbox()
    [event_finding] = payload["findings"]
    assert event_finding["kind"] == "duplicate_construction" and event_finding["related_ids"] == [system.id]
    assert event_finding["citations"] == [{"ref": "wuxing-2023 §8(2)"}]
    # Reviewers see it when they read the declaration.
    read = await service.get_declaration(deps=world.deps, principal=world.bureau, declaration_id=submitted.id)
    assert read.findings == submitted.findings


async def test_similar_declarations_of_the_tenant_are_flagged_unrelated_ones_are_not(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("shuangyashan-2024", level="city")
    await world.open_call()
    first = await world.submit(await world.draft(**CITY_COMMAND))
    assert first.findings == ()
    farm = await world.submit(await world.draft(world.who("applicant", "unit-2"), **FARM), org="unit-2")
    assert farm.findings == ()
    # unit-2 has one budget unit (its quota, shuangyashan-2024 §13): unit-1 declares again.
    again = await world.submit(await world.draft(**{**CITY_COMMAND, "name": "城市综合管理指挥中心"}))
    duplicates = [f for f in again.findings if f.kind == "duplicate_construction"]
    assert [f.related_ids for f in duplicates] == [(first.id,)]
    assert duplicates[0].citations == ("shuangyashan-2024 §13(4)",)


async def test_splitting_one_project_under_a_threshold_is_flagged_with_the_article(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")  # §13: 500万 tier; §8(6) forbids splitting to escape it
    await world.open_call()
    part_one = await world.submit(
        await world.draft(
            name="教育数据中台建设（一期）",
            amount="3000000.00",
            content="建设教育数据中台，汇聚学籍、教务、考试数据，建设数据治理和共享交换模块。",
        )
    )
    part_two = await world.submit(
        await world.draft(
            name="教育数据中台建设（二期）",
            amount="2500000.00",
            content="建设教育数据中台，汇聚学籍、教务、考试数据，建设数据分析和决策驾驶舱模块。",
        )
    )
    [split] = [f for f in part_two.findings if f.kind == "project_splitting"]
    assert split.related_ids == (part_one.id,)
    assert split.citations == ("wuxing-2023 §13", "wuxing-2023 §8(6)")
    assert split.details["threshold"] == "5000000" and split.details["total"] == "5500000.00"
    # Another unit's similar project is not part of this unit's split.
    other = await world.submit(
        await world.draft(
            world.who("applicant", "unit-2"),
            name="卫生数据中台建设",
            amount="2500000.00",
            content="建设教育数据中台，汇聚学籍、教务、考试数据，建设数据分析和决策驾驶舱模块。",
        ),
        org="unit-2",
    )
    assert [f for f in other.findings if f.kind == "project_splitting"] == []


async def test_two_replicas_see_each_others_submissions_and_withdrawals(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    await world.open_call()
    # Replica B: same database, its own in-memory index, built now (before A's submission).
    replica_b = replace(world, deps=replace(world.deps, screening=ScreeningIndexes()))
    await replica_b.submit(await replica_b.draft(world.who("applicant", "unit-2"), **FARM), org="unit-2")

    on_a = await world.submit(await world.draft(**CITY_COMMAND))
    seen_by_b = await replica_b.submit(
        await replica_b.draft(
            world.who("applicant", "unit-2"), **{**CITY_COMMAND, "name": "城管指挥调度平台"}
        ),
        org="unit-2",
    )
    assert [f.related_ids for f in seen_by_b.findings if f.kind == "duplicate_construction"] == [(on_a.id,)]

    # A withdraws its declaration; B's next screening no longer matches it.
    await service.withdraw(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=on_a.id,
        expected_version=on_a.version,
        reason="合并建设",
    )
    third = await replica_b.submit(
        await replica_b.draft(
            world.who("applicant", "unit-2"),
            **{**CITY_COMMAND, "name": "城市管理指挥平台", "amount": Decimal("700000.00")},
        ),
        org="unit-2",
    )
    related = {r for f in third.findings if f.kind == "duplicate_construction" for r in f.related_ids}
    assert on_a.id not in related and seen_by_b.id in related


async def test_a_retired_system_no_longer_matches(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    await world.open_call()
    system = await register(world, **EXISTING_COMMAND)
    await service.upsert_system(
        deps=world.deps,
        principal=world.admin,
        system=replace(system, status=SystemStatus.RETIRED),
        expected_version=system.version,
    )
    submitted = await world.submit(await world.draft(**CITY_COMMAND))
    assert submitted.findings == ()

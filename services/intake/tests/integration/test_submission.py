"""Submission to the bureau: unit sign-off, the pack's rules with their articles, project codes, events."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError, ErrorKind
from intake import service
from intake.domain.declaration import ConstructionItem, DeclarationStatus
from intake.domain.project_code import parse_project_code

pytestmark = pytest.mark.integration


async def test_applicant_to_unit_head_to_bureau_with_code_event_and_citations(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    call = await world.open_call(deadline=date(2026, 9, 30))
    draft = await world.draft()
    pending = await world.to_head(draft)
    assert pending.status is DeclarationStatus.PENDING_SIGNOFF
    assert await world.outbox() == []  # nothing reaches the bureau before the unit head signs

    submitted = await world.sign(pending)
    assert submitted.status is DeclarationStatus.SUBMITTED and submitted.round == 1
    assert submitted.signoff_by == world.head.username and submitted.call_id == call.id
    assert submitted.target_year == submitted.plan_year == 2027 and submitted.late_route == ""
    code = parse_project_code(submitted.project_code or "")
    assert (code.year, code.region_code, code.department, code.project_type, code.serial) == (
        2026,
        world.region_code,
        "01",
        "01",
        1,
    )
    [(subject, payload)] = await world.outbox()
    assert subject == "govproj.intake.v1.declaration.submitted"
    assert payload["declaration_id"] == submitted.id and payload["round"] == 1
    assert payload["project_code"] == submitted.project_code and payload["org_name"] == "县教育局"
    assert payload["org_type"] == "construction_unit" and payload["call_id"] == call.id
    assert (
        payload["target_year"] == 2027 and payload["cloud_deployment"] is True and payload["mlps_level"] == 2
    )
    assert payload["breakdown"]["security"] == {"amount": "64000.00"}
    assert sum(Decimal(v["amount"]) for v in payload["breakdown"].values()) == Decimal("800000.00")
    assert sorted(m["doc_type"] for m in payload["materials"]) == ["application_form", "feasibility_study"]
    assert all(len(m["sha256"]) == 64 for m in payload["materials"])
    assert {"ref": "wuxing-2023 §7"} in payload["citations"]


async def test_unit_head_sends_back_with_a_reason_and_the_applicant_edits_again(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    pending = await world.to_head(await world.draft())
    back = await service.send_back(
        deps=world.deps,
        principal=world.head,
        declaration_id=pending.id,
        expected_version=pending.version,
        reason="预算依据不足",
    )
    assert back.status is DeclarationStatus.DRAFT and back.send_back_reason == "预算依据不足"
    edited = await service.update_declaration(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=back.id,
        expected_version=back.version,
        changes={"content": "补充预算依据"},
    )
    assert edited.status is DeclarationStatus.DRAFT and edited.project_code is None


async def test_quota_exceeded_is_refused_with_the_article_and_nothing_changes(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("lhasa", level="city")  # lhasa §7: at most 2 per department per year
    await world.open_call()
    for name in ("教育数据中台", "智慧校园安防"):
        await world.submit(await world.draft(name=name, content=f"{name}建设内容"))
    third = await world.to_head(await world.draft(name="教师培训平台", content="教师研修与学分管理"))
    with pytest.raises(AppError) as err:
        await world.sign(third)
    assert err.value.code == "DECLARATION_QUOTA_EXCEEDED" and err.value.cite == ["lhasa §7"]
    assert err.value.kind is ErrorKind.PRECONDITION and err.value.details["limit"] == 2
    still = await service.get_declaration(deps=world.deps, principal=world.head, declaration_id=third.id)
    assert still.status is DeclarationStatus.PENDING_SIGNOFF and still.project_code is None
    # Another unit of the tenant has its own quota.
    other = await world.draft(world.who("applicant", "unit-2"), name="卫生健康平台")
    assert (await world.submit(other, org="unit-2")).status is DeclarationStatus.SUBMITTED


async def test_shuangyashan_quota_is_the_units_number_of_budget_units(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("shuangyashan-2024", level="city")  # unit-2 has 1 budget unit
    await world.open_call()
    unit_2 = world.who("applicant", "unit-2")
    await world.submit(await world.draft(unit_2, name="医疗健康数据平台"), org="unit-2")
    second = await world.to_head(
        await world.draft(unit_2, name="卫生监督执法系统", content="执法记录"), unit_2
    )
    with pytest.raises(AppError) as err:
        await world.sign(second, world.who("unit_head", "unit-2"))
    assert err.value.code == "DECLARATION_QUOTA_EXCEEDED" and err.value.cite == ["shuangyashan-2024 §13"]


async def test_prohibited_types_block_submission_with_their_article(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("shuangyashan-2024", level="city")
    await world.open_call()
    room = await world.draft(name="局机房扩建", construction_items=(ConstructionItem.MACHINE_ROOM,))
    await world.upload_required(room)
    with pytest.raises(AppError) as err:
        await service.submit_for_signoff(
            deps=world.deps, principal=world.applicant, declaration_id=room.id, expected_version=room.version
        )
    assert err.value.code == "DECLARATION_PROHIBITED" and err.value.cite == ["shuangyashan-2024 §13(1)"]
    assert err.value.details["prohibited"][0]["label_zh"] == "新建或扩建机房"
    off_cloud = await world.draft(name="自建服务器部署系统", cloud_deployment=False)
    await world.upload_required(off_cloud)
    with pytest.raises(AppError) as err:
        await service.submit_for_signoff(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=off_cloud.id,
            expected_version=off_cloud.version,
        )
    assert err.value.cite == ["shuangyashan-2024 §13(2)"]


async def test_missing_required_documents_block_submission(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    draft = await world.draft()
    await world.upload(draft, "application_form")
    with pytest.raises(AppError) as err:
        await service.submit_for_signoff(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=draft.id,
            expected_version=draft.version,
        )
    assert err.value.code == "MATERIALS_MISSING" and err.value.details["missing"] == ["technical_scheme"]
    assert "qiaokou-2022 §10" in err.value.cite


async def test_classified_projects_are_refused_at_intake_with_the_reason(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    with pytest.raises(AppError) as err:
        await world.draft(classified=True)
    assert err.value.code == "CLASSIFIED_OUT_OF_SCOPE" and err.value.cite == ["qiaokou-2022 §41"]
    assert "保密" in err.value.message
    draft = await world.draft()
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=draft.id,
            expected_version=1,
            changes={"classified": True},
        )
    assert err.value.code == "CLASSIFIED_OUT_OF_SCOPE"


async def test_without_an_open_call_an_annual_declaration_waits(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    pending = await world.to_head(await world.draft())
    with pytest.raises(AppError) as err:
        await world.sign(pending)
    assert err.value.code == "NO_OPEN_CALL"


async def test_lhasa_late_declaration_goes_to_the_plan_after_next(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("lhasa", level="city")
    call = await world.open_call(target_year=2027)
    assert call.deadline == date(2026, 8, 31)
    pending = await world.to_head(await world.draft())
    world.clock.now = datetime(2026, 9, 3, 2, 0, tzinfo=UTC)
    late = await world.sign(pending)
    assert late.late_route == "next_plan" and late.target_year == 2027 and late.plan_year == 2028
    assert "lhasa §7" in late.citations
    [(_, payload)] = await world.outbox()
    assert payload["late_route"] == "next_plan" and payload["plan_year"] == 2028


async def test_wuxing_late_declaration_only_as_supplementary_with_secured_funds(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    call = await world.open_call(deadline=date(2026, 9, 30))
    world.clock.now = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
    annual = await world.to_head(await world.draft(call_id=call.id))
    with pytest.raises(AppError) as err:
        await world.sign(annual)
    assert err.value.code == "LATE_DECLARATION_SUPPLEMENTARY_ONLY" and err.value.cite == ["wuxing-2023 §7"]

    unfunded = await world.draft(
        name="应急指挥调度", call_id=call.id, supplementary=True, supplementary_reason="防汛急需"
    )
    await world.upload_required(unfunded)
    with pytest.raises(AppError) as err:
        await service.submit_for_signoff(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=unfunded.id,
            expected_version=unfunded.version,
        )
    assert err.value.code == "SUPPLEMENTARY_FUNDS_NOT_SECURED"

    funded = await world.submit(
        await world.draft(
            name="防汛应急指挥调度系统",
            call_id=call.id,
            supplementary=True,
            funds_secured=True,
            supplementary_reason="防汛急需",
        )
    )
    assert funded.late_route == "supplementary" and funded.supplementary_approved_by == "bureau"
    [(_, payload)] = await world.outbox()
    assert payload["supplementary"] is True and payload["late_route"] == "supplementary"
    assert payload["funds_secured"] is True and payload["supplementary_approved_by"] == "bureau"


async def test_supplementary_project_needs_no_call_and_carries_the_higher_sign_off(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("shuangyashan-2024", level="city")
    urgent = await world.submit(
        await world.draft(name="疫情应急监测平台", supplementary=True, emergency=True)
    )
    assert urgent.status is DeclarationStatus.SUBMITTED and urgent.call_id is None
    assert (
        urgent.supplementary_approved_by == "city_government" and "shuangyashan-2024 §16" in urgent.citations
    )
    assert urgent.plan_year == 2026  # the plan being carried out this year


async def test_codes_are_serial_per_tenant_and_year_and_provincial_code_is_recorded_beside(
    make_world,
) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("shuangyashan-2024", level="city")
    await world.open_call()
    first = await world.submit(await world.draft(name="教育数据中台"))
    second = await world.submit(
        await world.draft(world.who("applicant", "unit-2"), name="医疗平台"), org="unit-2"
    )
    assert first.project_code == f"2026-{world.region_code}-01-01-000001"
    assert second.project_code == f"2026-{world.region_code}-02-01-000002"
    with pytest.raises(AppError) as err:
        await service.record_provincial_code(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=first.id,
            expected_version=first.version,
            provincial_code="2026-230500-65-01-12345",
        )
    assert err.value.code == "PROJECT_CODE_INVALID"
    with pytest.raises(AppError) as err:
        await service.record_provincial_code(
            deps=world.deps,
            principal=world.who("bureau_reviewer", "bureau"),
            declaration_id=first.id,
            expected_version=first.version,
            provincial_code=second.project_code or "",
        )
    assert err.value.code == "PROJECT_CODE_TAKEN" and err.value.kind is ErrorKind.CONFLICT
    recorded = await service.record_provincial_code(
        deps=world.deps,
        principal=world.who("bureau_reviewer", "bureau"),
        declaration_id=first.id,
        expected_version=first.version,
        provincial_code="2026-230500-65-01-123456",
    )
    assert (
        recorded.provincial_code == "2026-230500-65-01-123456" and recorded.project_code == first.project_code
    )
    from intake.adapters.repository import DeclarationFilter

    page = await service.list_declarations(
        deps=world.deps,
        principal=world.auditor,
        where=DeclarationFilter(project_code="2026-230500-65-01-123456"),
    )
    assert [d.id for d in page.items] == [first.id]
    with pytest.raises(AppError) as err:
        await service.list_declarations(
            deps=world.deps, principal=world.auditor, where=DeclarationFilter(project_code="not-a-code")
        )
    assert err.value.code == "PROJECT_CODE_INVALID"


async def test_listing_pages_and_filters(make_world) -> None:  # type: ignore[no-untyped-def]
    from intake.adapters.repository import DeclarationFilter

    world = await make_world("wuxing-2023")
    await world.open_call()
    ids = [(await world.draft(name=f"项目{i}", amount=Decimal(100000 + i))).id for i in range(5)]
    await world.submit(
        await service.get_declaration(deps=world.deps, principal=world.applicant, declaration_id=ids[0])
    )
    first = await service.list_declarations(
        deps=world.deps, principal=world.bureau, where=DeclarationFilter(), page_size=2
    )
    assert first.total == 5 and len(first.items) == 2 and first.next_page_token == "2"
    rest = await service.list_declarations(
        deps=world.deps, principal=world.bureau, where=DeclarationFilter(), page_size=10, page_token="2"
    )
    assert len(rest.items) == 3 and rest.next_page_token == ""
    assert {d.id for d in [*first.items, *rest.items]} == set(ids)
    submitted = await service.list_declarations(
        deps=world.deps,
        principal=world.bureau,
        where=DeclarationFilter(statuses=(DeclarationStatus.SUBMITTED,), target_year=2027),
    )
    assert [d.id for d in submitted.items] == [ids[0]]
    named = await service.list_declarations(
        deps=world.deps, principal=world.bureau, where=DeclarationFilter(name_contains="项目3")
    )
    assert [d.id for d in named.items] == [ids[3]]

"""Tenants, orgs, annual calls and registered systems: who manages them, versions, validation."""

from dataclasses import replace
from datetime import date

import pytest

from govkit.errors import AppError, ErrorKind
from intake import service
from intake.domain.calls import CallStatus
from intake.domain.orgs import ExistingSystem, Org, OrgType, SystemStatus, TenantLevel, TenantRecord

pytestmark = pytest.mark.integration


def new_org(world, org_id: str = "unit-3", **changes):  # type: ignore[no-untyped-def]
    org = Org(
        tenant_id=world.tenant,
        id=org_id,
        name="县交通运输局",
        org_type=OrgType.CONSTRUCTION_UNIT,
        budget_units=2,
        dept_code="03",
        active=True,
        version=0,
    )
    return replace(org, **changes)


async def test_tenant_admin_registers_and_changes_orgs_with_versions(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    created = await service.upsert_org(
        deps=world.deps, principal=world.admin, org=new_org(world), expected_version=0
    )
    assert created.version == 1 and created.dept_code == "03"
    with pytest.raises(AppError) as err:
        await service.upsert_org(
            deps=world.deps, principal=world.admin, org=new_org(world), expected_version=0
        )
    assert err.value.code == "ORG_EXISTS" and err.value.kind is ErrorKind.CONFLICT
    changed = await service.upsert_org(
        deps=world.deps, principal=world.admin, org=new_org(world, budget_units=4), expected_version=1
    )
    assert changed.version == 2 and changed.budget_units == 4
    with pytest.raises(AppError) as err:
        await service.upsert_org(
            deps=world.deps, principal=world.admin, org=new_org(world), expected_version=1
        )
    assert err.value.code == "VERSION_CONFLICT"
    listed = await service.list_orgs(
        deps=world.deps, principal=world.applicant, org_type=OrgType.CONSTRUCTION_UNIT
    )
    assert [o.id for o in listed] == ["unit-1", "unit-2", "unit-3"]


async def test_only_the_tenant_admin_manages_orgs_and_input_is_checked_in_chinese(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    for who in (world.applicant, world.bureau, world.auditor):
        with pytest.raises(AppError) as err:
            await service.upsert_org(deps=world.deps, principal=who, org=new_org(world), expected_version=0)
        assert err.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(AppError) as err:
        await service.upsert_org(
            deps=world.deps,
            principal=world.admin,
            org=new_org(world, dept_code="3", name=" "),
            expected_version=0,
        )
    assert err.value.code == "VALIDATION_FAILED"
    assert {f["field"]: f["message"] for f in err.value.details["fields"]} == {
        "name": "请填写单位名称",
        "dept_code": "部门代码应为2位数字",
    }


async def test_a_unit_missing_from_the_registry_cannot_declare(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    with pytest.raises(AppError) as err:
        await world.draft(world.who("applicant", "unit-9"))
    assert err.value.code == "ORG_NOT_REGISTERED"


async def test_region_code_belongs_to_one_tenant_only(make_world) -> None:  # type: ignore[no-untyped-def]
    world, other = await make_world("wuxing-2023"), await make_world("qiaokou-2022")
    [record] = await service.list_tenants(deps=world.deps, principal=world.admin)
    assert record.region_code == world.region_code
    with pytest.raises(AppError) as err:
        await service.upsert_tenant(
            deps=world.deps,
            principal=world.admin,
            record=replace(record, region_code=other.region_code),
            expected_version=record.version,
        )
    assert err.value.code == "REGION_CODE_EXISTS" and err.value.kind is ErrorKind.CONFLICT
    changed = await service.upsert_tenant(
        deps=world.deps,
        principal=world.admin,
        record=TenantRecord(
            id=world.tenant,
            name="测试县（更名）",
            region_code=world.region_code,
            level=TenantLevel.COUNTY,
            parent_id=None,
            version=1,
        ),
        expected_version=record.version,
    )
    assert changed.name == "测试县（更名）" and changed.version == 2


async def test_the_dev_seed_is_idempotent(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    [record] = await service.list_tenants(deps=world.deps, principal=world.admin)
    seed = service.SeedTenant(
        id=world.tenant,
        name="another name",
        region_code=world.region_code,
        level=TenantLevel.COUNTY,
        parent_id=None,
        orgs=(service.SeedOrg("unit-1", "改了名的单位", OrgType.CONSTRUCTION_UNIT, 9, "01"),),
    )
    assert await service.seed_registry(deps=world.deps, tenants=[seed]) == 0
    [after] = await service.list_tenants(deps=world.deps, principal=world.admin)
    assert after == record  # what the tenant administrator manages is never overwritten by the seed


async def test_calls_one_per_year_opened_and_closed_by_the_bureau(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    with pytest.raises(AppError) as err:
        await service.open_call(
            deps=world.deps, principal=world.applicant, target_year=2027, deadline=date(2026, 9, 30)
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    call = await world.open_call(deadline=date(2026, 9, 30))
    assert call.deadline == date(2026, 9, 30) and call.citations == ("wuxing-2023 §7",)
    with pytest.raises(AppError) as err:
        await world.open_call(deadline=date(2026, 9, 30))
    assert err.value.code == "CALL_EXISTS"
    listed = await service.list_calls(deps=world.deps, principal=world.applicant, status=CallStatus.OPEN)
    assert [c.id for c in listed] == [call.id]
    closed = await service.close_call(
        deps=world.deps, principal=world.bureau, call_id=call.id, expected_version=1
    )
    assert closed.status is CallStatus.CLOSED and closed.version == 2
    with pytest.raises(AppError) as err:
        await world.draft(call_id=call.id)
    assert err.value.code == "CALL_CLOSED"
    with pytest.raises(AppError) as err:
        await service.get_call(deps=world.deps, principal=world.applicant, call_id="not-a-uuid")
    assert err.value.kind is ErrorKind.NOT_FOUND


async def test_existing_systems_are_registered_by_the_bureau_and_units_see_their_own(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    system = ExistingSystem(
        id="",
        tenant_id=world.tenant,
        org_id="unit-2",
        name="医院信息系统",
        description="门诊、住院、药房管理",
        built_year=2018,
        status=SystemStatus.ACTIVE,
        version=0,
        updated_at=world.clock(),
    )
    with pytest.raises(AppError) as err:
        await service.upsert_system(
            deps=world.deps, principal=world.applicant, system=system, expected_version=0
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    stored = await service.upsert_system(
        deps=world.deps, principal=world.bureau, system=system, expected_version=0
    )
    assert stored.version == 1
    assert await service.list_systems(deps=world.deps, principal=world.applicant) == []
    assert [
        s.id for s in await service.list_systems(deps=world.deps, principal=world.who("applicant", "unit-2"))
    ] == [stored.id]
    with pytest.raises(AppError) as err:
        await service.upsert_system(
            deps=world.deps,
            principal=world.bureau,
            system=replace(stored, built_year=1950),
            expected_version=1,
        )
    assert err.value.details["fields"][0]["field"] == "built_year"


async def test_a_unit_deactivated_after_handing_in_cannot_be_signed_off(make_world) -> None:  # type: ignore[no-untyped-def]
    """The sign-off reads the org, the tenant and the materials together; a unit switched off in the
    registry meanwhile is refused, nothing is submitted, and signing off works again once it is back."""
    world = await make_world("wuxing-2023")
    await world.open_call()
    pending = await world.to_head(await world.draft())
    [org] = [o for o in await service.list_orgs(deps=world.deps, principal=world.admin) if o.id == "unit-1"]
    off = await service.upsert_org(
        deps=world.deps, principal=world.admin, org=replace(org, active=False), expected_version=org.version
    )
    with pytest.raises(AppError) as err:
        await world.sign(pending)
    assert err.value.code == "ORG_NOT_REGISTERED"
    assert [subject for subject, _ in await world.outbox()] == []
    await service.upsert_org(
        deps=world.deps, principal=world.admin, org=replace(off, active=True), expected_version=off.version
    )
    signed = await world.sign(pending)
    assert signed.status.value == "submitted" and signed.project_code

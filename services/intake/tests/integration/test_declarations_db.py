"""intake's use cases against a real PostgreSQL with row-level security under the app role."""

import asyncio
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import select, text

from govkit.audit import AuditSealer, verify_audit_chain
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.errors import AppError, ErrorKind
from govkit.events.outbox import outbox_writer
from intake import service
from intake.adapters.orm import audit, events
from intake.adapters.repository import DeclarationFilter

pytestmark = pytest.mark.integration


async def test_raw_sql_as_the_service_role_without_a_tenant_sees_nothing(intake_db, make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    await world.draft()
    conn = await asyncpg.connect(intake_db.app_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert not await conn.fetchval(
            "select rolsuper or rolbypassrls from pg_roles where rolname = current_user"
        )
        for table in ("declarations", "orgs", "tenants", "materials", "annual_calls", "existing_systems"):
            assert await conn.fetchval(f"select count(*) from intake.{table}") == 0, table
        await conn.execute("select set_config('app.tenant_id', $1, false)", world.tenant)
        assert await conn.fetchval("select count(*) from intake.declarations") == 1
        assert await conn.fetchval("select count(*) from intake.orgs") == 4
        # Writing a row for another tenant is refused by the policy's WITH CHECK.
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute("update intake.declarations set tenant_id = 'other'")
    finally:
        await conn.close()


async def test_another_county_gets_not_found_for_reads_and_writes(make_world) -> None:  # type: ignore[no-untyped-def]
    world, other = await make_world("wuxing-2023"), await make_world("qiaokou-2022")
    draft = await world.draft()
    for role, org in (("applicant", "unit-1"), ("bureau_reviewer", "bureau"), ("auditor", "audit")):
        with pytest.raises(AppError) as err:
            await service.get_declaration(
                deps=world.deps, principal=other.who(role, org), declaration_id=draft.id
            )
        assert err.value.kind is ErrorKind.NOT_FOUND and err.value.code == "DECLARATION_NOT_FOUND"
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            deps=world.deps,
            principal=other.applicant,
            declaration_id=draft.id,
            expected_version=1,
            changes={"name": "改名"},
        )
    assert err.value.kind is ErrorKind.NOT_FOUND
    page = await service.list_declarations(
        deps=world.deps, principal=other.who("bureau_reviewer", "bureau"), where=DeclarationFilter()
    )
    assert page.total == 0


async def test_unit_2_cannot_read_edit_or_list_unit_1_declarations(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    draft = await world.draft()
    other_unit = world.who("applicant", "unit-2")
    with pytest.raises(AppError) as err:
        await service.get_declaration(deps=world.deps, principal=other_unit, declaration_id=draft.id)
    assert err.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            deps=world.deps,
            principal=other_unit,
            declaration_id=draft.id,
            expected_version=1,
            changes={"name": "改名"},
        )
    assert err.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(AppError) as err:
        await service.sign_off(
            deps=world.deps,
            principal=world.who("unit_head", "unit-2"),
            declaration_id=draft.id,
            expected_version=1,
        )
    assert err.value.kind is ErrorKind.NOT_FOUND
    # Asking for unit-1's list as unit-2 gives nothing, not an error that confirms unit-1 exists.
    page = await service.list_declarations(
        deps=world.deps, principal=other_unit, where=DeclarationFilter(org_id="unit-1")
    )
    assert page.items == [] and page.total == 0
    own = await service.list_declarations(
        deps=world.deps, principal=world.applicant, where=DeclarationFilter()
    )
    assert [d.id for d in own.items] == [draft.id]


async def test_auditor_reads_the_whole_tenant_and_changes_nothing(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    await world.open_call()
    draft = await world.draft()
    other = await world.draft(world.who("applicant", "unit-2"), name="医疗健康信息平台")
    listed = await service.list_declarations(
        deps=world.deps, principal=world.auditor, where=DeclarationFilter()
    )
    assert {d.id for d in listed.items} == {draft.id, other.id}
    found = await service.get_declaration(deps=world.deps, principal=world.auditor, declaration_id=draft.id)
    assert found.id == draft.id
    refusals = [
        service.create_declaration(
            deps=world.deps,
            principal=world.auditor,
            fields=service.DeclarationFields(
                name="x",
                category=draft.category,
                construction_type=draft.construction_type,
                amount=Decimal("1"),
            ),
        ),
        service.update_declaration(
            deps=world.deps,
            principal=world.auditor,
            declaration_id=draft.id,
            expected_version=1,
            changes={"name": "x"},
        ),
        service.submit_for_signoff(
            deps=world.deps, principal=world.auditor, declaration_id=draft.id, expected_version=1
        ),
        service.sign_off(
            deps=world.deps, principal=world.auditor, declaration_id=draft.id, expected_version=1
        ),
        service.open_call(deps=world.deps, principal=world.auditor, target_year=2028, deadline=None),
        world.upload(draft, "application_form", world.auditor),
    ]
    for attempt in refusals:
        with pytest.raises(AppError) as err:
            await attempt
        assert err.value.kind is ErrorKind.FORBIDDEN, err.value
    assert (
        await service.get_declaration(deps=world.deps, principal=world.auditor, declaration_id=draft.id)
    ).version == 1


async def test_stale_version_is_a_conflict(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    draft = await world.draft()
    await service.update_declaration(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=draft.id,
        expected_version=1,
        changes={"name": "第一次"},
    )
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=draft.id,
            expected_version=1,
            changes={"name": "第二次"},
        )
    assert err.value.kind is ErrorKind.CONFLICT and err.value.code == "VERSION_CONFLICT"


async def test_two_truly_concurrent_updates_one_wins_one_gets_409(intake_db, make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    draft = await world.draft()
    # A second engine: two pools, two real connections, two transactions racing for the same row.
    engine_b = create_engine(intake_db.app_url)
    try:
        deps_b = service.IntakeDeps(
            uow=UnitOfWorkFactory(engine=engine_b, outbox_writer=outbox_writer(events)),
            policies=world.deps.policies,
            clock=world.clock,
        )
        results = await asyncio.gather(
            service.update_declaration(
                deps=world.deps,
                principal=world.applicant,
                declaration_id=draft.id,
                expected_version=1,
                changes={"name": "甲"},
            ),
            service.update_declaration(
                deps=deps_b,
                principal=world.applicant,
                declaration_id=draft.id,
                expected_version=1,
                changes={"name": "乙"},
            ),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, AppError)]
        assert len(wins) == 1 and len(losses) == 1
        assert losses[0].kind is ErrorKind.CONFLICT and losses[0].http_status == 409
        stored = await service.get_declaration(
            deps=world.deps, principal=world.applicant, declaration_id=draft.id
        )
        assert stored.version == 2 and stored.name == wins[0].name
    finally:
        await engine_b.dispose()


async def test_every_change_is_audited_with_citations_and_tampering_is_caught(
    intake_db, engine, make_world
) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    await world.open_call()
    submitted = await world.submit(await world.draft())
    await AuditSealer(engine=engine, table=audit).seal_pending()
    async with world.deps.uow(tenant_id=world.tenant) as tx:
        result = await verify_audit_chain(tx.session, audit, tenant_id=world.tenant)
        rows = (
            await tx.session.execute(
                select(audit.c.seq, audit.c.action, audit.c.citations)
                .where(audit.c.entity_id == submitted.id)
                .order_by(audit.c.seq)
            )
        ).all()
    assert result.ok and result.unsealed == 0
    assert [r.action for r in rows] == [
        "declaration.created",
        "material.uploaded",
        "material.uploaded",
        "declaration.submitted_for_signoff",
        "declaration.submitted",
    ]
    assert "wuxing-2023 §7" in rows[-1].citations
    last_seq = rows[-1].seq

    async with engine.begin() as conn:
        await conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": world.tenant})
        with pytest.raises(Exception, match=r"permission denied|not allowed|append-only"):
            await conn.execute(text("update intake.audit_log set actor = 'mallory'"))

    admin = await asyncpg.connect(intake_db.admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        # A superuser can switch the guard trigger off; verify must still notice the edit.
        await admin.execute("set session_replication_role = replica")
        await admin.execute(
            "update intake.audit_log set to_state = 'approved' where tenant_id = $1 and seq = $2",
            world.tenant,
            last_seq,
        )
    finally:
        await admin.close()
    async with world.deps.uow(tenant_id=world.tenant) as tx:
        result = await verify_audit_chain(tx.session, audit, tenant_id=world.tenant)
    assert not result.ok and result.first_broken_seq == last_seq

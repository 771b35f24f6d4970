"""intake's use cases against a real PostgreSQL with row-level security under the app role."""

import asyncio
import uuid
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import select, text

from govkit.audit import verify_audit_chain
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.errors import AppError, ErrorKind
from govkit.events.outbox import outbox_writer
from govkit.testing.services import service_db
from intake import service
from intake.adapters.orm import audit, events
from intake.bootstrap import spec
from intake.domain.declaration import Category, ConstructionType

pytestmark = pytest.mark.integration


def fields(name: str = "智慧教育平台", amount: str = "800000.00") -> service.DeclarationFields:
    return service.DeclarationFields(
        name=name,
        category=Category.BUSINESS_APP,
        construction_type=ConstructionType.NEW,
        amount=Decimal(amount),
        necessity="教育局各业务系统分散建设",
        goals="统一平台",
        contact="张三 13800000000",
    )


def applicant(tenant: str, org: str = "unit-1") -> Principal:
    return Principal(
        sub=f"{org}-{tenant}",
        username=f"applicant.{tenant}",
        tenant=tenant,
        org=org,
        roles=frozenset({"applicant"}),
    )


@pytest.fixture
async def uow(pg):  # type: ignore[no-untyped-def]
    db = await service_db(pg, spec())
    engine = create_engine(db.app_url)
    yield UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(events))
    await engine.dispose()


@pytest.fixture
def tenant() -> str:
    # A tenant of its own per test keeps tests independent on the shared session database.
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_submit_writes_the_event_to_the_outbox_in_the_same_transaction(uow, tenant) -> None:  # type: ignore[no-untyped-def]
    who = applicant(tenant)
    draft = await service.create_declaration(uow=uow, principal=who, fields=fields())
    submitted = await service.submit_declaration(
        uow=uow, principal=who, declaration_id=draft.id, expected_version=1
    )
    assert submitted.status.value == "submitted" and submitted.version == 2
    async with uow(tenant_id=None) as tx:
        rows = (
            await tx.session.execute(select(events.outbox).where(events.outbox.c.tenant_id == tenant))
        ).all()
    assert [r.subject for r in rows] == ["govproj.intake.v1.declaration.submitted"]
    assert draft.id in rows[0].body


async def test_raw_sql_as_the_service_role_without_a_tenant_sees_nothing(pg, uow, tenant) -> None:  # type: ignore[no-untyped-def]
    await service.create_declaration(uow=uow, principal=applicant(tenant), fields=fields())
    db = await service_db(pg, spec())
    conn = await asyncpg.connect(db.app_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert not await conn.fetchval(
            "select rolsuper or rolbypassrls from pg_roles where rolname = current_user"
        )
        assert await conn.fetchval("select count(*) from intake.declarations") == 0
        await conn.execute("select set_config('app.tenant_id', $1, false)", tenant)
        assert await conn.fetchval("select count(*) from intake.declarations") == 1
        # Writing a row for another tenant is refused by the policy's WITH CHECK.
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute("update intake.declarations set tenant_id = 'other'")
    finally:
        await conn.close()


async def test_another_tenant_gets_not_found(uow, tenant) -> None:  # type: ignore[no-untyped-def]
    draft = await service.create_declaration(uow=uow, principal=applicant(tenant), fields=fields())
    with pytest.raises(AppError) as err:
        await service.get_declaration(
            uow=uow, principal=applicant(f"{tenant}-other"), declaration_id=draft.id
        )
    assert err.value.kind is ErrorKind.NOT_FOUND


async def test_unit_2_cannot_read_or_edit_unit_1_draft(uow, tenant) -> None:  # type: ignore[no-untyped-def]
    draft = await service.create_declaration(uow=uow, principal=applicant(tenant, "unit-1"), fields=fields())
    other_unit = applicant(tenant, "unit-2")
    with pytest.raises(AppError) as err:
        await service.get_declaration(uow=uow, principal=other_unit, declaration_id=draft.id)
    assert err.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            uow=uow,
            principal=other_unit,
            declaration_id=draft.id,
            expected_version=1,
            changes={"name": "改名"},
        )
    assert err.value.kind is ErrorKind.NOT_FOUND


async def test_stale_version_is_a_conflict(uow, tenant) -> None:  # type: ignore[no-untyped-def]
    who = applicant(tenant)
    draft = await service.create_declaration(uow=uow, principal=who, fields=fields())
    await service.update_declaration(
        uow=uow, principal=who, declaration_id=draft.id, expected_version=1, changes={"name": "第一次"}
    )
    with pytest.raises(AppError) as err:
        await service.update_declaration(
            uow=uow, principal=who, declaration_id=draft.id, expected_version=1, changes={"name": "第二次"}
        )
    assert err.value.kind is ErrorKind.CONFLICT


async def test_two_truly_concurrent_updates_one_wins_one_gets_409(pg, tenant) -> None:  # type: ignore[no-untyped-def]
    db = await service_db(pg, spec())
    # Two engines: two pools, two real connections, two transactions racing for the same row.
    engine_a, engine_b = create_engine(db.app_url), create_engine(db.app_url)
    try:
        uow_a = UnitOfWorkFactory(engine=engine_a, outbox_writer=outbox_writer(events))
        uow_b = UnitOfWorkFactory(engine=engine_b, outbox_writer=outbox_writer(events))
        who = applicant(tenant)
        draft = await service.create_declaration(uow=uow_a, principal=who, fields=fields())
        results = await asyncio.gather(
            service.update_declaration(
                uow=uow_a, principal=who, declaration_id=draft.id, expected_version=1, changes={"name": "甲"}
            ),
            service.update_declaration(
                uow=uow_b, principal=who, declaration_id=draft.id, expected_version=1, changes={"name": "乙"}
            ),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, AppError)]
        assert len(wins) == 1 and len(losses) == 1
        assert losses[0].kind is ErrorKind.CONFLICT and losses[0].http_status == 409
        stored = await service.get_declaration(uow=uow_a, principal=who, declaration_id=draft.id)
        assert stored.version == 2 and stored.name == wins[0].name
    finally:
        await engine_a.dispose()
        await engine_b.dispose()


async def test_every_change_is_audited_and_tampering_is_caught(pg, uow, tenant) -> None:  # type: ignore[no-untyped-def]
    who = applicant(tenant)
    draft = await service.create_declaration(uow=uow, principal=who, fields=fields())
    await service.submit_declaration(uow=uow, principal=who, declaration_id=draft.id, expected_version=1)
    async with uow(tenant_id=tenant) as tx:
        result = await verify_audit_chain(tx.session, audit, tenant_id=tenant)
        actions = (await tx.session.execute(select(audit.c.action).order_by(audit.c.seq))).scalars().all()
    assert result.ok and list(actions) == ["declaration.created", "declaration.submitted"]

    db = await service_db(pg, spec())
    engine = create_engine(db.app_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": tenant})
            with pytest.raises(Exception, match=r"permission denied|not allowed|append-only"):
                await conn.execute(text("update intake.audit_log set actor = 'mallory'"))
    finally:
        await engine.dispose()

    admin = await asyncpg.connect(db.admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        # A superuser can switch the guard trigger off; verify must still notice the edit.
        await admin.execute("set session_replication_role = replica")
        await admin.execute(
            "update intake.audit_log set to_state = 'approved' where tenant_id = $1 and seq = 2", tenant
        )
    finally:
        await admin.close()
    async with uow(tenant_id=tenant) as tx:
        result = await verify_audit_chain(tx.session, audit, tenant_id=tenant)
    assert not result.ok and result.first_broken_seq == 2

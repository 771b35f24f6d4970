"""The unit of work against a real PostgreSQL: surviving a server that dropped the pool's connections,
and waking the audit sealer only when audit records were committed."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import MetaData, text

from govkit.audit import audit_table, record_audit
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.testing.plugin import PostgresFixture

pytestmark = pytest.mark.integration


async def _drop_connections(pg: PostgresFixture, database: str) -> int:
    """What a PostgreSQL restart does to a pool: every server side of its connections goes away."""
    admin = await asyncpg.connect(pg.server.dsn())
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        )
    finally:
        await admin.close()


@pytest.fixture
def database(pg: PostgresFixture) -> tuple[str, str]:
    """A fresh database: (name, superuser URL)."""
    name = f"uow_{uuid.uuid4().hex[:8]}"
    return name, pg.create_database(name)


@pytest.mark.parametrize("tenant", ["county-a", None], ids=["tenant-bound", "no-tenant"])
async def test_a_request_after_the_pool_lost_its_connections_still_succeeds(
    pg: PostgresFixture, database: tuple[str, str], tenant: str | None
) -> None:
    name, url = database
    engine = create_engine(url, pool_size=3)
    uow = UnitOfWorkFactory(engine=engine)
    try:
        for _ in range(3):  # fill the pool with live connections
            async with uow(tenant_id=tenant) as tx:
                assert await tx.session.scalar(text("select 1")) == 1
        assert await _drop_connections(pg, name) >= 1
        async with uow(tenant_id=tenant) as tx:
            setting = await tx.session.scalar(text("select current_setting('app.tenant_id', true)"))
            assert (setting or None) == tenant
            await tx.commit()
    finally:
        await engine.dispose()


async def test_the_sealer_is_woken_by_audited_commits_only(database: tuple[str, str]) -> None:
    engine = create_engine(database[1])
    metadata = MetaData()
    table = audit_table(metadata, schema="public")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    woken: list[str] = []
    uow = UnitOfWorkFactory(engine=engine, after_audit=[lambda: woken.append("sealer")])
    try:
        async with uow(tenant_id="county-a") as tx:
            await tx.session.execute(text("select 1"))
            await tx.commit()
        assert woken == []
        async with uow(tenant_id="county-a") as tx:
            await record_audit(
                tx.session,
                table,
                tenant_id="county-a",
                actor="applicant.county-a",
                action="declaration.created",
                entity_type="declaration",
                entity_id="d-1",
                from_state=None,
                to_state="draft",
            )
            # Rolled back: nothing to seal, no wake-up.
        assert woken == []
        async with uow(tenant_id="county-a") as tx:
            await record_audit(
                tx.session,
                table,
                tenant_id="county-a",
                actor="applicant.county-a",
                action="declaration.created",
                entity_type="declaration",
                entity_id="d-2",
                from_state=None,
                to_state="draft",
            )
            await tx.commit()
        assert woken == ["sealer"]
    finally:
        await engine.dispose()

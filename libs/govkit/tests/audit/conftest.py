"""A real database with the audit table, its grants, and an unprivileged application role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import MetaData, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.schema import CreateSchema

from govkit.audit import audit_grants_sql, audit_table
from govkit.testing.plugin import PostgresFixture

SCHEMA = "auditdemo"
APP_ROLE = "govkit_audit_app"


@dataclass(frozen=True)
class AuditDb:
    admin_url: str
    app_url: str


async def _prepare(admin_url: str) -> None:
    engine = create_async_engine(admin_url)
    try:
        async with engine.begin() as conn:
            # Roles are cluster-wide and the session's server is shared: create it only once.
            exists = await conn.scalar(text("select 1 from pg_roles where rolname = :r"), {"r": APP_ROLE})
            if not exists:
                await conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
            await conn.execute(CreateSchema(SCHEMA))
            metadata = MetaData()
            audit_table(metadata, schema=SCHEMA)
            await conn.run_sync(metadata.create_all)
            # A careless blanket grant, as a service migration might do: the REVOKE must win.
            await conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA {SCHEMA} TO {APP_ROLE}"))
            for statement in audit_grants_sql(schema=SCHEMA, app_role=APP_ROLE):
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def audit_db(pg: PostgresFixture) -> Iterator[AuditDb]:
    admin_url = pg.create_database(f"govkit_audit_{uuid.uuid4().hex[:8]}")
    asyncio.run(_prepare(admin_url))
    app_url = make_url(admin_url).set(username=APP_ROLE).render_as_string(hide_password=False)
    yield AuditDb(admin_url=admin_url, app_url=app_url)


@pytest.fixture
def table() -> Table:
    return audit_table(MetaData(), schema=SCHEMA)


@pytest.fixture
async def app_engine(audit_db: AuditDb) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(audit_db.app_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
async def admin_engine(audit_db: AuditDb) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(audit_db.admin_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test, so tests sharing the module's database never share a chain."""
    return f"t-{uuid.uuid4().hex[:10]}"


async def bind_tenant(session: AsyncSession, tenant_id: str) -> None:
    """What the platform's unit of work does at the start of each transaction."""
    await session.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)

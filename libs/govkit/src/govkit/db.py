"""Database access: async SQLAlchemy 2 engines, the unit of work and row-level-security helpers.

Tenancy is enforced by PostgreSQL, not by remembering a WHERE clause: every tenant table has
``tenant_id`` and a FORCE'd row-level-security policy comparing it with
``current_setting('app.tenant_id', true)``. The unit of work sets that setting at the start of
each transaction with ``set_config(..., true)`` (transaction-local; ``SET LOCAL`` takes no bind
parameters), so a session that never names a tenant sees nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from govkit.audit import wrote_audit

TENANT_SETTING = "app.tenant_id"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """Validate an SQL identifier we build DDL with (schema, role, table names are ours, not users')."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def create_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10, **kwargs: Any) -> AsyncEngine:
    """A pooled asyncpg engine.

    No ``pool_pre_ping``: it costs a round trip on every checkout (a third of a small request's
    time in the benchmark). A connection that died with a restarted PostgreSQL is instead caught
    by :class:`UnitOfWork`, which retries its first statement once on a fresh connection (the
    failure invalidates the whole pool, so the other stale connections are replaced too).
    """
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, **kwargs)


async def set_tenant(session: AsyncSession, tenant_id: str) -> None:
    """Bind the current transaction to a tenant (transaction-local)."""
    await session.execute(
        text("select set_config(:name, :tenant, true)"), {"name": TENANT_SETTING, "tenant": tenant_id}
    )


@dataclass
class UnitOfWork:
    """One transaction, bound to one tenant; the only place that commits (cosmicpython).

    Use cases do::

        async with uow_factory(tenant_id=principal.tenant) as uow:
            ...uow.session...
            uow.emit(event)          # written to the outbox in this same transaction
            await uow.commit()

    Leaving the block without ``commit()`` rolls back. ``after_commit`` callbacks run once the
    commit succeeded, with what the outbox writer wrote (the outbox relay is woken this way and
    publishes those rows without reading them back).
    """

    session_factory: async_sessionmaker[AsyncSession]
    tenant_id: str | None
    outbox_writer: Callable[[AsyncSession, list[Any]], Any] | None = None
    after_commit: list[Callable[[Sequence[Any]], None]] = field(default_factory=list)
    after_audit: list[Callable[[], None]] = field(default_factory=list)
    session: AsyncSession = field(init=False)
    _events: list[Any] = field(default_factory=list, init=False)
    _committed: bool = field(default=False, init=False)

    async def __aenter__(self) -> Self:
        for attempt in range(2):
            self.session = self.session_factory()
            try:
                await self.session.begin()
                # Also without a tenant: an explicit "none" (fails closed under RLS), and the first
                # statement, which finds a dead pooled connection here rather than mid-work.
                await set_tenant(self.session, self.tenant_id or "")
                return self
            except DBAPIError as exc:
                await self.session.close()
                # Nothing was done yet, so a connection lost with a PostgreSQL restart is retried.
                if attempt or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    def emit(self, event: Any) -> None:
        """Queue an integration event; it is written to the outbox when the unit commits."""
        self._events.append(event)

    async def commit(self) -> None:
        """Write queued events to the outbox and commit everything in one transaction."""
        written: Sequence[Any] = ()
        if self._events:
            if self.outbox_writer is None:
                raise RuntimeError("this unit of work has no outbox but events were emitted")
            written = await self.outbox_writer(self.session, self._events) or ()
        audited = wrote_audit(self.session)
        await self.session.commit()
        self._committed = True
        events, self._events = self._events, []
        if events:
            for on_commit in self.after_commit:
                on_commit(written)
            # Let the woken relay send its publish now, while this request builds its response,
            # rather than after the whole response is written (the handler does not yield again).
            await asyncio.sleep(0)
        if audited:
            for on_audit in self.after_audit:
                on_audit()


@dataclass
class UnitOfWorkFactory:
    """Makes units of work for one service (its engine, its outbox)."""

    engine: AsyncEngine
    outbox_writer: Callable[[AsyncSession, list[Any]], Any] | None = None
    after_commit: list[Callable[[Sequence[Any]], None]] = field(default_factory=list)
    """Run after a commit that wrote events, with the rows written (the outbox relay's wake-up)."""
    after_audit: list[Callable[[], None]] = field(default_factory=list)
    """Run after a commit that wrote audit records (the audit sealer's wake-up)."""
    session_factory: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.session_factory = async_sessionmaker(self.engine, expire_on_commit=False, autobegin=False)

    def __call__(self, *, tenant_id: str | None) -> UnitOfWork:
        return UnitOfWork(
            session_factory=self.session_factory,
            tenant_id=tenant_id,
            outbox_writer=self.outbox_writer,
            after_commit=self.after_commit,
            after_audit=self.after_audit,
        )


# --- DDL helpers used by the services' Alembic migrations -------------------------------------


def tenant_rls_sql(*, schema: str, table: str, app_role: str, tenant_column: str = "tenant_id") -> list[str]:
    """Statements that put a table under FORCE'd row-level security by tenant and grant DML.

    FORCE makes the policy apply to the table owner as well; the app role is NOSUPERUSER
    NOBYPASSRLS, so nothing but the policy decides what it sees. An unset tenant compares with
    NULL and the policy fails closed.
    """
    s, t, r, c = ident(schema), ident(table), ident(app_role), ident(tenant_column)
    return [
        f"ALTER TABLE {s}.{t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {s}.{t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {s}.{t}",
        f"CREATE POLICY tenant_isolation ON {s}.{t} "
        f"USING ({c} = current_setting('{TENANT_SETTING}', true)) "
        f"WITH CHECK ({c} = current_setting('{TENANT_SETTING}', true))",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO {r}",
    ]


def plain_grants_sql(*, schema: str, table: str, app_role: str) -> list[str]:
    """Grants for infrastructure tables without tenant data (outbox, inbox, dead letters)."""
    s, t, r = ident(schema), ident(table), ident(app_role)
    return [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO {r}"]


def schema_usage_sql(*, schema: str, app_role: str) -> list[str]:
    """Let the app role use the schema and its sequences."""
    s, r = ident(schema), ident(app_role)
    return [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
    ]


@dataclass(frozen=True)
class ServiceDatabase:
    """Names of one service's database, schema and roles."""

    service: str

    @property
    def database(self) -> str:
        """The service's own database."""
        return f"govproj_{self.service}"

    @property
    def schema(self) -> str:
        """The schema holding every table of the service."""
        return self.service

    @property
    def owner_role(self) -> str:
        """Owns the schema and runs migrations; NOSUPERUSER, subject to FORCE'd RLS."""
        return f"{self.service}_owner"

    @property
    def app_role(self) -> str:
        """What the running service connects as: NOSUPERUSER NOBYPASSRLS, DML only."""
        return f"{self.service}_app"


async def provision_service_database(
    admin_dsn: str, service: str, *, owner_password: str, app_password: str
) -> ServiceDatabase:
    """Create (idempotently) a service's database, schema and its two non-superuser roles.

    Run by `make dev` and the tests with the local superuser; in production the operator's
    PostgreSQL provisioning does the same (see README, deployment).
    """
    import asyncpg

    names = ServiceDatabase(ident(service))
    conn = await asyncpg.connect(admin_dsn)
    try:
        for role, password in ((names.owner_role, owner_password), (names.app_role, app_password)):
            exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            quoted = password.replace("'", "''")
            await conn.execute(
                f"{verb} ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                f"PASSWORD '{quoted}'"
            )
        if not await conn.fetchval("select 1 from pg_database where datname = $1", names.database):
            await conn.execute(f"CREATE DATABASE {names.database} OWNER {names.owner_role}")
    finally:
        await conn.close()
    host_dsn = admin_dsn.rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{host_dsn}/{names.database}")
    try:
        await conn.execute(f"REVOKE ALL ON DATABASE {names.database} FROM PUBLIC")
        await conn.execute(
            f"GRANT CONNECT ON DATABASE {names.database} TO {names.owner_role}, {names.app_role}"
        )
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {names.schema} AUTHORIZATION {names.owner_role}")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA {names.schema} TO {names.app_role}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {names.owner_role} IN SCHEMA {names.schema} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {names.app_role}"
        )
    finally:
        await conn.close()
    return names

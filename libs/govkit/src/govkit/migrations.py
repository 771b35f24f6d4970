"""Alembic, run programmatically at service start with the schema owner's role."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from govkit.db import ident


def alembic_config(*, script_location: Path, url: str, schema: str, metadata: MetaData) -> Config:
    """An in-memory Alembic config; env.py reads url, schema and metadata from its attributes."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["url"] = url
    config.attributes["schema"] = ident(schema)
    config.attributes["metadata"] = metadata
    return config


def upgrade(config: Config, revision: str = "head") -> None:
    """Upgrade the service's schema (synchronous; call from a thread in async code)."""
    command.upgrade(config, revision)


async def upgrade_async(config: Config, revision: str = "head") -> None:
    """Upgrade without blocking the event loop (Alembic's async env runs its own loop)."""
    await asyncio.to_thread(upgrade, config, revision)


def run_env(config: Config) -> None:
    """Body of every service's migrations/env.py (online mode, async engine)."""
    url: str = config.attributes["url"]
    schema: str = config.attributes["schema"]
    metadata: MetaData = config.attributes["metadata"]

    def do_run(connection: Connection) -> None:
        from alembic import context

        connection.execute(text(f"SET search_path TO {schema}"))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(do_run)
        finally:
            await engine.dispose()

    asyncio.run(run())


def create_infrastructure(bind: Connection, *, schema: str, app_role: str) -> None:
    """First-revision helper: the outbox, inbox, dead-letter and audit tables, with their grants.

    These tables are defined once in govkit; a later change to them ships as a new revision in
    every service.
    """
    from govkit.audit import audit_grants_sql, audit_table
    from govkit.db import plain_grants_sql
    from govkit.events.tables import event_tables

    metadata = MetaData()
    tables = event_tables(metadata, schema=schema)
    audit_table(metadata, schema=schema)
    metadata.create_all(bind)
    for table in (tables.outbox, tables.inbox, tables.dead_letters):
        for statement in plain_grants_sql(schema=schema, table=table.name, app_role=app_role):
            bind.execute(text(statement))
    for statement in audit_grants_sql(schema=schema, app_role=app_role):
        bind.execute(text(statement))


def grant_schema(bind: Connection, *, schema: str, app_role: str) -> None:
    """Last step of a revision: the app role may use the schema's sequences."""
    from govkit.db import schema_usage_sql

    for statement in schema_usage_sql(schema=schema, app_role=app_role):
        bind.execute(text(statement))

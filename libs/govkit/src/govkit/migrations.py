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

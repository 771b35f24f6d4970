"""Session fixtures: one real PostgreSQL and one real nats-server per test session.

Loaded for every test run through ``-p govkit.testing.plugin`` (root pyproject.toml). Both
servers start lazily, only when a test asks for them, on free loopback ports under a temp folder.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from govkit.localinfra import LocalNats, LocalPostgres, free_port


@dataclass
class PostgresFixture:
    """The session's PostgreSQL server."""

    server: LocalPostgres

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the superuser on the `postgres` database."""
        return self.server.url()

    def create_database(self, name: str) -> str:
        """Create a fresh database (dropping one of that name) and return its superuser URL."""

        async def _create() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.server.dsn())
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(_create())
        return self.server.url(name)


def _server_dir(prefix: str) -> Path:
    # Not under pytest's basetemp: pytest keeps /tmp/pytest-of-<user> at mode 0700, which the
    # unprivileged PostgreSQL user (when tests run as root) could not traverse.
    return Path(tempfile.mkdtemp(prefix=f"govproj-{prefix}-"))


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresFixture]:
    """A real PostgreSQL server for the whole test session."""
    data_dir = _server_dir("pg")
    server = LocalPostgres(data_dir=data_dir, port=free_port(), durable=False)
    server.start()
    try:
        yield PostgresFixture(server)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[LocalNats]:
    """A real nats-server with JetStream for the whole test session (tests may stop/start it)."""
    data_dir = _server_dir("nats")
    server = LocalNats(data_dir=data_dir, port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

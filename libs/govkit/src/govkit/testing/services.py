"""Helpers for integration tests of a service: its database provisioned and migrated, real roles."""

from __future__ import annotations

from dataclasses import dataclass

from govkit.bootstrap import ServiceSpec
from govkit.db import ServiceDatabase, provision_service_database
from govkit.migrations import alembic_config, upgrade_async
from govkit.testing.plugin import PostgresFixture

APP_PASSWORD = "test-app"  # noqa: S105 - throw-away test cluster on loopback
OWNER_PASSWORD = "test-owner"  # noqa: S105


@dataclass(frozen=True)
class ServiceDb:
    """URLs of a provisioned, migrated service database."""

    names: ServiceDatabase
    app_url: str
    owner_url: str
    admin_url: str


async def prepare_service_db(pg: PostgresFixture, spec: ServiceSpec) -> ServiceDb:
    """Provision the service's database and roles (idempotent) and migrate it to head."""
    names = await provision_service_database(
        pg.server.dsn(), spec.name, owner_password=OWNER_PASSWORD, app_password=APP_PASSWORD
    )
    owner_url = pg.server.url(names.database, user=names.owner_role, password=OWNER_PASSWORD)
    await upgrade_async(
        alembic_config(
            script_location=spec.migrations_dir, url=owner_url, schema=spec.name, metadata=spec.metadata
        )
    )
    return ServiceDb(
        names=names,
        app_url=pg.server.url(names.database, user=names.app_role, password=APP_PASSWORD),
        owner_url=owner_url,
        admin_url=pg.server.url(names.database),
    )


_prepared: dict[str, ServiceDb] = {}


async def service_db(pg: PostgresFixture, spec: ServiceSpec) -> ServiceDb:
    """`prepare_service_db` once per test session and service."""
    # Tests run one at a time, so a plain cache is enough.
    if spec.name not in _prepared:
        _prepared[spec.name] = await prepare_service_db(pg, spec)
    return _prepared[spec.name]

"""The composition root every service shares: settings → engine → unit of work → relay,
consumers → REST app and gRPC server → one process.

A service describes itself with a :class:`ServiceSpec` (its tables, routers, servicers and
consumers); :func:`build_process` wires the infrastructure around it. Nothing here runs at
import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from govkit.audit import TABLE_NAME as AUDIT_TABLE
from govkit.audit import AuditSealer
from govkit.auth import AuthInterceptor, TokenVerifier
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.events.consumer import EventConsumer
from govkit.events.nats import NatsConnection, ensure_stream
from govkit.events.outbox import outbox_writer
from govkit.events.relay import OutboxRelay, asyncpg_dsn
from govkit.events.tables import EventTables
from govkit.grpckit import GrpcServer, ServicerRegistrar, create_server
from govkit.migrations import alembic_config, upgrade_async
from govkit.runtime import ServiceProcess
from govkit.settings import ServiceSettings
from govkit.web import create_app

log = logging.getLogger(__name__)


@dataclass
class Infrastructure:
    """The per-process resources a service's adapters use."""

    settings: ServiceSettings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    nats: NatsConnection
    relay: OutboxRelay
    tables: EventTables
    verifier: TokenVerifier | None = None
    sealer: AuditSealer | None = None


@dataclass
class ServiceSpec:
    """What makes one service different from another."""

    name: str  # "intake"
    title: str
    metadata: MetaData
    tables: EventTables
    migrations_dir: Path
    routers: Sequence[APIRouter]
    grpc_service_names: Sequence[str]
    grpc_servicers: Callable[[Infrastructure], Sequence[tuple[ServicerRegistrar, Any]]]
    consumers: Callable[[Infrastructure], Sequence[EventConsumer]] = lambda _infra: ()
    # Contexts whose streams this service publishes to (created idempotently at start).
    publishes_to: Sequence[str] = field(default_factory=list)
    # Contexts whose streams it consumes (created too, so a consumer can bind before the publisher runs).
    consumes_from: Sequence[str] = field(default_factory=list)
    # Channel options of the gRPC server, e.g. ("grpc.max_receive_message_length", n) for uploads.
    grpc_options: Sequence[tuple[str, Any]] = field(default_factory=list)


def build_infrastructure(
    settings: ServiceSettings, tables: EventTables, metadata: MetaData | None = None
) -> Infrastructure:
    """Engine, unit of work, NATS connection, relay and audit sealer (no I/O yet)."""
    url = settings.database_url.get_secret_value()
    engine = create_engine(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    nats = NatsConnection(url=settings.nats_url, name=settings.service_name)
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats, listen_dsn=asyncpg_dsn(url))
    audit = None if metadata is None else metadata.tables.get(f"{tables.outbox.schema}.{AUDIT_TABLE}")
    sealer = None if audit is None else AuditSealer(engine=engine, table=audit)
    uow = UnitOfWorkFactory(
        engine=engine,
        outbox_writer=outbox_writer(tables, origin=relay.origin),
        after_commit=[relay.wake],
        after_audit=[sealer.wake] if sealer else [],
    )
    return Infrastructure(
        settings=settings, engine=engine, uow=uow, nats=nats, relay=relay, tables=tables, sealer=sealer
    )


async def migrate(settings: ServiceSettings, spec: ServiceSpec) -> None:
    """Bring the schema to head with the owner role (Alembic)."""
    owner_url = settings.migrations_database_url.get_secret_value()
    if not owner_url:
        log.info("%s: no migrations URL; assuming the schema is managed elsewhere", spec.name)
        return
    await upgrade_async(
        alembic_config(
            script_location=spec.migrations_dir, url=owner_url, schema=spec.name, metadata=spec.metadata
        )
    )


def build_process(settings: ServiceSettings, spec: ServiceSpec) -> ServiceProcess:
    """Wire one service process: REST + gRPC + relay + consumers."""
    from govkit import telemetry

    infra = build_infrastructure(settings, spec.tables, spec.metadata)
    telemetry.setup_telemetry(
        service_name=settings.service_name,
        exporter=settings.otel_exporter,
        otlp_endpoint=settings.otel_endpoint,
        sample_ratio=settings.otel_sample_ratio,
    )
    telemetry.instrument_sqlalchemy([infra.engine])
    holder: dict[str, GrpcServer] = {}

    def verifier() -> TokenVerifier:
        if infra.verifier is None:
            infra.verifier = TokenVerifier(
                server_url=settings.oidc_server_url,
                realm=settings.oidc_realm,
                audience=settings.oidc_client_id,
            )
        return infra.verifier

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.token_verifier = verifier()
        yield

    async def db_ready() -> bool:
        async with infra.engine.connect() as conn:
            await conn.execute(text("select 1"))
        return True

    async def nats_ready() -> bool:
        return infra.nats.is_connected

    app = create_app(title=spec.title, lifespan=lifespan, readiness=[db_ready, nats_ready])
    app.state.uow = infra.uow
    app.state.infra = infra
    for router in spec.routers:
        app.include_router(router)
    telemetry.instrument_fastapi(app)

    async def on_start() -> None:
        if settings.run_migrations:
            await migrate(settings, spec)
        infra.nats.start()
        holder["grpc"] = await create_server(
            servicers=spec.grpc_servicers(infra),
            service_names=spec.grpc_service_names,
            port=settings.grpc_port,
            host=settings.grpc_host,
            interceptors=[*telemetry.grpc_server_interceptors(), AuthInterceptor(verifier())],
            options=spec.grpc_options,
        )
        process.grpc_server = holder["grpc"]

    async def ensure_streams() -> None:
        js = await infra.nats.jetstream()
        for context in {*spec.publishes_to, *spec.consumes_from}:
            await ensure_stream(js, context)

    async def streams_then_consume() -> None:
        await ensure_streams()
        consumers = spec.consumers(infra)
        from govkit.events.consumer import run_all

        await run_all([infra.relay.run, *(c.run for c in consumers)])

    async def seal_audit() -> None:
        if infra.sealer is not None:
            await infra.sealer.run()

    async def on_stop() -> None:
        await infra.relay.close()
        await infra.nats.close()
        if infra.verifier is not None:
            await infra.verifier.aclose()
        await infra.engine.dispose()

    process = ServiceProcess(
        name=spec.name,
        app=app,
        http_host=settings.http_host,
        http_port=settings.http_port,
        workers=[streams_then_consume, seal_audit],
        on_start=[on_start],
        on_stop=[on_stop],
    )
    return process


def infrastructure_only_spec(
    *, name: str, title: str, metadata: MetaData, tables: EventTables, migrations_dir: Path
) -> ServiceSpec:
    """A service that so far only boots: migrates its event tables, serves health, publishes nothing."""
    return ServiceSpec(
        name=name,
        title=title,
        metadata=metadata,
        tables=tables,
        migrations_dir=migrations_dir,
        routers=[],
        grpc_service_names=[],
        grpc_servicers=lambda _infra: [],
        publishes_to=[name],
    )

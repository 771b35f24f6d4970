"""intake's composition root: wiring only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from govkit.audit_trail import SERVICE_NAME as AUDIT_TRAIL
from govkit.audit_trail import audit_trail_servicer
from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.clock import service_clock
from govkit.db import UnitOfWorkFactory
from govkit.objectstore import LocalObjectStore, ObjectStore, object_store_from_settings
from govkit.policy import PolicyRegistry
from govkit.runtime import ServiceProcess
from govkit.settings import secret_value
from govproj.intake.v1 import intake_pb2_grpc
from intake import service
from intake.adapters.audit_scope import project_audit_scope
from intake.adapters.orm import audit, events, metadata
from intake.adapters.screening_index import ScreeningIndexes
from intake.adapters.seed_file import load_seed_file
from intake.entrypoints import consumers, rest
from intake.entrypoints.grpc import (
    SERVICE_NAMES,
    CallServicer,
    DeclarationServicer,
    ExistingSystemServicer,
    OrgServicer,
)
from intake.settings import IntakeSettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# gRPC frames carry an upload whole; leave room for the request's other fields.
_GRPC_MESSAGE_OVERHEAD = 1024 * 1024


def object_store(settings: IntakeSettings) -> ObjectStore | None:
    """The configured object store; in dev without one, a local folder; otherwise none (uploads 503)."""
    if settings.object_store_url:
        return object_store_from_settings(
            settings.object_store_url,
            access_key=secret_value(settings.object_store_access_key),
            secret_key=secret_value(settings.object_store_secret_key),
        )
    if settings.env == "dev":
        return LocalObjectStore(settings.dev_objects_dir.resolve())
    log.warning("intake: no GOVPROJ_INTAKE_OBJECT_STORE_URL; material uploads are unavailable")
    return None


def make_deps(settings: IntakeSettings, uow: UnitOfWorkFactory) -> service.IntakeDeps:
    """The use cases' dependencies from settings (policy packs are loaded here, once)."""
    return service.IntakeDeps(
        uow=uow,
        policies=PolicyRegistry.load(settings.policies_dir),
        screening=ScreeningIndexes(),
        store=object_store(settings),
        max_upload_bytes=settings.max_upload_bytes,
        allowed_upload_types=tuple(settings.allowed_upload_types),
        timezone=ZoneInfo(settings.timezone),
        clock=service_clock(env=settings.env, dev_clock_file=settings.dev_clock_file),
    )


def spec(holder: dict[str, Any] | None = None, settings: IntakeSettings | None = None) -> ServiceSpec:
    """What the intake service consists of (``holder["deps"]`` is set by :func:`build`)."""
    deps_holder: dict[str, Any] = holder if holder is not None else {}
    max_upload = (settings or IntakeSettings()).max_upload_bytes

    def servicers(_infra: Infrastructure) -> list[tuple[Any, Any]]:
        deps: service.IntakeDeps = deps_holder["deps"]
        return [
            (intake_pb2_grpc.add_DeclarationServiceServicer_to_server, DeclarationServicer(deps)),
            (intake_pb2_grpc.add_OrgServiceServicer_to_server, OrgServicer(deps)),
            (intake_pb2_grpc.add_CallServiceServicer_to_server, CallServicer(deps)),
            (intake_pb2_grpc.add_ExistingSystemServiceServicer_to_server, ExistingSystemServicer(deps)),
            audit_trail_servicer(uow=deps.uow, table=audit, scope=project_audit_scope, service="intake"),
        ]

    return ServiceSpec(
        name="intake",
        title="govproj intake 项目申报",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=rest.routers,
        grpc_service_names=[*SERVICE_NAMES, AUDIT_TRAIL],
        grpc_servicers=servicers,
        consumers=consumers.consumers,
        publishes_to=["intake"],
        consumes_from=["review"],
        grpc_options=[("grpc.max_receive_message_length", max_upload + _GRPC_MESSAGE_OVERHEAD)],
    )


def build(settings: IntakeSettings | None = None) -> ServiceProcess:
    """The intake process, from settings read from the environment."""
    settings = settings or IntakeSettings()
    holder: dict[str, Any] = {}
    process = build_process(settings, spec(holder, settings))
    infra: Infrastructure = process.app.state.infra
    deps = make_deps(settings, infra.uow)
    holder["deps"] = deps
    process.app.state.intake = deps

    async def seed_dev_registry() -> None:
        # Runs after the migrations (the first on_start hook): demo tenants and orgs for `make dev`.
        if settings.env != "dev":
            return
        if not settings.seed_file.exists():
            log.warning("intake: dev seed file %s not found; no tenants or orgs loaded", settings.seed_file)
            return
        added = await service.seed_registry(deps=deps, tenants=load_seed_file(settings.seed_file))
        log.info("intake: dev seed %s: %d tenants/orgs added", settings.seed_file, added)

    process.on_start.append(seed_dev_registry)
    return process


__all__ = ["Infrastructure", "build", "make_deps", "spec"]

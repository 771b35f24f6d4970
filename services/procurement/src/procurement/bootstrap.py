"""procurement's composition root: wiring only."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from govkit.audit_trail import SERVICE_NAME as AUDIT_TRAIL
from govkit.audit_trail import audit_trail_servicer
from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.clock import service_clock
from govkit.errors import AppError, ErrorKind
from govkit.objectstore import LocalObjectStore, ObjectStore, StoredObject, object_store_from_settings
from govkit.policy import PolicyRegistry
from govkit.runtime import ServiceProcess
from govkit.settings import secret_value
from procurement.adapters.audit_scope import project_audit_scope
from procurement.adapters.orm import audit, events, metadata
from procurement.entrypoints import consumers, grpc, rest
from procurement.service import ProcurementDeps
from procurement.service.sweep import SweepWorker
from procurement.settings import ProcurementSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


class UnconfiguredObjectStore:
    """Stands in when production has no object store: filing files cannot be kept (503)."""

    def _refuse(self) -> AppError:
        return AppError(
            code="OBJECT_STORE_NOT_CONFIGURED",
            message="文件存储尚未配置，暂不能上传或下载备案材料，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
        )

    async def put(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        """Refused."""
        raise self._refuse()

    async def get(self, key: str) -> bytes:
        """Refused."""
        raise self._refuse()

    async def exists(self, key: str) -> bool:
        """Nothing is stored."""
        return False

    async def delete(self, key: str) -> None:
        """Nothing to delete."""


def object_store(settings: ProcurementSettings) -> ObjectStore:
    """The configured store; a temp folder in dev and test; a refusing stand-in in production."""
    if settings.object_store_url:
        return object_store_from_settings(
            settings.object_store_url,
            access_key=secret_value(settings.object_store_access_key),
            secret_key=secret_value(settings.object_store_secret_key),
        )
    if settings.env != "production":
        return LocalObjectStore(Path(tempfile.gettempdir()) / f"govproj-{settings.service_name}" / "objects")
    log.warning("procurement: no GOVPROJ_PROCUREMENT_OBJECT_STORE_URL; filing documents cannot be stored")
    return UnconfiguredObjectStore()


def procurement_deps(settings: ProcurementSettings, infra: Infrastructure) -> ProcurementDeps:
    """The use cases' dependencies from settings and the process's infrastructure."""
    return ProcurementDeps(
        uow=infra.uow,
        policies=PolicyRegistry.load(settings.policies_dir),
        store=object_store(settings),
        clock=service_clock(env=settings.env, dev_clock_file=settings.dev_clock_file),
        calendar=settings.calendar,
        webhook_secret=settings.trading_webhook_secret.get_secret_value(),
        webhook_tolerance_seconds=settings.webhook_tolerance_seconds,
        upload_max_bytes=settings.upload_max_bytes,
    )


@dataclass
class _Wiring:
    """Builds the use cases' dependencies once, when the infrastructure exists."""

    settings: ProcurementSettings
    deps: ProcurementDeps | None = None

    def deps_for(self, infra: Infrastructure) -> ProcurementDeps:
        if self.deps is None:
            self.deps = procurement_deps(self.settings, infra)
        return self.deps


def _spec(wiring: _Wiring) -> ServiceSpec:
    return ServiceSpec(
        name="procurement",
        title="govproj procurement 采购与建设",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=rest.routers,
        grpc_service_names=[*grpc.SERVICE_NAMES, AUDIT_TRAIL],
        grpc_servicers=lambda infra: [
            *grpc.servicers(wiring.deps_for(infra)),
            audit_trail_servicer(
                uow=infra.uow, table=audit, scope=project_audit_scope, service="procurement"
            ),
        ],
        consumers=lambda infra: consumers.consumers_for(infra, wiring.deps_for(infra)),
        publishes_to=["procurement"],
        consumes_from=consumers.CONSUMES_FROM,
    )


def spec(settings: ProcurementSettings | None = None) -> ServiceSpec:
    """What the procurement service consists of."""
    return _spec(_Wiring(settings or ProcurementSettings()))


def build(settings: ProcurementSettings | None = None) -> ServiceProcess:
    """The procurement process: REST, gRPC, relay, consumers and the sweep worker (overdue filings,
    serious delays, old webhook nonces)."""
    wiring = _Wiring(settings or ProcurementSettings())
    process = build_process(wiring.settings, _spec(wiring))
    deps = wiring.deps_for(process.app.state.infra)
    process.app.state.procurement_deps = deps
    process.app.state.webhook_max_bytes = wiring.settings.webhook_max_bytes
    process.workers.append(SweepWorker(deps, interval_seconds=wiring.settings.sweep_interval_seconds).run)
    return process


__all__ = ["build", "procurement_deps", "spec"]

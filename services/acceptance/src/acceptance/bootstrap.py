"""acceptance's composition root: wiring only."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from acceptance.adapters.audit_scope import project_audit_scope
from acceptance.adapters.clients import ReviewExpertClient
from acceptance.adapters.orm import audit, events, metadata
from acceptance.entrypoints import consumers, rest
from acceptance.service import AcceptanceDeps
from acceptance.settings import AcceptanceSettings
from govkit.audit_trail import SERVICE_NAME as AUDIT_TRAIL
from govkit.audit_trail import audit_trail_servicer
from govkit.auth import ServiceTokenProvider
from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.clock import service_clock
from govkit.errors import AppError, ErrorKind
from govkit.objectstore import LocalObjectStore, ObjectStore, StoredObject, object_store_from_settings
from govkit.policy import PolicyRegistry
from govkit.runtime import ServiceProcess
from govkit.settings import secret_value

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
GRPC_ENVELOPE_BYTES = 64 * 1024  # the message's other fields beside the file
log = logging.getLogger(__name__)


class UnconfiguredObjectStore:
    """Stands in when production has no object store: evidence and reports cannot be stored (503)."""

    def _refuse(self) -> AppError:
        return AppError(
            code="OBJECT_STORE_NOT_CONFIGURED",
            message="文件存储尚未配置，暂不能上传验收材料或生成验收报告，请联系管理员。",
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


def object_store(settings: AcceptanceSettings) -> ObjectStore:
    """The configured store; a temp folder in dev and test; a refusing stand-in in production."""
    if settings.object_store_url:
        return object_store_from_settings(
            settings.object_store_url,
            access_key=secret_value(settings.object_store_access_key),
            secret_key=secret_value(settings.object_store_secret_key),
        )
    if settings.env != "production":
        return LocalObjectStore(Path(tempfile.gettempdir()) / f"govproj-{settings.service_name}" / "objects")
    log.warning("acceptance: no GOVPROJ_ACCEPTANCE_OBJECT_STORE_URL; evidence and reports cannot be stored")
    return UnconfiguredObjectStore()


def review_client(settings: AcceptanceSettings) -> ReviewExpertClient:
    """review's expert library, called with acceptance's service-account token."""
    secret = settings.oidc_client_secret.get_secret_value()
    tokens = (
        ServiceTokenProvider(
            server_url=settings.oidc_server_url,
            realm=settings.oidc_realm,
            client_id=settings.oidc_client_id,
            client_secret=secret,
        )
        if secret
        else None
    )
    if tokens is None:
        log.warning("acceptance: no GOVPROJ_ACCEPTANCE_OIDC_CLIENT_SECRET; review will refuse panel draws")
    return ReviewExpertClient(
        target=settings.review_grpc_target, tokens=tokens, timeout_seconds=settings.review_timeout_seconds
    )


def acceptance_deps(settings: AcceptanceSettings, infra: Infrastructure) -> AcceptanceDeps:
    """The use cases' dependencies from settings and the process's infrastructure."""
    return AcceptanceDeps(
        uow=infra.uow,
        policies=PolicyRegistry.load(settings.policies_dir),
        store=object_store(settings),
        panels=review_client(settings),
        calendar=settings.calendar,
        max_upload_bytes=settings.max_upload_bytes,
        clock=service_clock(env=settings.env, dev_clock_file=settings.dev_clock_file),
    )


@dataclass
class _Wiring:
    """Builds the use cases' dependencies once, when the infrastructure exists."""

    settings: AcceptanceSettings
    deps: AcceptanceDeps | None = None

    def deps_for(self, infra: Infrastructure) -> AcceptanceDeps:
        if self.deps is None:
            self.deps = acceptance_deps(self.settings, infra)
        return self.deps


def _spec(wiring: _Wiring) -> ServiceSpec:
    from acceptance.entrypoints import grpc

    return ServiceSpec(
        name="acceptance",
        title="govproj acceptance 验收",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=rest.routers,
        grpc_service_names=[*grpc.SERVICE_NAMES, AUDIT_TRAIL],
        grpc_servicers=lambda infra: [
            *grpc.servicers(wiring.deps_for(infra)),
            audit_trail_servicer(uow=infra.uow, table=audit, scope=project_audit_scope, service="acceptance"),
        ],
        consumers=lambda infra: consumers.consumers_for(infra, wiring.deps_for(infra)),
        publishes_to=["acceptance"],
        consumes_from=["procurement"],
        # An evidence file travels in one RecordEvidence message: room for the largest allowed.
        grpc_options=[
            ("grpc.max_receive_message_length", wiring.settings.max_upload_bytes + GRPC_ENVELOPE_BYTES)
        ],
    )


def spec(settings: AcceptanceSettings | None = None) -> ServiceSpec:
    """What the acceptance service consists of."""
    return _spec(_Wiring(settings or AcceptanceSettings()))


def build(settings: AcceptanceSettings | None = None) -> ServiceProcess:
    """The acceptance process, from settings read from the environment: REST, gRPC, relay and the
    contract.filed consumer."""
    wiring = _Wiring(settings or AcceptanceSettings())
    process = build_process(wiring.settings, _spec(wiring))
    deps = wiring.deps_for(process.app.state.infra)
    process.app.state.acceptance_deps = deps
    if isinstance(deps.panels, ReviewExpertClient):
        process.on_stop.insert(0, deps.panels.aclose)
    return process


__all__ = ["acceptance_deps", "build", "spec"]

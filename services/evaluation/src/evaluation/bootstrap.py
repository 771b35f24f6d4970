"""evaluation's composition root: wiring only."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evaluation.adapters.audit_scope import project_audit_scope
from evaluation.adapters.orm import audit, events, metadata
from evaluation.domain.scoring import parse_grade_bands
from evaluation.entrypoints import consumers, grpc, rest
from evaluation.service import EvaluationDeps
from evaluation.service.portfolio import CONTEXTS
from evaluation.service.sweep import SweepWorker
from evaluation.settings import EvaluationSettings
from govkit.audit_trail import SERVICE_NAME as AUDIT_TRAIL
from govkit.audit_trail import audit_trail_servicer
from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.clock import service_clock
from govkit.errors import AppError, ErrorKind
from govkit.objectstore import LocalObjectStore, ObjectStore, StoredObject, object_store_from_settings
from govkit.policy import PolicyRegistry
from govkit.runtime import ServiceProcess
from govkit.settings import secret_value

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


class UnconfiguredObjectStore:
    """Stands in when production has no object store: evidence cannot be uploaded (503), all else works."""

    def _refuse(self) -> AppError:
        return AppError(
            code="OBJECT_STORE_NOT_CONFIGURED",
            message="文件存储尚未配置，暂不能上传佐证材料，请联系管理员。",
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


def object_store(settings: EvaluationSettings) -> ObjectStore:
    """The configured store; a temp folder in dev and test; a refusing stand-in in production."""
    if settings.object_store_url:
        return object_store_from_settings(
            settings.object_store_url,
            access_key=secret_value(settings.object_store_access_key),
            secret_key=secret_value(settings.object_store_secret_key),
        )
    if settings.env != "production":
        return LocalObjectStore(Path(tempfile.gettempdir()) / f"govproj-{settings.service_name}" / "objects")
    log.warning("evaluation: no GOVPROJ_EVALUATION_OBJECT_STORE_URL; evidence files cannot be uploaded")
    return UnconfiguredObjectStore()


def evaluation_deps(settings: EvaluationSettings, infra: Infrastructure) -> EvaluationDeps:
    """The use cases' dependencies from settings and the process's infrastructure."""
    return EvaluationDeps(
        uow=infra.uow,
        policies=PolicyRegistry.load(settings.policies_dir),
        store=object_store(settings),
        grade_bands=parse_grade_bands(settings.grade_bands),
        calendar=settings.calendar,
        clock=service_clock(env=settings.env, dev_clock_file=settings.dev_clock_file),
    )


@dataclass
class _Wiring:
    """Builds the use cases' dependencies once, when the infrastructure exists."""

    settings: EvaluationSettings
    deps: EvaluationDeps | None = None

    def deps_for(self, infra: Infrastructure) -> EvaluationDeps:
        if self.deps is None:
            self.deps = evaluation_deps(self.settings, infra)
        return self.deps


def _spec(wiring: _Wiring) -> ServiceSpec:
    return ServiceSpec(
        name="evaluation",
        title="govproj evaluation 绩效评价与运维经费",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=rest.routers,
        grpc_service_names=[*grpc.SERVICE_NAMES, AUDIT_TRAIL],
        grpc_servicers=lambda infra: [
            *grpc.servicers(wiring.deps_for(infra), max_upload_bytes=wiring.settings.max_upload_bytes),
            audit_trail_servicer(uow=infra.uow, table=audit, scope=project_audit_scope, service="evaluation"),
        ],
        consumers=lambda infra: consumers.consumers_for(infra, wiring.deps_for(infra)),
        publishes_to=["evaluation"],
        consumes_from=[c for c in CONTEXTS if c != "evaluation"],
        # Evidence files arrive in one message (UploadEvidence): room for the largest plus framing.
        grpc_options=[("grpc.max_receive_message_length", wiring.settings.max_upload_bytes + 64 * 1024)],
    )


def spec(settings: EvaluationSettings | None = None) -> ServiceSpec:
    """What the evaluation service consists of."""
    return _spec(_Wiring(settings or EvaluationSettings()))


def build(settings: EvaluationSettings | None = None) -> ServiceProcess:
    """The evaluation process: REST, gRPC, relay, the portfolio consumers and the sweep worker."""
    wiring = _Wiring(settings or EvaluationSettings())
    process = build_process(wiring.settings, _spec(wiring))
    deps = wiring.deps_for(process.app.state.infra)
    process.app.state.evaluation_deps = deps
    process.app.state.evaluation_max_upload_bytes = wiring.settings.max_upload_bytes
    process.workers.append(SweepWorker(deps, interval_seconds=wiring.settings.sweep_interval_seconds).run)
    return process


__all__ = ["build", "evaluation_deps", "spec"]

"""review's composition root: wiring only."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from govkit.audit_trail import SERVICE_NAME as AUDIT_TRAIL
from govkit.audit_trail import audit_trail_servicer
from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.clock import service_clock
from govkit.errors import AppError, ErrorKind
from govkit.mail import FolderMailer, Mailer, mailer_from_settings
from govkit.objectstore import LocalObjectStore, ObjectStore, StoredObject, object_store_from_settings
from govkit.policy import PolicyRegistry
from govkit.runtime import ServiceProcess
from govkit.settings import secret_value
from review.adapters.audit_scope import project_audit_scope
from review.adapters.orm import audit, events, metadata
from review.entrypoints import consumers, grpc, rest
from review.service import ReviewDeps
from review.service.sweep import SweepWorker
from review.settings import ReviewSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


class UnconfiguredObjectStore:
    """Stands in when production has no object store: documents cannot be issued (503), all else works."""

    def _refuse(self) -> AppError:
        return AppError(
            code="OBJECT_STORE_NOT_CONFIGURED",
            message="文件存储尚未配置，暂不能生成或下载批复文件，请联系管理员。",
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


def _local_root(settings: ReviewSettings) -> Path:
    return Path(tempfile.gettempdir()) / f"govproj-{settings.service_name}"


def object_store(settings: ReviewSettings) -> ObjectStore:
    """The configured store; a temp folder in dev and test; a refusing stand-in in production."""
    if settings.object_store_url:
        return object_store_from_settings(
            settings.object_store_url,
            access_key=secret_value(settings.object_store_access_key),
            secret_key=secret_value(settings.object_store_secret_key),
        )
    if settings.env != "production":
        return LocalObjectStore(_local_root(settings) / "objects")
    log.warning("review: no GOVPROJ_REVIEW_OBJECT_STORE_URL; approval documents cannot be issued")
    return UnconfiguredObjectStore()


def mailer(settings: ReviewSettings) -> Mailer | None:
    """The configured mailer; in dev and test a folder beside the object store (or in temp)."""
    if settings.mailer_url:
        return mailer_from_settings(
            settings.mailer_url,
            username=secret_value(settings.mailer_username),
            password=secret_value(settings.mailer_password),
        )
    if settings.env == "production":
        log.warning("review: no GOVPROJ_REVIEW_MAILER_URL; reminders are in-app only")
        return None
    parts = urlsplit(settings.object_store_url or "")
    if parts.scheme == "file":
        return FolderMailer(Path(unquote(parts.path)).parent.parent / "mail" / settings.service_name)
    return FolderMailer(_local_root(settings) / "mail")


def review_deps(settings: ReviewSettings, infra: Infrastructure) -> ReviewDeps:
    """The use cases' dependencies from settings and the process's infrastructure."""
    return ReviewDeps(
        uow=infra.uow,
        policies=PolicyRegistry.load(settings.policies_dir),
        store=object_store(settings),
        mailer=mailer(settings),
        reminder_lead_workdays=settings.reminder_lead_workdays,
        mail_domain=settings.mail_domain,
        default_criteria_pack=settings.default_criteria_pack,
        calendar=settings.calendar,
        clock=service_clock(env=settings.env, dev_clock_file=settings.dev_clock_file),
    )


@dataclass
class _Wiring:
    """Builds the use cases' dependencies once, when the infrastructure exists."""

    settings: ReviewSettings
    deps: ReviewDeps | None = None

    def deps_for(self, infra: Infrastructure) -> ReviewDeps:
        if self.deps is None:
            self.deps = review_deps(self.settings, infra)
        return self.deps


def _spec(wiring: _Wiring) -> ServiceSpec:
    return ServiceSpec(
        name="review",
        title="govproj review 联审与审批",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=rest.routers,
        grpc_service_names=[*grpc.SERVICE_NAMES, AUDIT_TRAIL],
        grpc_servicers=lambda infra: [
            *grpc.servicers(wiring.deps_for(infra)),
            audit_trail_servicer(uow=infra.uow, table=audit, scope=project_audit_scope, service="review"),
        ],
        consumers=lambda infra: consumers.consumers_for(infra, wiring.deps_for(infra)),
        publishes_to=["review"],
        consumes_from=["intake", "procurement", "evaluation"],
    )


def spec(settings: ReviewSettings | None = None) -> ServiceSpec:
    """What the review service consists of."""
    return _spec(_Wiring(settings or ReviewSettings()))


def build(settings: ReviewSettings | None = None) -> ServiceProcess:
    """The review process, from settings read from the environment: REST, gRPC, relay, consumers
    and the sweep worker (approval expiry, plan-entry lapse, SLA reminders)."""
    wiring = _Wiring(settings or ReviewSettings())
    process = build_process(wiring.settings, _spec(wiring))
    deps = wiring.deps_for(process.app.state.infra)
    process.app.state.review_deps = deps
    process.workers.append(SweepWorker(deps, interval_seconds=wiring.settings.sweep_interval_seconds).run)
    return process


__all__ = ["build", "review_deps", "spec"]

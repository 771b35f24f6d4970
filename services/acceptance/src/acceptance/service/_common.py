"""What every acceptance use case shares: dependencies, the caller's tenant, loading a project or an
acceptance for an action (row lock + expected version → 409), the pack and its answers, auditing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.adapters import repository
from acceptance.adapters.orm import audit
from acceptance.domain.acceptance import Acceptance, ensure_can_read
from acceptance.domain.project import AcceptanceProject
from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, not_found, stale_version
from govkit.objectstore import ObjectStore
from govkit.policy import Pack, PolicyRegistry, PolicyResolutionError, Requirements, evaluate, resolve_pack

PROJECT_LABEL = "验收项目"
ACCEPTANCE_LABEL = "验收记录"
SYSTEM_ACTOR = "system:acceptance"
CHINA = ZoneInfo("Asia/Shanghai")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DrawnExpert:
    """An expert review drew."""

    expert_id: str
    name: str
    org: str


@dataclass(frozen=True)
class DrawResult:
    """What review answers to a draw: the seed, candidates and exclusions (for replay), the experts."""

    seed: str
    candidates: tuple[str, ...]
    excluded: dict[str, str]
    experts: tuple[DrawnExpert, ...]
    reference: str


class PanelDrawer(Protocol):
    """Draws experts from review's library (adapters.clients.ReviewExpertClient over gRPC)."""

    async def draw(
        self,
        *,
        tenant_id: str,
        purpose: str,
        reference_id: str,
        size: int,
        seed: str | None,
        specialty: str | None,
        declaring_orgs: Sequence[str],
        bidders: Sequence[str],
        requested_by: str,
    ) -> DrawResult:
        """Draw ``size`` experts avoiding the building unit's and the contractors' experts; raises
        AppError when review refuses."""
        ...


@dataclass
class AcceptanceDeps:
    """Everything acceptance's use cases need besides their arguments (built in bootstrap)."""

    uow: UnitOfWorkFactory
    policies: PolicyRegistry
    store: ObjectStore
    panels: PanelDrawer
    clock: Callable[[], datetime] = field(default=_utcnow)
    calendar: str = "official"
    max_upload_bytes: int = 50 * 1024 * 1024

    def now(self) -> datetime:
        """The current instant (UTC)."""
        return self.clock()

    def today(self) -> date:
        """Today in China, where every deadline is counted."""
        return self.clock().astimezone(CHINA).date()

    def pack_for(self, tenant_id: str, on: date) -> Pack:
        """The pack governing a tenant on a day; a configuration gap is a clear 503, not a 500."""
        try:
            return resolve_pack(tenant_id, on, registry=self.policies)
        except PolicyResolutionError as exc:
            raise AppError(
                code="POLICY_NOT_CONFIGURED",
                message="该地区尚未配置适用的管理办法，请联系管理员。",
                kind=ErrorKind.UNAVAILABLE,
                details={"tenant": tenant_id, "reason": str(exc)},
            ) from exc

    def pack_of(self, project: AcceptanceProject) -> Pack:
        """The pack the project was contracted under (recorded when it was learned)."""
        return self.policies.get(project.pack_id)

    def requirements(self, project: AcceptanceProject) -> Requirements:
        """The pack's answers for the project's facts."""
        return evaluate(self.pack_of(project), project.facts())


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def require_tenant(principal: Principal) -> str:
    """The caller's tenant; an account without one may not use acceptance."""
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法查看验收信息。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def valid_uuid(value: str, what: str, label: str) -> None:
    """A malformed id is a plain 404 (it names nothing)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=label) from None


async def load_project(
    session: AsyncSession,
    principal: Principal,
    project_id: str,
    *,
    lock: bool = False,
    expected_version: int | None = None,
) -> AcceptanceProject:
    """A project the caller may see (404 otherwise, also across tenants and units), optionally
    row-locked at the version the caller read (409 when it moved)."""
    valid_uuid(project_id, "project", PROJECT_LABEL)
    found = await repository.get_project(session, project_id, lock=lock)
    if found is None or not ensure_can_read(principal, org_id=found.org_id):
        raise not_found("project", project_id, label_zh=PROJECT_LABEL)
    if expected_version is not None and found.version != expected_version:
        raise stale_version("project", expected=expected_version, label_zh=PROJECT_LABEL)
    return found


async def load_acceptance(
    session: AsyncSession,
    principal: Principal,
    acceptance_id: str,
    *,
    lock: bool = False,
    expected_version: int | None = None,
) -> tuple[Acceptance, AcceptanceProject]:
    """An acceptance the caller may see and its project (locked together when ``lock``)."""
    valid_uuid(acceptance_id, "acceptance", ACCEPTANCE_LABEL)
    found = await repository.get_acceptance(session, acceptance_id, lock=lock)
    if found is None:
        raise not_found("acceptance", acceptance_id, label_zh=ACCEPTANCE_LABEL)
    project = await repository.get_project(session, found.project_id, lock=lock)
    if project is None or not ensure_can_read(principal, org_id=project.org_id):
        raise not_found("acceptance", acceptance_id, label_zh=ACCEPTANCE_LABEL)
    if expected_version is not None and found.version != expected_version:
        raise stale_version("acceptance", expected=expected_version, label_zh=ACCEPTANCE_LABEL)
    return found, project


async def save_project(
    session: AsyncSession, deps: AcceptanceDeps, changed: AcceptanceProject, *, read: AcceptanceProject
) -> AcceptanceProject:
    """Store a change made to the project as read (its row is locked, so only a bug makes this stale)."""
    stored = await repository.save_project(session, changed, expected_version=read.version, at=deps.now())
    if stored is None:
        raise stale_version("project", expected=read.version, label_zh=PROJECT_LABEL)
    return stored


async def save_acceptance(session: AsyncSession, changed: Acceptance, *, read: Acceptance) -> Acceptance:
    """Store a change made to the acceptance as read."""
    stored = await repository.save_acceptance(session, changed, expected_version=read.version)
    if stored is None:
        raise stale_version("acceptance", expected=read.version, label_zh=ACCEPTANCE_LABEL)
    return stored


async def audit_change(
    session: AsyncSession,
    deps: AcceptanceDeps,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    from_state: str | None,
    to_state: str | None,
    citations: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit record with the citations of the decision to the tenant's chain."""
    await record_audit(
        session,
        audit,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        citations=sorted(set(citations)),
        details=details or {},
        occurred_at=deps.now(),
    )

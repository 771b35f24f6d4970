"""What every procurement use case shares: dependencies, the caller's tenant, loading a project
the caller may see (row lock + expected version → 409), the pack and its answers, auditing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.events import Envelope
from govkit.events.outbox import outbox_writer
from govkit.objectstore import ObjectStore
from govkit.policy import (
    Pack,
    PolicyRegistry,
    PolicyResolutionError,
    Requirements,
    evaluate,
    obligations,
    resolve_pack,
)
from procurement.adapters import repository
from procurement.adapters.orm import audit
from procurement.adapters.orm import events as event_tables
from procurement.domain import project as rules
from procurement.domain.project import Project

LABEL = "项目"
SYSTEM_ACTOR = "system:procurement"
CHINA = ZoneInfo("Asia/Shanghai")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ProcurementDeps:
    """Everything the use cases need besides their arguments (built in bootstrap)."""

    uow: UnitOfWorkFactory
    policies: PolicyRegistry
    store: ObjectStore
    clock: Callable[[], datetime] = field(default=_utcnow)
    # The webhook's signature window and nonces are security, not domain time: they keep the real
    # clock when a dev clock moves the domain (as tokens do), or every real sender would be stale.
    wall_clock: Callable[[], datetime] = field(default=_utcnow)
    calendar: str = "official"
    webhook_secret: str = ""
    webhook_tolerance_seconds: int = 300
    upload_max_bytes: int = 20 * 1024 * 1024

    def now(self) -> datetime:
        """The current instant (UTC)."""
        return self.clock()

    def wall_now(self) -> datetime:
        """The real current instant (UTC), for the webhook's timestamps and nonces."""
        return self.wall_clock()

    def today(self) -> date:
        """Today in China, where every deadline is counted."""
        return self.clock().astimezone(CHINA).date()

    def pack_for(self, tenant_id: str, on: date) -> Pack:
        """The pack governing a tenant on a day; a configuration gap is a clear 503."""
        try:
            return resolve_pack(tenant_id, on, registry=self.policies)
        except PolicyResolutionError as exc:
            raise AppError(
                code="POLICY_NOT_CONFIGURED",
                message="该地区尚未配置适用的管理办法，请联系管理员。",
                kind=ErrorKind.UNAVAILABLE,
                details={"tenant": tenant_id, "reason": str(exc)},
            ) from exc

    def project_pack(self, project: Project) -> Pack:
        """The pack the project was approved under (recorded from the approval)."""
        if project.pack_id and project.pack_id in self.policies.packs:
            return self.policies.get(project.pack_id)
        return self.pack_for(project.tenant_id, project.approved_on)

    def requirements(self, project: Project, **extra: Any) -> Requirements:
        """The pack's contract keys for the project's facts (plus e.g. the contract amount)."""
        return evaluate(self.project_pack(project), {**project.policy_facts(), **extra})

    def obligations(self, project: Project, code: str) -> list[dict[str, Any]]:
        """The pack's obligations with that code."""
        return obligations(self.project_pack(project), code)


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def require_tenant(principal: Principal) -> str:
    """The caller's tenant; an account without one may not use procurement."""
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法办理采购与建设业务。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def valid_uuid(value: str, what: str, label: str = LABEL) -> None:
    """A malformed id is a plain 404 (it names nothing)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=label) from None


def cite_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The citations of some obligations, sorted, without duplicates."""
    return sorted({c for row in rows for c in row["cite"]})


def sorted_cite(*groups: Sequence[str]) -> list[str]:
    """Citations of several rules, sorted, without duplicates."""
    return sorted({c for group in groups for c in group})


async def load_project(
    session: AsyncSession,
    principal: Principal,
    declaration_id: str,
    *,
    lock: bool = False,
    expected_version: int | None = None,
) -> Project:
    """A project the caller may see (404 otherwise, also across tenants and units)."""
    valid_uuid(declaration_id, "project")
    found = await repository.get_project(session, declaration_id, lock=lock)
    if found is None or not rules.can_read(
        tenant=principal.tenant, org=principal.org, roles=principal.roles, project=found
    ):
        raise not_found("project", declaration_id, label_zh=LABEL)
    if expected_version is not None and found.version != expected_version:
        raise stale_version("project", expected=expected_version, label_zh=LABEL)
    return found


def ensure_unit(principal: Principal, project: Project) -> None:
    """Filings, progress and payments are the building unit's (its applicants and head)."""
    if principal.org != project.org_id or not principal.has_role(*rules.UNIT):
        raise forbidden("procurement.unit")


def ensure_bureau(principal: Principal) -> None:
    """Suspension, termination and the trading center are the bureau's."""
    if not principal.has_role(*rules.BUREAU):
        raise forbidden("procurement.bureau")


async def save_project(session: AsyncSession, changed: Project, *, read: Project) -> Project:
    """Store a change made to the project as read (its row is locked, so only a bug makes this stale)."""
    stored = await repository.save_project(session, changed, expected_version=read.version)
    if stored is None:
        raise stale_version("project", expected=read.version, label_zh=LABEL)
    return stored


async def audit_event(
    session: AsyncSession,
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
    """Append an audit record (in the use case's transaction)."""
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
        citations=list(citations),
        details=details or {},
    )


async def emit_in_consumer(session: AsyncSession, *events: Envelope) -> None:
    """Write events to the outbox in a consumer's transaction (the consumer's session is not a unit
    of work; the relay publishes them after the commit, woken by the outbox's NOTIFY)."""
    await outbox_writer(event_tables)(session, list(events))

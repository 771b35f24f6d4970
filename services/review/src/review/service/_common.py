"""What every review use case shares: dependencies, the caller's tenant, loading a case for an
action (row lock + expected version → 409), the pack and facts of a case, auditing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import AuditEntry, record_audits
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory, set_tenant
from govkit.errors import AppError, ErrorKind, not_found, stale_version
from govkit.mail import Mailer
from govkit.objectstore import ObjectStore
from govkit.policy import Pack, PolicyRegistry, PolicyResolutionError, get_tenant, resolve_pack
from review.adapters import repository
from review.adapters.orm import audit
from review.domain import case as rules
from review.domain.case import DEPARTMENTS, ReviewCase

LABEL = "审查案件"
SYSTEM_ACTOR = "system:review"
CHINA = ZoneInfo("Asia/Shanghai")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReviewDeps:
    """Everything review's use cases need besides their arguments (built in bootstrap)."""

    uow: UnitOfWorkFactory
    policies: PolicyRegistry
    store: ObjectStore
    mailer: Mailer | None = None
    clock: Callable[[], datetime] = field(default=_utcnow)
    reminder_lead_workdays: int = 1
    mail_domain: str = "govproj.localhost"
    default_criteria_pack: str | None = "qiaokou-2022"
    calendar: str = "official"

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

    def case_pack(self, case: ReviewCase) -> Pack:
        """The pack a case is reviewed under (recorded when it opened)."""
        if case.pack_id and case.pack_id in self.policies.packs:
            return self.policies.get(case.pack_id)
        return self.pack_for(case.tenant_id, case.opened_at.astimezone(CHINA).date())

    def tenant_level(self, tenant_id: str) -> str | None:
        """city / county, for the ``tenant_level`` fact."""
        try:
            return get_tenant(tenant_id, registry=self.policies).level
        except PolicyResolutionError:
            return None

    def default_pack(self) -> Pack | None:
        """The pack whose criteria a pack without criteria borrows (qiaokou-2022 §18 by default)."""
        if self.default_criteria_pack and self.default_criteria_pack in self.policies.packs:
            return self.policies.get(self.default_criteria_pack)
        return None


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def require_tenant(principal: Principal) -> str:
    """The caller's tenant; an account without one may not use review."""
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法查看审查案件。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def valid_uuid(value: str, what: str, label: str = LABEL) -> None:
    """A malformed id is a plain 404 (it names nothing)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=label) from None


def departments_of(principal: Principal) -> list[str]:
    """The opinion departments the caller speaks for."""
    return sorted(r for r in principal.roles if r in DEPARTMENTS)


def expert_name(principal: Principal) -> str | None:
    """The expert login (experts see the cases they were drawn for)."""
    return principal.username if principal.has_role("expert") else None


async def involved(session: AsyncSession, principal: Principal, case: ReviewCase) -> bool:
    """A department of the caller's tenant given a task on the case or asked about it, or an expert
    drawn for it."""
    if principal.tenant is None:
        return False
    return await repository.involvement(
        session,
        case.id,
        tenant=principal.tenant,
        departments=departments_of(principal),
        expert_username=expert_name(principal),
    )


async def load_visible(
    session: AsyncSession, principal: Principal, case_id: str, *, lock: bool = False
) -> ReviewCase:
    """A case the caller may see (404 otherwise, also across tenants and units)."""
    valid_uuid(case_id, "case")
    found = await repository.get(session, case_id, lock=lock)
    if found is None:
        raise not_found("case", case_id, label_zh=LABEL)
    if not rules.can_read(principal, found, involved=await involved(session, principal, found)):
        raise not_found("case", case_id, label_zh=LABEL)
    return found


async def load_for_action(
    session: AsyncSession, principal: Principal, case_id: str, expected_version: int | None
) -> ReviewCase:
    """The case, row-locked for the rest of the transaction, at the version the caller read.

    Two reviewers acting on the same case at the same moment: the second waits for the first's
    row lock, then finds the version moved and gets 409.
    """
    case = await load_visible(session, principal, case_id, lock=True)
    if expected_version is not None and case.version != expected_version:
        raise stale_version("case", expected=expected_version, label_zh=LABEL)
    return case


async def save_case(session: AsyncSession, changed: ReviewCase, *, read: ReviewCase) -> ReviewCase:
    """Store a change made to the case as read (its row is locked, so only a bug makes this stale)."""
    stored = await repository.save_case(session, changed, expected_version=read.version)
    if stored is None:
        raise stale_version("case", expected=read.version, label_zh=LABEL)
    return stored


def case_audit_entry(
    *,
    actor: str,
    session_tenant: str,
    case: ReviewCase,
    action: str,
    entity_type: str = "review_case",
    entity_id: str | None = None,
    from_state: str | None,
    to_state: str | None,
    citations: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An audit record about a case (or one of its parts), naming the case and the acting tenant."""
    return AuditEntry(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id or case.id,
        from_state=from_state,
        to_state=to_state,
        citations=list(citations),
        details={**(details or {}), "case_id": case.id, "acting_tenant": session_tenant},
    )


async def record_case_audits(
    session: AsyncSession, *, session_tenant: str, case: ReviewCase, entries: Sequence[AuditEntry]
) -> None:
    """Append audit records to the case's own tenant's chain, in one statement.

    When the city acts on a delegated case the session is bound to the city; the records belong to
    the county's chain (its auditors must see who reviewed their case), so the transaction is bound
    to the county for this insert and back to the city right after.
    """
    switch = case.tenant_id != session_tenant
    if switch:
        await set_tenant(session, case.tenant_id)
    try:
        await record_audits(session, audit, tenant_id=case.tenant_id, entries=entries)
    finally:
        if switch:
            await set_tenant(session, session_tenant)


async def audit_case(
    session: AsyncSession,
    *,
    actor: str,
    session_tenant: str,
    case: ReviewCase,
    action: str,
    entity_type: str = "review_case",
    entity_id: str | None = None,
    from_state: str | None,
    to_state: str | None,
    citations: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit record to the case's own tenant's chain (see :func:`record_case_audits`)."""
    entry = case_audit_entry(
        actor=actor,
        session_tenant=session_tenant,
        case=case,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        citations=citations,
        details=details,
    )
    await record_case_audits(session, session_tenant=session_tenant, case=case, entries=[entry])


def case_facts(deps: ReviewDeps, case: ReviewCase, *, planned: bool = False) -> dict[str, Any]:
    """Policy facts of a case: the declaration's, with the planned budget once the case is planned."""
    level = deps.tenant_level(case.tenant_id)
    amount = case.plan_budget if planned and case.plan_budget is not None else case.amount
    if case.declaration is None:
        facts: dict[str, Any] = {"amount": amount}
        if level:
            facts["tenant_level"] = level
        return facts
    return case.declaration.facts(tenant_level=level, amount=amount)


def sorted_cite(*groups: Sequence[str]) -> list[str]:
    """Citations of several rules, sorted, without duplicates."""
    return sorted({c for group in groups for c in group})

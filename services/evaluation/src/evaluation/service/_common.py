"""What every evaluation use case shares: dependencies, the caller's tenant and roles, the pack of
a tenant, the rules it asks the pack, auditing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters.orm import audit
from evaluation.domain.evaluation import window
from evaluation.domain.scoring import GradeBand
from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, forbidden, not_found
from govkit.objectstore import ObjectStore
from govkit.policy import Pack, PolicyRegistry, PolicyResolutionError, get_tenant, resolve_pack
from govkit.policy.evaluate import Requirement, Requirements, evaluate, obligations

CHINA = ZoneInfo("Asia/Shanghai")
SYSTEM_ACTOR = "system:evaluation"

BUREAU = ("bureau_reviewer", "bureau_head")
FINANCE = ("finance",)
READERS = (*BUREAU, *FINANCE, "auditor", "tenant_admin", "platform_admin")
UNIT = ("applicant", "unit_head")
EVALUATOR = ("evaluator",)
PLATFORM_ADMIN = ("platform_admin",)
# The rules of a pack that evaluation asks do not depend on the project's amount; the facts
# contract requires one, so a neutral amount is passed.
_NEUTRAL_FACTS = {"amount": Decimal(0)}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class EvaluationDeps:
    """Everything the use cases need besides their arguments (built in bootstrap)."""

    uow: UnitOfWorkFactory
    policies: PolicyRegistry
    store: ObjectStore
    grade_bands: tuple[GradeBand, ...]
    clock: Callable[[], datetime] = field(default=_utcnow)
    calendar: str = "official"
    _rules_cache: dict[str, Requirements] = field(default_factory=dict, repr=False)

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

    def rules(self, pack: Pack) -> Requirements:
        """The pack's contract keys (evaluation's do not depend on the project's facts)."""
        found = self._rules_cache.get(pack.id)
        if found is None:
            found = self._rules_cache[pack.id] = evaluate(pack, _NEUTRAL_FACTS)
        return found

    def rule(self, pack: Pack, key: str) -> Requirement:
        """One contract key of the pack."""
        return self.rules(pack)[key]

    def obligation(self, pack: Pack, code: str) -> dict[str, Any] | None:
        """The pack's obligation of that code, or None."""
        found = obligations(pack, code)
        return found[0] if found else None

    def acceptance_pack(self, tenant_id: str, accepted_on: date) -> Pack | None:
        """The pack an accepted project is evaluated under: the one in force on the acceptance
        day, or for a project accepted before any of the tenant's packs, the first that came into
        force afterwards (a fixed answer, so a rebuild on another day folds the same window)."""
        try:
            return resolve_pack(tenant_id, accepted_on, registry=self.policies)
        except PolicyResolutionError:
            pass
        try:
            listed = [self.policies.packs[p] for p in get_tenant(tenant_id, registry=self.policies).packs]
        except (PolicyResolutionError, KeyError):
            return None
        later = sorted(p.effective_from for p in listed if p.effective_from > accepted_on)
        for start in later:
            try:
                return resolve_pack(tenant_id, start, registry=self.policies)
            except PolicyResolutionError:
                continue
        return None

    def window_for(self, tenant_id: str, accepted_on: date) -> tuple[date, date] | None:
        """The self-evaluation window of the project's pack (the portfolio fold's)."""
        pack = self.acceptance_pack(tenant_id, accepted_on)
        if pack is None:
            return None
        req = self.rule(pack, "self_evaluation_window_months")
        win = window(accepted_on, req.value, tuple(req.cite))
        return (win.opens_on, win.closes_on) if win else None

    def configured_tenants(self) -> list[str]:
        """The tenants of tenants.yaml (RLS: each is swept in its own transactions)."""
        if self.policies.tenants is None:
            return []
        return sorted(self.policies.tenants.tenants)


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def require_tenant(principal: Principal) -> str:
    """The caller's tenant; an account without one may not use evaluation."""
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法使用绩效评价。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def require(principal: Principal, *roles: str, action: str) -> None:
    """403 unless the caller holds one of ``roles``."""
    if not principal.has_role(*roles):
        raise forbidden(action)


def valid_uuid(value: str, what: str, label: str) -> None:
    """A malformed id is a plain 404 (it names nothing)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=label) from None


def unit_scope(principal: Principal) -> str | None:
    """The org a unit user is limited to; None for those who see the whole tenant."""
    if principal.has_role(*READERS):
        return None
    if principal.has_role(*UNIT) and principal.org:
        return principal.org
    raise forbidden("evaluation.read")


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
    at: datetime | None = None,
) -> None:
    """Append an audit record to the tenant's chain, in the use case's transaction."""
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
        occurred_at=at,
    )


def sorted_cite(*groups: Sequence[str]) -> list[str]:
    """Citations of several rules, sorted, without duplicates."""
    return sorted({c for group in groups for c in group})

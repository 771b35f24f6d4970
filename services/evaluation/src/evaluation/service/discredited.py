"""The discredited list (lhasa §22): add with grounds and period, remove, look up; every change is
published as ``discredited.changed`` so review's expert draws and procurement's checks refuse the
subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from evaluation.adapters import repository
from evaluation.domain import discredited as rules
from evaluation.domain.discredited import DiscreditedEntry, Scope, SubjectKind
from evaluation.service import events
from evaluation.service._common import (
    BUREAU,
    PLATFORM_ADMIN,
    READERS,
    EvaluationDeps,
    audit_event,
    new_id,
    require,
    require_tenant,
    valid_uuid,
)
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found, stale_version

LABEL = "失信名单记录"
OBLIGATION = "discredited_list"


@dataclass(frozen=True)
class EntryCreate:
    """What the bureau (or a platform admin, for the platform's list) enters."""

    scope: Scope
    subject_kind: SubjectKind
    credit_code: str
    expert_id: str
    name: str
    grounds: str
    period_from: date
    period_until: date | None


def _cite(deps: EvaluationDeps, tenant: str) -> tuple[str, ...]:
    pack = deps.pack_for(tenant, deps.today())
    found = deps.obligation(pack, OBLIGATION)
    return tuple(found["cite"]) if found else ()


async def add_entry(*, deps: EvaluationDeps, principal: Principal, fields: EntryCreate) -> DiscreditedEntry:
    """List a subject; platform scope only by platform admins, experts only on a tenant's list
    (each tenant keeps its own expert library)."""
    tenant = require_tenant(principal)
    if fields.scope is Scope.PLATFORM:
        require(principal, *PLATFORM_ADMIN, action="discredited.add_platform")
    else:
        require(principal, *BUREAU, *PLATFORM_ADMIN, action="discredited.add")
    entry = DiscreditedEntry(
        id=new_id(),
        tenant_id=tenant,
        scope=fields.scope,
        subject_kind=fields.subject_kind,
        credit_code=fields.credit_code.upper(),
        expert_id=fields.expert_id,
        name=fields.name,
        grounds=fields.grounds,
        period_from=fields.period_from,
        period_until=fields.period_until,
        cite=_cite(deps, tenant),
        listed_by=principal.username,
        listed_at=deps.now(),
    )
    rules.check_new_entry(entry)
    if entry.scope is Scope.PLATFORM and entry.subject_kind is SubjectKind.EXPERT:
        raise AppError(
            code="EXPERT_TENANT_SCOPE_ONLY",
            message="专家由各地区专家库管理，请在本地区失信名单中列入。",
            kind=ErrorKind.INVALID,
        )
    async with deps.uow(tenant_id=tenant) as tx:
        await repository.add_entry(tx.session, entry)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="discredited.added",
            entity_type="discredited_entry",
            entity_id=entry.id,
            from_state=None,
            to_state="listed",
            citations=entry.cite,
            details={
                "scope": entry.scope.value,
                "subject_kind": entry.subject_kind.value,
                "subject": entry.subject_key,
            },
            at=entry.listed_at,
        )
        tx.emit(events.discredited_changed(entry, change="added", at=entry.listed_at.isoformat()))
        await tx.commit()
    return entry


async def remove_entry(
    *, deps: EvaluationDeps, principal: Principal, entry_id: str, expected_version: int, reason: str
) -> DiscreditedEntry:
    """Take a subject off the list (the version read, stale → 409)."""
    tenant = require_tenant(principal)
    valid_uuid(entry_id, "discredited_entry", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        entry = await repository.get_entry(tx.session, entry_id, lock=True)
        if entry is None:
            raise not_found("discredited_entry", entry_id, label_zh=LABEL)
        if entry.scope is Scope.PLATFORM:
            require(principal, *PLATFORM_ADMIN, action="discredited.remove_platform")
        else:
            require(principal, *BUREAU, *PLATFORM_ADMIN, action="discredited.remove")
        if entry.version != expected_version:
            raise stale_version("discredited_entry", expected=expected_version, label_zh=LABEL)
        changed = rules.remove(entry, by=principal.username, at=deps.now(), reason=reason)
        stored = await repository.save_entry(tx.session, changed, expected_version=entry.version)
        if stored is None:
            raise stale_version("discredited_entry", expected=expected_version, label_zh=LABEL)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="discredited.removed",
            entity_type="discredited_entry",
            entity_id=entry.id,
            from_state="listed",
            to_state="removed",
            citations=entry.cite,
            details={"reason": reason, "scope": entry.scope.value, "subject": entry.subject_key},
        )
        tx.emit(events.discredited_changed(stored, change="removed", at=deps.now().isoformat()))
        await tx.commit()
    return stored


async def list_entries(
    *, deps: EvaluationDeps, principal: Principal, include_removed: bool = False
) -> list[DiscreditedEntry]:
    """The tenant's list and the platform's (the bureau, finance, auditors)."""
    tenant = require_tenant(principal)
    require(principal, *READERS, action="discredited.read")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_entries(tx.session, include_removed=include_removed)


async def get_entry(*, deps: EvaluationDeps, principal: Principal, entry_id: str) -> DiscreditedEntry:
    """One listing."""
    tenant = require_tenant(principal)
    require(principal, *READERS, action="discredited.read")
    valid_uuid(entry_id, "discredited_entry", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        entry = await repository.get_entry(tx.session, entry_id)
    if entry is None:
        raise not_found("discredited_entry", entry_id, label_zh=LABEL)
    return entry


async def check(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    credit_code: str | None,
    expert_id: str | None,
    on: date | None,
) -> list[DiscreditedEntry]:
    """The listings that are active on a day for a subject (any signed-in user of the tenant and
    services acting for it: a procurement clerk checks a bidder, a reviewer an expert)."""
    tenant = require_tenant(principal)
    day = on or deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.list_entries(
            tx.session,
            credit_code=(credit_code or "").upper() or None,
            expert_id=expert_id,
            include_removed=False,
        )
    return [e for e in found if e.active_on(day)]

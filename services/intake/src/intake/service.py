"""intake's use cases. Each runs in one unit of work, which is the only place that commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, not_found, stale_version
from govkit.events import new_event
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2
from intake.adapters import repository
from intake.adapters.orm import audit
from intake.domain import declaration as rules
from intake.domain.declaration import Category, ConstructionType, Declaration, DeclarationStatus

DECLARATION_SUBMITTED = "govproj.intake.v1.declaration.submitted"
LABEL = "申报"
EDITABLE_FIELD_NAMES = rules.EDITABLE_FIELDS


@dataclass(frozen=True)
class DeclarationFields:
    """What an applicant fills in (validated at the edge; re-checked by the domain)."""

    name: str
    category: Category
    construction_type: ConstructionType
    amount: Decimal
    necessity: str
    goals: str
    contact: str


def _now() -> datetime:
    return datetime.now(UTC)


async def _load_visible(session: AsyncSession, principal: Principal, declaration_id: str) -> Declaration:
    try:
        uuid.UUID(declaration_id)
    except ValueError:
        raise not_found("declaration", declaration_id, label_zh=LABEL) from None
    found = await repository.get(session, declaration_id)
    if found is None or not rules.can_read(principal, found):
        raise not_found("declaration", declaration_id, label_zh=LABEL)
    return found


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    declaration: Declaration,
    *,
    from_state: DeclarationStatus | None,
    details: dict[str, object],
) -> None:
    await record_audit(
        session,
        audit,
        tenant_id=declaration.tenant_id,
        actor=principal.username,
        action=action,
        entity_type="declaration",
        entity_id=declaration.id,
        from_state=from_state.value if from_state else None,
        to_state=declaration.status.value,
        citations=[],
        details=details,
    )


async def _save_at_version(
    session: AsyncSession, changed: Declaration, *, read: Declaration, expected: int
) -> Declaration:
    """Store a change made to what the caller read at `expected`; 409 when it moved meanwhile."""
    stored = None
    if read.version == expected:
        stored = await repository.save(session, changed, expected_version=expected)
    if stored is None:
        raise stale_version("declaration", expected=expected, label_zh=LABEL)
    return stored


async def create_declaration(
    *, uow: UnitOfWorkFactory, principal: Principal, fields: DeclarationFields
) -> Declaration:
    """An applicant starts a draft declaration for their unit."""
    tenant, org = rules.ensure_author(principal)
    now = _now()
    declaration = Declaration(
        id=str(uuid.uuid4()),
        tenant_id=tenant,
        org_id=org,
        status=DeclarationStatus.DRAFT,
        version=1,
        created_by=principal.username,
        created_at=now,
        updated_at=now,
        **fields.__dict__,
    )
    async with uow(tenant_id=tenant) as tx:
        await repository.add(tx.session, declaration)
        await _audit(
            tx.session,
            principal,
            "declaration.created",
            declaration,
            from_state=None,
            details={"name": declaration.name, "amount": str(declaration.amount)},
        )
        await tx.commit()
    return declaration


async def update_declaration(
    *,
    uow: UnitOfWorkFactory,
    principal: Principal,
    declaration_id: str,
    expected_version: int,
    changes: dict[str, object],
) -> Declaration:
    """Change a draft; refused with 409 when someone else changed it since `expected_version`."""
    async with uow(tenant_id=principal.tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id)
        rules.ensure_can_edit(principal, current)
        changed = rules.apply_changes(current, changes, at=_now())
        stored = await _save_at_version(tx.session, changed, read=current, expected=expected_version)
        await _audit(
            tx.session,
            principal,
            "declaration.updated",
            stored,
            from_state=current.status,
            details={"fields": sorted(changes), "version": stored.version},
        )
        await tx.commit()
    return stored


async def submit_declaration(
    *, uow: UnitOfWorkFactory, principal: Principal, declaration_id: str, expected_version: int | None
) -> Declaration:
    """Submit a draft for review: the state change and `declaration.submitted` commit together."""
    async with uow(tenant_id=principal.tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id)
        rules.ensure_can_edit(principal, current)
        version = current.version if expected_version is None else expected_version
        submitted = rules.submit(current, at=_now())
        stored = await _save_at_version(tx.session, submitted, read=current, expected=version)
        assert stored.submitted_at is not None
        tx.emit(
            new_event(
                event_type=DECLARATION_SUBMITTED,
                tenant=stored.tenant_id,
                payload=events_pb2.DeclarationSubmitted(
                    declaration_id=stored.id,
                    tenant_id=stored.tenant_id,
                    org_id=stored.org_id,
                    name=stored.name,
                    amount=common_pb2.Money(amount=str(stored.amount)),
                    category=stored.category.value,
                    construction_type=stored.construction_type.value,
                    project_code=stored.project_code or "",
                    submitted_by=principal.username,
                    submitted_at=stored.submitted_at.isoformat(),
                ),
            )
        )
        await _audit(
            tx.session,
            principal,
            "declaration.submitted",
            stored,
            from_state=current.status,
            details={"version": stored.version},
        )
        await tx.commit()
    return stored


async def get_declaration(
    *, uow: UnitOfWorkFactory, principal: Principal, declaration_id: str
) -> Declaration:
    """One declaration the caller may see (404 otherwise, also across tenants and units)."""
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法查看申报。", kind=ErrorKind.FORBIDDEN
        )
    async with uow(tenant_id=principal.tenant) as tx:
        return await _load_visible(tx.session, principal, declaration_id)

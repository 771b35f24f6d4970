"""review's use cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, not_found
from govkit.events import Envelope
from govproj.intake.events.v1 import events_pb2
from review.adapters import repository
from review.adapters.orm import audit
from review.domain.case import CaseStatus, ReviewCase, can_read

LABEL = "审查案件"
SYSTEM_ACTOR = "system:review"


async def open_case_for_declaration(session: AsyncSession, envelope: Envelope) -> None:
    """`declaration.submitted` → a review case (runs in the consumer's transaction, with its inbox row).

    The unique declaration id makes a second case impossible even if the inbox were bypassed.
    """
    event: events_pb2.DeclarationSubmitted = envelope.payload_as(events_pb2.DeclarationSubmitted)
    case = ReviewCase(
        id=str(uuid.uuid4()),
        tenant_id=envelope.tenant,
        declaration_id=event.declaration_id,
        declaring_org_id=event.org_id,
        name=event.name,
        amount=Decimal(event.amount.amount),
        project_code=event.project_code or None,
        status=CaseStatus.OPEN,
        opened_at=datetime.now(UTC),
        version=1,
    )
    if await repository.add_if_absent(session, case):
        await record_audit(
            session,
            audit,
            tenant_id=case.tenant_id,
            actor=SYSTEM_ACTOR,
            action="case.opened",
            entity_type="review_case",
            entity_id=case.id,
            from_state=None,
            to_state=case.status.value,
            citations=[],
            details={"declaration_id": case.declaration_id, "event_id": envelope.id},
        )


def _require_tenant(principal: Principal) -> str:
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法查看审查案件。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def _valid_uuid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=LABEL) from None


async def get_case(
    *,
    uow: UnitOfWorkFactory,
    principal: Principal,
    case_id: str | None = None,
    declaration_id: str | None = None,
) -> ReviewCase:
    """One case by its id or its declaration's id."""
    tenant = _require_tenant(principal)
    ident = case_id or declaration_id or ""
    _valid_uuid(ident, "case")
    async with uow(tenant_id=tenant) as tx:
        if case_id:
            found = await repository.get(tx.session, case_id)
        else:
            found = await repository.find_by_declaration(tx.session, ident)
    if found is None or not can_read(principal, found):
        raise not_found("case", ident, label_zh=LABEL)
    return found


async def list_cases(
    *, uow: UnitOfWorkFactory, principal: Principal, declaration_id: str | None, limit: int, offset: int
) -> list[ReviewCase]:
    """Cases the caller may see, optionally of one declaration."""
    tenant = _require_tenant(principal)
    async with uow(tenant_id=tenant) as tx:
        if declaration_id is not None:
            try:
                uuid.UUID(declaration_id)
            except ValueError:
                return []
            found = await repository.find_by_declaration(tx.session, declaration_id)
            cases = [found] if found is not None else []
        else:
            cases = await repository.list_cases(tx.session, limit=limit, offset=offset)
    return [case for case in cases if can_read(principal, case)]

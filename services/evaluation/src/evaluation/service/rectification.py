"""Rectification orders from supervision and inspection (any project stage); the sweep escalates
an unresolved order past its due date (qiaokou §37, heze §35) as ``rectification.escalated``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from evaluation.adapters import repository
from evaluation.domain import rectification as rules
from evaluation.domain.rectification import OrderStatus, RectificationOrder
from evaluation.service import events
from evaluation.service._common import (
    BUREAU,
    FINANCE,
    SYSTEM_ACTOR,
    EvaluationDeps,
    audit_event,
    new_id,
    require,
    require_tenant,
    unit_scope,
    valid_uuid,
)
from govkit.auth import Principal
from govkit.errors import not_found, stale_version

LABEL = "整改通知"
ESCALATION = "rectification_escalation"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderCreate:
    """What the inspector enters."""

    declaration_id: str
    stage: str
    owner: str
    items: tuple[str, ...]
    grounds: str
    due_on: date


def _escalation_cite(deps: EvaluationDeps, tenant: str, on: date) -> tuple[str, ...]:
    found = deps.obligation(deps.pack_for(tenant, on), ESCALATION)
    return tuple(found["cite"]) if found else ()


async def issue_order(
    *, deps: EvaluationDeps, principal: Principal, fields: OrderCreate
) -> RectificationOrder:
    """The bureau or finance orders a project's unit to rectify items by a date."""
    tenant = require_tenant(principal)
    require(principal, *BUREAU, *FINANCE, "auditor", action="rectification.issue")
    async with deps.uow(tenant_id=tenant) as tx:
        project = await repository.get_project(tx.session, fields.declaration_id)
        if project is None:
            raise not_found("project", fields.declaration_id, label_zh="项目")
        order = RectificationOrder(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=fields.declaration_id,
            project_code=project.project_code,
            org_id=project.org_id,
            stage=fields.stage,
            owner=fields.owner,
            items=fields.items,
            grounds=fields.grounds,
            due_on=fields.due_on,
            status=OrderStatus.OPEN,
            cite=_escalation_cite(deps, tenant, deps.today()),
            issued_by=principal.username,
            issued_at=deps.now(),
        )
        rules.check_new_order(order, today=deps.today())
        await repository.add_order(tx.session, order)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="rectification.issued",
            entity_type="rectification_order",
            entity_id=order.id,
            from_state=None,
            to_state=order.status.value,
            citations=order.cite,
            details={
                "declaration_id": order.declaration_id,
                "due_on": order.due_on.isoformat(),
                "items": list(order.items),
            },
        )
        await tx.commit()
    return order


async def resolve_order(
    *, deps: EvaluationDeps, principal: Principal, order_id: str, expected_version: int, resolution: str
) -> RectificationOrder:
    """The inspector records the order as rectified (also after its escalation)."""
    tenant = require_tenant(principal)
    require(principal, *BUREAU, *FINANCE, "auditor", action="rectification.resolve")
    valid_uuid(order_id, "rectification_order", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        order = await repository.get_order(tx.session, order_id, lock=True)
        if order is None:
            raise not_found("rectification_order", order_id, label_zh=LABEL)
        if order.version != expected_version:
            raise stale_version("rectification_order", expected=expected_version, label_zh=LABEL)
        changed = rules.resolve(order, at=deps.now(), resolution=resolution)
        stored = await repository.save_order(tx.session, changed, expected_version=order.version)
        if stored is None:
            raise stale_version("rectification_order", expected=expected_version, label_zh=LABEL)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="rectification.resolved",
            entity_type="rectification_order",
            entity_id=order.id,
            from_state=order.status.value,
            to_state=stored.status.value,
            citations=order.cite,
            details={"resolution": resolution},
        )
        await tx.commit()
    return stored


async def get_order(*, deps: EvaluationDeps, principal: Principal, order_id: str) -> RectificationOrder:
    """One order (units see their own)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    valid_uuid(order_id, "rectification_order", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        order = await repository.get_order(tx.session, order_id)
    if order is None or (org is not None and order.org_id != org):
        raise not_found("rectification_order", order_id, label_zh=LABEL)
    return order


async def list_orders(
    *, deps: EvaluationDeps, principal: Principal, declaration_id: str | None, status: str | None
) -> list[RectificationOrder]:
    """Orders of the tenant (units: their own)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_orders(
            tx.session, declaration_id=declaration_id, status=status, org_id=org
        )


async def escalate_overdue(
    deps: EvaluationDeps, tenant: str, *, today: date | None = None, batch: int = 100
) -> int:
    """Escalate the tenant's open orders past due, each with ``rectification.escalated``."""
    day = today or deps.today()
    cite = _escalation_cite(deps, tenant, day)
    async with deps.uow(tenant_id=tenant) as tx:
        due = await repository.overdue_open_orders(tx.session, today=day, limit=batch)
        escalated = 0
        for order in due:
            changed = rules.escalate(order, today=day, cite=cite)
            if changed is None:
                continue
            stored = await repository.save_order(tx.session, changed, expected_version=order.version)
            if stored is None:
                continue
            await audit_event(
                tx.session,
                tenant_id=tenant,
                actor=SYSTEM_ACTOR,
                action="rectification.escalated",
                entity_type="rectification_order",
                entity_id=order.id,
                from_state=order.status.value,
                to_state=stored.status.value,
                citations=sorted({*order.cite, *cite}),
                details={"due_on": order.due_on.isoformat(), "escalated_on": day.isoformat()},
            )
            tx.emit(events.rectification_escalated(stored))
            escalated += 1
        await tx.commit()
    return escalated

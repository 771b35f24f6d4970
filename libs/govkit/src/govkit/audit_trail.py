"""The AuditTrail gRPC servicer: one project's audit records as one service keeps them.

Every service serves the same ``govproj.common.v1.AuditTrail`` over its own ``audit_log``
(:mod:`govkit.audit`); what differs between services is only which projects the caller may see
there and which of the service's entities belong to a project. That is the service's
:data:`ProjectAuditScope`, asked inside the caller's tenant-bound unit of work, so row-level
security limits both the scope's reads and the records to the caller's tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import grpc
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal, current_grpc_principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import invalid_field, not_found
from govproj.common.v1 import audit_pb2, audit_pb2_grpc, common_pb2

ProjectAuditScope = Callable[[AsyncSession, Principal, str], Awaitable[Sequence[str] | None]]
"""``(session, principal, declaration_id) -> entity ids``, or None when the principal may not see
the project in this service (the same rule as the service's own reads of it)."""

SERVICE_NAME = "govproj.common.v1.AuditTrail"
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
_MAX_TOKEN_DIGITS = 12


def _offset(token: str) -> int:
    """The page token is the number of records already returned (records are append-only)."""
    if not token:
        return 0
    if not token.isdigit() or len(token) > _MAX_TOKEN_DIGITS:
        raise invalid_field("page_token", "分页标记无效")
    return int(token)


def _page_size(requested: int) -> int:
    if requested < 0:
        raise invalid_field("page_size", "每页条数不能为负数")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def record_to_proto(row: Any, *, service: str) -> audit_pb2.AuditTrailRecord:
    """One ``audit_log`` row as the contract's record."""
    return audit_pb2.AuditTrailRecord(
        occurred_at=_timestamp(row.occurred_at),
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        from_state=row.from_state or "",
        to_state=row.to_state or "",
        citations=[common_pb2.Citation(ref=str(ref)) for ref in row.citations or ()],
        sealed=row.hash is not None,
        seq=int(row.seq or 0),
        service=service,
    )


async def list_project_audit(
    *,
    uow: UnitOfWorkFactory,
    table: Table,
    scope: ProjectAuditScope,
    service: str,
    principal: Principal,
    declaration_id: str,
    page_size: int = 0,
    page_token: str = "",
) -> audit_pb2.ListProjectAuditResponse:
    """The caller's page of one project's audit records in this service, oldest first.

    NOT_FOUND (never FORBIDDEN, so a project's existence does not leak) when the scope says the
    principal may not see the project here.
    """
    declaration_id = declaration_id.strip()
    if not declaration_id:
        raise invalid_field("declaration_id", "请指定项目")
    try:
        UUID(declaration_id)
    except ValueError:
        raise not_found("project", declaration_id, label_zh="项目") from None
    offset, size = _offset(page_token), _page_size(page_size)
    async with uow(tenant_id=principal.tenant) as unit:
        entity_ids = await scope(unit.session, principal, declaration_id)
        if entity_ids is None:
            raise not_found("project", declaration_id, label_zh="项目")
        ids = sorted({str(i) for i in entity_ids})
        rows = []
        if ids:
            stmt = (
                select(table)
                .where(table.c.entity_id.in_(ids))
                # RLS already restricts to the session's tenant; saying it too keeps a mis-bound
                # session (or an owner connection in a test) from widening the answer.
                .where(table.c.tenant_id == principal.tenant)
                .order_by(table.c.occurred_at, table.c.id)
                .offset(offset)
                .limit(size + 1)
            )
            rows = list((await unit.session.execute(stmt)).all())
    more = len(rows) > size
    return audit_pb2.ListProjectAuditResponse(
        records=[record_to_proto(row, service=service) for row in rows[:size]],
        next_page_token=str(offset + size) if more else "",
    )


class AuditTrailServicer(audit_pb2_grpc.AuditTrailServicer):
    """``govproj.common.v1.AuditTrail`` over one service's audit table and project scope."""

    def __init__(self, *, uow: UnitOfWorkFactory, table: Table, scope: ProjectAuditScope, service: str):
        self._uow = uow
        self._table = table
        self._scope = scope
        self._service = service

    async def ListProjectAudit(
        self, request: audit_pb2.ListProjectAuditRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListProjectAuditResponse:
        """The project's records in this service (errors go through the service's interceptor)."""
        return await list_project_audit(
            uow=self._uow,
            table=self._table,
            scope=self._scope,
            service=self._service,
            principal=current_grpc_principal(),
            declaration_id=request.declaration_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )


def audit_trail_servicer(
    *, uow: UnitOfWorkFactory, table: Table, scope: ProjectAuditScope, service: str
) -> tuple[Callable[[Any, Any], None], AuditTrailServicer]:
    """The (registrar, servicer) pair a service adds to its gRPC servicers."""
    return (
        audit_pb2_grpc.add_AuditTrailServicer_to_server,
        AuditTrailServicer(uow=uow, table=table, scope=scope, service=service),
    )


__all__ = [
    "SERVICE_NAME",
    "AuditTrailServicer",
    "ProjectAuditScope",
    "audit_trail_servicer",
    "list_project_audit",
    "record_to_proto",
]

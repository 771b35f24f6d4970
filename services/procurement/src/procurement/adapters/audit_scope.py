"""Which of procurement's audit records belong to a project, and whether the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from procurement.adapters.orm import (
    filings,
    interventions,
    payments,
    procurements,
    progress_reports,
    projects,
)
from procurement.domain.project import TENANT_WIDE_READERS

# The project's own rows, each audited under its id and carrying the project's declaration_id.
_PROJECT_ROWS: tuple[Table, ...] = (procurements, filings, progress_reports, payments, interventions)


async def project_audit_scope(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> Sequence[str] | None:
    """The project (audited under its declaration id), its procurements, filings, reports, payments.

    The rule of :func:`procurement.domain.project.can_read`: the tenant's bureau and auditors, or
    the project's own unit.
    """
    project = (
        await session.execute(
            select(projects.c.tenant_id, projects.c.org_id).where(projects.c.declaration_id == declaration_id)
        )
    ).first()
    if project is None or project.tenant_id != principal.tenant:
        return None
    if not principal.has_role(*TENANT_WIDE_READERS) and (
        principal.org is None or principal.org != project.org_id
    ):
        return None
    rows = union_all(*(select(t.c.id).where(t.c.declaration_id == declaration_id) for t in _PROJECT_ROWS))
    ids = (await session.scalars(select(rows.subquery().c.id))).all()
    return [declaration_id, *(str(i) for i in ids)]

"""Which of evaluation's audit records belong to a project, and whether the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters.orm import (
    closures,
    evaluations,
    evidence,
    om_requests,
    portfolio,
    rectifications,
    self_checks,
)
from evaluation.service._common import READERS, UNIT
from govkit.auth import Principal

# The project's rows audited under their own ids, each carrying the project's declaration_id.
_PROJECT_ROWS: tuple[Table, ...] = (evaluations, om_requests, rectifications, self_checks, closures)


async def project_audit_scope(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> Sequence[str] | None:
    """The portfolio row, its evaluations (and their evidence), O&M requests, orders, closures.

    The rule of the service's project reads (:func:`evaluation.service._common.unit_scope`): the
    tenant's readers see every project, a unit only its own org's; RLS holds the tenant.
    """
    project = (
        await session.execute(
            select(portfolio.c.tenant_id, portfolio.c.org_id).where(
                portfolio.c.declaration_id == declaration_id
            )
        )
    ).first()
    if project is None or project.tenant_id != principal.tenant:
        return None
    own_unit = principal.has_role(*UNIT) and principal.org is not None and principal.org == project.org_id
    if not (principal.has_role(*READERS) or own_unit):
        return None
    rows = union_all(
        *(select(t.c.id).where(t.c.declaration_id == declaration_id) for t in _PROJECT_ROWS),
        select(evidence.c.id).where(
            evidence.c.evaluation_id.in_(
                select(evaluations.c.id).where(evaluations.c.declaration_id == declaration_id)
            )
        ),
    )
    ids = (await session.scalars(select(rows.subquery().c.id))).all()
    return [declaration_id, *(str(i) for i in ids)]

"""Which of review's audit records belong to a project, and whether the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from review.adapters.orm import (
    approval_applications,
    approval_steps,
    approvals,
    change_requests,
    draws,
    formal_reviews,
    opinions,
    panel_members,
    plan_decisions,
    plan_entries,
    review_cases,
    score_sheets,
    tasks,
)
from review.domain.case import TENANT_WIDE_READERS

# Every table whose rows are audited under their own id and hang off one case (its case_id).
_CASE_CHILDREN: tuple[Table, ...] = (
    tasks,
    formal_reviews,
    opinions,
    draws,
    panel_members,
    score_sheets,
    plan_decisions,
    plan_entries,
    approval_applications,
    approval_steps,
    approvals,
    change_requests,
)


async def project_audit_scope(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> Sequence[str] | None:
    """The case and everything of it (tasks, opinions, draws, plan, approval, changes...).

    The rule of :func:`review.domain.case.can_read` without the per-task involvement: bureaus and
    auditors of the case's tenant or of the tenant reviewing it, and the declaring unit.
    """
    case = (
        await session.execute(
            select(
                review_cases.c.id,
                review_cases.c.tenant_id,
                review_cases.c.reviewing_tenant_id,
                review_cases.c.declaring_org_id,
            ).where(review_cases.c.declaration_id == declaration_id)
        )
    ).first()
    if case is None or principal.tenant not in {case.tenant_id, case.reviewing_tenant_id}:
        return None
    own_unit = (
        principal.tenant == case.tenant_id
        and principal.org is not None
        and principal.org == case.declaring_org_id
    )
    if not (principal.has_role(*TENANT_WIDE_READERS) or own_unit):
        return None
    children = union_all(*(select(t.c.id).where(t.c.case_id == case.id) for t in _CASE_CHILDREN))
    ids = (await session.scalars(select(children.subquery().c.id))).all()
    return [declaration_id, str(case.id), *(str(i) for i in ids)]

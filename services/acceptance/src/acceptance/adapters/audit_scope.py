"""Which of acceptance's audit records belong to a project, and whether the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.adapters.orm import acceptances, evidence, projects, rectifications
from acceptance.domain.acceptance import ensure_can_read
from govkit.auth import Principal

# The project's rows audited under their own ids (each hangs off the project by project_id).
_PROJECT_ROWS: tuple[Table, ...] = (evidence, acceptances, rectifications)


async def project_audit_scope(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> Sequence[str] | None:
    """The project, its evidence, acceptances and rectification items, when the principal may read it.

    The rule of :func:`acceptance.domain.acceptance.ensure_can_read` (bureau, auditors and
    evaluators of the tenant; the project's own unit); RLS holds the tenant.
    """
    project = (
        await session.execute(
            select(projects.c.id, projects.c.tenant_id, projects.c.org_id).where(
                projects.c.declaration_id == declaration_id
            )
        )
    ).first()
    if project is None or project.tenant_id != principal.tenant:
        return None
    if not ensure_can_read(principal, org_id=project.org_id):
        return None
    rows = union_all(*(select(t.c.id).where(t.c.project_id == project.id) for t in _PROJECT_ROWS))
    ids = (await session.scalars(select(rows.subquery().c.id))).all()
    return [declaration_id, str(project.id), *(str(i) for i in ids)]

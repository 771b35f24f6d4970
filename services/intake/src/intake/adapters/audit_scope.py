"""Which of intake's audit records belong to a project, and whether the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from intake.adapters.orm import declarations, materials
from intake.domain.declaration import TENANT_WIDE_READERS


async def project_audit_scope(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> Sequence[str] | None:
    """The declaration and its materials, when the principal may read the declaration.

    The rule of :func:`intake.domain.declaration.can_read`: the tenant's bureaus and auditors see
    every declaration of their tenant, a unit only its own org's (RLS already holds the tenant).
    """
    row = (
        await session.execute(
            select(declarations.c.tenant_id, declarations.c.org_id).where(declarations.c.id == declaration_id)
        )
    ).first()
    if row is None or row.tenant_id != principal.tenant:
        return None
    if not principal.has_role(*TENANT_WIDE_READERS) and (
        principal.org is None or principal.org != row.org_id
    ):
        return None
    material_ids = (
        await session.scalars(select(materials.c.id).where(materials.c.declaration_id == declaration_id))
    ).all()
    return [declaration_id, *(str(m) for m in material_ids)]

"""Reading and writing declarations (inside the caller's unit of work)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.orm import declarations
from intake.domain.declaration import Category, ConstructionType, Declaration, DeclarationStatus


def _to_domain(row: Any) -> Declaration:
    return Declaration(
        id=str(row.id),
        tenant_id=row.tenant_id,
        org_id=row.org_id,
        name=row.name,
        category=Category(row.category),
        construction_type=ConstructionType(row.construction_type),
        amount=row.amount,
        necessity=row.necessity,
        goals=row.goals,
        contact=row.contact,
        status=DeclarationStatus(row.status),
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        project_code=row.project_code,
    )


def _to_row(declaration: Declaration) -> dict[str, Any]:
    return {
        "id": declaration.id,
        "tenant_id": declaration.tenant_id,
        "org_id": declaration.org_id,
        "name": declaration.name,
        "category": declaration.category.value,
        "construction_type": declaration.construction_type.value,
        "amount": declaration.amount,
        "necessity": declaration.necessity,
        "goals": declaration.goals,
        "contact": declaration.contact,
        "status": declaration.status.value,
        "version": declaration.version,
        "project_code": declaration.project_code,
        "created_by": declaration.created_by,
        "created_at": declaration.created_at,
        "updated_at": declaration.updated_at,
        "submitted_at": declaration.submitted_at,
    }


async def get(session: AsyncSession, declaration_id: str) -> Declaration | None:
    """The declaration, if the session's tenant can see it (RLS decides)."""
    row = (await session.execute(select(declarations).where(declarations.c.id == declaration_id))).first()
    return _to_domain(row) if row is not None else None


async def add(session: AsyncSession, declaration: Declaration) -> None:
    """Insert a new declaration."""
    await session.execute(insert(declarations).values(**_to_row(declaration)))


async def save(
    session: AsyncSession, declaration: Declaration, *, expected_version: int
) -> Declaration | None:
    """Write a changed declaration if nobody changed it since `expected_version`.

    Returns the stored declaration with its new version, or None when the version was stale (a
    concurrent writer blocks on the row lock, then finds the version moved and updates nothing).
    """
    values = _to_row(declaration)
    values.pop("id")
    values["version"] = expected_version + 1
    row = (
        await session.execute(
            update(declarations)
            .where(declarations.c.id == declaration.id, declarations.c.version == expected_version)
            .values(**values)
            .returning(declarations)
        )
    ).first()
    return _to_domain(row) if row is not None else None

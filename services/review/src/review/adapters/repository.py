"""Reading and writing review cases (inside the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from review.adapters.orm import review_cases
from review.domain.case import CaseStatus, ReviewCase


def _to_domain(row: Any) -> ReviewCase:
    return ReviewCase(
        id=str(row.id),
        tenant_id=row.tenant_id,
        declaration_id=str(row.declaration_id),
        declaring_org_id=row.declaring_org_id,
        name=row.name,
        amount=row.amount,
        project_code=row.project_code,
        status=CaseStatus(row.status),
        opened_at=row.opened_at,
        version=row.version,
    )


async def add_if_absent(session: AsyncSession, case: ReviewCase) -> bool:
    """Insert a case unless the declaration already has one; True when inserted."""
    result = await session.execute(
        pg_insert(review_cases)
        .values(
            id=case.id,
            tenant_id=case.tenant_id,
            declaration_id=case.declaration_id,
            declaring_org_id=case.declaring_org_id,
            name=case.name,
            amount=case.amount,
            project_code=case.project_code,
            status=case.status.value,
            opened_at=case.opened_at,
            version=case.version,
        )
        .on_conflict_do_nothing(index_elements=[review_cases.c.declaration_id])
        .returning(review_cases.c.id)
    )
    return result.first() is not None


async def get(session: AsyncSession, case_id: str) -> ReviewCase | None:
    """A case by id (RLS limits it to the session's tenant)."""
    row = (await session.execute(select(review_cases).where(review_cases.c.id == case_id))).first()
    return _to_domain(row) if row is not None else None


async def find_by_declaration(session: AsyncSession, declaration_id: str) -> ReviewCase | None:
    """The case of a declaration."""
    row = (
        await session.execute(select(review_cases).where(review_cases.c.declaration_id == declaration_id))
    ).first()
    return _to_domain(row) if row is not None else None


async def list_cases(session: AsyncSession, *, limit: int, offset: int) -> list[ReviewCase]:
    """Cases of the session's tenant, newest first."""
    rows = (
        await session.execute(
            select(review_cases).order_by(review_cases.c.opened_at.desc()).limit(limit).offset(offset)
        )
    ).all()
    return [_to_domain(row) for row in rows]

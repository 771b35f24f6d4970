"""review's REST API: /v1/cases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from govkit.auth import CurrentPrincipal
from govkit.web import UnitOfWorkDep
from review import service
from review.domain.case import CaseStatus, ReviewCase

PAGE_MAX = 200
PAGE_DEFAULT = 50


class ReviewCaseRead(BaseModel):
    """A review case as the API returns it."""

    id: str
    tenant_id: str
    declaration_id: str
    declaring_org_id: str
    name: str
    amount: Decimal
    project_code: str | None
    status: CaseStatus
    opened_at: datetime
    version: int

    @classmethod
    def of(cls, case: ReviewCase) -> ReviewCaseRead:
        """From the domain object."""
        return cls(**case.__dict__)


class ReviewCaseList(BaseModel):
    """A page of cases."""

    items: list[ReviewCaseRead]


router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.get("", response_model=ReviewCaseList)
async def list_cases(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    declaration_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewCaseList:
    """Cases the caller may see; `declaration_id` finds a declaration's case."""
    cases = await service.list_cases(
        uow=uow, principal=principal, declaration_id=declaration_id, limit=limit, offset=offset
    )
    return ReviewCaseList(items=[ReviewCaseRead.of(c) for c in cases])


@router.get("/{case_id}", response_model=ReviewCaseRead)
async def get_case(case_id: str, principal: CurrentPrincipal, uow: UnitOfWorkDep) -> ReviewCaseRead:
    """One case."""
    return ReviewCaseRead.of(await service.get_case(uow=uow, principal=principal, case_id=case_id))

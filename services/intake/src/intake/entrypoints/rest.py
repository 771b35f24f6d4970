"""intake's REST API (FastAPI): /v1/declarations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field

from govkit.auth import CurrentPrincipal
from govkit.errors import AppError, ErrorKind
from govkit.web import UnitOfWorkDep
from intake import service
from intake.domain.declaration import Category, ConstructionType, Declaration, DeclarationStatus

# Field limits are input hygiene (what a form accepts), not policy rules.
NAME_MAX = 200
TEXT_MAX = 20_000
AMOUNT_MAX_DIGITS = 16

Amount = Annotated[Decimal, Field(gt=0, max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)]


class DeclarationCreate(BaseModel):
    """A new draft declaration."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=NAME_MAX)
    category: Category
    construction_type: ConstructionType
    amount: Amount
    necessity: str = Field(default="", max_length=TEXT_MAX)
    goals: str = Field(default="", max_length=TEXT_MAX)
    contact: str = Field(default="", max_length=NAME_MAX)


class DeclarationUpdate(BaseModel):
    """Changes to a draft; `version` is the version the client read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    category: Category | None = None
    construction_type: ConstructionType | None = None
    amount: Amount | None = None
    necessity: str | None = Field(default=None, max_length=TEXT_MAX)
    goals: str | None = Field(default=None, max_length=TEXT_MAX)
    contact: str | None = Field(default=None, max_length=NAME_MAX)


class DeclarationSubmit(BaseModel):
    """Submit; `version` optional (the If-Match header may carry it instead)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)


class DeclarationRead(BaseModel):
    """A declaration as the API returns it."""

    id: str
    tenant_id: str
    org_id: str
    name: str
    category: Category
    construction_type: ConstructionType
    amount: Decimal
    necessity: str
    goals: str
    contact: str
    status: DeclarationStatus
    version: int
    project_code: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None

    @classmethod
    def of(cls, declaration: Declaration) -> DeclarationRead:
        """From the domain object."""
        return cls(**declaration.__dict__)


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise AppError(
            code="BAD_IF_MATCH", message="If-Match 头格式不正确，应为版本号。", kind=ErrorKind.INVALID
        ) from None


router = APIRouter(prefix="/v1/declarations", tags=["declarations"])


@router.post("", status_code=201, response_model=DeclarationRead)
async def create_declaration(
    body: DeclarationCreate, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> DeclarationRead:
    """Start a draft declaration."""
    created = await service.create_declaration(
        uow=uow, principal=principal, fields=service.DeclarationFields(**body.model_dump())
    )
    return DeclarationRead.of(created)


@router.get("/{declaration_id}", response_model=DeclarationRead)
async def get_declaration(
    declaration_id: str, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> DeclarationRead:
    """One declaration."""
    return DeclarationRead.of(
        await service.get_declaration(uow=uow, principal=principal, declaration_id=declaration_id)
    )


@router.patch("/{declaration_id}", response_model=DeclarationRead)
async def update_declaration(
    declaration_id: str, body: DeclarationUpdate, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> DeclarationRead:
    """Edit a draft with the version read (409 when stale)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if any(value is None for value in changes.values()):
        raise AppError(code="NULL_FIELD", message="字段不能为空值。", kind=ErrorKind.INVALID)
    updated = await service.update_declaration(
        uow=uow,
        principal=principal,
        declaration_id=declaration_id,
        expected_version=body.version,
        changes=changes,
    )
    return DeclarationRead.of(updated)


@router.post("/{declaration_id}/submit", response_model=DeclarationRead)
async def submit_declaration(
    declaration_id: str,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    body: DeclarationSubmit | None = None,
    if_match: Annotated[str | None, Header()] = None,
) -> DeclarationRead:
    """Submit a draft for review."""
    version = (body.version if body is not None else None) or _if_match(if_match)
    submitted = await service.submit_declaration(
        uow=uow, principal=principal, declaration_id=declaration_id, expected_version=version
    )
    return DeclarationRead.of(submitted)

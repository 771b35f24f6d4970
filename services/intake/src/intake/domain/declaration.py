"""The declaration (项目申报) aggregate and who may do what with it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden


class DeclarationStatus(StrEnum):
    """Where a declaration stands in intake."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"


class Category(StrEnum):
    """项目类别 (the policy contract's `category` fact)."""

    INFRASTRUCTURE = "infrastructure"
    CROSS_DEPARTMENT = "cross_department"
    BUSINESS_APP = "business_app"
    OM_SERVICE = "om_service"
    OTHER = "other"


class ConstructionType(StrEnum):
    """新建/升级改造/扩建/运维 (the policy contract's `construction_type` fact)."""

    NEW = "new"
    UPGRADE = "upgrade"
    EXPANSION = "expansion"
    OM = "om"


EDITABLE = frozenset({DeclarationStatus.DRAFT, DeclarationStatus.RETURNED})
SUBMITTABLE = EDITABLE
# Roles that read every declaration of their tenant; everyone else sees only their own org's.
TENANT_WIDE_READERS = frozenset(
    {"bureau_reviewer", "bureau_head", "tech_center", "auditor", "tenant_admin", "platform_admin"}
)
AUTHORS = frozenset({"applicant"})
EDITABLE_FIELDS = ("name", "category", "construction_type", "amount", "necessity", "goals", "contact")


@dataclass(frozen=True)
class Declaration:
    """A construction unit's application for a project."""

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
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    project_code: str | None = None


def can_read(principal: Principal, declaration: Declaration) -> bool:
    """Bureaus see their tenant's declarations; a unit sees only its own org's."""
    if principal.tenant != declaration.tenant_id:
        return False
    if principal.has_role(*TENANT_WIDE_READERS):
        return True
    return principal.org is not None and principal.org == declaration.org_id


def ensure_author(principal: Principal) -> tuple[str, str]:
    """The caller must be an applicant of a construction unit; returns (tenant, org)."""
    if not principal.has_role(*AUTHORS) or principal.tenant is None or principal.org is None:
        raise forbidden("declaration.write")
    return principal.tenant, principal.org


def ensure_can_edit(principal: Principal, declaration: Declaration) -> None:
    """Only the declaring unit's applicants change a declaration, and only while it is editable."""
    ensure_author(principal)
    if principal.org != declaration.org_id:
        raise forbidden("declaration.write")
    if declaration.status not in EDITABLE:
        raise AppError(
            code="DECLARATION_NOT_EDITABLE",
            message="该申报已提交，不能再修改。如需修改，请等待退回补正。",
            kind=ErrorKind.PRECONDITION,
            details={"status": declaration.status.value},
        )


def apply_changes(declaration: Declaration, changes: dict[str, object], *, at: datetime) -> Declaration:
    """A declaration with the given editable fields changed (version bump is the repository's)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise AppError(
            code="UNKNOWN_FIELDS",
            message="包含不可修改的字段。",
            kind=ErrorKind.INVALID,
            details={"fields": sorted(unknown)},
        )
    return replace(declaration, **changes, updated_at=at)  # type: ignore[arg-type]


def submit(declaration: Declaration, *, at: datetime) -> Declaration:
    """draft/returned → submitted."""
    if declaration.status not in SUBMITTABLE:
        raise AppError(
            code="DECLARATION_NOT_SUBMITTABLE",
            message="该申报当前状态不能提交。",
            kind=ErrorKind.PRECONDITION,
            details={"status": declaration.status.value},
        )
    return replace(declaration, status=DeclarationStatus.SUBMITTED, submitted_at=at, updated_at=at)

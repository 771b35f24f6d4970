"""The review case (审查案件): one per submitted declaration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from govkit.auth import Principal


class CaseStatus(StrEnum):
    """Where a case stands."""

    OPEN = "open"
    RETURNED = "returned"
    DECIDED = "decided"


# Who reads every case of their tenant; declaring units see their own org's cases.
TENANT_WIDE_READERS = frozenset(
    {"bureau_reviewer", "bureau_head", "tech_center", "auditor", "tenant_admin", "platform_admin"}
)


@dataclass(frozen=True)
class ReviewCase:
    """A declaration under review."""

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


def can_read(principal: Principal, case: ReviewCase) -> bool:
    """Bureaus see all cases of their tenant; a unit sees the cases of its own declarations."""
    if principal.tenant != case.tenant_id:
        return False
    if principal.has_role(*TENANT_WIDE_READERS):
        return True
    return principal.org is not None and principal.org == case.declaring_org_id

"""The approved project as procurement knows it (its read model of review's approvals) and its
construction state machine.

    approved ──procurement begins──▶ procuring ──construction contract filed──▶ construction
    approved ──validity passed (review's approval.expired)──▶ expired
    construction ⇄ suspended (qiaokou-2022 §27 grounds; resumed by the bureau)
    procuring / construction / suspended ──terminated──▶ terminated
    construction ──acceptance passed──▶ accepted
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind


class ProjectStatus(StrEnum):
    """Where an approved project stands after its approval."""

    APPROVED = "approved"
    EXPIRED = "expired"
    PROCURING = "procuring"
    CONSTRUCTION = "construction"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    ACCEPTED = "accepted"


STATUS_ZH = {
    ProjectStatus.APPROVED: "已批复",
    ProjectStatus.EXPIRED: "批复已失效",
    ProjectStatus.PROCURING: "采购中",
    ProjectStatus.CONSTRUCTION: "建设中",
    ProjectStatus.SUSPENDED: "已暂停",
    ProjectStatus.TERMINATED: "已终止",
    ProjectStatus.ACCEPTED: "已验收",
}

# Bureau staff read every project of their tenant; units read their own org's.
TENANT_WIDE_READERS = frozenset({"bureau_reviewer", "bureau_head", "tech_center", "auditor", "tenant_admin"})
BUREAU = frozenset({"bureau_reviewer", "bureau_head"})
UNIT = frozenset({"applicant", "unit_head"})


@dataclass(frozen=True)
class Project:
    """An approved project (one per declaration)."""

    declaration_id: str
    tenant_id: str
    approval_id: str
    project_code: str
    name: str
    org_id: str
    approved_amount: Decimal
    approved_on: date
    status: ProjectStatus
    version: int = 1
    org_name: str = ""
    designer_org: str = ""
    valid_until: date | None = None
    baseline_version: int = 1
    facts: dict[str, Any] = field(default_factory=dict)
    pack_id: str = ""
    procurement_started_on: date | None = None
    expired_on: date | None = None
    accepted_on: date | None = None
    acceptance_id: str = ""
    serious_delay_since: date | None = None
    approval_cite: tuple[str, ...] = ()

    def policy_facts(self) -> dict[str, Any]:
        """The facts the pack is evaluated on: the approval's, with the approved amount."""
        return {**self.facts, "amount": self.approved_amount, "approved_amount": self.approved_amount}

    @property
    def public_facing(self) -> bool:
        """A public service system (shuangyashan-2024 §29)."""
        return bool(self.facts.get("public_facing"))

    @property
    def category(self) -> str:
        """The declaration's category (empty when it gave none)."""
        return str(self.facts.get("category") or "")


def approval_valid_on(project: Project, day: date) -> bool:
    """The approval was in force on ``day`` (issued, not past its validity)."""
    if day < project.approved_on:
        return False
    return project.valid_until is None or day <= project.valid_until


def can_read(*, tenant: str | None, org: str | None, roles: frozenset[str], project: Project) -> bool:
    """The project's tenant's bureau and auditors, or its own unit."""
    if tenant != project.tenant_id:
        return False
    if roles & TENANT_WIDE_READERS:
        return True
    return org is not None and org == project.org_id


def _refuse(code: str, message: str, cite: list[str] | None = None) -> AppError:
    return AppError(code=code, message=message, kind=ErrorKind.PRECONDITION, cite=cite or [])


def ensure_open_for_procurement(project: Project) -> None:
    """Procurement begins only on an approved project whose approval is in force."""
    if project.status in (ProjectStatus.EXPIRED, ProjectStatus.TERMINATED, ProjectStatus.ACCEPTED):
        raise _refuse(
            "PROJECT_NOT_OPEN",
            f"项目当前状态为“{STATUS_ZH[project.status]}”，不能开展采购。",
            list(project.approval_cite),
        )


def ensure_building(project: Project) -> None:
    """Progress and payments belong to a project under construction (not suspended or ended)."""
    if project.status is ProjectStatus.SUSPENDED:
        raise _refuse("PROJECT_SUSPENDED", "项目已暂停实施，恢复前不能登记进度或支付。")
    if project.status not in (ProjectStatus.CONSTRUCTION, ProjectStatus.ACCEPTED):
        raise _refuse(
            "PROJECT_NOT_UNDER_CONSTRUCTION",
            f"项目当前状态为“{STATUS_ZH[project.status]}”，合同备案后方可登记建设进度和支付。",
        )


def started(project: Project, on: date) -> Project:
    """Procurement began (the first start is the one kept)."""
    status = ProjectStatus.PROCURING if project.status is ProjectStatus.APPROVED else project.status
    return replace(project, status=status, procurement_started_on=project.procurement_started_on or on)


def construction_filed(project: Project) -> Project:
    """The construction contract is filed: construction begins."""
    if project.status in (ProjectStatus.APPROVED, ProjectStatus.PROCURING):
        return replace(project, status=ProjectStatus.CONSTRUCTION)
    return project


def suspend(project: Project) -> Project:
    """Suspend construction (qiaokou-2022 §27)."""
    if project.status not in (ProjectStatus.PROCURING, ProjectStatus.CONSTRUCTION):
        raise _refuse(
            "PROJECT_NOT_SUSPENDABLE", f"项目当前状态为“{STATUS_ZH[project.status]}”，不能暂停实施。"
        )
    return replace(project, status=ProjectStatus.SUSPENDED)


def resume(project: Project, *, has_construction_contract: bool) -> Project:
    """Resume a suspended project where it was."""
    if project.status is not ProjectStatus.SUSPENDED:
        raise _refuse("PROJECT_NOT_SUSPENDED", "项目未处于暂停状态。")
    back = ProjectStatus.CONSTRUCTION if has_construction_contract else ProjectStatus.PROCURING
    return replace(project, status=back)


def terminate(project: Project) -> Project:
    """Terminate the project (qiaokou-2022 §27: after suspension, on the bureau's study)."""
    if project.status in (ProjectStatus.TERMINATED, ProjectStatus.ACCEPTED, ProjectStatus.EXPIRED):
        raise _refuse("PROJECT_NOT_TERMINABLE", f"项目当前状态为“{STATUS_ZH[project.status]}”，不能终止。")
    return replace(project, status=ProjectStatus.TERMINATED)


def accepted(project: Project, *, on: date, acceptance_id: str) -> Project:
    """Acceptance passed: the final payment is no longer blocked."""
    status = project.status if project.status is ProjectStatus.TERMINATED else ProjectStatus.ACCEPTED
    return replace(project, status=status, accepted_on=on, acceptance_id=acceptance_id)

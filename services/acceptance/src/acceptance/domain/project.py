"""The acceptance project (验收项目): one per declaration, from the filed contract to the accepted system.

Its life::

    contracted ──start trial──▶ trial_run ──initial passed──▶ initial_passed ──final passed──▶ accepted
    trial_run / initial_passed ──acceptance failed──▶ rectifying ──items done──▶ (back where it was)

Packs that require an initial acceptance (``initial_acceptance_required``: qiaokou-2022 §28(2),
wuxing-2023 §20, lhasa §17) apply for the final acceptance only from ``initial_passed``. No
acceptance is applied for before the trial run's minimum length (``trial_run_min_months``) has
passed. Where the pack sets ``final_acceptance_within_months`` the final application is due by a
date; an extension (``acceptance_extension``, heze-2021 §23) moves it once the bureau agrees.
Nothing here compares an amount: the numbers and articles come from the pack through the caller.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind

POLICY_CATEGORIES = frozenset({"infrastructure", "cross_department", "business_app", "om_service", "other"})


class ProjectStatus(StrEnum):
    """Where a project stands in acceptance."""

    CONTRACTED = "contracted"  # a construction contract is filed; being built
    TRIAL_RUN = "trial_run"
    INITIAL_PASSED = "initial_passed"
    RECTIFYING = "rectifying"  # a failed acceptance's items are open
    ACCEPTED = "accepted"


STATUS_ZH = {
    ProjectStatus.CONTRACTED: "建设实施中",
    ProjectStatus.TRIAL_RUN: "试运行中",
    ProjectStatus.INITIAL_PASSED: "初验已通过",
    ProjectStatus.RECTIFYING: "验收未通过，整改中",
    ProjectStatus.ACCEPTED: "竣工验收已通过",
}


class ExtensionStatus(StrEnum):
    """The state of an extension request of the final acceptance application."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Contract:
    """A filed contract as procurement announced it (contract.filed)."""

    id: str
    tenant_id: str
    declaration_id: str
    role: str  # "construction" | "supervision" | "testing" (only construction is summed)
    amount: Decimal
    signed_on: date
    period_end: date | None
    supplier_name: str


@dataclass(frozen=True)
class Extension:
    """A request to apply for the final acceptance later than the pack's deadline."""

    status: ExtensionStatus
    reason: str
    requested_until: date
    requested_by: str
    cite: tuple[str, ...]
    decided_by: str | None = None
    note: str = ""


@dataclass(frozen=True)
class AcceptanceProject:
    """What acceptance knows about a project (its own read model, built from contract.filed)."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    project_name: str
    org_id: str
    pack_id: str
    approved_amount: Decimal
    contract_amount: Decimal  # the construction contracts' total
    contract_ids: tuple[str, ...]
    status: ProjectStatus = ProjectStatus.CONTRACTED
    version: int = 1
    public_facing: bool | None = None
    category: str | None = None
    trial_started_on: date | None = None
    completed_on: date | None = None  # construction completed (heze-2021 §23 counts from here)
    trial_min_months: int | None = None
    trial_ends_on: date | None = None
    trial_cite: tuple[str, ...] = ()
    initial_passed_on: date | None = None
    final_due_on: date | None = None
    final_due_cite: tuple[str, ...] = ()
    extension: Extension | None = None
    accepted_on: date | None = None
    cite: tuple[str, ...] = field(default=())

    def facts(self) -> dict[str, Any]:
        """The policy facts of the project (POLICY-CONTRACT.md): approved and contract amounts ..."""
        facts: dict[str, Any] = {"amount": self.approved_amount, "approved_amount": self.approved_amount}
        if self.contract_amount > 0:
            facts["contract_amount"] = self.contract_amount
        if self.public_facing is not None:
            facts["public_facing"] = self.public_facing
        if self.category in POLICY_CATEGORIES:
            facts["category"] = self.category
        return facts


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_contract(project: AcceptanceProject, contract: Contract) -> AcceptanceProject:
    """The project with one more filed contract (construction contracts add to the amount)."""
    if contract.id in project.contract_ids:
        return project
    amount = project.contract_amount + (contract.amount if contract.role == "construction" else Decimal(0))
    return replace(project, contract_amount=amount, contract_ids=(*project.contract_ids, contract.id))


def _refuse(code: str, message: str, *, cite: Sequence[str] = (), **details: Any) -> AppError:
    return AppError(code=code, message=message, kind=ErrorKind.PRECONDITION, details=details, cite=list(cite))


def start_trial(
    project: AcceptanceProject,
    *,
    started_on: date,
    completed_on: date | None,
    min_months: int | None,
    cite: Sequence[str],
    signed_on: date | None = None,
) -> AcceptanceProject:
    """Begin the trial run (试运行); it ends no earlier than ``min_months`` after ``started_on``.

    A system is tried once it is built, so neither the trial nor the completion comes before the
    construction contract was signed (``signed_on``).
    """
    if project.status is not ProjectStatus.CONTRACTED:
        raise _refuse(
            "TRIAL_ALREADY_STARTED",
            "该项目已开始试运行，不能重复开始。",
            status=project.status.value,
            started_on=project.trial_started_on.isoformat() if project.trial_started_on else None,
        )
    completed = completed_on or started_on
    if signed_on is not None and completed < signed_on:
        raise AppError(
            code="TRIAL_BEFORE_CONTRACT",
            message=f"建设完成和试运行不能早于合同签订日期{signed_on.isoformat()}。",
            kind=ErrorKind.INVALID,
            details={"signed_on": signed_on.isoformat(), "started_on": started_on.isoformat()},
        )
    if completed > started_on:
        raise AppError(
            code="COMPLETION_AFTER_TRIAL",
            message="建设完成日期不能晚于试运行开始日期。",
            kind=ErrorKind.INVALID,
            details={"completed_on": completed.isoformat(), "started_on": started_on.isoformat()},
        )
    ends = add_months(started_on, min_months) if min_months else started_on
    return replace(
        project,
        status=ProjectStatus.TRIAL_RUN,
        trial_started_on=started_on,
        completed_on=completed,
        trial_min_months=min_months,
        trial_ends_on=ends,
        trial_cite=tuple(cite),
    )


def ensure_trial_long_enough(project: AcceptanceProject, on: date) -> None:
    """No acceptance application before the trial run's minimum length has passed."""
    if project.trial_started_on is None or project.trial_ends_on is None:
        raise _refuse("TRIAL_NOT_STARTED", "项目尚未开始试运行，不能申请验收。", status=project.status.value)
    if on < project.trial_ends_on:
        months = project.trial_min_months or 0
        raise _refuse(
            "TRIAL_RUN_TOO_SHORT",
            f"试运行自{project.trial_started_on.isoformat()}开始，不少于{months}个月，"
            f"{project.trial_ends_on.isoformat()}前不能申请验收。",
            cite=project.trial_cite,
            started_on=project.trial_started_on.isoformat(),
            min_months=months,
            ends_on=project.trial_ends_on.isoformat(),
        )


def final_due(
    rule: dict[str, Any] | None, *, initial_passed_on: date | None, completed_on: date | None
) -> date | None:
    """The last day of the final acceptance application, from the pack's
    ``final_acceptance_within_months`` (``{"months": 6, "from": "initial_acceptance" | "completion"}``)."""
    if not rule:
        return None
    start = initial_passed_on if rule.get("from") == "initial_acceptance" else completed_on
    if start is None:
        return None
    return add_months(start, int(rule["months"]))


def ensure_final_in_time(project: AcceptanceProject, on: date, *, extension_cite: Sequence[str]) -> None:
    """A final application after the due date needs an approved extension that still runs."""
    due = project.final_due_on
    if due is None or on <= due:
        return
    ext = project.extension
    if ext is not None and ext.status is ExtensionStatus.APPROVED and on <= ext.requested_until:
        return
    hint = "请先提出延期验收申请。" if extension_cite else ""
    raise _refuse(
        "FINAL_ACCEPTANCE_OVERDUE",
        f"竣工验收申请应于{due.isoformat()}前提出，已逾期。{hint}",
        cite=sorted({*project.final_due_cite, *extension_cite}),
        due_on=due.isoformat(),
    )


def request_extension(
    project: AcceptanceProject,
    *,
    reason: str,
    until: date,
    by: str,
    cite: Sequence[str],
    today: date,
) -> AcceptanceProject:
    """The unit asks to apply later (heze-2021 §23); only where the pack provides one."""
    if not cite:
        raise _refuse("EXTENSION_NOT_PROVIDED", "本地区管理办法未规定延期验收申请。")
    if project.status is ProjectStatus.ACCEPTED:
        raise _refuse("ALREADY_ACCEPTED", "项目已通过竣工验收。")
    if not reason.strip():
        raise AppError(
            code="EXTENSION_REASON_REQUIRED", message="请写明延期验收的理由。", kind=ErrorKind.INVALID
        )
    if project.extension is not None and project.extension.status is ExtensionStatus.REQUESTED:
        raise _refuse("EXTENSION_PENDING", "已有待审核的延期验收申请。")
    if until <= max(today, project.final_due_on or today):
        raise AppError(
            code="EXTENSION_DATE_INVALID",
            message="延期后的申请日期应晚于原定期限和今天。",
            kind=ErrorKind.INVALID,
            details={"due_on": project.final_due_on.isoformat() if project.final_due_on else None},
        )
    return replace(
        project,
        extension=Extension(
            status=ExtensionStatus.REQUESTED,
            reason=reason.strip(),
            requested_until=until,
            requested_by=by,
            cite=tuple(cite),
        ),
    )


def decide_extension(project: AcceptanceProject, *, approve: bool, by: str, note: str) -> AcceptanceProject:
    """The bureau agrees to the extension or refuses it (a refusal needs a reason)."""
    ext = project.extension
    if ext is None or ext.status is not ExtensionStatus.REQUESTED:
        raise _refuse("NO_EXTENSION_PENDING", "没有待审核的延期验收申请。")
    if not approve and not note.strip():
        raise AppError(
            code="EXTENSION_NOTE_REQUIRED", message="不同意延期时须写明理由。", kind=ErrorKind.INVALID
        )
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    return replace(project, extension=replace(ext, status=status, decided_by=by, note=note.strip()))


def replace_due(project: AcceptanceProject, due: date, cite: Sequence[str]) -> AcceptanceProject:
    """The project with its final-acceptance application due date and the articles setting it."""
    return replace(project, final_due_on=due, final_due_cite=tuple(cite))

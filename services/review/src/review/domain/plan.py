"""The plan decision and the annual plan (年度项目计划): entries, publication, validity, extension, lapse.

Validity and extension are the pack's ``call_calendar.plan_validity`` and ``plan_extension_max``
(qiaokou §13: the plan is valid one year; an entry not approved by then may be extended once, by
at most one year, else it lapses). An entry's validity runs from the later of the plan's
publication and 1 January of its target year. A pack without ``plan_validity`` sets no end.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack


class PlanOutcome(StrEnum):
    """The bureau's plan decision."""

    IN_PLAN = "in_plan"
    RETURNED = "returned"
    REJECTED = "rejected"


class PlanLevel(StrEnum):
    """重点 / 一般 (qiaokou §11(1): 列入年度计划的项目…分为重点项目和一般项目)."""

    KEY = "key"
    GENERAL = "general"


LEVEL_ZH = {PlanLevel.KEY: "重点项目", PlanLevel.GENERAL: "一般项目"}


class EntryStatus(StrEnum):
    """Where a plan entry stands."""

    PLANNED = "planned"
    APPROVED = "approved"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"  # the approval was refused


class PlanStatus(StrEnum):
    """A year's plan: compiled (draft) or published."""

    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True)
class PlanDecision:
    """What the bureau decided, with its articles."""

    outcome: PlanOutcome
    level: PlanLevel | None
    budget: Decimal | None
    reason: str
    cite: tuple[str, ...]


@dataclass(frozen=True)
class PlanEntry:
    """A project in the plan of its target year."""

    id: str
    tenant_id: str
    case_id: str
    declaration_id: str
    name: str
    org_id: str
    level: PlanLevel
    budget: Decimal
    target_year: int
    status: EntryStatus
    decided_at: datetime
    version: int = 1
    reviewing_tenant_id: str | None = None
    org_name: str = ""
    project_code: str | None = None
    plan_id: str | None = None
    valid_until: date | None = None
    extended_months: int | None = None
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnnualPlan:
    """One tenant's plan of one year."""

    id: str
    tenant_id: str
    year: int
    status: PlanStatus
    compiled_at: datetime
    version: int = 1
    published_at: datetime | None = None
    published_by: str | None = None


def decide(
    *, outcome: PlanOutcome, level: PlanLevel | None, budget: Decimal | None, declared: Decimal, reason: str
) -> PlanDecision:
    """Validate a decision: into the plan needs a level and a budget ≤ the declared amount; a return
    or a rejection needs a reason."""
    if outcome is PlanOutcome.IN_PLAN:
        if level is None or budget is None:
            raise AppError(
                code="PLAN_LEVEL_AND_BUDGET_REQUIRED",
                message="列入年度计划须确定项目类别（重点/一般）和计划金额。",
                kind=ErrorKind.INVALID,
            )
        if budget <= 0 or budget > declared:
            raise AppError(
                code="PLAN_BUDGET_EXCEEDS_DECLARED",
                message=f"计划金额须大于零且不超过申报金额（{declared}元）。",
                kind=ErrorKind.INVALID,
                details={"budget": str(budget), "declared": str(declared)},
            )
        return PlanDecision(outcome, level, budget, reason.strip(), ())
    if not reason.strip():
        raise AppError(
            code="DECISION_REASON_REQUIRED",
            message="退回或不予列入计划时须写明理由。",
            kind=ErrorKind.INVALID,
        )
    return PlanDecision(outcome, None, None, reason.strip(), ())


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity_end(pack: Pack, *, target_year: int, published_on: date) -> tuple[date | None, list[str]]:
    """The last day a published entry is valid, and the articles; (None, []) without a rule."""
    rule = pack.call_calendar.plan_validity
    if rule is None:
        return None, []
    start = max(published_on, date(target_year, 1, 1))
    return add_months(start, rule.months) - timedelta(days=1), pack.cite(list(rule.cite))


def extend(entry: PlanEntry, *, pack: Pack, months: int, today: date) -> tuple[PlanEntry, list[str]]:
    """Extend a still-valid, not yet approved entry once, by at most the pack's maximum."""
    rule = pack.call_calendar.plan_extension_max
    if rule is None:
        raise AppError(
            code="PLAN_EXTENSION_NOT_PROVIDED",
            message="本地区管理办法未规定年度计划延期，不能申请延期。",
            kind=ErrorKind.PRECONDITION,
            details={"pack": pack.id},
        )
    cite = pack.cite(list(rule.cite))
    if entry.status is not EntryStatus.PLANNED or entry.valid_until is None:
        raise AppError(
            code="PLAN_ENTRY_NOT_EXTENSIBLE",
            message="只有已发布、尚未批复且仍在有效期内的计划项目可以延期。",
            kind=ErrorKind.PRECONDITION,
            details={"status": entry.status.value},
            cite=cite,
        )
    if entry.extended_months is not None:
        raise AppError(
            code="PLAN_ALREADY_EXTENDED",
            message="该计划项目已延期一次，不能再次延期。",
            kind=ErrorKind.PRECONDITION,
            cite=cite,
        )
    if today > entry.valid_until:
        raise AppError(
            code="PLAN_ENTRY_EXPIRED",
            message="该计划项目已过有效期，不能再申请延期。",
            kind=ErrorKind.PRECONDITION,
            details={"valid_until": entry.valid_until.isoformat()},
            cite=cite,
        )
    if not 1 <= months <= rule.months:
        raise AppError(
            code="PLAN_EXTENSION_TOO_LONG",
            message=f"延期期限须为1至{rule.months}个月。",
            kind=ErrorKind.INVALID,
            details={"months": months, "max_months": rule.months},
            cite=cite,
        )
    new_end = add_months(entry.valid_until + timedelta(days=1), months) - timedelta(days=1)
    return replace(entry, valid_until=new_end, extended_months=months), cite


def lapses(entry: PlanEntry, today: date) -> bool:
    """A planned entry not approved by the end of its (possibly extended) validity lapses."""
    return entry.status is EntryStatus.PLANNED and entry.valid_until is not None and today > entry.valid_until

"""O&M funding requests (运维经费申请) and what blocks them.

Each ground of refusal is an obligation or contract key of the pack, so the decision carries the
article: not accepted (qiaokou §29, heze §23), within the no-O&M years after acceptance (lhasa §20),
not sharing data or not in the resource catalogue, failing security or crypto requirements
(shuangyashan §36, heze §30), not registered in the management system (wuxing §7), filed after the
pack's deadline or without the evaluation report (lhasa §27: 31 August of the year before free
maintenance ends, with the report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from evaluation.domain.evaluation import add_months


class Outcome(StrEnum):
    """Decided when filed: every ground is a fact the platform knows or the unit declares."""

    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True)
class Declared:
    """What the unit declares about the system with its request."""

    data_shared: bool
    in_resource_catalog: bool
    security_compliant: bool
    crypto_compliant: bool


@dataclass(frozen=True)
class Grounds:
    """What the decision looks at, gathered by the use case from the pack and the read models."""

    known: bool  # the project was declared on the platform (wuxing §7)
    accepted_on: date | None
    blocked_years: int | None
    blocked_cite: tuple[str, ...]
    unaccepted_cite: tuple[str, ...]
    compliance_cite: tuple[str, ...]  # shuangyashan §36 / heze §30
    sharing_only: bool  # heze §30 speaks of sharing only
    unregistered_cite: tuple[str, ...]
    deadline_month_day: tuple[int, int] | None
    deadline_cite: tuple[str, ...]
    report_required: bool
    evaluation_completed: bool


@dataclass(frozen=True)
class Refusal:
    """One ground of refusal with its article."""

    code: str
    message: str
    cite: tuple[str, ...]


@dataclass(frozen=True)
class OmRequest:
    """A request and its decision."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    org_id: str
    budget_year: int
    amount: Decimal
    free_maintenance_ends_on: date
    declared: Declared
    evaluation_id: str | None
    outcome: Outcome
    refusals: tuple[Refusal, ...]
    cite: tuple[str, ...]
    deadline: date | None
    filed_by: str
    filed_at: datetime
    decided_on: date
    version: int = 1


def deadline(free_maintenance_ends_on: date, month_day: tuple[int, int] | None) -> date | None:
    """lhasa §27: the month and day of the year before free maintenance ends."""
    if month_day is None:
        return None
    month, day = month_day
    return date(free_maintenance_ends_on.year - 1, month, day)


def decide(
    grounds: Grounds, declared: Declared, *, free_maintenance_ends_on: date, today: date
) -> list[Refusal]:
    """Every ground that refuses the request (empty: granted)."""
    refusals: list[Refusal] = []
    if not grounds.known:
        refusals.append(
            Refusal(
                "OM_PROJECT_NOT_REGISTERED",
                "项目未在项目管理系统申报，不安排运维经费。",
                grounds.unregistered_cite,
            )
        )
    if grounds.accepted_on is None:
        refusals.append(
            Refusal("OM_NOT_ACCEPTED", "项目未通过竣工验收，不安排运维经费。", grounds.unaccepted_cite)
        )
    elif grounds.blocked_years is not None:
        free_until = add_months(grounds.accepted_on, 12 * grounds.blocked_years)
        if today < free_until:
            refusals.append(
                Refusal(
                    "OM_WITHIN_FREE_YEARS",
                    f"项目通过竣工验收后{grounds.blocked_years}年内原则上不得申请专项运维费用"
                    f"（{free_until.isoformat()}后方可申请）。",
                    grounds.blocked_cite,
                )
            )
    if grounds.compliance_cite:
        if not declared.data_shared:
            refusals.append(
                Refusal(
                    "OM_DATA_NOT_SHARED", "系统未按规定共享数据，不安排运维经费。", grounds.compliance_cite
                )
            )
        if not grounds.sharing_only:
            if not declared.in_resource_catalog:
                refusals.append(
                    Refusal(
                        "OM_NOT_IN_CATALOG",
                        "系统数据未纳入数据资源目录，不安排运维经费。",
                        grounds.compliance_cite,
                    )
                )
            if not declared.security_compliant:
                refusals.append(
                    Refusal(
                        "OM_SECURITY_FAILED",
                        "系统不符合网络安全要求，不安排运维经费。",
                        grounds.compliance_cite,
                    )
                )
            if not declared.crypto_compliant:
                refusals.append(
                    Refusal(
                        "OM_CRYPTO_FAILED",
                        "系统不符合密码应用要求，不安排运维经费。",
                        grounds.compliance_cite,
                    )
                )
    due = deadline(free_maintenance_ends_on, grounds.deadline_month_day)
    if due is not None and today > due:
        refusals.append(
            Refusal(
                "OM_REQUEST_LATE",
                f"运维经费应在免运维服务期截止的上一年度{due.month}月{due.day}日前申请（本项目为{due.isoformat()}）。",
                grounds.deadline_cite,
            )
        )
    if grounds.report_required and not grounds.evaluation_completed:
        refusals.append(
            Refusal(
                "OM_EVALUATION_REPORT_MISSING",
                "申请运维经费须附已完成的绩效评价报告。",
                grounds.deadline_cite,
            )
        )
    return refusals

"""Change requests after approval (变更): the engine says re-review or file-only.

The pack's ``change_requires_rereview`` decides from the change's facts: qiaokou §19 (a major
content change or a budget change of more than 10% → re-review), wuxing §19(2) (more than 10% or
≥ 100万 → the joint body again), lhasa §16 (all absolute adjustments so far plus this one within
15% of the approved estimate → the unit adjusts and files). The base is the current approved
baseline's amount; ``cumulative_change_amount`` adds the absolute changes already filed or
approved on this approval. A pack without a rule (the document sets no change procedure) sends
the change to re-review: the bureau decides rather than nobody.

Every approved baseline is kept: a filed or approved change adds the next version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, evaluate


class ChangeKind(StrEnum):
    """What changes."""

    CONTENT = "content"
    AMOUNT = "amount"
    CONTENT_AND_AMOUNT = "content_and_amount"


class ChangeOutcome(StrEnum):
    """``change.decided`` outcomes: the engine's (file_only / re_review), then the bureau's."""

    FILE_ONLY = "file_only"
    RE_REVIEW = "re_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class ChangeStatus(StrEnum):
    """Where a change request stands."""

    FILED = "filed"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ChangeRequest:
    """A requested change of an approved project."""

    id: str
    tenant_id: str
    approval_id: str
    case_id: str
    kind: ChangeKind
    description: str
    base_amount: Decimal
    change_amount: Decimal
    cumulative_before: Decimal
    major_content_change: bool
    status: ChangeStatus
    routed: ChangeOutcome  # what the engine said
    requested_by: str
    requested_at: datetime
    version: int = 1
    reviewing_tenant_id: str | None = None
    new_amount: Decimal | None = None
    new_content: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    baseline_version: int | None = None
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routing:
    """The engine's answer for a change."""

    outcome: ChangeOutcome
    cite: tuple[str, ...]
    facts: dict[str, Any]
    note: str = ""


def validate(kind: ChangeKind, *, description: str, new_amount: Decimal | None, base_amount: Decimal) -> None:
    """An amount change names the new amount; every change says what changes."""
    if not description.strip():
        raise AppError(
            code="CHANGE_DESCRIPTION_REQUIRED", message="请说明变更内容和理由。", kind=ErrorKind.INVALID
        )
    if kind in (ChangeKind.AMOUNT, ChangeKind.CONTENT_AND_AMOUNT):
        if new_amount is None or new_amount <= 0:
            raise AppError(
                code="CHANGE_AMOUNT_REQUIRED", message="资金调整须填写调整后的金额。", kind=ErrorKind.INVALID
            )
        if new_amount == base_amount:
            raise AppError(
                code="CHANGE_AMOUNT_UNCHANGED", message="调整后的金额与批复金额相同。", kind=ErrorKind.INVALID
            )
    elif new_amount is not None:
        raise AppError(
            code="CHANGE_AMOUNT_UNEXPECTED",
            message="仅变更内容时不应填写金额；调整资金请选择资金调整。",
            kind=ErrorKind.INVALID,
        )


def route(
    pack: Pack,
    case_facts: Mapping[str, Any],
    *,
    base_amount: Decimal,
    new_amount: Decimal | None,
    cumulative_before: Decimal,
    major_content_change: bool,
) -> Routing:
    """Re-review or file-only, per the pack, for this change."""
    change = abs((new_amount if new_amount is not None else base_amount) - base_amount)
    facts = {
        **dict(case_facts),
        "approved_amount": base_amount,
        "change_amount": change,
        "cumulative_change_amount": cumulative_before,
        "major_content_change": major_content_change,
    }
    req = evaluate(pack, facts)["change_requires_rereview"]
    if req.value is True:
        return Routing(ChangeOutcome.RE_REVIEW, tuple(req.cite), facts)
    if req.value is False:
        return Routing(ChangeOutcome.FILE_ONLY, tuple(req.cite), facts)
    return Routing(
        ChangeOutcome.RE_REVIEW,
        tuple(req.cite),
        facts,
        note="本地区管理办法未规定变更备案条件，按重新审查处理。",
    )


def decide(change: ChangeRequest, *, approve: bool, by: str, at: datetime, reason: str) -> ChangeRequest:
    """The bureau's decision on a re-reviewed change."""
    if change.status is not ChangeStatus.UNDER_REVIEW:
        raise AppError(
            code="CHANGE_NOT_UNDER_REVIEW",
            message="该变更申请不在审查中，不能作出决定。",
            kind=ErrorKind.PRECONDITION,
            details={"status": change.status.value},
        )
    if not approve and not reason.strip():
        raise AppError(
            code="DECISION_REASON_REQUIRED", message="不予批准时须写明理由。", kind=ErrorKind.INVALID
        )
    return replace(
        change,
        status=ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED,
        decided_by=by,
        decided_at=at,
        decision_reason=reason.strip(),
    )

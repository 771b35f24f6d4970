"""Construction (项目实施): progress reports, payments, serious delay, suspension and termination.

Rules with numbers come from the pack: the serious-delay margin is the ``serious_delay_report``
obligation's ``delay_percent_over_contract_period`` (lhasa §18: 50%); the suspension grounds are
the pack's ``suspension_ground`` obligations (qiaokou-2022 §27(1)–(5), lhasa §18, heze-2021 §20);
a final payment waits for the acceptance (qiaokou-2022 §29, shuangyashan-2024 §30, heze-2021 §23).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind

PERCENT = Decimal(100)
# The ground evaluation's rectification.escalated suspends on (its event carries the articles).
RECTIFICATION_ESCALATED = "rectification_escalated"


class PaymentKind(StrEnum):
    """预付款, 进度款, 尾款 (the final payment), 质保金."""

    ADVANCE = "advance"
    PROGRESS = "progress"
    FINAL = "final"
    WARRANTY = "warranty"


PAYMENT_ZH = {
    PaymentKind.ADVANCE: "预付款",
    PaymentKind.PROGRESS: "进度款",
    PaymentKind.FINAL: "尾款（最终付款）",
    PaymentKind.WARRANTY: "质保金",
}


@dataclass(frozen=True)
class ProgressReport:
    """A unit's progress report on a construction contract."""

    id: str
    tenant_id: str
    declaration_id: str
    filing_id: str
    reported_on: date
    percent: Decimal
    milestones_done: tuple[str, ...]
    note: str
    reported_by: str
    reported_at: datetime
    delay: dict[str, Any]


@dataclass(frozen=True)
class Payment:
    """A payment made on a filed contract."""

    id: str
    tenant_id: str
    declaration_id: str
    filing_id: str
    kind: PaymentKind
    amount: Decimal
    paid_on: date
    recorded_by: str
    recorded_at: datetime
    note: str = ""
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delay:
    """How far a contract is past its period, and whether that is serious under the pack."""

    days_over: int
    percent_over: Decimal
    margin_percent: Decimal | None
    serious: bool
    cite: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "days_over": self.days_over,
            "percent_over": str(self.percent_over),
            "margin_percent": str(self.margin_percent) if self.margin_percent is not None else None,
            "serious": self.serious,
            "cite": list(self.cite),
        }


def delay(
    *,
    period_start: date,
    period_end: date,
    today: date,
    complete: bool,
    rule: Mapping[str, Any] | None,
    margin_param: str,
) -> Delay:
    """The delay of an unfinished contract on ``today``; serious beyond the pack's margin of the
    contract period (a pack without a margin detects none and says so by a null margin)."""
    period_days = (period_end - period_start).days + 1
    days_over = 0 if complete else max(0, (today - period_end).days)
    percent = (Decimal(days_over) * PERCENT / Decimal(period_days)).quantize(Decimal("0.1"))
    margin: Decimal | None = None
    cite: tuple[str, ...] = ()
    if rule is not None:
        cite = tuple(rule.get("cite") or ())
        raw = (rule.get("params") or {}).get(margin_param)
        margin = Decimal(str(raw)) if raw is not None else None
    serious = margin is not None and days_over > 0 and percent > margin
    return Delay(days_over=days_over, percent_over=percent, margin_percent=margin, serious=serious, cite=cite)


def validate_progress(percent: Decimal, *, previous: Decimal | None) -> None:
    """Progress is 0–100 and does not go backwards."""
    if percent < 0 or percent > PERCENT:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "percent", "message": "进度应在0到100之间"}]},
        )
    if previous is not None and percent < previous:
        raise AppError(
            code="PROGRESS_BACKWARDS",
            message=f"完成进度不能低于上次报告的{previous}%。",
            kind=ErrorKind.PRECONDITION,
        )


def check_payment(
    *,
    kind: PaymentKind,
    amount: Decimal,
    contract_amount: Decimal,
    paid_so_far: Decimal,
    accepted: bool,
    final_cite: Sequence[str],
) -> None:
    """A payment stays within the contract; the final payment waits for the acceptance."""
    if kind is PaymentKind.FINAL and not accepted:
        raise AppError(
            code="FINAL_PAYMENT_BEFORE_ACCEPTANCE",
            message="项目未通过竣工验收，不得支付尾款（剩余合同款）。",
            kind=ErrorKind.PRECONDITION,
            cite=list(final_cite),
        )
    if paid_so_far + amount > contract_amount:
        raise AppError(
            code="PAYMENT_EXCEEDS_CONTRACT",
            message=f"累计支付{paid_so_far + amount}元将超过合同金额{contract_amount}元。",
            kind=ErrorKind.PRECONDITION,
            details={"paid_so_far": str(paid_so_far), "contract_amount": str(contract_amount)},
        )


def grounds(obligations: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pack's suspension grounds by code: ``{ground: {label_zh, cite}}``."""
    out: dict[str, dict[str, Any]] = {}
    for ob in obligations:
        code = str((ob.get("params") or {}).get("ground") or "")
        if code:
            out[code] = {"label_zh": ob["label_zh"], "cite": list(ob["cite"])}
    return out


def ground_of(available: Mapping[str, Mapping[str, Any]], ground: str) -> Mapping[str, Any]:
    """The pack's ground, or a refusal listing the grounds it has."""
    if ground not in available:
        raise AppError(
            code="UNKNOWN_SUSPENSION_GROUND",
            message="该地区管理办法未规定此暂停（终止）情形。",
            kind=ErrorKind.PRECONDITION,
            details={"grounds": {k: v["label_zh"] for k, v in available.items()}},
        )
    return available[ground]

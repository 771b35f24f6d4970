"""Rectification orders (整改通知) from supervision and inspection, for a project at any stage.

An order the owner has not resolved by its due date escalates (qiaokou §37, heze §35): procurement,
which owns construction, suspends the project on ``rectification.escalated``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from govkit.errors import AppError, ErrorKind


class OrderStatus(StrEnum):
    """open → resolved; open → escalated (past due) → resolved."""

    OPEN = "open"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


STATUS_ZH = {
    OrderStatus.OPEN: "整改中",
    OrderStatus.ESCALATED: "逾期未整改（已上报）",
    OrderStatus.RESOLVED: "已整改",
}
STAGES = ("declaration", "review", "approval", "procurement", "construction", "acceptance", "operation")


@dataclass(frozen=True)
class RectificationOrder:
    """An order: which project, who must fix what by when, and what became of it."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    org_id: str
    stage: str
    owner: str
    items: tuple[str, ...]
    grounds: str
    due_on: date
    status: OrderStatus
    cite: tuple[str, ...]
    issued_by: str
    issued_at: datetime
    escalated_on: date | None = None
    escalation_cite: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    resolution: str = ""
    version: int = 1

    def overdue_on(self, day: date) -> bool:
        """Unresolved after its due date."""
        return self.status is not OrderStatus.RESOLVED and day > self.due_on


def check_new_order(order: RectificationOrder, *, today: date) -> None:
    """Items are listed, the stage is one the platform knows, the due date is not in the past."""
    if not order.items or any(not i for i in order.items):
        raise AppError(code="ITEMS_REQUIRED", message="请逐项填写整改事项。", kind=ErrorKind.INVALID)
    if order.stage not in STAGES:
        raise AppError(
            code="STAGE_UNKNOWN",
            message="项目阶段不正确。",
            kind=ErrorKind.INVALID,
            details={"stage": order.stage, "allowed": list(STAGES)},
        )
    if not order.owner:
        raise AppError(code="OWNER_REQUIRED", message="请填写整改责任人。", kind=ErrorKind.INVALID)
    if order.due_on < today:
        raise AppError(
            code="DUE_DATE_PAST",
            message="整改期限不能早于今天。",
            kind=ErrorKind.INVALID,
            details={"due_on": order.due_on.isoformat()},
        )


def resolve(order: RectificationOrder, *, at: datetime, resolution: str) -> RectificationOrder:
    """The owner reports the items fixed and the inspector accepts it."""
    if order.status is OrderStatus.RESOLVED:
        raise AppError(
            code="ORDER_ALREADY_RESOLVED",
            message="该整改通知已整改完毕。",
            kind=ErrorKind.CONFLICT,
            details={"order_id": order.id},
        )
    if not resolution:
        raise AppError(code="RESOLUTION_REQUIRED", message="请填写整改完成情况。", kind=ErrorKind.INVALID)
    return replace(order, status=OrderStatus.RESOLVED, resolved_at=at, resolution=resolution)


def escalate(order: RectificationOrder, *, today: date, cite: tuple[str, ...]) -> RectificationOrder | None:
    """The escalated order when it is open and past due today; None when nothing is to escalate."""
    if order.status is not OrderStatus.OPEN or not order.overdue_on(today):
        return None
    return replace(order, status=OrderStatus.ESCALATED, escalated_on=today, escalation_cite=cite)

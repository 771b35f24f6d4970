"""Self-checks and 关停并转 requests (wuxing §29): units check their built and building systems
regularly; a system that no longer meets the requirements is to be shut down, suspended, merged or
transferred on the unit's request, which the bureau approves or rejects."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from govkit.errors import AppError, ErrorKind


class Action(StrEnum):
    """关 停 并 转."""

    SHUTDOWN = "shutdown"
    SUSPEND = "suspend"
    MERGE = "merge"
    TRANSFER = "transfer"


class ClosureStatus(StrEnum):
    """requested → approved | rejected."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


ACTION_ZH = {Action.SHUTDOWN: "关闭", Action.SUSPEND: "停用", Action.MERGE: "合并", Action.TRANSFER: "转移"}


@dataclass(frozen=True)
class SelfCheck:
    """A unit's self-check of one system: what it found and whether the system still complies."""

    id: str
    tenant_id: str
    declaration_id: str
    org_id: str
    checked_on: date
    compliant: bool
    findings: tuple[str, ...]
    cite: tuple[str, ...]
    checked_by: str


@dataclass(frozen=True)
class ClosureRequest:
    """A 关停并转 request and its decision."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    org_id: str
    action: Action
    reason: str
    status: ClosureStatus
    cite: tuple[str, ...]
    requested_by: str
    requested_at: datetime
    self_check_id: str | None = None
    decided_by: str | None = None
    decided_on: date | None = None
    decision_reason: str = ""
    version: int = 1


def check_self_check(check: SelfCheck) -> None:
    """A non-compliant result names what does not comply."""
    if not check.compliant and not check.findings:
        raise AppError(
            code="FINDINGS_REQUIRED", message="自查不符合要求的，请逐项列明问题。", kind=ErrorKind.INVALID
        )


def decide(request: ClosureRequest, *, approve: bool, by: str, on: date, reason: str) -> ClosureRequest:
    """The bureau approves or rejects a pending request once."""
    if request.status is not ClosureStatus.REQUESTED:
        raise AppError(
            code="CLOSURE_ALREADY_DECIDED",
            message="该关停并转申请已处理。",
            kind=ErrorKind.CONFLICT,
            details={"request_id": request.id},
        )
    if not approve and not reason:
        raise AppError(
            code="REASON_REQUIRED", message="不同意关停并转的，请填写理由。", kind=ErrorKind.INVALID
        )
    status = ClosureStatus.APPROVED if approve else ClosureStatus.REJECTED
    return replace(request, status=status, decided_by=by, decided_on=on, decision_reason=reason)
